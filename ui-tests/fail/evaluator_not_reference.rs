use honeyhive::evaluator;
use serde::Deserialize;

#[derive(PartialEq, Deserialize)]
struct Answer {
    answer: String,
}

struct Question;

// Owned output.
#[evaluator]
fn exact_match(output: Answer, ground_truth: &Answer) -> bool {
    &output == ground_truth
}

// Owned ground truth, in and out of an `Option`.
#[evaluator]
fn present(output: &Answer, ground_truth: Answer) -> bool {
    output == &ground_truth
}

#[evaluator]
fn maybe(output: &Answer, ground_truth: Option<Answer>) -> bool {
    ground_truth.as_ref() == Some(output)
}

// A mutable borrow.
#[evaluator]
fn mutates(inputs: &mut Question, output: &Answer) -> bool {
    let _ = inputs;
    output.answer.is_empty()
}

// `&str` is not what the experiment's `String` output gives.
#[evaluator]
fn short(output: &str) -> bool {
    output.len() < 10
}

// The output is always there.
#[evaluator]
fn optional(output: Option<&Answer>) -> bool {
    output.is_some()
}

fn main() {}
