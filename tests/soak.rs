//! The soak under faults (issue 21 point 5; the figures are in `docs/reliability.md`).
//!
//! An experiment of 2,000 datapoints at concurrency 100 runs in a child process (the user's
//! program, whose memory is measured) against the test server, which meanwhile answers
//! 429 with `Retry-After`, 503, drops connections, stalls requests for 2 s, and goes down
//! once for 20 s. Then the outage is over and `honeyhive upload` (the command) sends what
//! the run kept. It asserts that every session start, session update and span arrived
//! exactly once (by id), every span with its own datapoint's ids, the run finished with
//! every session id, the child's memory stayed flat and the user's function saw no
//! error; a second upload sends nothing. Its last line has the counts.
//!
//! Not run by default (it takes a minute): `HH_SOAK=full cargo test --test soak --
//! --nocapture` runs it at full size; `HH_SOAK=ci` at the size `.ci/run` runs, scaled
//! down as [`Size::ci`] says (1,000 datapoints, an 8 s outage; the same faults).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Config, HoneyHiveTracer, Warning, WarningHandler, evaluator, trace};
use honeyhive_runtime::testing::{Fault, FaultKind, Route, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const API_KEY: &str = "soak-key";
/// Spans of one datapoint: its root, `answer`, `lookup`, the evaluator.
const SPANS_PER_DATAPOINT: usize = 4;
/// The child's line with its results.
const RESULT_PREFIX: &str = "SOAK-RESULT ";

/// How big the soak is.
#[derive(Debug, Clone, Copy)]
struct Size {
    datapoints: usize,
    concurrency: usize,
    /// How long the user's function takes (a model call's latency).
    latency: Duration,
    /// The one outage.
    outage: Duration,
}

impl Size {
    /// The issue's: 2,000 datapoints at concurrency 100, a 20 s outage.
    fn full() -> Size {
        Size {
            datapoints: 2_000,
            concurrency: 100,
            latency: Duration::from_millis(1_500),
            outage: Duration::from_secs(20),
        }
    }

    /// CI's (2 cores, within a few minutes): half the datapoints and an 8 s outage; the
    /// same concurrency, latency and faults.
    fn ci() -> Size {
        Size {
            datapoints: 1_000,
            outage: Duration::from_secs(8),
            ..Size::full()
        }
    }

    fn from_env() -> Option<Size> {
        match std::env::var("HH_SOAK").ok()?.as_str() {
            "full" => Some(Size::full()),
            "ci" => Some(Size::ci()),
            "" | "0" | "off" => None,
            other => panic!("HH_SOAK={other:?}: use full or ci (unset: skip)"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The child: the user's program.

#[derive(Debug, Serialize, Deserialize)]
struct Question {
    k: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    k: u64,
    text: String,
}

/// Errors the user's function saw: a call made outside its datapoint's tracer.
static USER_ERRORS: AtomicU64 = AtomicU64::new(0);

#[trace]
async fn answer(question: Question, latency_ms: u64) -> Answer {
    if HoneyHiveTracer::current().is_none() {
        USER_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
    tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    let text = lookup(question.k);
    Answer {
        k: question.k,
        text,
    }
}

#[trace]
fn lookup(k: u64) -> String {
    format!("answer {k}")
}

#[evaluator]
fn right(output: &Answer, inputs: &Question) -> bool {
    output.k == inputs.k && output.text == format!("answer {}", inputs.k)
}

/// What the child reports to the test.
#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    run_id: String,
    run_dir: String,
    session_ids: Vec<String>,
    datapoint_ids: Vec<String>,
    calls: u64,
    user_errors: u64,
    failed: usize,
    unscored: usize,
    kept: u64,
    warnings: Vec<String>,
    /// `(seconds since start, resident set in KiB, datapoints done)`.
    rss: Vec<(f64, u64, u64)>,
    seconds: f64,
}

/// The resident set of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Run by [`soak`] in a child process (the environment says where and how big).
#[test]
#[ignore = "the soak's child process: run by `soak` (HH_SOAK=full|ci)"]
fn soak_experiment() {
    let datapoints: usize = std::env::var("SOAK_DATAPOINTS").unwrap().parse().unwrap();
    let concurrency: usize = std::env::var("SOAK_CONCURRENCY").unwrap().parse().unwrap();
    let latency_ms: u64 = std::env::var("SOAK_LATENCY_MS").unwrap().parse().unwrap();
    let warnings = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = warnings.clone();
    let config = Config::builder()
        .on_warning(WarningHandler::new(move |w: &Warning| {
            seen.lock().unwrap().push(w.to_string())
        }))
        .build()
        .unwrap();
    let lines: Vec<String> = (0..datapoints)
        .map(|k| json!({"inputs": {"k": k}}).to_string())
        .collect();
    let dataset = Dataset::from_json(&lines.join("\n")).unwrap();

    let started = Instant::now();
    let calls = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (samples, done, calls) = (samples.clone(), done.clone(), calls.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let at = started.elapsed().as_secs_f64();
                let n = calls.load(Ordering::Relaxed);
                samples.lock().unwrap().push((at, rss_kib(), n));
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let counter = calls.clone();
    let report = runtime
        .block_on(
            Experiment::new("soak")
                .config(config)
                .dataset(dataset)
                .evaluators(honeyhive::evaluators![right])
                .max_concurrency(concurrency)
                .quiet()
                .run(move |q: Question| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    answer(q, latency_ms)
                }),
        )
        .expect("the experiment runs whatever the backend does");
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let datapoint_results = report.datapoints().unwrap();
    let result = ChildResult {
        run_id: report.run_id.clone(),
        run_dir: report.report_dir.as_ref().unwrap().display().to_string(),
        session_ids: datapoint_results
            .iter()
            .map(|d| d.session_id.clone())
            .collect(),
        datapoint_ids: datapoint_results
            .iter()
            .map(|d| d.datapoint_id.clone())
            .collect(),
        calls: calls.load(Ordering::Relaxed),
        user_errors: USER_ERRORS.load(Ordering::Relaxed),
        failed: report.failed_count,
        unscored: report.metric("right").map_or(usize::MAX, |m| m.errors),
        kept: report.undelivered.as_ref().map_or(0, |u| u.counts.total()),
        warnings: warnings.lock().unwrap().clone(),
        rss: samples.lock().unwrap().clone(),
        seconds: started.elapsed().as_secs_f64(),
    };
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&result).unwrap());
}

// ---------------------------------------------------------------------------------------
// The test: the backend, its faults, the upload, the checks.

#[test]
fn soak() {
    let Some(size) = Size::from_env() else {
        eprintln!("soak: skipped (HH_SOAK=full or HH_SOAK=ci runs it; .ci/run sets ci)");
        return;
    };
    let started = Instant::now();
    let server = TestServer::builder().api_key(API_KEY).start();
    // Spread over the run (one request of a route in n), for as long as it lasts.
    let many = 1_000_000;
    server.inject(
        Route::Traces,
        Fault::status(429).retry_after("1").every(5).times(many),
    );
    server.inject(Route::SessionStart, Fault::status(503).every(7).times(many));
    server.inject(Route::Events, Fault::drop_connection().every(6).times(many));
    server.inject(Route::Runs, Fault::status(503).every(2).times(2));
    server.inject(
        Route::Any,
        Fault::delay(Duration::from_secs(2)).every(53).times(many),
    );
    let dir = std::env::temp_dir().join(format!("honeyhive-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // The user's program.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["soak_experiment", "--exact", "--ignored", "--nocapture"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HH_API_KEY", API_KEY)
        .env("HH_API_URL", server.url())
        .env("HH_LOCAL_DIR", &dir)
        .env("SOAK_DATAPOINTS", size.datapoints.to_string())
        .env("SOAK_CONCURRENCY", size.concurrency.to_string())
        .env("SOAK_LATENCY_MS", size.latency.as_millis().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    // The outage: once a quarter of the sessions have started.
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.sessions().len() < size.datapoints / 4 {
        assert!(
            Instant::now() < deadline,
            "the run did not get going: {:?}",
            server
                .requests()
                .iter()
                .map(|r| format!("{} {} {}", r.method, r.path, r.response_status))
                .collect::<Vec<_>>()
        );
        if child.try_wait().unwrap().is_some() {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for r in server.requests() {
                *by.entry(format!("{} {} {}", r.method, r.path, r.response_status))
                    .or_default() += 1;
            }
            panic!(
                "the child ended early: {by:?}\n{}",
                &out[..out.len().min(3000)]
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let outage_at = started.elapsed();
    server.outage(size.outage);

    let stdout = child.stdout.take().unwrap();
    let mut result = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(json) = line.strip_prefix(RESULT_PREFIX) {
            result = Some(serde_json::from_str::<ChildResult>(json).unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the child failed: {status}");
    let child = result.expect("the child reports its results");
    while server.is_down() {
        std::thread::sleep(Duration::from_millis(50));
    }

    // What the backend had before the upload.
    let live = Delivered::of(&server);
    let retried = server
        .requests()
        .iter()
        .filter(|r| {
            matches!(
                r.fault,
                Some(FaultKind::Status { .. } | FaultKind::DropConnection)
            )
        })
        .count();
    let stalled = server
        .requests()
        .iter()
        .filter(|r| matches!(r.fault, Some(FaultKind::Delay(_))))
        .count();

    // The outage is over: the command sends what the run kept.
    let upload = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_honeyhive"))
            .arg("upload")
            .args(args)
            .arg(&child.run_dir)
            .env_clear()
            .env("HH_API_KEY", API_KEY)
            .env("HH_API_URL", server.url())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "honeyhive upload {args:?}: {text}");
        text
    };
    let uploaded_text = upload(&[]);
    let all = Delivered::of(&server);
    let uploaded = all.items() - live.items();
    let again = upload(&[]);
    assert!(
        again.contains("sent nothing"),
        "a second upload sends nothing: {again}"
    );
    assert_eq!(Delivered::of(&server).items(), all.items());

    // Every session start, update and span exactly once, by id.
    let n = size.datapoints;
    let sessions: BTreeSet<&str> = child.session_ids.iter().map(String::as_str).collect();
    assert_eq!(sessions.len(), n, "one session per datapoint");
    all.exactly_once("session start", &all.session_starts, &sessions);
    all.exactly_once("session update", &all.updates, &sessions);
    let spans_total: usize = all.spans.values().sum();
    assert_eq!(all.spans.len(), n * SPANS_PER_DATAPOINT, "every span");
    assert_eq!(spans_total, all.spans.len(), "no span twice");
    // Every span with its own datapoint's ids.
    let datapoint_of: HashMap<&str, &str> = child
        .session_ids
        .iter()
        .map(String::as_str)
        .zip(child.datapoint_ids.iter().map(String::as_str))
        .collect();
    for span in server.spans() {
        let session = span.str_attr("honeyhive.session_id").unwrap();
        assert_eq!(
            span.str_attr("honeyhive_metadata.datapoint_id"),
            datapoint_of.get(session).copied(),
            "span {} of session {session}",
            span.name
        );
        assert_eq!(
            span.str_attr("honeyhive_metadata.run_id"),
            Some(child.run_id.as_str())
        );
    }
    // The run finished, with every session.
    let run = server
        .runs()
        .into_iter()
        .find(|r| r["run_id"] == child.run_id.as_str())
        .expect("the run exists");
    assert_eq!(run["status"], "completed");
    let event_ids: BTreeSet<&str> = run["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(event_ids, sessions);
    // The user's function saw no error, and every datapoint was judged.
    assert_eq!(child.calls as usize, n);
    assert_eq!((child.user_errors, child.failed, child.unscored), (0, 0, 0));
    // What was kept is what was uploaded, and one warning said so.
    assert_eq!(child.kept, uploaded as u64, "{uploaded_text}");
    assert!(
        child.kept > 0,
        "the outage kept something: {:?}",
        child.warnings
    );
    assert_eq!(child.warnings.len(), 1, "{:?}", child.warnings);
    // Memory stays flat: the resident set at the end is within 64 MiB of what it was
    // when a quarter of the datapoints had run (it does not grow with the datapoints).
    let quarter = child
        .rss
        .iter()
        .filter(|(_, _, done)| *done as usize >= n / 4)
        .map(|(_, kib, _)| *kib)
        .next()
        .unwrap();
    let peak = child.rss.iter().map(|(_, kib, _)| *kib).max().unwrap();
    assert!(
        peak <= quarter + 64 * 1024,
        "RSS {quarter} KiB at a quarter, peak {peak} KiB: {:?}",
        child.rss
    );

    let expected = n * (2 + SPANS_PER_DATAPOINT) + 2;
    let lost = expected - all.items();
    assert_eq!(lost, 0);
    println!(
        "soak: {n} datapoints at concurrency {} in {:.1} s (outage of {:?} at {:.1} s), \
         user's program {:.1} s, RSS {} -> {} MiB: {} stalled 2 s",
        size.concurrency,
        started.elapsed().as_secs_f64(),
        size.outage,
        outage_at.as_secs_f64(),
        child.seconds,
        quarter / 1024,
        peak / 1024,
        stalled
    );
    println!(
        "soak: sent={} retried={retried} kept={} uploaded={uploaded} lost={lost}",
        live.items(),
        child.kept
    );
}

/// What the backend received, by id.
struct Delivered {
    runs_created: usize,
    runs_finished: usize,
    session_starts: BTreeMap<String, usize>,
    updates: BTreeMap<String, usize>,
    spans: BTreeMap<String, usize>,
}

impl Delivered {
    fn of(server: &TestServer) -> Delivered {
        let count = |ids: Vec<String>| {
            let mut map = BTreeMap::new();
            for id in ids {
                *map.entry(id).or_insert(0) += 1;
            }
            map
        };
        let accepted = |method: http::Method, prefix: &str| {
            server
                .requests()
                .iter()
                .filter(|r| r.method == method && r.path.starts_with(prefix) && r.is_accepted())
                .count()
        };
        Delivered {
            runs_created: accepted(http::Method::POST, "/v1/runs"),
            runs_finished: accepted(http::Method::PUT, "/v1/runs/"),
            session_starts: count(
                server
                    .sessions()
                    .iter()
                    .map(|s| s["session_id"].as_str().unwrap().to_owned())
                    .collect(),
            ),
            updates: count(
                server
                    .event_updates()
                    .iter()
                    .map(|u| u["event_id"].as_str().unwrap().to_owned())
                    .collect(),
            ),
            spans: count(
                server
                    .spans()
                    .iter()
                    .map(|s| format!("{}{}", s.trace_id, s.span_id))
                    .collect(),
            ),
        }
    }

    /// Every item delivered (a span, a session start, ...), duplicates included.
    fn items(&self) -> usize {
        self.runs_created
            + self.runs_finished
            + self.session_starts.values().sum::<usize>()
            + self.updates.values().sum::<usize>()
            + self.spans.values().sum::<usize>()
    }

    fn exactly_once(&self, what: &str, got: &BTreeMap<String, usize>, ids: &BTreeSet<&str>) {
        let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{what}s sent more than once: {twice:?}");
        let arrived: BTreeSet<&str> = got.keys().map(String::as_str).collect();
        assert_eq!(&arrived, ids, "every {what}");
    }
}
