//! Export throughput (`cargo bench --bench export`; BENCHMARKS.md): spans per second
//! delivered over loopback, as OTLP/HTTP protobuf, to the in-repo test server
//! (`honeyhive_runtime::testing::TestServer`, started here).
//!
//! The spans are `#[trace]` calls (one captured argument and the output) inside an
//! evaluation tracer's scope, so they carry every attribute of span-attributes.md. The time
//! runs from the first call to the return of `flush()`, which waits until the server has
//! accepted every span: the figure is what the whole pipeline delivers (span creation,
//! batching, encoding, HTTP), with the queue sized so that nothing is dropped, and every
//! span is counted again on the server side.
//!
//! `HH_BENCH_SMOKE=1` or `--smoke`: a few thousand spans, for CI.
//! `HH_BENCH_SPANS=<n>`: the number of spans (default 200,000).

use std::hint::black_box;
use std::time::{Duration, Instant};

use honeyhive::testing::TestServer;
use honeyhive::{Environment, ExportSettings, HoneyHiveTracer, OtlpProtocol, trace};

const TRACES_PATH: &str = "/opentelemetry/v1/traces";

#[trace]
#[inline(never)]
fn traced_answer(question: &str) -> usize {
    question.split_whitespace().count()
}

fn main() {
    let smoke = std::env::var("HH_BENCH_SMOKE").is_ok_and(|v| v == "1")
        || std::env::args().any(|a| a == "--smoke");
    // `cargo test --benches` passes `--test`/`--bench`: run the smoke size then too.
    let smoke = smoke || std::env::args().any(|a| a == "--test");
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

    let start = Instant::now();
    tracer.in_scope(|| {
        for _ in 0..spans {
            black_box(traced_answer(black_box("What is the capital of France?")));
        }
    });
    let produced = start.elapsed();
    tracer.flush().expect("flush");
    let elapsed = start.elapsed();

    let stats = tracer.export_stats();
    assert_eq!(stats.dropped_spans, 0, "spans were dropped: {stats:?}");
    assert_eq!(stats.exported_spans as usize, spans + warmup, "{stats:?}");
    let requests = server.requests_to(TRACES_PATH);
    let received: usize = requests.iter().map(|r| r.spans().len()).sum();
    assert!(requests.iter().all(|r| r.is_accepted()), "rejected exports");
    assert_eq!(received, spans, "spans counted by the server");
    let sample = &requests[0].spans()[0];
    for key in [
        "honeyhive.session_id",
        "honeyhive.project",
        "honeyhive_metadata.datapoint_id",
        "honeyhive_inputs.question",
        "honeyhive_outputs.result",
    ] {
        assert!(sample.attr(key).is_some(), "exported span lacks {key}");
    }

    let rate = spans as f64 / elapsed.as_secs_f64();
    println!(
        "  {spans} spans in {} requests (max_batch_size {batch}): produced in {:.1} ms, \
         delivered in {:.1} ms",
        requests.len(),
        produced.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3,
    );
    println!("bench export_throughput {rate:.0} spans/s (target >= 100000)");
    drop(tracer);
    let _ = std::fs::remove_dir_all(&dir);
}
