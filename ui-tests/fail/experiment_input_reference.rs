use honeyhive::experiment;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Query {
    text: String,
}

#[experiment(dataset = "tests/data/qa.jsonl")]
async fn qa(input: &Query) -> String {
    input.text.clone()
}

#[experiment(dataset = "tests/data/qa.jsonl")]
fn text(input: &str) -> String {
    input.to_owned()
}

fn main() {}
