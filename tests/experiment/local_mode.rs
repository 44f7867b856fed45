//! Without an API key the whole run is local: a local run id, no network, the report
//! under `<local dir>/runs/<run id>/`. Also shards and repetitions.

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Experiment, Shard};
use honeyhive::local_store::{SessionRecord, read_sessions, read_spans};
use honeyhive::{Environment, evaluators};
use honeyhive_runtime::testing::TestServer;
use serde_json::Value;

use crate::common::temp_dir;
use crate::support::{Answer, Question, dataset_json, exact_match, indices, judged, pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_local_run_writes_its_report_and_sends_nothing() {
    let server = TestServer::start();
    let dir = temp_dir("local-run");
    // A base URL is configured but there is no key: nothing may reach it.
    let environment = Environment::from_pairs([("HH_API_URL", server.url())]);
    let dataset = Dataset::from_json(&dataset_json(6)).unwrap();
    let report = Experiment::<Question, Answer>::new("qa")
        .environment(environment)
        .local_dir(&dir)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, judged])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(!report.connected && report.url.is_none());
    assert!(uuid_like(&report.run_id), "{}", report.run_id);

    let run_dir = dir.join("runs").join(&report.run_id);
    assert_eq!(report.report_dir.as_deref(), Some(run_dir.as_path()));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["run_id"], report.run_id.as_str());
    assert_eq!(summary["datapoint_count"], 6);
    assert_eq!(summary["failed_count"], 0);
    let metrics = summary["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exact_match", "judge", "judge_tokens"]);
    // Datapoints 2 and 5 have a wrong ground truth on purpose.
    assert_eq!(metrics[0]["mean"].as_f64().unwrap(), 4.0 / 6.0);
    let lines: Vec<Value> = std::fs::read_to_string(run_dir.join("datapoints.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        assert_eq!(line["datapoint_id"], dataset.datapoints()[i].id());
        assert_eq!(line["output"]["text"], format!("answer {i}"));
        assert_eq!(&line["inputs"], dataset.datapoints()[i].inputs());
        assert_eq!(
            Some(&line["ground_truth"]),
            dataset.datapoints()[i].ground_truth()
        );
        assert_eq!(line["explanations"]["judge"], format!("k {i} vs {i}"));
        assert_eq!(
            line["evaluations"][1]["extra"],
            serde_json::json!([["tokens", 12.0]])
        );
    }

    // The run is one self-contained folder: its sessions (each started and enriched) and
    // spans are there with the report, with the run's ids, and none at the store's top.
    assert_eq!(
        run_dir,
        honeyhive::local_store::run_dir(&dir, &report.run_id)
    );
    let sessions = read_sessions(&run_dir).unwrap();
    let starts: Vec<_> = sessions
        .iter()
        .filter_map(|s| match s {
            SessionRecord::SessionStart { session, .. } => Some(session),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 6);
    assert_eq!(sessions.len(), 6 * 2, "a start and an update per datapoint");
    assert!(
        starts
            .iter()
            .all(|s| s.metadata["run_id"] == report.run_id.as_str())
    );
    let spans = read_spans(&run_dir).unwrap();
    assert_eq!(spans.len(), 6 * 8);
    assert!(
        spans
            .iter()
            .all(|s| s.attributes["honeyhive_metadata.run_id"] == report.run_id.as_str())
    );
    assert!(read_spans(&dir).unwrap().is_empty());
    assert!(read_sessions(&dir).unwrap().is_empty());
    let mut files: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "datapoints.jsonl",
            "junit.xml",
            "report.html",
            "sessions.jsonl",
            "spans.jsonl",
            "summary.json",
            "summary.md",
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hh_shard_runs_a_deterministic_subset_and_hh_run_id_joins_a_run() {
    let dir = temp_dir("shard");
    let environment = Environment::from_pairs([("HH_SHARD", "2/3"), ("HH_RUN_ID", "shared-run")]);
    let dataset = Dataset::from_json(&dataset_json(8)).unwrap();
    let report = Experiment::<Question, Answer>::new("qa")
        .environment(environment)
        .local_dir(&dir)
        .dataset(dataset.clone())
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(indices(&report), [1, 4, 7]);
    assert_eq!(report.run_id, "shared-run");
    assert_eq!(report.shard.as_deref(), Some("2/3"));
    // The builder's shard wins over the environment.
    let report = Experiment::<Question, Answer>::new("qa")
        .environment(Environment::from_pairs([("HH_SHARD", "2/3")]))
        .local_dir(&dir)
        .dataset(dataset)
        .shard(Shard::new(1, 3).unwrap())
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(indices(&report), [0, 3, 6]);
    let error = Experiment::<Question, Answer>::new("qa")
        .environment(Environment::from_pairs([("HH_SHARD", "4/3")]))
        .local_dir(&dir)
        .dataset(Dataset::from_json(&dataset_json(2)).unwrap())
        .quiet()
        .run(pipeline)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("use k/n with 1 <= k <= n"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repetitions_run_every_datapoint_in_its_own_sessions() {
    let dir = temp_dir("repetitions");
    let dataset = Dataset::from_json(&dataset_json(2)).unwrap();
    let report = Experiment::<Question, Answer>::new("qa")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset)
        .evaluators(evaluators![exact_match])
        .repetitions(3)
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    let order: Vec<(usize, u32)> = report
        .datapoints()
        .unwrap()
        .iter()
        .map(|d| (d.index, d.repetition))
        .collect();
    assert_eq!(order, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
    let sessions: std::collections::BTreeSet<String> =
        report.session_ids().unwrap().into_iter().collect();
    assert_eq!(sessions.len(), 6);
    assert_eq!(report.metric("exact_match").unwrap().count, 6);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tracing_disabled_the_run_still_scores_and_sends_nothing() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dir = temp_dir("disabled");
    let environment = Environment::from_pairs([
        ("HH_API_KEY", crate::common::API_KEY.to_owned()),
        ("HH_PROJECT", crate::common::PROJECT.to_owned()),
        ("HH_API_URL", server.url()),
        ("HH_DISABLED", "true".to_owned()),
    ]);
    let report = Experiment::<Question, Answer>::new("qa")
        .environment(environment)
        .local_dir(&dir)
        .dataset(Dataset::from_json(&dataset_json(3)).unwrap())
        .evaluators(evaluators![exact_match])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(report.metric("exact_match").unwrap().count, 3);
    assert!(!report.connected);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(read_spans(&dir).unwrap_or_default().is_empty());
    let run_dir = honeyhive::local_store::run_dir(&dir, &report.run_id);
    assert!(read_spans(&run_dir).unwrap_or_default().is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
