//! A threshold names a metric as the summary table prints it (an evaluator's name, a
//! built-in's metric name, an extra score `<metric>_<key>`), and one that names no metric
//! stops the run before any datapoint runs, listing the metrics it may name.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use honeyhive::dataset::Dataset;
use honeyhive::evaluators::{Contains, ExactMatch};
use honeyhive::experiment::{Comparison, Experiment};
use honeyhive::{Environment, Error, evaluators};

use crate::common::temp_dir;
use crate::support::{Answer, Question, dataset_json, judged, pipeline};

fn experiment(dir: &std::path::Path) -> Experiment<Question, Answer> {
    Experiment::<Question, Answer>::new("qa")
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(Dataset::from_json(&dataset_json(4)).unwrap())
        .evaluators(evaluators![
            judged,
            ExactMatch.field("text"),
            Contains::new("answer").field("text"),
        ])
        .quiet()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_name_metrics_as_the_summary_table_prints_them() {
    let dir = temp_dir("thresholds-by-metric");
    let report = experiment(&dir)
        // `judged` records `judge` (its `name`), `ExactMatch` records `exact_match`, a
        // `Contains` value records `contains`; `judge_tokens` is an extra score of `judge`.
        .threshold("judge", Comparison::AtLeast, 0.5)
        .threshold("exact_match", Comparison::AtLeast, 0.5)
        .threshold("contains", Comparison::AtLeast, 1.0)
        .threshold("judge_tokens", Comparison::AtMost, 100.0)
        .run(pipeline)
        .await
        .unwrap();
    report.check().unwrap();
    for metric in ["judge", "exact_match", "contains", "judge_tokens"] {
        let summary = report.metric(metric).unwrap();
        assert!(summary.threshold.is_some(), "{metric}");
        assert_eq!(summary.passed, Some(true), "{metric}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_on_no_metric_stops_the_run_before_any_datapoint() {
    let dir = temp_dir("thresholds-unknown");
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let error = experiment(&dir)
        .threshold("judge", Comparison::AtLeast, 0.5)
        .threshold("ExactMatch", Comparison::AtLeast, 0.5)
        .run(move |question: Question| {
            counted.fetch_add(1, Ordering::SeqCst);
            pipeline(question)
        })
        .await
        .unwrap_err();
    let Error::UnknownMetric(unknown) = &error else {
        panic!("{error}");
    };
    assert_eq!(unknown.metric, "ExactMatch");
    assert_eq!(unknown.metrics, ["judge", "exact_match", "contains"]);
    assert_eq!(
        error.to_string(),
        "honeyhive configuration: threshold `ExactMatch` names no metric of this experiment \
         (did you mean `exact_match`?); its metrics: `judge`, `exact_match`, `contains`; a \
         threshold names a metric as the summary table prints it: an `#[evaluator]`'s `name` \
         (else its function's name), a built-in's metric name such as `exact_match`, \
         `<metric>_<key>` for an extra score an evaluator reports with `Score::extra`, or a \
         metric of the run's model calls: `cost_usd`, `input_tokens`, `output_tokens`, \
         `model_latency_ms`"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no datapoint ran");
    assert!(!dir.join("runs").exists(), "no run was started");

    // `<metric>_` with no key is no extra score, and an experiment without evaluators
    // has no metric at all.
    let bare = Experiment::<Question, Answer>::new("bare")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(Dataset::from_json(&dataset_json(1)).unwrap())
        .quiet();
    for (experiment, expected) in [
        (
            experiment(&dir).threshold("judge_", Comparison::AtMost, 1.0),
            "threshold `judge_` names no metric",
        ),
        (
            bare.threshold("judge", Comparison::AtLeast, 0.5),
            "this experiment has no evaluators",
        ),
    ] {
        let error = experiment.run(pipeline).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
