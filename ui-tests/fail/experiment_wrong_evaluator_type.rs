use honeyhive::{evaluator, experiment};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Question {
    text: String,
}

#[evaluator]
fn answer_length(output: &usize) -> usize {
    *output
}

#[experiment(dataset = "tests/data/qa.jsonl", evaluators = [answer_length])]
async fn qa(input: Question) -> String {
    input.text
}

fn main() {}
