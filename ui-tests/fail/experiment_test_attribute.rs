use honeyhive::experiment;

mod evaluators {
    use honeyhive::evaluator;

    #[evaluator]
    pub fn exact_match(output: &String, ground_truth: &String) -> bool {
        output == ground_truth
    }
}

use evaluators::exact_match;

// The mistake is the one error: the evaluator's import is not reported unused too.
#[experiment(dataset = "tests/data/qa.jsonl", evaluators = [exact_match])]
#[tokio::test]
async fn qa(input: String) -> String {
    input
}

fn main() {}
