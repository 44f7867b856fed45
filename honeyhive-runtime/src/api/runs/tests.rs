//! Tests of the run bodies and views, of git collection, and (with the `testing` feature) of
//! every API call over real HTTP against the test server.

use serde_json::json;

use super::*;

fn configuration() -> RunConfiguration {
    RunConfiguration::new("answer", vec!["exact".into(), "length".into()], 4)
}

#[test]
fn an_external_dataset_id_goes_to_metadata_only() {
    let run = RunCreate::new("exp", Some("EXT-abc"), vec![], configuration());
    assert_eq!(run.dataset_id(), None);
    assert_eq!(run.offline_dataset_id(), Some("EXT-abc"));
    let body = serde_json::to_value(&run).unwrap();
    assert!(body.get("dataset_id").is_none(), "{body}");
    assert_eq!(body["metadata"], json!({"offline_dataset_id": "EXT-abc"}));
}

#[test]
fn a_managed_dataset_id_goes_to_dataset_id_only() {
    let run = RunCreate::new("exp", Some("663a1f2e"), vec![], configuration());
    assert_eq!(run.dataset_id(), Some("663a1f2e"));
    assert_eq!(run.offline_dataset_id(), None);
    let body = serde_json::to_value(&run).unwrap();
    assert_eq!(body["dataset_id"], "663a1f2e");
    assert_eq!(body["metadata"], json!({}));
}

#[test]
fn no_dataset_id_sends_neither() {
    for dataset_id in [None, Some("")] {
        let body = serde_json::to_value(RunCreate::new("exp", dataset_id, vec![], configuration()))
            .unwrap();
        assert!(body.get("dataset_id").is_none(), "{body}");
        assert_eq!(body["metadata"], json!({}));
    }
    // The prefix is case-sensitive, as the ids are generated.
    assert!(!is_external_dataset_id("ext-abc"));
}

#[test]
fn run_create_body_is_exactly_the_api_shape() {
    let git = GitInfo {
        commit_hash: "0123456789abcdef0123456789abcdef01234567".into(),
        commit_hash_short: "0123456".into(),
        branch: "main".into(),
        commit_message: "Fix".into(),
        author_name: "Ada".into(),
        author_email: "ada@example.com".into(),
        remote_url: None,
        is_dirty: true,
    };
    let run = RunCreate::new(
        "nightly",
        Some("EXT-abc"),
        vec!["EXT-1".into(), "EXT-2".into()],
        configuration(),
    )
    .with_run_id("run-1")
    .with_git(Some(git));
    assert_eq!(run.run_id(), "run-1");
    assert_eq!(run.name(), "nightly");
    assert_eq!(
        serde_json::to_value(&run).unwrap(),
        json!({
            "run_id": "run-1",
            "name": "nightly",
            "status": "pending",
            "event_ids": [],
            "datapoint_ids": ["EXT-1", "EXT-2"],
            "configuration": {"function": "answer", "evaluators": ["exact", "length"],
                              "max_workers": 4, "aggregate_function": "average"},
            "metadata": {
                "git": {"commit_hash": "0123456789abcdef0123456789abcdef01234567",
                        "commit_hash_short": "0123456", "branch": "main",
                        "commit_message": "Fix", "author_name": "Ada",
                        "author_email": "ada@example.com", "is_dirty": true},
                "offline_dataset_id": "EXT-abc",
            },
        })
    );
}

#[test]
fn generated_run_ids_are_uuid_v4() {
    let run = RunCreate::new("exp", None, vec![], configuration());
    let id = uuid::Uuid::parse_str(run.run_id()).unwrap();
    assert_eq!(id.get_version_num(), 4);
    assert_ne!(
        RunCreate::new("exp", None, vec![], configuration()).run_id(),
        run.run_id()
    );
}

#[test]
fn run_update_bodies() {
    let external = RunUpdate::new(
        "exp",
        RunStatus::Completed,
        vec!["s1".into(), "s2".into()],
        Some("EXT-abc"),
    );
    assert_eq!(external.status(), RunStatus::Completed);
    assert_eq!(external.event_ids(), ["s1", "s2"]);
    assert_eq!(
        serde_json::to_value(&external).unwrap(),
        json!({"name": "exp", "status": "completed", "event_ids": ["s1", "s2"],
               "metadata": {"offline_dataset_id": "EXT-abc"}})
    );
    let managed = RunUpdate::new("exp", RunStatus::Failed, vec![], Some("663a1f2e"));
    assert_eq!(
        serde_json::to_value(&managed).unwrap(),
        json!({"name": "exp", "status": "failed", "event_ids": [], "metadata": {}})
    );
}

#[test]
fn run_status_wire_names() {
    for status in [RunStatus::Pending, RunStatus::Completed, RunStatus::Failed] {
        let wire = serde_json::to_value(status).unwrap();
        assert_eq!(wire, status.as_str());
        assert_eq!(serde_json::from_value::<RunStatus>(wire).unwrap(), status);
    }
}

#[test]
fn run_results_read_tolerantly() {
    let result: RunResult = serde_json::from_value(json!({
        "status": "completed",
        "success": "yes",
        "passed": ["dp1", 7, null],
        "failed": "none",
        "metrics": {
            "aggregation_function": "average",
            "details": [
                {"metric_name": "accuracy", "aggregate": "0.5", "values": [0, 1],
                 "datapoints": {"passed": ["dp1"]}},
                {"name": "exact", "aggregate": true, "metric_type": "boolean"},
                "not an object",
                {"metric_name": "label", "aggregate": {"mean": 1}},
            ],
            "legacy_metric": {"aggregate": 1},
        },
        "datapoints": [
            {"datapoint_id": "dp1", "session_id": "s1", "passed": true,
             "metrics": [{"name": "accuracy", "value": 1}, {"metric_name": "exact", "value": true},
                         {"value": 3}]},
            {"datapoint_id": "dp2", "metrics": {"accuracy": 0}},
        ],
        "new_field": {"anything": []},
    }))
    .unwrap();
    assert_eq!(result.run_id, None);
    assert_eq!(result.status.as_deref(), Some("completed"));
    assert_eq!(result.success, None, "a non-bool is no verdict");
    assert_eq!(result.passed, ["dp1", "7"]);
    assert!(result.failed.is_empty());
    assert_eq!(
        result.metrics.aggregation_function.as_deref(),
        Some("average")
    );
    assert_eq!(result.metrics.details.len(), 3);
    let accuracy = result.metric("accuracy").unwrap();
    assert_eq!(accuracy.aggregate, Some(0.5));
    assert_eq!(accuracy.values, [json!(0), json!(1)]);
    assert_eq!(accuracy.datapoints.passed, ["dp1"]);
    assert_eq!(result.metric("exact").unwrap().aggregate, Some(1.0));
    assert_eq!(result.metric("label").unwrap().aggregate, None);
    assert_eq!(
        result.datapoints[0].metrics,
        BTreeMap::from([("accuracy".into(), json!(1)), ("exact".into(), json!(true))])
    );
    assert_eq!(result.datapoints[0].session_id.as_deref(), Some("s1"));
    assert_eq!(result.datapoints[1].passed, None);

    let empty: RunResult = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty, RunResult::default());
}

#[test]
fn run_comparisons_read_tolerantly() {
    let comparison: RunComparison = serde_json::from_value(json!({
        "metrics": [
            {"metric_name": "accuracy", "old_aggregate": 0.5, "new_aggregate": 0.75,
             "found_count": 3, "improved_count": 1, "degraded_count": 1, "same_count": 1,
             "improved": ["dp1"], "degraded": ["dp2"], "same": ["dp3"], "extra": 1},
            {"metric_name": "exact", "old_aggregate": null, "new_aggregate": 1,
             "improved": true},
        ],
        "common_datapoints": ["dp1", "dp2", "dp3"],
        "event_details": [],
    }))
    .unwrap();
    let accuracy = comparison.metric("accuracy").unwrap();
    assert_eq!(accuracy.delta(), Some(0.25));
    assert_eq!(
        (
            accuracy.found_count,
            accuracy.improved_count,
            accuracy.degraded_count,
            accuracy.same_count
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert_eq!(accuracy.improved, ["dp1"]);
    let exact = comparison.metric("exact").unwrap();
    assert_eq!(exact.delta(), None);
    assert!(exact.improved.is_empty());
    assert_eq!(comparison.common_datapoints, ["dp1", "dp2", "dp3"]);
    assert_eq!(comparison.old_run, None);
    // Serialised back under the API's name.
    let back = serde_json::to_value(&comparison).unwrap();
    assert_eq!(back["commonDatapoints"], json!(["dp1", "dp2", "dp3"]));
}

#[test]
fn hosted_dataset_info_reads_tolerantly() {
    let info: HostedDatasetInfo =
        serde_json::from_value(json!({"_id": "ds", "datapoints": ["a", "b"], "project": "p"}))
            .unwrap();
    assert_eq!(info.id, "ds");
    assert_eq!(info.name, None);
    assert_eq!(info.datapoints, ["a", "b"]);
}

#[test]
fn ids_are_percent_encoded_as_one_segment() {
    assert_eq!(encode("abc-1.2_3~"), "abc-1.2_3~");
    assert_eq!(encode("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
    assert_eq!(encode("é"), "%C3%A9");
}

#[test]
fn remote_credentials_are_removed() {
    let cases = [
        (
            "https://x-access-token:ghs_secret@github.com/o/r.git",
            "https://github.com/o/r.git",
        ),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("ssh://git@host:22/o/r.git", "ssh://host:22/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://host/path@with-at", "https://host/path@with-at"),
    ];
    for (url, expected) in cases {
        assert_eq!(without_credentials(url), expected, "{url}");
    }
}

/// Runs git in `dir` for test setup, with an identity and without signing whatever the
/// machine's configuration says.
fn setup_git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "honeyhive-runs-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn git_info_of_a_checkout() {
    if !git_available() {
        eprintln!("skipped: no git binary");
        return;
    }
    let dir = temp_dir("git");
    setup_git(&dir, &["init", "-q"]);
    // Before the first commit there is nothing to record.
    assert_eq!(GitInfo::collect(&dir), None);
    setup_git(&dir, &["symbolic-ref", "HEAD", "refs/heads/trunk"]);
    std::fs::write(dir.join("tracked.txt"), "v1").unwrap();
    setup_git(&dir, &["add", "tracked.txt"]);
    setup_git(
        &dir,
        &["commit", "-q", "-m", "Subject line\n\nBody with details"],
    );
    setup_git(
        &dir,
        &[
            "remote",
            "add",
            "origin",
            "https://user:token@example.com/o/r.git",
        ],
    );

    let info = GitInfo::collect(&dir).unwrap();
    assert_eq!(info.commit_hash.len(), 40, "{info:?}");
    assert!(info.commit_hash.starts_with(&info.commit_hash_short));
    assert!(info.commit_hash_short.len() >= 7);
    assert_eq!(info.branch, "trunk");
    assert_eq!(info.commit_message, "Subject line\n\nBody with details");
    assert_eq!(info.author_name, "Ada Lovelace");
    assert_eq!(info.author_email, "ada@example.com");
    assert_eq!(
        info.remote_url.as_deref(),
        Some("https://example.com/o/r.git")
    );
    assert!(!info.is_dirty);

    // Untracked files do not make the checkout dirty; a changed tracked file does.
    std::fs::write(dir.join("untracked.txt"), "new").unwrap();
    assert!(!GitInfo::collect(&dir).unwrap().is_dirty);
    std::fs::write(dir.join("tracked.txt"), "v2").unwrap();
    assert!(GitInfo::collect(&dir).unwrap().is_dirty);
    // A subdirectory belongs to the same checkout.
    std::fs::create_dir(dir.join("sub")).unwrap();
    assert_eq!(
        GitInfo::collect(dir.join("sub")).unwrap().commit_hash,
        info.commit_hash
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn git_info_outside_a_checkout_is_none() {
    let dir = temp_dir("plain");
    // Only meaningful when the temporary directory is not itself inside a checkout.
    let inside_checkout = git(&dir, &["rev-parse", "--git-dir"]).is_some();
    if !inside_checkout {
        assert_eq!(GitInfo::collect(&dir), None);
    }
    assert_eq!(GitInfo::collect(dir.join("does-not-exist")), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "testing")]
mod http {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::Environment;
    use crate::api::sessions::Enrichment;
    use crate::api::sessions::SessionStart;
    use crate::testing::{Fault, Route, TestServer};

    fn config(url: &str) -> Config {
        crate::testing::fast_retry_config(url)
    }

    fn client(url: &str) -> ApiClient {
        ApiClient::for_config(&config(url)).unwrap()
    }

    fn server() -> TestServer {
        TestServer::builder().api_key("k").start()
    }

    /// A server that answers `requests` requests with `200` and `body`, whatever they ask.
    fn canned(body: &'static str, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut request_body = vec![0; length];
                let _ = reader.read_exact(&mut request_body);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    fn run(dataset_id: Option<&str>) -> RunCreate {
        RunCreate::new(
            "exp",
            dataset_id,
            vec!["dp1".into(), "dp2".into()],
            configuration(),
        )
    }

    #[tokio::test]
    async fn create_run_sends_the_body_and_returns_the_id() {
        let server = server();
        let run = run(Some("EXT-abc")).with_run_id("r1");
        assert_eq!(client(&server.url()).create_run(&run).await.unwrap(), "r1");
        let requests = server.requests_to("/v1/runs");
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, Method::POST);
        assert_eq!(requests[0].header("authorization"), Some("Bearer k"));
        assert_eq!(
            requests[0].json(),
            Some(&serde_json::to_value(&run).unwrap())
        );
        assert_eq!(
            server.runs()[0]["metadata"]["offline_dataset_id"],
            "EXT-abc"
        );
    }

    #[tokio::test]
    async fn create_run_retries_server_errors() {
        let server = server();
        server.inject(Route::Runs, Fault::status(500).times(2));
        let id = client(&server.url())
            .create_run(&run(None).with_run_id("r1"))
            .await
            .unwrap();
        assert_eq!(id, "r1");
        let statuses: Vec<u16> = server
            .requests_to("/v1/runs")
            .iter()
            .map(|r| r.response_status)
            .collect();
        assert_eq!(statuses, [500, 500, 200]);
        assert_eq!(server.runs().len(), 1);
    }

    #[tokio::test]
    async fn create_run_gives_up_after_the_retry_budget() {
        let server = server();
        server.inject(Route::Runs, Fault::status(503).times(10));
        let error = client(&server.url())
            .create_run(&run(None))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, Error::Api { method: "POST", path, .. } if path == "/v1/runs"),
            "{error:?}"
        );
        assert!(message.contains("503"), "{message}");
        assert!(message.contains("after 3 attempt(s)"), "{message}");
    }

    #[tokio::test]
    async fn create_run_adopts_the_backends_id_or_keeps_ours() {
        let url = canned(r#"{"run_id": "server-id", "evaluation": {}}"#, 1);
        assert_eq!(
            client(&url).create_run(&run(None)).await.unwrap(),
            "server-id"
        );
        let url = canned(r#"{"evaluation": {}}"#, 1);
        assert_eq!(
            client(&url)
                .create_run(&run(None).with_run_id("ours"))
                .await
                .unwrap(),
            "ours"
        );
        let url = canned(r#"{"run_id": 12}"#, 1);
        let error = client(&url).create_run(&run(None)).await.unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedResponse { path, .. } if path == "/v1/runs"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn update_run_finishes_the_run() {
        let server = server();
        let client = client(&server.url());
        let run = run(Some("EXT-abc")).with_run_id("r 1/x");
        client.create_run(&run).await.unwrap();
        let update = RunUpdate::new("exp", RunStatus::Failed, vec!["s1".into()], Some("EXT-abc"));
        client.update_run("r 1/x", &update).await.unwrap();
        let requests = server.requests_to("/v1/runs/r%201%2Fx");
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, Method::PUT);
        assert_eq!(
            requests[0].json(),
            Some(&serde_json::to_value(&update).unwrap())
        );
        let stored = &server.runs()[0];
        assert_eq!(stored["status"], "failed");
        assert_eq!(stored["event_ids"], json!(["s1"]));

        let error = client.update_run("missing", &update).await.unwrap_err();
        assert!(
            matches!(&error, Error::Api { method: "PUT", path, .. } if path == "/v1/runs/missing"),
            "{error:?}"
        );
        assert!(error.to_string().contains("404"), "{error}");
        assert_eq!(
            server.requests_to("/v1/runs/missing").len(),
            1,
            "a 404 is not retried"
        );
    }

    /// What an experiment sends for one datapoint: its session, then the session's metrics.
    async fn evaluate(client: &ApiClient, session_id: &str, datapoint_id: &str, metric: f64) {
        let mut metadata = serde_json::Map::new();
        metadata.insert("datapoint_id".into(), datapoint_id.into());
        let session = SessionStart {
            session_id: session_id.into(),
            project: Some("p".into()),
            session_name: "exp".into(),
            source: "evaluation".into(),
            inputs: json!({}),
            metadata,
            user_properties: None,
            config: None,
        };
        assert_eq!(client.start_session(&session).await.unwrap(), session_id);
        let enrichment = Enrichment::new()
            .metric("accuracy", metric)
            .metric("exact", metric >= 1.0);
        client.update_event(session_id, &enrichment).await.unwrap();
    }

    async fn finished(client: &ApiClient, run_id: &str, sessions: &[&str]) {
        client
            .create_run(&run(None).with_run_id(run_id))
            .await
            .unwrap();
        let sessions = sessions.iter().map(|s| s.to_string()).collect();
        let update = RunUpdate::new("exp", RunStatus::Completed, sessions, None);
        client.update_run(run_id, &update).await.unwrap();
    }

    #[tokio::test]
    async fn run_result_reads_the_servers_view() {
        let server = server();
        let client = client(&server.url());
        evaluate(&client, "s1", "dp1", 1.0).await;
        evaluate(&client, "s2", "dp2", 0.5).await;
        finished(&client, "r1", &["s1", "s2"]).await;
        server.inject(Route::Runs, Fault::status(502));

        let result: RunResult = serde_json::from_str(
            client
                .run_result("r1", AggregateFunction::Average)
                .await
                .unwrap()
                .get(),
        )
        .expect("the server's view reads as a RunResult");
        assert_eq!(result.run_id.as_deref(), Some("r1"));
        assert_eq!(result.status.as_deref(), Some("completed"));
        assert_eq!(result.success, Some(false));
        assert_eq!(result.passed, ["dp1"]);
        assert_eq!(result.failed, ["dp2"]);
        assert_eq!(
            result.metrics.aggregation_function.as_deref(),
            Some("average")
        );
        assert_eq!(result.metric("accuracy").unwrap().aggregate, Some(0.75));
        assert_eq!(result.metric("exact").unwrap().aggregate, Some(0.5));
        assert_eq!(
            result.metric("exact").unwrap().metric_type.as_deref(),
            Some("boolean")
        );
        assert_eq!(result.datapoints.len(), 2);
        assert_eq!(result.datapoints[1].session_id.as_deref(), Some("s2"));
        assert_eq!(result.datapoints[1].metrics["accuracy"], 0.5);
        assert_eq!(result.datapoints[1].passed, Some(false));

        let requests = server.requests_to("/v1/runs/r1/result");
        assert_eq!(
            requests
                .iter()
                .map(|r| r.response_status)
                .collect::<Vec<_>>(),
            [502, 200],
            "retried after the 502"
        );
        assert_eq!(
            requests[1].query.as_deref(),
            Some("aggregate_function=average")
        );

        let error = client
            .run_result("nope", AggregateFunction::Average)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Api { path, .. }
                if path == "/v1/runs/nope/result?aggregate_function=average"),
            "{error:?}"
        );
    }

    /// Runs `old` (accuracy 0.5 and 1.0) and `new` (`first` and 1.0) over datapoints dp1
    /// and dp2.
    async fn old_and_new(client: &ApiClient, first: f64) {
        evaluate(client, "o1", "dp1", 0.5).await;
        evaluate(client, "o2", "dp2", 1.0).await;
        evaluate(client, "n1", "dp1", first).await;
        evaluate(client, "n2", "dp2", 1.0).await;
        finished(client, "old", &["o1", "o2"]).await;
        finished(client, "new", &["n1", "n2"]).await;
    }

    #[tokio::test]
    async fn compare_runs_reads_the_servers_view() {
        let server = server();
        let client = client(&server.url());
        old_and_new(&client, 1.0).await;

        let comparison = client
            .compare_runs("new", "old", AggregateFunction::Average)
            .await
            .unwrap();
        assert_eq!(comparison.common_datapoints, ["dp1", "dp2"]);
        let accuracy = comparison.metric("accuracy").unwrap();
        assert_eq!(
            (accuracy.old_aggregate, accuracy.new_aggregate),
            (Some(0.75), Some(1.0))
        );
        assert_eq!(accuracy.delta(), Some(0.25));
        assert_eq!(accuracy.improved, ["dp1"]);
        assert_eq!(accuracy.same, ["dp2"]);
        assert_eq!(accuracy.improved_count, Some(1));
        assert_eq!(comparison.new_run.as_ref().unwrap()["run_id"], "new");
        let request = &server.requests_to("/v1/runs/new/compare-with/old")[0];
        assert_eq!(request.query.as_deref(), Some("aggregate_function=average"));

        let error = client
            .compare_runs("new", "gone", AggregateFunction::Average)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("no run with id gone"), "{error}");
    }

    #[tokio::test]
    async fn the_views_are_asked_for_with_the_aggregate_function() {
        let server = server();
        let client = client(&server.url());
        old_and_new(&client, 0.25).await;
        for (function, old, new) in [
            (AggregateFunction::Average, 0.75, 0.625),
            (AggregateFunction::Sum, 1.5, 1.25),
            (AggregateFunction::Min, 0.5, 0.25),
            (AggregateFunction::Max, 1.0, 1.0),
        ] {
            let raw = client.run_result("new", function).await.unwrap();
            let result: RunResult = serde_json::from_str(raw.get()).unwrap();
            assert_eq!(
                result.metrics.aggregation_function.as_deref(),
                Some(function.as_str())
            );
            assert_eq!(result.metric("accuracy").unwrap().aggregate, Some(new));
            let comparison = client.compare_runs("new", "old", function).await.unwrap();
            let accuracy = comparison.metric("accuracy").unwrap();
            assert_eq!(
                (accuracy.old_aggregate, accuracy.new_aggregate),
                (Some(old), Some(new)),
                "{function}"
            );
        }
        let queries: Vec<Option<String>> = server
            .requests_to("/v1/runs/new/result")
            .into_iter()
            .map(|r| r.query)
            .collect();
        assert_eq!(
            queries,
            ["average", "sum", "min", "max"].map(|f| Some(format!("aggregate_function={f}")))
        );
    }

    #[tokio::test]
    async fn views_that_are_not_objects_are_unexpected() {
        let url = canned("[1, 2]", 2);
        let client = client(&url);
        let error = client
            .run_result("r1", AggregateFunction::Average)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedResponse { path, .. }
                if path == "/v1/runs/r1/result?aggregate_function=average"),
            "{error:?}"
        );
        let error = client
            .compare_runs("a", "b", AggregateFunction::Average)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedResponse { path, .. }
                if path.starts_with("/v1/runs/a/compare-with/b")),
            "{error:?}"
        );
        assert!(error.to_string().contains("[1,2]"), "{error}");
    }

    #[tokio::test]
    async fn dataset_and_datapoint_read_the_fixtures() {
        let server = server();
        let first = json!({"id": "dp 1/a", "inputs": {"q": "a"}, "ground_truth": "A",
                           "metadata": {}});
        let second = json!({"id": "dp2", "inputs": {"q": "b"}, "ground_truth": null,
                            "metadata": {"m": 1}});
        server.add_dataset("ds/1", "Letters", vec![first.clone(), second]);
        let client = client(&server.url());

        let info = client.dataset("ds/1").await.unwrap();
        assert_eq!(
            info,
            HostedDatasetInfo {
                id: "ds/1".into(),
                name: Some("Letters".into()),
                datapoints: vec!["dp 1/a".into(), "dp2".into()],
            }
        );
        let listing = &server.requests_to("/v1/datasets")[0];
        assert_eq!(listing.query.as_deref(), Some("dataset_id=ds%2F1"));

        server.inject(Route::Datasets, Fault::status(500));
        assert_eq!(client.datapoint("dp 1/a").await.unwrap(), first);
        assert_eq!(server.requests_to("/v1/datapoints/dp%201%2Fa").len(), 2);
    }

    #[tokio::test]
    async fn a_missing_dataset_or_datapoint_is_a_clear_error() {
        let server = server();
        let client = client(&server.url());
        let error = client.dataset("nope").await.unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, Error::Api { method: "GET", path, .. }
                if path == "/v1/datasets?dataset_id=nope"),
            "{error:?}"
        );
        assert!(
            message.contains(r#"no hosted dataset with id "nope""#),
            "{message}"
        );
        assert!(message.contains("HTTP 404"), "{message}");

        let error = client.datapoint("gone").await.unwrap_err();
        assert!(
            error.to_string().contains("no datapoint with id gone"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn dataset_answers_the_client_cannot_use() {
        let url = canned(r#"{"datasets": []}"#, 1);
        let error = client(&url).dataset("ds").await.unwrap_err();
        assert!(
            error.to_string().contains("lists no such dataset"),
            "{error}"
        );
        // A backend that ignores the filter: ours is picked by id.
        let url = canned(
            r#"{"datasets": [{"id": "other", "datapoints": ["x"]},
                             {"id": "ds", "name": "Mine", "datapoints": ["y"]}]}"#,
            1,
        );
        assert_eq!(client(&url).dataset("ds").await.unwrap().datapoints, ["y"]);
        // Older backends: `testcases` and `_id`.
        let url = canned(r#"{"testcases": [{"_id": "ds", "datapoints": ["z"]}]}"#, 1);
        assert_eq!(client(&url).dataset("ds").await.unwrap().datapoints, ["z"]);
        let url = canned(r#"{"data": []}"#, 1);
        let error = client(&url).dataset("ds").await.unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedResponse { path, .. }
                if path == "/v1/datasets?dataset_id=ds"),
            "{error:?}"
        );
        let url = canned(r#"{"datapoint": []}"#, 1);
        let error = client(&url).datapoint("dp").await.unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedResponse { path, .. } if path == "/v1/datapoints/dp"),
            "{error:?}"
        );
    }

    #[test]
    fn a_client_needs_an_api_key() {
        let config = Config::builder()
            .environment(Environment::empty())
            .build()
            .unwrap();
        let error = ApiClient::for_config(&config).err().unwrap();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(error.to_string().contains("HH_API_KEY"), "{error}");
    }
}
