use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl", concurrency = 8)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
