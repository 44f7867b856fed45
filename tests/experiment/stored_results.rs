//! A run's memory is flat in its finished datapoints: the report keeps counts, metric
//! statistics and a bounded sample of failures, and reads every result back from its
//! stored results file, which goes with the last clone of the report.

use honeyhive::dataset::Dataset;
use honeyhive::evaluators;
use honeyhive::experiment::{ExperimentReport, FAILURE_SAMPLE};
use honeyhive::{Environment, experiment::Experiment};
use honeyhive_runtime::testing::TestServer;
use serde_json::Value;

use crate::common::temp_dir;
use crate::support::{Answer, Question, connected_experiment, dataset_json, exact_match};

/// Fails every odd datapoint; answers the others right (their ground truth is wrong on
/// purpose for every third one, see `dataset_json`).
async fn odd_ones_fail(q: Question) -> Result<Answer, String> {
    tokio::task::yield_now().await;
    if q.k % 2 == 1 {
        return Err(format!("no answer for {}", q.k));
    }
    Ok(Answer {
        k: q.k,
        text: format!("answer {}", q.k),
    })
}

async fn local_run(dir: &std::path::Path, n: u32) -> (Dataset, ExperimentReport) {
    let dataset = Dataset::from_json(&dataset_json(n)).unwrap();
    let report = Experiment::<Question, Answer>::new("flat")
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match])
        .max_concurrency(8)
        .allow_failures(n as usize)
        .quiet()
        .try_run(odd_ones_fail)
        .await
        .unwrap();
    (dataset, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_report_holds_no_per_datapoint_results_and_reads_them_all_back() {
    let dir = temp_dir("stored-results");
    let (_, small) = local_run(&dir, 40).await;
    let (dataset, report) = local_run(&dir, 400).await;

    // Counts and a bounded sample: the first failures in dataset order, however many.
    assert_eq!((report.datapoint_count, report.failed_count), (400, 200));
    let sample: Vec<usize> = report.failure_sample().iter().map(|d| d.index).collect();
    let first_odd: Vec<usize> = (0..400)
        .filter(|i| i % 2 == 1)
        .take(FAILURE_SAMPLE)
        .collect();
    assert_eq!(sample, first_odd);
    let identity = |r: &ExperimentReport| -> Vec<(usize, String, Option<String>)> {
        r.failure_sample()
            .iter()
            .map(|d| (d.index, d.datapoint_id.clone(), d.error.clone()))
            .collect()
    };
    assert_eq!(identity(&small), identity(&report));
    // Everything the report holds in memory shows in its `Debug`: ten times the datapoints,
    // about the same size (the digits of durations and statistics vary). Keeping the
    // results would take some 200 bytes more per datapoint.
    let (small_size, size) = (format!("{small:?}").len(), format!("{report:?}").len());
    assert!(
        size < small_size + small_size / 4,
        "{small_size} bytes for 40 datapoints, {size} for 400: {report:?}"
    );

    // Every result comes back, in dataset order, with its ids and scores.
    let datapoints = report.datapoints().unwrap();
    assert_eq!(datapoints.len(), 400);
    for (i, d) in datapoints.iter().enumerate() {
        assert_eq!(d.index, i);
        assert_eq!(d.datapoint_id, dataset.datapoints()[i].id());
        assert!(!d.session_id.is_empty());
        if i % 2 == 1 {
            assert_eq!(
                d.error.as_deref(),
                Some(format!("no answer for {i}").as_str())
            );
            assert!(d.evaluations.is_empty());
        } else {
            let expected = if i % 3 == 2 { 0.0 } else { 1.0 };
            assert_eq!(d.metric("exact_match"), Some(expected), "datapoint {i}");
        }
    }
    // The streamed statistics are those of the results read back.
    let scores: Vec<f64> = datapoints
        .iter()
        .filter_map(|d| d.metric("exact_match"))
        .collect();
    let exact = report.metric("exact_match").unwrap();
    assert_eq!(exact.count, 200);
    assert_eq!(exact.mean, Some(scores.iter().sum::<f64>() / 200.0));
    assert_eq!(exact.p50, honeyhive::experiment::percentile(&scores, 50.0));
    assert_eq!(exact.p90, honeyhive::experiment::percentile(&scores, 90.0));
    assert_eq!(report.failures().unwrap().len(), 200);
    let streamed = report
        .read_datapoints()
        .unwrap()
        .map(|d| d.unwrap().session_id);
    assert!(streamed.eq(report.session_ids().unwrap()));

    // The check names the first failures and counts the rest.
    let mut strict = report.clone();
    strict.allow_failures = 0;
    let reason = &strict.check().unwrap_err().reasons[0];
    assert!(
        reason.starts_with("200 datapoint(s) failed, 0 allowed"),
        "{reason}"
    );
    // Counted from 1, as progress counts: the dataset is text, not a file with lines.
    assert!(reason.contains("\n    datapoint 2 ("), "{reason}");
    assert!(reason.ends_with("... and 190 more"), "{reason}");
    drop(strict);

    // The summary has the counts; the results file is the report's own, not in the
    // report directory, and goes with the last clone.
    let run_dir = report.report_dir.clone().unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        (
            summary["datapoint_count"].as_u64(),
            summary["failed_count"].as_u64()
        ),
        (Some(400), Some(200))
    );
    let file = report.results_file().unwrap().to_owned();
    assert!(
        file.is_file() && !file.starts_with(&run_dir),
        "{}",
        file.display()
    );
    let clone = report.clone();
    drop(report);
    assert!(file.is_file());
    assert_eq!(clone.datapoints().unwrap().len(), 400);
    drop(clone);
    assert!(!file.exists(), "{} outlived the report", file.display());
    drop(small);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_run_stores_its_results_and_removes_them_with_the_report() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(30)).unwrap();
    let report = connected_experiment("stored", &server)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match])
        .allow_failures(15)
        .quiet()
        .try_run(odd_ones_fail)
        .await
        .unwrap();
    assert!(report.connected);
    assert_eq!((report.datapoint_count, report.failed_count), (30, 15));
    let datapoints = report.datapoints().unwrap();
    let ids: Vec<&str> = datapoints.iter().map(|d| d.datapoint_id.as_str()).collect();
    let expected: Vec<&str> = dataset.datapoints().iter().map(|d| d.id()).collect();
    assert_eq!(ids, expected);
    // The run was finished with every session, read back from the stored results.
    let finish = server
        .requests_to(&format!("/v1/runs/{}", report.run_id))
        .into_iter()
        .find(|r| r.method == http::Method::PUT)
        .unwrap();
    let sessions: Vec<String> = datapoints.iter().map(|d| d.session_id.clone()).collect();
    assert_eq!(
        finish.json().unwrap()["event_ids"],
        serde_json::json!(sessions)
    );
    let file = report.results_file().unwrap().to_owned();
    assert!(file.is_file());
    drop(report);
    assert!(!file.exists(), "{} outlived the report", file.display());
}
