use honeyhive::{evaluator, experiment};

#[evaluator]
fn exact_match(output: &String) -> bool {
    !output.is_empty()
}

// A count that does not fit the builder's parameter.
#[experiment(dataset = "tests/data/qa.csv", repetitions = 5000000000)]
async fn too_many(input: String) -> String {
    input
}

// Two thresholds on one evaluator, one spelled as a raw identifier.
#[experiment(
    dataset = "tests/data/qa.csv",
    evaluators = [exact_match],
    threshold(exact_match >= 0.5, r#exact_match >= 0.9)
)]
async fn twice(input: String) -> String {
    input
}

fn main() {}
