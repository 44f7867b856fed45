//! `honeyhive upload`: a run kept on disk because HoneyHive was down is sent later as the
//! same run, in order, once; the command and the library function alike.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Experiment, ExperimentReport};
use honeyhive::upload::{UploadOptions, UploadReport, upload};
use honeyhive::{Config, Environment, Error, RequestCounts, evaluators};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{API_KEY, PROJECT, Warnings, fast_export, temp_dir, unreachable_url};
use crate::support::{Answer, Question, dataset_json, exact_match, pipeline};

/// Spans of one datapoint: the root, the pipeline's four steps, the evaluator.
const SPANS: u64 = 6;

/// A configuration connected to `url`, its local store in `dir`.
fn config(url: &str, dir: &Path) -> Config {
    Config::builder()
        .environment(Environment::empty())
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(url)
        .local_dir(dir)
        .export_settings(fast_export())
        .on_warning(Warnings::default().handler())
        .build()
        .unwrap()
}

/// A 3-datapoint run with nothing listening: kept whole in its folder.
async fn kept_run() -> (ExperimentReport, PathBuf) {
    let dir = temp_dir("upload");
    let report: ExperimentReport = Experiment::<Question, Answer>::new("kept")
        .config(config(&unreachable_url(), &dir))
        .environment(Environment::empty())
        .dataset(Dataset::from_json(&dataset_json(3)).unwrap())
        .evaluators(evaluators![exact_match])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    let kept = report.undelivered.as_ref().expect("the run was kept");
    assert_eq!(kept.counts.run_creations, 1);
    let folder = kept.kept_in.clone();
    (report, folder)
}

/// `upload(dir)` to `server`, with the tests' configuration.
async fn upload_to(server: &TestServer, dir: &Path) -> honeyhive::Result<UploadReport> {
    let config = config(&server.url(), &temp_dir("unused"));
    upload(dir, &config, &UploadOptions::default()).await
}

/// The whole of a 3-datapoint run.
fn whole_run() -> RequestCounts {
    RequestCounts {
        run_creations: 1,
        session_starts: 3,
        event_updates: 3,
        spans: 3 * SPANS,
        run_finishes: 1,
    }
}

/// Runs `honeyhive upload <args> <folder>` against `url`; its output, and whether it
/// succeeded.
fn command(url: &str, args: &[&str], folder: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_honeyhive"))
        .arg("upload")
        .args(args)
        .arg(folder)
        .env_clear()
        .env("HH_API_KEY", API_KEY)
        .env("HH_API_URL", url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The upload creates the run under its own id, starts its sessions before sending their
/// updates and spans, and finishes it with every session: the same run, complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_run_is_uploaded_as_the_same_run_in_order() {
    let (report, folder) = kept_run().await;
    let server = TestServer::builder().api_key(API_KEY).start();
    let uploaded = upload_to(&server, &folder).await.unwrap();
    assert_eq!(uploaded.sent, whole_run(), "{uploaded}");
    assert_eq!(uploaded.already, RequestCounts::default());

    let runs = server.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0]["run_id"],
        report.run_id.as_str(),
        "the client's run id"
    );
    assert_eq!(runs[0]["status"], "completed");
    let sessions = report.session_ids().unwrap();
    assert_eq!(runs[0]["event_ids"], serde_json::json!(sessions));
    let started: Vec<String> = server
        .sessions()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = started.clone();
    sorted.sort();
    let mut expected = sessions.clone();
    expected.sort();
    assert_eq!(sorted, expected, "the client's session ids, once each");
    let datapoints = report.datapoints().unwrap();
    let spans = server.spans();
    assert_eq!(spans.len() as u64, 3 * SPANS);
    for span in &spans {
        let session = span.str_attr("honeyhive.session_id").unwrap();
        let datapoint = datapoints.iter().find(|d| d.session_id == session).unwrap();
        assert_eq!(
            span.str_attr("honeyhive_metadata.datapoint_id"),
            Some(datapoint.datapoint_id.as_str())
        );
    }
    // In order: the run, its session starts, then updates and spans, then the finish.
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let first = |p: &str| paths.iter().position(|x| x.starts_with(p)).unwrap();
    let last = |p: &str| paths.iter().rposition(|x| x.starts_with(p)).unwrap();
    assert_eq!(first("POST /v1/runs"), 0, "{paths:?}");
    assert!(
        last("POST /session/start") < first("PUT /events"),
        "{paths:?}"
    );
    assert!(
        last("POST /session/start") < first("POST /opentelemetry"),
        "{paths:?}"
    );
    assert_eq!(last("PUT /v1/runs/"), paths.len() - 1, "{paths:?}");
}

/// The command: `--dry-run` lists what it would send and sends nothing; the upload sends
/// it and says what it sent; a second upload sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_upload_sends_nothing_and_a_dry_run_lists_what_it_would() {
    let (report, folder) = kept_run().await;
    let server = TestServer::builder().api_key(API_KEY).start();

    let (ok, text) = command(&server.url(), &["--dry-run"], &folder);
    assert!(ok, "{text}");
    assert!(server.requests().is_empty(), "a dry run sends nothing");
    assert!(
        text.contains(&format!("POST /v1/runs  run {}", report.run_id)),
        "{text}"
    );
    assert_eq!(
        text.matches("POST /session/start  session ").count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("POST /opentelemetry/v1/traces  18 span(s)"),
        "{text}"
    );
    assert!(
        text.contains(
            "would send the run's creation, 3 session starts, 3 session updates, 18 spans and \
             the run's completion"
        ),
        "{text}"
    );

    let (ok, text) = command(&server.url(), &[], &folder);
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "honeyhive upload: sent the run's creation, 3 session starts, 3 session updates, \
             18 spans and the run's completion to HoneyHive at"
        ),
        "{text}"
    );
    let requests = server.requests().len();
    assert!(folder.join(honeyhive::upload::LEDGER_FILE).is_file());

    let (ok, text) = command(&server.url(), &[], &folder);
    assert!(ok, "{text}");
    assert!(
        text.contains("sent nothing")
            && text.contains("already uploaded before: the run's creation"),
        "{text}"
    );
    assert_eq!(server.requests().len(), requests, "nothing sent twice");
}

/// The backend rejects a session update: the upload stops, saying what it sent; run
/// again, it resumes there and sends nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_where_it_stopped() {
    let (_, folder) = kept_run().await;
    let server = TestServer::builder().api_key(API_KEY).start();
    server.inject(Route::Events, Fault::status(400));
    let config = config(&server.url(), &temp_dir("unused"));
    let stopped = match upload(&folder, &config, &UploadOptions::default()).await {
        Err(Error::UploadStopped(report)) => report,
        other => panic!("{other:?}"),
    };
    assert!(
        stopped
            .stopped
            .as_deref()
            .is_some_and(|r| r.contains("400")),
        "{stopped}"
    );
    assert_eq!(stopped.sent.session_starts, 3, "{stopped}");
    assert_eq!(stopped.sent.spans, 0, "{stopped}");

    let resumed = upload(&folder, &config, &UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(resumed.already.session_starts, 3, "{resumed}");
    assert_eq!(resumed.already.run_creations, 1, "{resumed}");
    let mut total = stopped.sent;
    total.add(&resumed.sent);
    assert_eq!(total, whole_run(), "{stopped} / {resumed}");
    assert_eq!(server.sessions().len(), 3, "no session started twice");
    assert_eq!(server.event_updates().len(), 3);
    assert_eq!(server.spans().len() as u64, 3 * SPANS);
}

/// A 429 with `Retry-After: 1`: the upload waits that second, then goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_honours_retry_after() {
    let (_, folder) = kept_run().await;
    let server = TestServer::builder().api_key(API_KEY).start();
    server.inject(Route::SessionStart, Fault::status(429).retry_after("1"));
    let started = Instant::now();
    let report = upload_to(&server, &folder).await.unwrap();
    // The computed backoff is at most 50 ms here: only Retry-After explains a second.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.sent, whole_run());
    assert_eq!(server.sessions().len(), 3);
}

/// A tracer outside any run, with nothing listening, keeps its session and two spans at
/// the top of the local store in `dir`; its session id.
async fn plain_kept_session(dir: &Path, name: &str) -> String {
    let tracer = honeyhive::HoneyHiveTracer::builder()
        .config(config(&unreachable_url(), dir))
        .session_name(name)
        .build()
        .unwrap();
    tracer.in_scope(|| {
        let otel = tracer.otel_tracer().unwrap();
        use honeyhive::opentelemetry::trace::Tracer as _;
        otel.in_span(format!("{name}-one"), |_| {});
        otel.in_span(format!("{name}-two"), |_| {});
    });
    tracer.flush_async().await.unwrap();
    tracer.session_id().to_owned()
}

/// Tracers outside any run kept their sessions and spans at the top of the local store,
/// the older spans in the rotated `spans.1.jsonl` (as the store rotates its top files);
/// uploading the store sends them all, the rotated ones first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_tracers_kept_session_is_uploaded_from_the_store() {
    let dir = temp_dir("upload-store");
    let first = plain_kept_session(&dir, "first").await;
    std::fs::rename(dir.join("spans.jsonl"), dir.join("spans.1.jsonl")).unwrap();
    let second = plain_kept_session(&dir, "second").await;
    let server = TestServer::builder().api_key(API_KEY).start();
    let report = upload_to(&server, &dir).await.unwrap();
    assert_eq!(
        (report.sent.session_starts, report.sent.spans),
        (2, 4),
        "{report}"
    );
    let started: Vec<_> = server
        .sessions()
        .iter()
        .map(|s| s["session_id"].clone())
        .collect();
    assert!(started.contains(&first.as_str().into()) && started.contains(&second.as_str().into()));
    let names: Vec<String> = server.spans().iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        names,
        ["first-one", "first-two", "second-one", "second-two"]
    );
}

/// The run's creation reached HoneyHive but its answer did not (so the run was kept): the
/// backend answers the upload's creation with 409, which counts as acknowledged, and the
/// rest of the run follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_the_backend_has_already_is_uploaded_after_its_409() {
    let (report, folder) = kept_run().await;
    let server = TestServer::builder().api_key(API_KEY).start();
    let creation = std::fs::read_to_string(folder.join("run.jsonl")).unwrap();
    let creation: serde_json::Value =
        serde_json::from_str(creation.lines().next().unwrap()).unwrap();
    let status = reqwest::Client::new()
        .post(format!("{}/v1/runs", server.url()))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(creation["body"].to_string())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "the run exists on the backend: {creation}");
    let uploaded = upload_to(&server, &folder).await.unwrap();
    assert_eq!(uploaded.sent, whole_run(), "{uploaded}");
    let conflicts = server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/runs" && r.response_status == 409)
        .count();
    assert_eq!(conflicts, 1);
    let runs = server.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], report.run_id.as_str());
    assert_eq!(runs[0]["status"], "completed");
}

/// Nothing to upload, or no key: errors that say what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_folder_or_no_key_is_an_error_that_says_so() {
    let server = TestServer::builder().api_key(API_KEY).start();
    let empty = temp_dir("upload-empty");
    let err = upload(
        &empty,
        &config(&server.url(), &empty),
        &UploadOptions::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("nothing to upload"), "{err}");
    let (_, folder) = kept_run().await;
    let keyless = Config::builder()
        .environment(Environment::empty())
        .base_url(server.url())
        .build()
        .unwrap();
    let err = upload(&folder, &keyless, &UploadOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HH_API_KEY"), "{err}");
    // A dry run sends nothing, so it needs no key.
    let dry = upload(&folder, &keyless, &UploadOptions::dry_run())
        .await
        .unwrap();
    assert_eq!(dry.sent, whole_run(), "{dry}");
    assert!(server.requests().is_empty());
    let (ok, text) = command(&server.url(), &[], &empty);
    assert!(!ok && text.contains("nothing to upload"), "{text}");
}
