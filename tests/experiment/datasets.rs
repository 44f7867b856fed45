//! Bad datasets stop the run before anything is called, with errors that say where and
//! what: missing file, malformed JSON line, missing `inputs`, wrong types, ground truth
//! that does not fit an evaluator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Environment, evaluators};

use crate::common::temp_dir;
use crate::support::{Answer, Question, exact_match};

/// An offline experiment that reads nothing from the process environment.
fn offline() -> Experiment<Question, Answer> {
    Experiment::new("bad")
        .environment(Environment::empty())
        .quiet()
}

/// The error that stops `experiment` before it runs anything.
async fn run_error(experiment: Experiment<Question, Answer>) -> String {
    experiment.run(echo).await.unwrap_err().to_string()
}

async fn echo(question: Question) -> Answer {
    Answer {
        k: question.k,
        text: question.text,
    }
}

/// Runs a counting experiment over `file` (written with `content`) in local mode; returns
/// the error text and how many times the function was called.
async fn run_over(name: &str, content: &str) -> (String, usize) {
    let dir = temp_dir(&format!("dataset-{name}"));
    let file = dir.join(name);
    std::fs::write(&file, content).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let error = Experiment::<Question, Answer>::new("bad")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset_file(&file)
        .evaluators(evaluators![exact_match])
        .quiet()
        .run(move |q: Question| {
            counter.fetch_add(1, Ordering::SeqCst);
            echo(q)
        })
        .await
        .unwrap_err()
        .to_string();
    let error = error.replace(&dir.display().to_string(), "<dir>");
    std::fs::remove_dir_all(&dir).ok();
    (error, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_missing_file_names_the_path() {
    let error = run_error(offline().dataset_file("tests/data/does-not-exist.jsonl")).await;
    assert!(
        error.starts_with(
            "honeyhive dataset: dataset file tests/data/does-not-exist.jsonl not found: looked for "
        ),
        "{error}"
    );
    assert!(
        error.contains("relative paths resolve against CARGO_MANIFEST_DIR"),
        "{error}"
    );
}

#[tokio::test]
async fn a_malformed_json_line_names_file_and_line() {
    let (error, calls) = run_over(
        "qa.jsonl",
        "{\"inputs\": {\"k\": 0, \"text\": \"a\"}}\n{\"inputs\": {\"k\": 1, \"text\": }\n",
    )
    .await;
    assert_eq!(calls, 0);
    assert!(
        error.starts_with("honeyhive dataset: <dir>/qa.jsonl:2:29: invalid JSON: expected value"),
        "{error}"
    );
}

#[tokio::test]
async fn missing_inputs_and_wrong_types_are_listed_together_before_any_call() {
    let (error, calls) = run_over(
        "qa.json",
        r#"[
  {"inputs": {"k": 0, "text": "fine"}, "ground_truth": {"k": 0, "text": "x"}},
  {"ground_truth": {"k": 1, "text": "x"}},
  {"inputs": {"k": "two", "text": "x"}},
  {"inputs": {"k": 3, "text": "x"}, "ground_truth": {"k": 3}}
]"#,
    )
    .await;
    assert_eq!(calls, 0, "nothing runs when a datapoint is bad");
    assert_eq!(
        error,
        "honeyhive dataset: 3 of 4 datapoints are invalid:\n  \
         <dir>/qa.json:3:3: missing `inputs`: every datapoint needs an `inputs` object\n  \
         <dir>/qa.json:4:3: inputs: invalid type: string \"two\", expected u32\n  \
         <dir>/qa.json:5:3: ground_truth: evaluator `exact_match`: the ground truth does not fit `Answer`: missing field `text`"
    );
}

#[tokio::test]
async fn a_required_ground_truth_that_is_missing_is_named() {
    let (error, calls) = run_over("qa.jsonl", "{\"inputs\": {\"k\": 0, \"text\": \"a\"}}\n").await;
    assert_eq!(calls, 0);
    assert!(
        error.contains("<dir>/qa.jsonl:1: ground_truth: evaluator `exact_match`: this evaluator needs ground truth (`ground_truth: &Answer`) but the datapoint has none; take `ground_truth: Option<&Answer>`"),
        "{error}"
    );
}

#[tokio::test]
async fn an_empty_dataset_and_no_dataset_are_errors() {
    let error = run_error(offline().dataset(Dataset::from_json("").unwrap())).await;
    assert_eq!(
        error,
        "honeyhive dataset: the dataset EXT-4f53cda18c2baa0c has no datapoints: an experiment \
         needs at least one"
    );
    // A dataset problem under the dataset prefix, its file as the user wrote it.
    let error = run_error(offline().dataset_file("tests/data/empty.jsonl")).await;
    assert_eq!(
        error,
        "honeyhive dataset: tests/data/empty.jsonl: the dataset has no datapoints: an \
         experiment needs at least one"
    );
    let error = run_error(offline()).await;
    assert!(
        error.contains("the experiment has no dataset: call .dataset("),
        "{error}"
    );
}

#[tokio::test]
async fn ground_truth_type_checks_every_datapoint_before_the_run() {
    let error = run_error(
        offline()
            .dataset(Dataset::from_json(&crate::support::dataset_json(2)).unwrap())
            .ground_truth::<u32>(),
    )
    .await;
    assert!(
        error.starts_with("honeyhive dataset: 2 of 2 datapoints are invalid:"),
        "{error}"
    );
    assert!(
        error.contains(
            "line 1: ground_truth: `ground_truth = u32`: the ground truth does not fit `u32`: invalid type: map"
        ),
        "{error}"
    );
}

/// The experiment API's dataset types are at the crate root, and the module path stays.
#[test]
fn dataset_and_datapoint_are_at_the_crate_root() {
    let dataset: honeyhive::dataset::Dataset =
        honeyhive::Dataset::from_json(r#"[{"inputs": {"k": 1, "text": "a"}}]"#).unwrap();
    let first: &honeyhive::Datapoint = &dataset.datapoints()[0];
    let same: &honeyhive::dataset::Datapoint = first;
    assert_eq!(same.inputs()["k"], 1);
}
