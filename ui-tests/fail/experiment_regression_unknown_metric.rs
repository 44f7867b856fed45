use honeyhive::{evaluator, experiment};

#[evaluator]
fn exact_match(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

#[evaluator(name = "relevance")]
fn judge(output: &String) -> f64 {
    output.len() as f64
}

// A regression gate names a metric as a threshold does, checked by the same rule: each one
// that names none is an error at its name, listing the metrics.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, judge],
    baseline = "last",
    regression(exact_mach, max_drop = 0.05, judge),
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
