use honeyhive::{Score, evaluator, experiment};

#[evaluator]
fn exact_match(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

#[evaluator(name = "relevance")]
fn judge(output: &String) -> Score {
    Score::new(1.0).extra("tokens", output.len())
}

// Each threshold that names no metric is an error at its name, listing the metrics;
// `relevance_tokens` is an extra score of `relevance`, checked once scores come back.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, judge, honeyhive::evaluators::Levenshtein],
    threshold(exact_mach >= 0.9, relevence > 0.5, relevance_tokens < 100, latency < 2),
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
