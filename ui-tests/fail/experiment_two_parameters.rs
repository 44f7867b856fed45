use honeyhive::experiment;

#[experiment(dataset = "tests/data/qa.jsonl")]
async fn qa(question: String, context: String) -> String {
    question + &context
}

fn main() {}
