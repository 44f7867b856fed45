//! Regression gates: a run compared with a baseline, offline, no account needed.
//!
//! ```sh
//! cargo run --example regression_gate
//! ```
//!
//! 1. The capitals experiment runs and is written as the baseline,
//!    `target/honeyhive/examples/capitals-baseline.json` (in a test,
//!    `HH_UPDATE_BASELINE=1 cargo test` does this for every experiment with a baseline).
//! 2. A "new version" of the pipeline, which gets six answers wrong that were right, runs
//!    against it: its summary shows each metric's change and the datapoints that moved,
//!    and the gate `regression(correct, max_drop = 0.05)` fails, naming the metric, the old
//!    and new means, the interval of the change and the datapoints that got worse most,
//!    with their old and new outputs.
//! 3. Both runs' folders hold `report.html` (open it in a browser: the failed, regressed and
//!    changed filters, old and new outputs side by side), `junit.xml` and `summary.md`.
//!
//! As a test, the second run is one attribute:
//!
//! ```ignore
//! #[experiment(
//!     dataset = "evals/capitals.jsonl",
//!     evaluators = [correct],
//!     baseline = "evals/baselines/capitals.json",
//!     regression(correct, max_drop = 0.05),
//! )]
//! async fn capitals(question: Question) -> String { answer(question).await }
//! ```

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Experiment, ExperimentReport, Regression};
use honeyhive::{evaluator, evaluators, trace};
use serde::{Deserialize, Serialize};

const CAPITALS: &[(&str, &str)] = &[
    ("France", "Paris"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Germany", "Berlin"),
    ("Portugal", "Lisbon"),
    ("Austria", "Vienna"),
    ("Poland", "Warsaw"),
    ("Greece", "Athens"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"),
    ("Ireland", "Dublin"),
    ("Hungary", "Budapest"),
    ("Czechia", "Prague"),
    ("Denmark", "Copenhagen"),
    ("Belgium", "Brussels"),
    ("Netherlands", "Amsterdam"),
    ("Switzerland", "Bern"),
    ("Australia", "Canberra"),
    ("Canada", "Ottawa"),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Question {
    country: String,
}

/// The stand-in model: knows every capital, or (the "new version") confuses some of them
/// with the country's largest city.
#[trace(event_type = "model")]
async fn ask_model(country: &str, new_version: bool) -> String {
    let confused = [
        ("Switzerland", "Zurich"),
        ("Australia", "Sydney"),
        ("Canada", "Toronto"),
        ("Netherlands", "Rotterdam"),
        ("Poland", "Krakow"),
        ("Spain", "Barcelona"),
    ];
    if new_version && let Some((_, city)) = confused.iter().find(|(c, _)| *c == country) {
        return format!("The capital of {country} is {city}.");
    }
    let capital = CAPITALS
        .iter()
        .find(|(c, _)| *c == country)
        .map_or("unknown", |(_, capital)| capital);
    format!("The capital of {country} is {capital}.")
}

/// 1 when the answer names the expected capital.
#[evaluator]
fn correct(output: &String, ground_truth: &String) -> bool {
    output.contains(ground_truth.as_str())
}

fn dataset() -> Dataset {
    let lines: Vec<String> = CAPITALS
        .iter()
        .map(|(country, capital)| {
            serde_json::json!({"inputs": {"country": country}, "ground_truth": capital}).to_string()
        })
        .collect();
    Dataset::from_json(&lines.join("\n")).expect("the capitals dataset")
}

async fn run(new_version: bool, baseline: &str, write_baseline: bool) -> ExperimentReport {
    Experiment::<Question, String>::new("capitals")
        .dataset(dataset())
        .evaluators(evaluators![correct])
        .baseline(baseline)
        .update_baseline(write_baseline)
        .regression(Regression::max_drop("correct", 0.05))
        .run(move |q: Question| async move { ask_model(&q.country, new_version).await })
        .await
        .expect("the experiment runs")
}

#[tokio::main]
async fn main() {
    let baseline = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/honeyhive/examples/capitals-baseline.json"
    );
    // 1. The current version, written as the baseline.
    let before = run(false, baseline, true).await;
    before.check().expect("the baseline run passes");

    // 2. The new version against it: the gate fails.
    let after = run(true, baseline, false).await;
    let gate = &after.comparison.as_ref().expect("a baseline").regressions[0];
    println!(
        "\ncorrect: {:?} -> {:?}, {} worse and {} better, sign test p = {:.4}, gate {}",
        gate.old_mean,
        gate.new_mean,
        gate.worse,
        gate.better,
        gate.p_value,
        if gate.failed { "FAILED" } else { "passed" }
    );
    match after.check() {
        Ok(()) => println!("the new version passes"),
        Err(failure) => println!("the new version fails (as a test would):\n{failure}"),
    }
    if let Some(dir) = &after.report_dir {
        println!("\nopen {}", dir.join("report.html").display());
    }
}
