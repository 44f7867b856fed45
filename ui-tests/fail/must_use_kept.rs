// `#[trace]` keeps the function's attributes: `#[must_use]` still applies.
#![deny(unused_must_use)]

use honeyhive::trace;

#[must_use = "the answer is the point"]
#[trace]
fn answer(question: &str) -> usize {
    question.len()
}

fn main() {
    answer("why?");
}
