use honeyhive::{evaluator, experiment};

#[evaluator(name = "relevance")]
fn judge(output: &String) -> f64 {
    output.len() as f64
}

#[evaluator(name = "answer words")]
fn words(output: &String) -> usize {
    output.split_whitespace().count()
}

// A threshold names the metric, as the summary table prints it, not the evaluator.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [judge, words, honeyhive::evaluators::ExactMatch],
    threshold(judge > 0.1, words <= 50, ExactMatch >= 0.9),
)]
async fn qa(input: String) -> String {
    input
}

fn main() {}
