use honeyhive::evaluator;

#[evaluator]
struct ExactMatch;

#[evaluator]
impl ExactMatch {}

struct Judge;

impl Judge {
    #[evaluator]
    fn score(&self, output: &String) -> bool {
        output.is_empty()
    }
}

trait Scorer {
    #[evaluator]
    fn score(output: &String) -> bool;
}

#[evaluator]
const THRESHOLD: f64 = 0.5;

// Generic parameters must be decided by the experiment's output and input types.
#[evaluator]
fn reads<T: serde::de::DeserializeOwned>(output: &String, ground_truth: &T) -> bool {
    let _ = ground_truth;
    output.is_empty()
}

fn main() {}
