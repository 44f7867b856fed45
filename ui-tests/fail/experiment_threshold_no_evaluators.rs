use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl", threshold(exact_match >= 0.9))]
async fn qa(input: String) -> String {
    input
}

fn main() {}
