use honeyhive::evaluators::Contains;
use honeyhive::experiment;

mod evaluators {
    use honeyhive::evaluator;

    #[evaluator]
    pub fn exact_match(output: &String, ground_truth: &String) -> bool {
        output == ground_truth
    }
}

use evaluators::exact_match;

// Options that do not parse still leave the evaluators they list used.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, Contains::new("Paris")],
    concurrency = 8,
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
