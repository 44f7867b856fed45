//! What the experiment tests share: a connected configuration, and the pipeline under
//! test (`#[trace]` steps and `#[evaluator]`s) with its input and output types.

use std::collections::BTreeMap;

use honeyhive::experiment::{Experiment, ExperimentReport};
use honeyhive::{Environment, Score, evaluator, trace};
use honeyhive_runtime::testing::{RecordedSpan, TestServer};
use serde::{Deserialize, Serialize};

/// A configuration connected to `server`, reading nothing from the process environment.
pub use crate::common::connected_config as connected;

/// An experiment connected to `server`, reading nothing from the process environment.
pub fn connected_experiment(name: &str, server: &TestServer) -> Experiment<Question, Answer> {
    Experiment::new(name)
        .config(connected(server))
        .environment(Environment::empty())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    pub k: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub k: u32,
    pub text: String,
}

/// `n` datapoints; the ground truth of every third one is wrong on purpose.
pub fn dataset_json(n: u32) -> String {
    let lines: Vec<String> = (0..n)
        .map(|k| {
            let truth = if k % 3 == 2 {
                format!("wrong {k}")
            } else {
                format!("answer {k}")
            };
            serde_json::json!({
                "inputs": {"k": k, "text": format!("question {k}")},
                "ground_truth": {"k": k, "text": truth},
            })
            .to_string()
        })
        .collect();
    lines.join("\n")
}

#[trace]
pub fn retrieve(k: u32) -> Vec<String> {
    vec![format!("doc {k}")]
}

#[trace(event_type = "model")]
pub async fn generate(k: u32, docs: Vec<String>) -> String {
    tokio::task::yield_now().await;
    let _ = docs;
    format!("answer {k}")
}

/// The pipeline: retrieve, then generate on a spawned task, then post-process on a
/// thread: three levels of `#[trace]` across tasks and threads.
#[trace(event_type = "chain")]
pub async fn pipeline(question: Question) -> Answer {
    let k = question.k;
    let docs = retrieve(k);
    let text = honeyhive::spawn(generate(k, docs)).await.unwrap();
    let text = honeyhive::thread::spawn(move || polish(k, text))
        .join()
        .unwrap();
    Answer { k, text }
}

#[trace]
pub fn polish(k: u32, text: String) -> String {
    let _ = k;
    text
}

/// Exact match against the ground truth.
#[evaluator]
pub fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
    output == ground_truth
}

/// An async judge that calls a traced helper (its span nests under the evaluator's).
#[evaluator(name = "judge")]
pub async fn judged(output: &Answer, inputs: &Question) -> Score {
    let agrees = judge_step(inputs.k, output.k).await;
    Score::new(if agrees { 0.9 } else { 0.1 })
        .explanation(format!("k {} vs {}", inputs.k, output.k))
        .extra("tokens", 12)
}

#[trace]
pub async fn judge_step(expected: u32, got: u32) -> bool {
    tokio::task::yield_now().await;
    expected == got
}

pub fn attr<'a>(span: &'a RecordedSpan, key: &str) -> &'a str {
    span.str_attr(key)
        .unwrap_or_else(|| panic!("span {} lacks {key}: {:#?}", span.name, span.attributes))
}

/// The spans by session id.
pub fn by_session(spans: &[RecordedSpan]) -> BTreeMap<String, Vec<&RecordedSpan>> {
    let mut map: BTreeMap<String, Vec<&RecordedSpan>> = BTreeMap::new();
    for s in spans {
        map.entry(attr(s, "honeyhive.session_id").to_owned())
            .or_default()
            .push(s);
    }
    map
}

/// The dataset positions of the datapoints a report read back, in its order.
pub fn indices(report: &ExperimentReport) -> Vec<usize> {
    report
        .datapoints()
        .expect("the report's results read back")
        .iter()
        .map(|d| d.index)
        .collect()
}
