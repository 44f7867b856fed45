//! Export throughput (`cargo bench --bench export`; BENCHMARKS.md): spans per second
//! delivered over loopback, as OTLP/HTTP protobuf, to the in-repo test server
//! (`honeyhive_runtime::testing::TestServer`, started here).
//!
//! The spans are `#[trace]` calls (one captured argument and the output) inside an
//! evaluation tracer's scope, so they carry every attribute of `docs/span-attributes.md`. The time
//! runs from the first call to the return of `flush()`, which waits until the server has
//! accepted every span: the figure is what the whole pipeline delivers (span creation,
//! batching, encoding, HTTP), with the queue sized so that nothing is dropped, and every
//! span is counted again on the server side.
//!
//! `HH_BENCH_SMOKE=1` or `--smoke`: a few thousand spans, for CI (also what `cargo test`
//! runs: it starts the program without `--bench`).
//! `HH_BENCH_SPANS=<n>`: the number of spans (default 200,000).

use std::hint::black_box;
use std::time::{Duration, Instant};

use honeyhive::{Environment, ExportSettings, HoneyHiveTracer, OtlpProtocol, trace};
use honeyhive_runtime::testing::TestServer;

const TRACES_PATH: &str = "/opentelemetry/v1/traces";

#[trace]
#[inline(never)]
fn traced_answer(question: &str) -> usize {
    question.split_whitespace().count()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // A test runner listing tests (`cargo nextest`): this program has none to list, it
    // runs as one smoke check under `cargo test`.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` runs this program without it: smoke size.
    let smoke = std::env::var("HH_BENCH_SMOKE").is_ok_and(|v| v == "1")
        || args.iter().any(|a| a == "--smoke" || a == "--test")
        || !args.iter().any(|a| a == "--bench");
    let spans: usize = match std::env::var("HH_BENCH_SPANS") {
        Ok(v) => v.parse().expect("HH_BENCH_SPANS: a number"),
        Err(_) if smoke => 5_000,
        Err(_) => 200_000,
    };
    let warmup = 1_000;

    let server = TestServer::start();
    let dir = std::env::temp_dir().join(format!("honeyhive-export-bench-{}", std::process::id()));
    let settings = ExportSettings {
        // Nothing may be dropped: the figure is spans delivered.
        max_queue_size: (spans + warmup).max(ExportSettings::default().max_queue_size),
        flush_timeout: Duration::from_secs(300),
        ..ExportSettings::default()
    };
    let batch = settings.max_batch_size;
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .api_key("bench-key")
        .project("bench")
        .base_url(server.url())
        .otlp_protocol(OtlpProtocol::HttpProtobuf)
        .local_dir(&dir)
        .export_settings(settings)
        .session_name("export-bench")
        .run_id("run-1")
        .dataset_id("dataset-1")
        .datapoint_id("datapoint-1")
        .build()
        .expect("tracer");

    // Warm-up: connection open, allocator and caches warm.
    tracer.in_scope(|| {
        for _ in 0..warmup {
            black_box(traced_answer(black_box("warm up")));
        }
    });
    tracer.flush().expect("warm-up flush");
    server.clear();

    let cpu_before = thread_cpu();
    let start = Instant::now();
    tracer.in_scope(|| {
        for _ in 0..spans {
            black_box(traced_answer(black_box("What is the capital of France?")));
        }
    });
    let produced = start.elapsed();
    tracer.flush().expect("flush");
    let elapsed = start.elapsed();
    let cpu_after = thread_cpu();

    let stats = tracer.export_stats();
    assert_eq!(stats.dropped_spans, 0, "spans were dropped: {stats:?}");
    assert_eq!(stats.exported_spans as usize, spans + warmup, "{stats:?}");
    let requests = server.requests_to(TRACES_PATH);
    let received: usize = requests.iter().map(|r| r.spans().len()).sum();
    assert!(requests.iter().all(|r| r.is_accepted()), "rejected exports");
    assert_eq!(received, spans, "spans counted by the server");
    // Every attribute of `docs/span-attributes.md` (the stamp and `#[trace]`) that such a call has, on
    // the first and the last span the server decoded.
    let last = requests.last().expect("requests").spans();
    for sample in [&requests[0].spans()[0], last.last().expect("spans")] {
        for key in [
            "honeyhive.session_id",
            "traceloop.association.properties.session_id",
            "honeyhive.project",
            "traceloop.association.properties.project",
            "honeyhive.source",
            "traceloop.association.properties.source",
            "honeyhive_metadata.run_id",
            "honeyhive_metadata.dataset_id",
            "honeyhive_metadata.datapoint_id",
            "honeyhive_event_type",
            "honeyhive_event_name",
            "honeyhive_inputs.question",
            "honeyhive_outputs.result",
            "honeyhive_duration_ms",
        ] {
            assert!(sample.attr(key).is_some(), "exported span lacks {key}");
        }
    }

    let rate = spans as f64 / elapsed.as_secs_f64();
    println!(
        "  {spans} spans in {} requests (max_batch_size {batch}): produced in {:.1} ms, \
         delivered in {:.1} ms",
        requests.len(),
        produced.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3,
    );
    // CPU time per span of each thread (Linux): what the figure costs, whatever else the
    // machine was doing meanwhile.
    let mut cpu: Vec<(String, f64)> = cpu_after
        .iter()
        .map(|(name, after)| {
            let before = cpu_before.get(name).copied().unwrap_or(0.0);
            (name.clone(), (after - before) / spans as f64 * 1e6)
        })
        .filter(|(_, us)| *us > 0.0)
        .collect();
    cpu.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !cpu.is_empty() {
        let total: f64 = cpu.iter().map(|(_, us)| us).sum();
        let parts: Vec<String> = cpu.iter().map(|(n, us)| format!("{n} {us:.2}")).collect();
        println!("  CPU per span: {total:.2} us ({})", parts.join(", "));
    }
    if cfg!(debug_assertions) {
        println!("  (debug build: not a measurement; use `cargo bench --bench export`)");
    }
    println!("bench export_throughput {rate:.0} spans/s (target >= 150000)");
    drop(tracer);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU seconds (user + system) of this process's threads, summed by thread name; empty
/// where `/proc` is not available.
fn thread_cpu() -> std::collections::HashMap<String, f64> {
    let mut by_name = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    // Clock ticks per second: 100 on every Linux this runs on.
    const TICKS: f64 = 100.0;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let name = match name.as_str() {
            n if n.starts_with("honeyhive-test-") => "test server".to_owned(),
            n if n.starts_with("honeyhive-io") => "export (honeyhive-io)".to_owned(),
            n if n.starts_with("export-") || n == "main" => "spans (main)".to_owned(),
            _ => name,
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        *by_name.entry(name).or_insert(0.0) += ticks / TICKS;
    }
    by_name
}
