use honeyhive::evaluator;
use serde::Deserialize;

#[derive(PartialEq, Deserialize)]
struct Answer {
    answer: String,
}

// A name the runtime cannot bind, with a likely meaning.
#[evaluator]
fn exact_match(output: &Answer, expected: &Answer) -> bool {
    output == expected
}

// A typo of an allowed name.
#[evaluator]
fn length(input: &String) -> usize {
    input.len()
}

// No suggestion: the allowed parameters are listed.
#[evaluator]
fn judged(output: &Answer, model: &str) -> bool {
    !output.answer.is_empty() && !model.is_empty()
}

fn main() {}
