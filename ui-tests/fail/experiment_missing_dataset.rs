use honeyhive::experiment;

mod evaluators {
    use honeyhive::evaluator;

    #[evaluator]
    pub fn exact_match(output: &String, ground_truth: &String) -> bool {
        output == ground_truth
    }
}

use evaluators::exact_match;

// The path resolves against the crate's directory, as when the test runs; the evaluator's
// import is not reported unused on top of the error.
#[experiment(dataset = "tests/data/missing.jsonl", evaluators = [exact_match])]
async fn qa(input: String) -> String {
    input
}

fn main() {}
