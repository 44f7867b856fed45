//! Every `#[experiment]` option and function shape, in a crate that depends only on
//! `honeyhive` and `serde`, with every warning an error. (trybuild builds cases as plain
//! binaries, where the generated `#[test]` is compiled out; the run it calls is a plain
//! function, so it is type-checked here all the same.)
#![deny(
    warnings,
    missing_docs,
    unused_variables,
    unused_mut,
    unused_qualifications
)]

use honeyhive::{Score, evaluator, experiment};
use serde::{Deserialize, Serialize};

/// Inputs.
#[derive(Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub text: String,
}

/// Output and ground truth.
#[derive(PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer.
    pub answer: String,
}

/// Exact match.
#[evaluator]
pub fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
    output == ground_truth
}

/// Evaluators in a module, named by path.
pub mod judges {
    use super::{Answer, Question, Score};
    use honeyhive::evaluator;

    /// Length.
    #[evaluator(name = "answer_length")]
    pub fn length(output: &Answer) -> usize {
        output.answer.len()
    }

    /// A judge reading the inputs, with an extra score.
    #[evaluator(repeat = 3, aggregate = "median")]
    pub async fn relevance(output: &Answer, inputs: &Question) -> Result<Score, String> {
        Ok(Score::new(output.answer.len().min(inputs.text.len()) as f64).extra("tokens", 12))
    }

    /// A metric whose name is not an identifier.
    #[evaluator(name = "answer words")]
    pub fn words(output: &Answer) -> usize {
        output.answer.split_whitespace().count()
    }
}

/// Every option, an async fn.
#[experiment(
    name = "qa",
    dataset = "tests/data/qa.jsonl",
    evaluators = [
        exact_match,
        judges::length,
        judges::relevance,
        honeyhive::evaluators::Levenshtein,
        honeyhive::evaluators::Contains::new("Paris").field("answer"),
    ],
    // Each metric as the summary table prints it: an `#[evaluator]`'s `name` (else its
    // function's), a built-in's metric name (of a value too: checked when the run starts),
    // an extra score `<metric>_<key>`.
    threshold(
        exact_match >= 0.9,
        answer_length <= 200,
        relevance > -1.5,
        levenshtein < 1.0,
        contains >= 0.5,
        relevance_tokens <= 1000,
        // The metrics the run computes from its model calls.
        cost_usd <= 0.02,
        output_tokens < 500,
        model_latency_ms <= 2000,
    ),
    max_concurrency = 8,
    repetitions = 2,
    timeout = "30s",
    allow_failures = 1,
    allow_evaluator_errors = 2,
    ground_truth = Answer,
    aggregate = "max",
)]
async fn qa_pipeline(input: Question) -> Answer {
    Answer { answer: input.text }
}

/// A sync fn returning a `Result`, a destructured parameter, a hosted dataset, a metric
/// name quoted and a raw identifier.
#[experiment(
    dataset_id = "663a1f2e9c0d4b0012345678",
    evaluators = [r#exact_match, judges::words],
    threshold("answer words" <= 50, r#exact_match > 0),
)]
fn hosted(Question { text }: Question) -> Result<Answer, std::io::Error> {
    Ok(Answer { answer: text })
}

/// A baseline and regression gates: metrics named as thresholds name them (an extra score,
/// a quoted name, a model metric), each group followed by its tolerance; the last without
/// one (`max_drop = 0`).
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, judges::relevance, judges::words],
    baseline = "evals/baselines/{name}.json",
    regression(exact_match, relevance, max_drop = 0.05, "answer words", cost_usd, max_rise = 2, relevance_tokens),
)]
async fn gated(input: Question) -> Answer {
    Answer { answer: input.text }
}

/// `honeyhive::Result`, no evaluators, a `.csv` dataset, and test attributes kept.
#[experiment(dataset = "tests/data/qa.csv", timeout = "500ms")]
#[ignore = "slow"]
async fn fallible(input: Question) -> honeyhive::Result<String> {
    Ok(input.text)
}

/// An output type with `impl Trait` in it, at any depth: inferred.
#[experiment(dataset = "tests/data/qa.csv")]
async fn opaque(input: Question) -> (impl Serialize + Send + Sync, usize) {
    let length = input.text.len();
    (input.text, length)
}

/// A renamed dependency.
mod renamed {
    extern crate honeyhive as hh;

    #[hh::experiment(crate = hh, dataset = "tests/data/qa.json")]
    fn unit(input: super::Question) {
        let _ = input;
    }
}

fn main() {}
