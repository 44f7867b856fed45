//! `flush` from every kind of caller, without deadlock and without loss.

use honeyhive::opentelemetry::trace::Tracer;
use honeyhive_runtime::testing::TestServer;

use crate::common::{WAIT, connected};

fn record(tracer: &honeyhive::HoneyHiveTracer, name: &str) {
    tracer.in_scope(|| {
        tracer
            .otel_tracer()
            .unwrap()
            .in_span(name.to_owned(), |_| {})
    });
}

#[test]
fn from_sync_code() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    record(&tracer, "sync");
    tracer.flush().unwrap();
    // flush returned: the span is already at the server, no waiting needed.
    assert_eq!(server.spans().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_flush_inside_a_multi_thread_runtime() {
    let server = TestServer::start();
    let tracer = connected(&server).start().await.unwrap();
    record(&tracer, "mt");
    tracer.flush().unwrap();
    assert_eq!(server.spans().len(), 1);
}

#[tokio::test]
async fn both_flushes_inside_a_current_thread_runtime() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap(); // blocking build inside a runtime too
    record(&tracer, "ct-1");
    tracer.flush().unwrap();
    record(&tracer, "ct-2");
    tracer.flush_async().await.unwrap();
    assert_eq!(server.spans().len(), 2);
}

#[test]
fn dropping_the_last_tracer_exports_what_is_left() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    record(&tracer, "left-over");
    drop(tracer); // no flush: the pipeline's shutdown exports it
    server.wait_for_spans(1, WAIT);
}

#[test]
fn tracers_of_one_destination_share_one_pipeline() {
    let server = TestServer::start();
    let a = connected(&server).build().unwrap();
    let b = connected(&server).build().unwrap();
    record(&a, "a");
    record(&b, "b");
    // One flush exports both sessions' spans: there is one queue for the destination.
    a.flush().unwrap();
    assert_eq!(server.spans().len(), 2);
    assert_eq!(a.export_stats(), b.export_stats());
}

/// Without any flush, the scheduled delay delivers every span, whatever state the delay
/// is in when the span ends: none running (the first span), running after a full batch
/// went out (the spans that follow wake nobody), and stopped after it fired.
#[test]
fn the_scheduled_delay_delivers_spans_after_full_batches_and_after_it_fired() {
    let server = TestServer::start();
    let settings = honeyhive::ExportSettings {
        max_batch_size: 4,
        ..crate::common::fast_export()
    };
    let tracer = connected(&server)
        .export_settings(settings)
        .build()
        .unwrap();
    let spans = |from: usize, to: usize| {
        for i in from..to {
            record(&tracer, &format!("span-{i}"));
        }
    };
    // Two full batches, then two more spans while the delay the first batch started runs.
    spans(0, 10);
    server.wait_for_spans(10, WAIT);
    // The delay has fired and stopped: one span must start a new one.
    spans(10, 11);
    server.wait_for_spans(11, WAIT);
    // A full batch, then a partial one, after a stopped delay.
    spans(11, 17);
    let names: std::collections::BTreeSet<String> = server
        .wait_for_spans(17, WAIT)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.len(), 17, "every span exported once: {names:?}");
    // A batch is never larger than `max_batch_size`.
    let sizes: Vec<usize> = server
        .requests_to("/opentelemetry/v1/traces")
        .iter()
        .map(|r| r.spans().len())
        .collect();
    assert!(sizes.iter().all(|&n| (1..=4).contains(&n)), "{sizes:?}");
}
