use honeyhive::{evaluator, experiment};

#[evaluator]
fn exact_match(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match],
    threshold(exact_mach >= 0.9),
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
