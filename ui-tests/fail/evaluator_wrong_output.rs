use honeyhive::{EvaluatorList, evaluator, evaluators};
use serde::Deserialize;

#[derive(Deserialize)]
struct Question {
    text: String,
}

#[derive(PartialEq, Deserialize)]
struct Answer {
    answer: String,
}

#[evaluator]
fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
    output == ground_truth
}

#[evaluator]
fn question_length(inputs: &Question) -> usize {
    inputs.text.len()
}

#[evaluator]
fn length(output: &String) -> usize {
    output.len()
}

fn main() {
    // The experiment returns `String`: `exact_match` scores `Answer`s. (`evaluators!`
    // infers each evaluator's types before the list's, so this is a type mismatch; the
    // `#[experiment]` macro's check is the one below, which names the evaluator: see
    // `experiment_wrong_evaluator_type.rs`.)
    let _: EvaluatorList<Question, String> = evaluators![length, exact_match];
    // The experiment's inputs are `u32`: `question_length` reads a `Question`.
    let _: EvaluatorList<u32, String> = evaluators![question_length];
    // The check of a known experiment type: the message names the evaluator.
    honeyhive::__private::assert_evaluator::<Question, String, _>(&exact_match {});
    honeyhive::__private::assert_evaluator::<u32, String, _>(&question_length {});
}
