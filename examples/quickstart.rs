//! Quickstart: a small question-answering experiment, offline, no account needed.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! It runs the pipeline of `examples/qa/pipeline.rs` (`#[trace]` retrieval and a
//! deterministic stand-in for the model) over `examples/data/qa.jsonl`, one session per
//! datapoint, scores every answer with two `#[evaluator]`s, prints the summary table and
//! writes the report under `target/honeyhive/runs/<run id>/` (open its `report.html` in a
//! browser; `junit.xml` and `summary.md` are for CI). With `HH_API_KEY` set, the same code
//! creates the run, the sessions and the spans on HoneyHive. `HH_BASELINE=last cargo run
//! --example quickstart` compares the run with the previous one
//! (`examples/regression_gate.rs` shows the gates).
//!
//! As a test, the same experiment is one attribute (see `tests/experiment/fixtures.rs`):
//!
//! ```ignore
//! #[experiment(
//!     dataset = "examples/data/qa.jsonl",
//!     evaluators = [correct, concise],
//!     threshold(correct >= 0.6, answer_words <= 20.0),
//! )]
//! async fn quickstart(question: Question) -> Answer {
//!     answer(question).await
//! }
//! ```

#[path = "qa/pipeline.rs"]
mod pipeline;

use honeyhive::evaluators;
use honeyhive::experiment::{Comparison, Experiment};

use pipeline::{Answer, Question, answer, concise, correct};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let report = Experiment::<Question, Answer>::new("quickstart")
        .dataset_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/qa.jsonl"
        ))
        .evaluators(evaluators![correct, concise])
        .threshold("correct", Comparison::AtLeast, 0.6)
        .max_concurrency(4)
        .run(answer)
        .await?;

    // The report is typed: every metric's statistics, and every datapoint in dataset order
    // (inputs and outputs are in its datapoints.jsonl). The datapoints are stored on disk
    // as they finish, so a run's memory does not grow with its dataset: they are read back
    // here one at a time.
    for datapoint in report.read_datapoints()? {
        let datapoint = datapoint?;
        if datapoint.metric("correct") == Some(1.0) {
            continue;
        }
        println!(
            "{} is not correct: see session {}",
            datapoint.label(),
            datapoint.session_id
        );
    }
    report.check()?;
    Ok(())
}
