//! `runs::compare`: two experiments run against the test server, then compared through the
//! public API, with typed per-metric deltas and the datapoints that improved or degraded.

use honeyhive::dataset::Dataset;
use honeyhive::evaluators;
use honeyhive::runs::{self, AggregateFunction};
use honeyhive_runtime::testing::TestServer;

use crate::support::{
    Answer, Question, connected, connected_experiment, dataset_json, exact_match,
};

async fn answer_all(question: Question) -> Answer {
    Answer {
        k: question.k,
        text: format!("answer {}", question.k),
    }
}

async fn answer_first(question: Question) -> Answer {
    let text = match question.k {
        0 => "answer 0".to_owned(),
        _ => "no idea".to_owned(),
    };
    Answer {
        k: question.k,
        text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runs_compare_per_metric_with_improved_and_degraded_datapoints() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(3)).unwrap();
    let experiment = || {
        connected_experiment("compare", &server)
            .dataset(dataset.clone())
            .evaluators(evaluators![exact_match])
            .quiet()
    };
    // Datapoint 2's ground truth is wrong on purpose: it fails in both runs.
    let old = experiment().run(answer_all).await.unwrap();
    let new = experiment().run(answer_first).await.unwrap();

    let config = connected(&server);
    let comparison = runs::compare_with(
        &config,
        &new.run_id,
        &old.run_id,
        AggregateFunction::Average,
    )
    .await
    .unwrap();
    let ids: Vec<&str> = dataset.datapoints().iter().map(|d| d.id()).collect();
    assert_eq!(comparison.common_datapoints.len(), 3);
    let exact = comparison.metric("exact_match").unwrap();
    assert_eq!(exact.old_aggregate, Some(2.0 / 3.0));
    assert_eq!(exact.new_aggregate, Some(1.0 / 3.0));
    assert!((exact.delta().unwrap() + 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(exact.degraded, [ids[1]]);
    assert!(exact.improved.is_empty());
    let mut same = exact.same.clone();
    same.sort();
    let mut expected = vec![ids[0].to_owned(), ids[2].to_owned()];
    expected.sort();
    assert_eq!(same, expected);
    let degraded: Vec<&str> = comparison
        .degraded_metrics()
        .map(|m| m.metric_name.as_str())
        .collect();
    assert_eq!(degraded, ["exact_match"]);
    assert_eq!(comparison.improved_metrics().count(), 0);

    // The other way round, the same metric improved.
    let reverse = runs::compare_with(&config, &old.run_id, &new.run_id, AggregateFunction::Max)
        .await
        .unwrap();
    assert_eq!(
        reverse.improved_metrics().count(),
        0,
        "max is 1 in both runs"
    );
    let request = server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.contains("/compare-with/"))
        .unwrap();
    assert_eq!(request.query.as_deref(), Some("aggregate_function=max"));
    let reverse = runs::compare_with(
        &config,
        &old.run_id,
        &new.run_id,
        AggregateFunction::Average,
    )
    .await
    .unwrap();
    let improved: Vec<&str> = reverse
        .improved_metrics()
        .map(|m| m.metric_name.as_str())
        .collect();
    assert_eq!(improved, ["exact_match"]);
    assert_eq!(reverse.metric("exact_match").unwrap().improved, [ids[1]]);

    // An unknown run is an error naming it.
    let error = runs::compare_with(
        &config,
        &new.run_id,
        "no-such-run",
        AggregateFunction::Average,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("no-such-run"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_experiment_sends_its_aggregate_function_with_the_run_and_the_result_query() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let report = connected_experiment("aggregate", &server)
        .dataset(Dataset::from_json(&dataset_json(3)).unwrap())
        .evaluators(evaluators![exact_match])
        .aggregate_function(AggregateFunction::Max)
        .quiet()
        .run(answer_first)
        .await
        .unwrap();
    let create = &server.requests_to("/v1/runs")[0];
    assert_eq!(
        create.json().unwrap()["configuration"]["aggregate_function"],
        "max"
    );
    let result = &server.requests_to(&format!("/v1/runs/{}/result", report.run_id))[0];
    assert_eq!(result.query.as_deref(), Some("aggregate_function=max"));
    let view = report.server_view().unwrap();
    assert_eq!(view.metrics.aggregation_function.as_deref(), Some("max"));
    assert_eq!(view.metric("exact_match").unwrap().aggregate, Some(1.0));
}

/// A HoneyHive run id as the baseline: its per-datapoint results are fetched before the
/// run (pairing, the gate, the deltas), and HoneyHive's own comparison (`compare-with`)
/// after it is kept in the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_honeyhive_run_is_a_baseline_compared_through_compare_with() {
    use honeyhive::experiment::Regression;
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dir = crate::common::temp_dir("compare-baseline");
    // The new runs' local store is another machine's: the old run is only on HoneyHive.
    let elsewhere = crate::common::temp_dir("compare-baseline-elsewhere");
    let dataset = Dataset::from_json(&dataset_json(3)).unwrap();
    let experiment = || {
        connected_experiment("compare", &server)
            .local_dir(&elsewhere)
            .dataset(dataset.clone())
            .evaluators(evaluators![exact_match])
            .regression(Regression::max_drop("exact_match", 0.05))
            .quiet()
    };
    let old = experiment().local_dir(&dir).run(answer_all).await.unwrap();
    let new = experiment()
        .baseline(&old.run_id)
        .run(answer_first)
        .await
        .unwrap();
    let comparison = new.comparison.as_ref().unwrap();
    assert_eq!(comparison.baseline.run_id, old.run_id);
    assert!(
        comparison
            .baseline
            .url
            .as_deref()
            .unwrap()
            .ends_with(&old.run_id)
    );
    assert_eq!(
        (comparison.paired, comparison.new, comparison.gone),
        (3, 0, 0)
    );
    let exact = comparison.metric("exact_match").unwrap();
    assert_eq!(exact.old_mean, Some(2.0 / 3.0));
    assert_eq!(
        (exact.regressed, exact.improved, exact.unchanged),
        (1, 0, 2)
    );
    // One datapoint worse is too little to tell from noise.
    let gate = &comparison.regressions[0];
    assert_eq!((gate.worse, gate.failed), (1, false));
    let server_view = comparison.server.as_ref().expect("HoneyHive's comparison");
    assert_eq!(
        server_view.metric("exact_match").unwrap().degraded,
        [dataset.datapoints()[1].id()]
    );
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(&format!("/v1/runs/{}/result", old.run_id))),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with(&format!(
            "/v1/runs/{}/compare-with/{}",
            new.run_id, old.run_id
        ))),
        "{paths:?}"
    );
    // Where the old run's folder is in the local store, it is read from there (its outputs
    // too), and HoneyHive still compares the runs.
    let again = experiment()
        .local_dir(&dir)
        .baseline(&old.run_id)
        .run(answer_first)
        .await
        .unwrap();
    let comparison = again.comparison.as_ref().unwrap();
    assert!(comparison.baseline.path.is_some(), "read locally");
    assert!(comparison.server.is_some(), "and compared on HoneyHive");
    // A run id HoneyHive does not know is an error before anything runs.
    let error = experiment()
        .baseline("no-such-run")
        .run(answer_all)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("honeyhive baseline: baseline `no-such-run` is not a file or a run of the local store, and HoneyHive could not give run `no-such-run`'s results either"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&elsewhere).ok();
}
