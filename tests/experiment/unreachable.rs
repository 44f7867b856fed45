//! An experiment always runs, scores and judges every datapoint locally: a backend that is
//! down (run creation failing, `HH_RUN_ID` with the backend down, session starts failing,
//! exports failing) costs exactly one warning naming the URL, what was not sent and where
//! the run was kept; the verdict is the metrics' alone, unless `HH_REQUIRE_UPLOAD` is set.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Comparison, Experiment, ExperimentReport};
use honeyhive::local_store::{
    RunRecord, SessionRecord, read_run_records, read_sessions, read_spans, run_dir,
};
use honeyhive::{Config, Environment, ExportSettings, Undelivered, Warning, evaluators};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{API_KEY, PROJECT, Warnings, fast_export, temp_dir, unreachable_url};
use crate::support::{Answer, Question, dataset_json, exact_match, pipeline};

/// A configuration connected to `url`, its local store in `dir`, its warnings collected.
fn config(url: &str, dir: &Path, export: ExportSettings, warnings: &Warnings) -> Config {
    config_in(Environment::empty(), url, dir, export, warnings)
}

/// [`config`], with the variables of `environment`.
fn config_in(
    environment: Environment,
    url: &str,
    dir: &Path,
    export: ExportSettings,
    warnings: &Warnings,
) -> Config {
    Config::builder()
        .environment(environment)
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(url)
        .local_dir(dir)
        .export_settings(export)
        .on_warning(warnings.handler())
        .build()
        .unwrap()
}

/// The 3-datapoint experiment of a newcomer: every output right, a threshold that holds.
fn experiment(config: Config) -> Experiment<Question, Answer> {
    Experiment::new("offline")
        .config(config)
        .environment(Environment::empty())
        .dataset(Dataset::from_json(&dataset_json(DATAPOINTS as u32)).unwrap())
        .evaluators(evaluators![exact_match])
        .threshold("exact_match", Comparison::AtLeast, 0.5)
        .quiet()
}

/// The one warning of `warnings`, which must say what was not delivered.
fn the_warning(warnings: &Warnings) -> Undelivered {
    match warnings.all().as_slice() {
        [Warning::NotDelivered(undelivered)] => undelivered.clone(),
        other => panic!("expected exactly one NotDelivered warning, got {other:?}"),
    }
}

/// Datapoints of the experiment.
const DATAPOINTS: usize = 3;
/// Spans of one datapoint: the root, the pipeline's four steps, the evaluator.
const SPANS: u64 = 6 * DATAPOINTS as u64;

/// Every datapoint ran and was scored, and the verdict is the metrics'.
fn judged_locally(report: &ExperimentReport, calls: usize) {
    assert_eq!(calls, DATAPOINTS, "the function ran on every datapoint");
    assert_eq!(
        (report.datapoint_count, report.failed_count),
        (DATAPOINTS, 0)
    );
    assert_eq!(report.metric("exact_match").unwrap().count, DATAPOINTS);
    report
        .check()
        .expect("the verdict depends on the metrics alone");
}

/// The experiment against `server`: judged locally, its one warning.
async fn judged_with_one_warning(server: &TestServer) -> (ExperimentReport, Undelivered) {
    let warnings = Warnings::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let report = experiment(config(
        &server.url(),
        &temp_dir("faulty"),
        fast_export(),
        &warnings,
    ))
    .run(counted(&calls))
    .await
    .unwrap();
    judged_locally(&report, calls.load(Ordering::SeqCst));
    let kept = the_warning(&warnings);
    (report, kept)
}

/// A function that counts its calls.
fn counted(
    calls: &Arc<AtomicUsize>,
) -> impl Fn(Question) -> std::pin::Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync + 'static
{
    let calls = calls.clone();
    move |q| {
        calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(pipeline(q))
    }
}

/// Nothing listens at the URL, with the default retry budget: the run finishes within
/// 30 s (the budget is spent once, on the run's creation; later calls are not attempted
/// but for a probe now and then), every datapoint is scored, the test would pass, and the
/// complete run is in its folder, as it would have been sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nothing_listening_the_run_is_judged_locally_and_kept_whole() {
    let url = unreachable_url();
    let dir = temp_dir("unreachable-run");
    let warnings = Warnings::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let report = experiment(config(&url, &dir, ExportSettings::default(), &warnings))
        .run(counted(&calls))
        .await
        .expect("an unreachable backend is no error");
    let took = started.elapsed();
    eprintln!(
        "unreachable backend, default budget ({:?} per call): the run took {took:?}",
        honeyhive::RetryPolicy::default().elapsed_budget()
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    judged_locally(&report, calls.load(Ordering::SeqCst));

    let kept = the_warning(&warnings);
    let folder = run_dir(&dir, &report.run_id);
    assert_eq!(kept.kept_in, folder);
    assert_eq!(report.undelivered.as_ref(), Some(&kept));
    assert_eq!(report.report_dir.as_deref(), Some(folder.as_path()));
    let text = kept.to_string();
    assert!(
        text.contains(&url)
            && text.contains(
                "the run's creation, 3 session starts, 3 session updates, 18 spans and the \
                 run's completion"
            )
            && text.contains(&format!("the complete run is kept in {}", folder.display())),
        "{text}"
    );
    // The run's creation and completion, under the client's run id.
    let records = read_run_records(&folder).unwrap();
    match records.as_slice() {
        [
            RunRecord::RunCreate { body: create, .. },
            RunRecord::RunUpdate {
                run_id,
                body: finish,
                ..
            },
        ] => {
            assert_eq!(create["run_id"], report.run_id.as_str());
            assert_eq!(run_id, &report.run_id);
            assert_eq!(finish["status"], "completed");
            assert_eq!(
                finish["event_ids"],
                serde_json::json!(report.session_ids().unwrap())
            );
        }
        other => panic!("{other:?}"),
    }
    // Each session's start and update, and every span, carrying the run.
    let sessions = read_sessions(&folder).unwrap();
    let starts = sessions
        .iter()
        .filter(|r| matches!(r, SessionRecord::SessionStart { session, .. } if session.metadata["run_id"] == report.run_id.as_str()))
        .count();
    let updates = sessions
        .iter()
        .filter(|r| matches!(r, SessionRecord::EventUpdate { .. }))
        .count();
    assert_eq!((starts, updates), (DATAPOINTS, DATAPOINTS));
    let spans = read_spans(&folder).unwrap();
    assert_eq!(spans.len() as u64, SPANS);
    assert!(
        spans
            .iter()
            .all(|s| s.attributes["honeyhive_metadata.run_id"] == report.run_id.as_str())
    );
    assert!(folder.join("summary.json").is_file());
}

/// `HH_RUN_ID` names a run to join and the backend is down: every datapoint still runs
/// (they used to fail at their session start without the function ever running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_run_with_the_backend_down_still_runs_every_datapoint() {
    let url = unreachable_url();
    let dir = temp_dir("unreachable-join");
    let warnings = Warnings::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let joined = Environment::from_pairs([("HH_RUN_ID", "shared-run-7")]);
    let report = experiment(config_in(joined, &url, &dir, fast_export(), &warnings))
        .run(counted(&calls))
        .await
        .unwrap();
    assert_eq!(report.run_id, "shared-run-7");
    judged_locally(&report, calls.load(Ordering::SeqCst));
    let kept = the_warning(&warnings);
    assert_eq!(kept.counts.run_creations, 0, "a joined run is not created");
    assert_eq!(
        (kept.counts.session_starts, kept.counts.run_finishes),
        (DATAPOINTS as u64, 1),
        "{kept}"
    );
    assert_eq!(kept.kept_in, run_dir(&dir, "shared-run-7"));
}

/// The backend is up but refuses every session start: the run is created and finished,
/// the sessions' spans and updates are not sent ahead of starts it does not have: they
/// are kept with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_session_starts_keep_their_sessions_whole() {
    let server = TestServer::builder().api_key(API_KEY).start();
    server.inject(Route::SessionStart, Fault::status(503).times(1_000));
    let (_, kept) = judged_with_one_warning(&server).await;
    assert_eq!(
        (
            kept.counts.session_starts,
            kept.counts.event_updates,
            kept.counts.spans
        ),
        (DATAPOINTS as u64, DATAPOINTS as u64, SPANS),
        "{kept}"
    );
    assert!(
        server.spans().is_empty(),
        "no span of a session the backend lacks"
    );
    assert!(server.event_updates().is_empty());
    let runs = server.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "completed");
}

/// The backend accepts everything but spans: the spans are kept, the rest delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_exports_keep_the_spans() {
    let server = TestServer::builder().api_key(API_KEY).start();
    server.inject(Route::Traces, Fault::status(503).times(1_000));
    let (report, kept) = judged_with_one_warning(&server).await;
    let dir = kept.kept_in.clone();
    assert_eq!(kept.counts.spans, SPANS, "{kept}");
    assert_eq!(kept.counts.session_starts, 0, "{kept}");
    assert!(kept.reason.contains("503"), "{kept}");
    assert_eq!(server.sessions().len(), DATAPOINTS);
    assert_eq!(
        report.report_dir.as_deref(),
        Some(dir.as_path()),
        "the run's folder"
    );
    assert_eq!(read_spans(&dir).unwrap().len() as u64, SPANS);
}

/// Strict mode: the same run fails its check, saying what was not delivered and where it
/// is; by the environment (`HH_REQUIRE_UPLOAD=1`) or the builder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_fails_the_check_when_the_run_did_not_reach_honeyhive() {
    let dir = temp_dir("strict-run");
    for strict_env in [true, false] {
        let url = unreachable_url();
        let warnings = Warnings::default();
        let mut builder = Config::builder()
            .api_key(API_KEY)
            .project(PROJECT)
            .base_url(&url)
            .local_dir(&dir)
            .export_settings(fast_export())
            .on_warning(warnings.handler());
        builder = match strict_env {
            true => builder.environment(Environment::from_pairs([("HH_REQUIRE_UPLOAD", "1")])),
            false => builder
                .environment(Environment::empty())
                .require_upload(true),
        };
        let calls = Arc::new(AtomicUsize::new(0));
        let report = experiment(builder.build().unwrap())
            .run(counted(&calls))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), DATAPOINTS);
        let reasons = report.check().unwrap_err().reasons;
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(
            reasons[0].starts_with("HH_REQUIRE_UPLOAD is set and HoneyHive did not receive the whole run: could not send the run's creation")
                && reasons[0].contains(&url),
            "{reasons:?}"
        );
    }
}

/// A configuration error is still an error, before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_is_still_an_error() {
    let err = Config::builder()
        .environment(Environment::empty())
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert!(matches!(err, honeyhive::Error::Config(_)), "{err}");
}

/// A backend that takes every request and never answers: each call ends after its
/// configured budget (here 2 s, one attempt at most 1 s), the first call to spend it
/// marks the destination down, and later calls are not attempted (but for a probe now and
/// then), so the run ends in a few budgets, not one per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_backend_costs_the_configured_budget_not_a_wait_per_request() {
    let server = TestServer::builder().api_key(API_KEY).start();
    server.inject(
        Route::Any,
        Fault::delay(Duration::from_secs(120)).times(100_000),
    );
    let budget = Duration::from_secs(2);
    let export = ExportSettings {
        request_timeout: Duration::from_secs(1),
        retry: honeyhive::RetryPolicy::default().max_elapsed(budget),
        ..ExportSettings::default()
    };
    let dir = temp_dir("stalled");
    let warnings = Warnings::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let report = experiment(config(&server.url(), &dir, export, &warnings))
        .run(counted(&calls))
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!(
        "stalled backend, budget {budget:?} per call, 1 s per attempt: the run took {took:?}"
    );
    // The budget and one attempt's timeout for the run's creation (about 2.3 s here),
    // and room for a slow machine: below the 6 attempts of 1 s the retry count alone
    // would allow, or a budget for each of the run's steps (creation, session starts,
    // spans, completion) had every call found out on its own.
    assert!(took < Duration::from_secs(8), "{took:?}");
    judged_locally(&report, calls.load(Ordering::SeqCst));
    let kept = the_warning(&warnings);
    assert_eq!(kept.counts.run_creations, 1, "{kept}");
    assert_eq!(kept.counts.spans, SPANS, "{kept}");
}
