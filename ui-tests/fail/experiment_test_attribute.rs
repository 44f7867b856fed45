use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl")]
#[tokio::test]
async fn qa(input: String) -> String {
    input
}

fn main() {}
