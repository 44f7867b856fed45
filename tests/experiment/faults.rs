//! A panicking datapoint, an erring and a panicking evaluator, a backend that answers 500
//! for a while: the run completes, the failures are reported, nothing else is lost.

use std::time::Duration;

use honeyhive::dataset::Dataset;
use honeyhive::{evaluator, evaluators, trace};
use honeyhive_runtime::testing::{Fault, Route, StatusCode, TestServer};

use crate::support::{
    Answer, Question, attr, by_session, connected_experiment, dataset_json, exact_match,
};

#[trace]
async fn fragile(question: Question) -> Answer {
    if question.k == 3 {
        panic!("model exploded on {}", question.k);
    }
    Answer {
        k: question.k,
        text: format!("answer {}", question.k),
    }
}

#[evaluator]
fn picky(output: &Answer) -> Result<f64, String> {
    match output.k {
        5 => Err(format!("cannot judge {}", output.k)),
        _ => Ok(1.0),
    }
}

#[evaluator]
fn shaky(output: &Answer) -> bool {
    assert!(output.k != 6, "judge crashed on 6");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_reported_and_nothing_else_is_lost() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    // The backend fails for a while on every route the run uses.
    server.inject(Route::Traces, Fault::status(500).times(3));
    server.inject(Route::SessionStart, Fault::status(500).times(2));
    server.inject(Route::Events, Fault::status(503).times(2));
    server.inject(Route::Runs, Fault::status(502).times(1));
    let dataset = Dataset::from_json(&dataset_json(10)).unwrap();
    let report = connected_experiment("fragile run", &server)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, picky, shaky])
        .max_concurrency(4)
        .quiet()
        .run(fragile)
        .await
        .unwrap();

    // The panicking datapoint failed; the others ran, in dataset order.
    let failures = report.failures().unwrap();
    let failed: Vec<(usize, &str)> = failures
        .iter()
        .map(|d| (d.index, d.error.as_deref().unwrap()))
        .collect();
    assert_eq!(failed, [(3, "panicked: model exploded on 3")]);
    assert_eq!(report.failure_sample(), failures.as_slice());
    assert_eq!((report.datapoint_count, report.failed_count), (10, 1));
    let datapoints = report.datapoints().unwrap();
    assert_eq!(datapoints.len(), 10);
    assert!(datapoints.iter().enumerate().all(|(i, d)| d.index == i));
    // Each evaluator failure is that evaluator's alone.
    let evaluation = |index: usize, name: &str| {
        datapoints[index]
            .evaluations
            .iter()
            .find(|e| e.name == name)
            .unwrap()
            .clone()
    };
    assert_eq!(evaluation(5, "picky").errors, ["cannot judge 5"]);
    assert_eq!(evaluation(5, "picky").score, None);
    assert_eq!(evaluation(5, "shaky").score, Some(1.0));
    assert_eq!(
        evaluation(6, "shaky").errors,
        ["panicked: judge crashed on 6"]
    );
    assert_eq!(evaluation(6, "picky").score, Some(1.0));
    assert_eq!(report.metric("picky").unwrap().errors, 1);
    assert_eq!(report.metric("picky").unwrap().count, 8);
    // The run is finished as failed: one datapoint failed and none is allowed.
    assert!(report.run_failed());
    let message = report.check().unwrap_err().to_string();
    assert!(
        message.contains("datapoint 4 (EXT-") && message.contains("model exploded"),
        "{message}"
    );
    // An evaluator's error and its panic each leave a datapoint unscored: both count.
    for (evaluator, error) in [
        ("picky", "cannot judge 5"),
        ("shaky", "panicked: judge crashed on 6"),
    ] {
        assert!(
            message.contains(&format!(
                "evaluator `{evaluator}` could not score 1 of 9 datapoints"
            )) && message.contains(error),
            "{message}"
        );
    }

    // Nothing lost despite the 5xx: 10 sessions, 10 updates, every span.
    assert_eq!(server.sessions().len(), 10);
    assert_eq!(server.event_updates().len(), 10);
    let spans = server.wait_for_spans(9 * 5 + 2, Duration::from_secs(20));
    // 9 datapoints: root, fragile, three evaluators; the panicking one: root and fragile.
    assert_eq!(spans.len(), 9 * 5 + 2);
    let sessions = by_session(&spans);
    let broken = &datapoints[3].session_id;
    let broken_spans = &sessions[broken];
    for s in broken_spans {
        assert_eq!(s.status.code, StatusCode::Error, "{}", s.name);
        assert_eq!(
            attr(s, "honeyhive_error"),
            if s.name == "fragile" {
                "model exploded on 3"
            } else {
                "panicked: model exploded on 3"
            }
        );
        assert_eq!(s.events.iter().filter(|e| e.name == "exception").count(), 1);
    }
    let picky_span = sessions[&datapoints[5].session_id]
        .iter()
        .find(|s| s.name == "picky")
        .copied()
        .unwrap();
    assert_eq!(picky_span.status.code, StatusCode::Error);
    assert_eq!(attr(picky_span, "honeyhive_error"), "cannot judge 5");
    let shaky_span = sessions[&datapoints[6].session_id]
        .iter()
        .find(|s| s.name == "shaky")
        .copied()
        .unwrap();
    assert_eq!(
        attr(shaky_span, "honeyhive_error"),
        "panicked: judge crashed on 6"
    );
    let finish = server
        .requests_to(&format!("/v1/runs/{}", report.run_id))
        .into_iter()
        .filter(|r| r.method == http::Method::PUT && r.response_status == 200)
        .last()
        .unwrap();
    assert_eq!(finish.json().unwrap()["status"], "failed");
    assert_eq!(
        finish.json().unwrap()["event_ids"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_failures_complete_the_run() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(5)).unwrap();
    let report = connected_experiment("fragile", &server)
        .dataset(dataset)
        .allow_failures(1)
        .quiet()
        .run(fragile)
        .await
        .unwrap();
    assert_eq!(report.failed_count, 1);
    assert_eq!(report.failures().unwrap().len(), 1);
    report.check().unwrap();
    let finish = server
        .requests_to(&format!("/v1/runs/{}", report.run_id))
        .into_iter()
        .find(|r| r.method == http::Method::PUT)
        .unwrap();
    assert_eq!(finish.json().unwrap()["status"], "completed");
}

#[evaluator(timeout = "50ms")]
async fn slow_judge(output: &Answer) -> f64 {
    if output.k == 1 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    1.0
}

/// A judge whose own error reads like a timeout: it is an error all the same.
#[evaluator]
fn wordy_judge(output: &Answer) -> Result<f64, String> {
    match output.k {
        0 => Err("timed out talking to the judge model".to_owned()),
        _ => Ok(1.0),
    }
}

/// `exception.type` of the evaluator span `name` of the datapoint at `index`.
fn evaluator_exception_type(
    spans: &[honeyhive_runtime::testing::RecordedSpan],
    report: &honeyhive::experiment::ExperimentReport,
    index: usize,
    name: &str,
) -> String {
    let session = &report.datapoints().unwrap()[index].session_id;
    let span = spans
        .iter()
        .find(|s| s.name == name && s.str_attr("honeyhive.session_id") == Some(session))
        .unwrap_or_else(|| panic!("no {name} span for datapoint {index}"));
    let event = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap_or_else(|| panic!("{name} of datapoint {index} has no exception event"));
    event.attributes["exception.type"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_datapoints_and_evaluators_time_out_alone() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(3)).unwrap();
    let report = connected_experiment("slow", &server)
        .dataset(dataset)
        .evaluators(evaluators![slow_judge, wordy_judge])
        .timeout(Duration::from_millis(200))
        .allow_failures(2)
        .quiet()
        .run(|q: Question| async move {
            if q.k == 2 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            crate::support::pipeline(q).await
        })
        .await
        .unwrap();
    let datapoints = report.datapoints().unwrap();
    assert_eq!(
        datapoints[2].error.as_deref(),
        Some("timed out after 200ms")
    );
    assert_eq!(
        datapoints[1].evaluations[0].errors,
        ["timed out after 50ms"]
    );
    assert_eq!(datapoints[0].evaluations[0].score, Some(1.0));
    let spans = server.wait_for_spans(1, Duration::from_secs(5));
    let root = spans
        .iter()
        .find(|s| s.name == "slow" && s.attr("honeyhive_error").is_some())
        .unwrap();
    assert_eq!(attr(root, "honeyhive_error"), "timed out after 200ms");
    // The kind of an evaluator's failure is the way it failed, not what its message says.
    let spans = server.spans();
    assert_eq!(
        evaluator_exception_type(&spans, &report, 1, "slow_judge"),
        "timeout"
    );
    assert_eq!(
        datapoints[0].evaluations[1].errors,
        ["timed out talking to the judge model"]
    );
    assert_eq!(
        evaluator_exception_type(&spans, &report, 0, "wordy_judge"),
        "error"
    );
    // The timed-out evaluator left its datapoint unscored: that fails the run.
    let reasons = report.check().unwrap_err().reasons;
    assert!(
        reasons[0].starts_with("evaluator `slow_judge` could not score 1 of 2 datapoints")
            && reasons[0].contains("timed out after 50ms"),
        "{reasons:?}"
    );
}

/// A noisy judge: every call of one datapoint gives the next score of a fixed sequence.
mod noisy {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use honeyhive::{Score, evaluator};

    use crate::support::Answer;

    static CALLS: AtomicUsize = AtomicUsize::new(0);
    const SCORES: [f64; 5] = [0.2, 0.9, 0.4, 0.8, 0.5];

    #[evaluator(repeat = 5, aggregate = "median")]
    pub fn judge(output: &Answer) -> Score {
        let _ = output;
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        Score::new(SCORES[n % 5]).extra("cost", n % 5)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_evaluator_keeps_every_score_and_reports_the_aggregate() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let report = connected_experiment("noisy", &server)
        .dataset(Dataset::from_json(&dataset_json(1)).unwrap())
        .evaluators(evaluators![noisy::judge])
        .quiet()
        .run(crate::support::pipeline)
        .await
        .unwrap();
    let datapoints = report.datapoints().unwrap();
    let evaluation = &datapoints[0].evaluations[0];
    let mut scores = evaluation.scores.clone();
    scores.sort_by(f64::total_cmp);
    assert_eq!(scores, [0.2, 0.4, 0.5, 0.8, 0.9]);
    assert_eq!(evaluation.score, Some(0.5));
    assert_eq!(evaluation.extra, [("cost".to_owned(), 2.0)]);
    let spans = server.spans();
    let span = spans.iter().find(|s| s.name == "judge").unwrap();
    for i in 0..5 {
        assert!(
            span.attr(&format!("honeyhive_outputs.scores.{i}"))
                .is_some(),
            "{:?}",
            span.attributes
        );
    }
    assert_eq!(attr(span, "honeyhive_outputs.aggregate"), "median");
    assert_eq!(
        span.attr("honeyhive_metrics.judge"),
        Some(&honeyhive_runtime::testing::AttrValue::Double(0.5))
    );
    let root = spans.iter().find(|s| s.name == "noisy").unwrap();
    assert_eq!(
        root.attr("honeyhive_metrics.judge"),
        Some(&honeyhive_runtime::testing::AttrValue::Double(0.5))
    );
}
