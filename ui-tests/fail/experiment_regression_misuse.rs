use honeyhive::{evaluator, experiment};

#[evaluator]
fn exact_match(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

// A tolerance before any metric, an unknown setting, a negative one, a metric gated twice,
// and an empty baseline: each an error at its token, saying what to write.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match],
    baseline = "",
    regression(max_drop = 0.1, exact_match, max_fall = 0.1, exact_match, max_drop = -0.5),
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
