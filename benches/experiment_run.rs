//! Experiment-level figures of BENCHMARKS.md, in release mode:
//!
//! * `experiment_wall_time`: 2,000 datapoints whose function awaits a 20 ms timer (a
//!   stand-in for the model) inside 3 nested `#[trace]` calls, 2 evaluators each,
//!   concurrency 100, exporting to the in-repo test server over loopback. The floor is
//!   2,000 x 20 ms / 100 = 400 ms; the same timers driven with the same concurrency and no
//!   toolkit are timed in the same run as the baseline.
//! * `report_overhead`: what writing a run's reports (`report.html`, `junit.xml`,
//!   `summary.md`) adds to the wall time of a 10,000-datapoint local-mode run (20 ms model,
//!   concurrency 100, compared with a baseline that has a tenth of the outputs different,
//!   so the page carries diffs and span trees): the run is timed, then its reports written
//!   again and timed (the median of three) in the same process, and the ratio is report time
//!   over the run's time without it; and the size of `report.html` (targets: <= 10%, <= 20 MB).
//! * `experiment_peak_rss`: peak resident memory of a 10,000-datapoint local-mode run
//!   (a child process per size, so each peak is its own), and how it grows per datapoint
//!   between 2,500 and 10,000 datapoints.
//!
//! `cargo bench --bench experiment_run` runs it; `-- --smoke`, or `cargo test` (which runs this
//! target without `--bench`), runs tiny sizes, so the program cannot rot; `-- --only report`
//! (or `wall`, `memory`) runs one part.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Config, Environment, ExportSettings, evaluator, evaluators, trace};
use honeyhive_runtime::testing::TestServer;
use serde::{Deserialize, Serialize};

const MODEL_LATENCY: Duration = Duration::from_millis(20);

#[derive(Serialize, Deserialize)]
struct Input {
    k: u64,
    text: String,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Output {
    k: u64,
    text: String,
}

#[trace(event_type = "chain")]
async fn pipeline(input: Input) -> Output {
    let text = retrieve_and_answer(input.k, input.text).await;
    Output { k: input.k, text }
}

#[trace]
async fn retrieve_and_answer(k: u64, text: String) -> String {
    call_model(k, text).await
}

#[trace(event_type = "model")]
async fn call_model(k: u64, prompt: String) -> String {
    tokio::time::sleep(MODEL_LATENCY).await;
    let _ = k;
    prompt
}

#[evaluator]
fn echo(output: &Output, inputs: &Input) -> bool {
    output.text == inputs.text
}

#[evaluator]
fn length(output: &Output) -> usize {
    output.text.len()
}

fn dataset(n: u64) -> Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| format!(r#"{{"inputs": {{"k": {k}, "text": "question number {k}"}}}}"#))
        .collect();
    Dataset::from_json(&lines.join("\n")).expect("a generated dataset")
}

async fn experiment(n: u64, concurrency: usize, config: Config) -> Duration {
    let started = Instant::now();
    let report = Experiment::<Input, Output>::new("bench")
        .config(config)
        .environment(Environment::empty())
        .dataset(dataset(n))
        .evaluators(evaluators![echo, length])
        .max_concurrency(concurrency)
        .evaluator_concurrency(concurrency * 2)
        .quiet()
        .run(pipeline)
        .await
        .expect("the bench experiment runs");
    let elapsed = started.elapsed();
    assert_eq!(report.failed_count, 0);
    assert_eq!(report.metric("echo").and_then(|m| m.mean), Some(1.0));
    elapsed
}

/// The same timers with the same concurrency, no toolkit.
async fn baseline(n: u64, concurrency: usize) -> Duration {
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .map(|_| tokio::time::sleep(MODEL_LATENCY))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    started.elapsed()
}

fn wall_time(smoke: bool) {
    let (n, concurrency) = if smoke { (40, 10) } else { (2_000, 100) };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = TestServer::builder().api_key("bench-key").start();
    let config = Config::builder()
        .environment(Environment::empty())
        .api_key("bench-key")
        .project("bench")
        .base_url(server.url())
        .export_settings(ExportSettings::default())
        .build()
        .expect("a config");
    // Warm up (the process, the test server, the allocator; each run makes its own
    // pipeline and connections, as a test's experiment does), then measure: the median of
    // five runs (one run on a shared 2-core machine varies by +-40 ms).
    let runs = if smoke { 1 } else { 5 };
    runtime.block_on(experiment(n.min(100), concurrency, config.clone()));
    let base = runtime.block_on(baseline(n, concurrency));
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| runtime.block_on(experiment(n, concurrency, config.clone())))
        .collect();
    times.sort();
    let ours = times[times.len() / 2];
    let range = format!(
        "{:.0}-{:.0} ms over {runs} runs",
        times[0].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
    // The same run in local mode (no HTTP): what the network part costs.
    let dir = std::env::temp_dir().join(format!("honeyhive-bench-wall-{}", std::process::id()));
    let local = Config::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .build()
        .expect("a config");
    runtime.block_on(experiment(n.min(100), concurrency, local.clone()));
    let offline = runtime.block_on(experiment(n, concurrency, local));
    std::fs::remove_dir_all(&dir).ok();
    let floor = MODEL_LATENCY.as_secs_f64() * 1000.0 * n as f64 / concurrency as f64;
    let ms = ours.as_secs_f64() * 1000.0;
    println!(
        "bench experiment_wall_time_local {:.0} ms (no target: the same run in local mode, {:.2}x the floor)",
        offline.as_secs_f64() * 1000.0,
        offline.as_secs_f64() * 1000.0 / floor
    );
    println!(
        "bench experiment_wall_time {ms:.0} ms (target <= {:.0} ms = 1.25 x {floor:.0} ms; {:.2}x the floor, {:.2}x the toolkit-free baseline of {:.0} ms; median, {range})",
        floor * 1.25,
        ms / floor,
        ms / (base.as_secs_f64() * 1000.0),
        base.as_secs_f64() * 1000.0
    );
}

/// Peak resident set size of this process, in kB (`VmHWM`, Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Current resident set size of this process, in kB (`VmRSS`, Linux).
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Child mode: one local-mode run of `n` datapoints; prints its peak RSS, and its RSS at a
/// quarter and at nine tenths of the run (so the growth while datapoints finish shows apart
/// from the dataset's own size).
fn memory_child(n: u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let samples = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, done) = (samples.clone(), done.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb() {
                    samples.lock().unwrap().push((start.elapsed(), kb));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let dir = std::env::temp_dir().join(format!("honeyhive-bench-memory-{}", std::process::id()));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let config = Config::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .build()
        .expect("a config");
    let run_time = runtime.block_on(experiment(n, 100, config));
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler");
    drop(runtime);
    std::fs::remove_dir_all(&dir).ok();
    let samples = samples.lock().unwrap();
    let total = samples.last().map(|s| s.0).unwrap_or_default();
    // The run is the last `run_time` of the samples (dataset creation comes first).
    let start = total.saturating_sub(run_time);
    let at = |share: f64| {
        let t = start + run_time.mul_f64(share);
        samples.iter().find(|s| s.0 >= t).map(|s| s.1).unwrap_or(0)
    };
    println!("{} {} {}", peak_rss_kb().unwrap_or(0), at(0.25), at(0.9));
}

fn memory(smoke: bool) {
    let sizes: [u64; 2] = if smoke { [20, 80] } else { [2_500, 10_000] };
    let measured: Vec<Vec<u64>> = sizes
        .iter()
        .map(|n| {
            let out = std::process::Command::new(std::env::current_exe().expect("this program"))
                .args(["--memory-child", &n.to_string()])
                .output()
                .expect("the memory child runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .lines()
                .last()
                .map(|l| l.split(' ').filter_map(|v| v.parse().ok()).collect())
                .unwrap_or_default()
        })
        .collect();
    let (small, large) = (measured[0][0], measured[1][0]);
    let per_datapoint =
        (large.saturating_sub(small)) as f64 * 1024.0 / (sizes[1] - sizes[0]) as f64;
    // How RSS rises while datapoints finish (from 25% to 90% of the run), in each run; the
    // growth per finished datapoint is the slope between the two sizes: a rise that is the
    // same however many datapoints finish (the allocator keeping freed pages, buffers
    // reaching their working size) is not growth per datapoint. Negative: the longer run
    // rose less.
    let rise = |m: &[u64]| (m[2] as f64 - m[1] as f64) * 1024.0;
    let (small_rise, large_rise) = (rise(&measured[0]), rise(&measured[1]));
    let finished = (sizes[1] - sizes[0]) as f64 * 0.65;
    let per_finished = (large_rise - small_rise) / finished;
    println!(
        "bench experiment_peak_rss {:.1} MB (target <= 50 MB; {} datapoints; {:.1} MB at {} datapoints: {per_datapoint:.0} bytes per datapoint of dataset)",
        large as f64 / 1024.0,
        sizes[1],
        small as f64 / 1024.0,
        sizes[0]
    );
    println!(
        "bench experiment_rss_growth {per_finished:.0} bytes per finished datapoint (target: flat; RSS rise from 25% to 90% of the run: {:.2} MB with {} datapoints, {:.2} MB with {})",
        small_rise / 1048576.0,
        sizes[0],
        large_rise / 1048576.0,
        sizes[1]
    );
}

/// A local-mode run of `n` datapoints, a tenth of whose outputs differ when `changed`
/// (against `baseline`, when given); its report and wall time.
async fn reported_run(
    n: u64,
    dir: &std::path::Path,
    changed: bool,
    baseline: Option<&str>,
) -> (honeyhive::experiment::ExperimentReport, Duration) {
    let config = Config::builder()
        .environment(Environment::empty())
        .local_dir(dir)
        .build()
        .expect("a config");
    let mut experiment = Experiment::<Input, Output>::new("report bench")
        .config(config)
        .environment(Environment::empty())
        .dataset(dataset(n))
        .evaluators(evaluators![echo, length])
        .max_concurrency(100)
        .evaluator_concurrency(200)
        .quiet();
    if let Some(baseline) = baseline {
        experiment = experiment.baseline(baseline);
    }
    let started = Instant::now();
    let report = experiment
        .run(move |input: Input| async move {
            let mut output = pipeline(input).await;
            if changed && output.k % 10 == 0 {
                output.text.push_str(" (rephrased)");
            }
            output
        })
        .await
        .expect("the bench experiment runs");
    (report, started.elapsed())
}

fn report_overhead(smoke: bool) {
    let n = if smoke { 200 } else { 10_000 };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = std::env::temp_dir().join(format!("honeyhive-bench-report-{}", std::process::id()));
    // The baseline run (and the warm-up), then the measured run against it.
    let (first, _) = runtime.block_on(reported_run(n, &dir, false, None));
    let baseline = first.report_dir.clone().expect("a run folder");
    let named = baseline.display().to_string();
    let (report, run_time) = runtime.block_on(reported_run(n, &dir, true, Some(&named)));
    let folder = report.report_dir.clone().expect("a run folder");
    let mut writes: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            report.write_reports().expect("the reports are written");
            started.elapsed()
        })
        .collect();
    writes.sort();
    let write = writes[1];
    let size = |name: &str| {
        std::fs::metadata(folder.join(name))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    };
    let (html, junit) = (size("report.html"), size("junit.xml"));
    std::fs::remove_dir_all(&dir).ok();
    let without = run_time.saturating_sub(write);
    println!(
        "bench report_overhead {:.3} (target <= 0.10): writing the reports of a {n}-datapoint \
         local run took {:.0} ms (median of 3; {:.0}-{:.0} ms), its run {:.0} ms with them, \
         {:.0} ms without; report.html {html:.1} MB (target <= 20 MB), junit.xml {junit:.1} MB",
        write.as_secs_f64() / without.as_secs_f64(),
        write.as_secs_f64() * 1000.0,
        writes[0].as_secs_f64() * 1000.0,
        writes[2].as_secs_f64() * 1000.0,
        run_time.as_secs_f64() * 1000.0,
        without.as_secs_f64() * 1000.0,
    );
    assert!(html <= 20.0, "report.html is {html:.1} MB");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // A test runner listing tests (`cargo nextest`): this program has none to list, it
    // runs as one smoke check under `cargo test`.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        let n = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        memory_child(n);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` (which runs this target, see Cargo.toml)
    // does not, and gets the smoke run.
    let smoke = !args.iter().any(|a| a == "--bench")
        || args.iter().any(|a| a == "--smoke")
        || std::env::var_os("HH_BENCH_SMOKE").is_some();
    // `-- --only wall` or `-- --only memory`: one part (e.g. to profile it).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    if only.is_none_or(|o| o == "wall") {
        wall_time(smoke);
    }
    if only.is_none_or(|o| o == "memory") {
        memory(smoke);
    }
    if only.is_none_or(|o| o == "report") {
        report_overhead(smoke);
    }
}
