//! Backend faults: retried without loss, `Retry-After` honoured, a dead backend costs the
//! user one warning and never a failed or hung call; what was not delivered is kept on
//! disk.

use std::time::{Duration, Instant};

use honeyhive::local_store::{SessionRecord, read_sessions, read_spans};
use honeyhive::opentelemetry::trace::Tracer;
use honeyhive::{Error, Undelivered, Warning};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{WAIT, Warnings, connected, temp_dir};

/// A tracer of `server` whose warnings are collected.
fn watched(server: &TestServer) -> (honeyhive::HoneyHiveTracer, Warnings) {
    let warnings = Warnings::default();
    let tracer = connected(server)
        .local_dir(temp_dir("faults"))
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    (tracer, warnings)
}

/// The one warning of `warnings`, which must say what was not delivered.
fn not_delivered(warnings: &Warnings) -> Undelivered {
    match warnings.all().as_slice() {
        [Warning::NotDelivered(undelivered)] => undelivered.clone(),
        other => panic!("expected one NotDelivered warning, got {other:?}"),
    }
}

/// The status of every trace export the server saw, in order.
fn trace_statuses(server: &TestServer) -> Vec<u16> {
    server
        .requests_to("/opentelemetry/v1/traces")
        .iter()
        .map(|r| r.response_status)
        .collect()
}

fn make_spans(tracer: &honeyhive::HoneyHiveTracer, n: usize) {
    let otel = tracer.otel_tracer().unwrap().clone();
    tracer.in_scope(|| {
        for i in 0..n {
            otel.in_span(format!("s{i}"), |_| {});
        }
    });
}

#[test]
fn two_503s_then_success_loses_nothing() {
    let server = TestServer::start();
    let (tracer, warnings) = watched(&server);
    server.inject(Route::Traces, Fault::status(503).times(2));
    make_spans(&tracer, 10);
    tracer.flush().unwrap();
    assert_eq!(trace_statuses(&server), [503, 503, 200]);
    assert_eq!(server.spans().len(), 10);
    assert_eq!(tracer.export_stats().dropped_spans, 0);
    assert_eq!(tracer.export_stats().exported_spans, 10);
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());
}

#[test]
fn every_5xx_and_dropped_connections_are_retried() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    server.inject(Route::Traces, Fault::status(500));
    server.inject(Route::Traces, Fault::drop_connection());
    make_spans(&tracer, 3);
    tracer.flush().unwrap();
    assert_eq!(server.spans().len(), 3);
    assert_eq!(trace_statuses(&server), [500, 0, 200]);
}

#[test]
fn a_4xx_is_not_retried_and_is_reported_once() {
    let server = TestServer::start();
    let (tracer, warnings) = watched(&server);
    server.inject(Route::Traces, Fault::status(400));
    make_spans(&tracer, 4);
    tracer.flush().unwrap();
    assert_eq!(server.requests_to("/opentelemetry/v1/traces").len(), 1);
    let kept = not_delivered(&warnings);
    assert_eq!(kept.counts.spans, 4, "{kept}");
    assert!(kept.reason.contains("400"), "{kept}");
    // Rejected, not lost: the spans are on disk, as local mode writes them.
    assert_eq!(read_spans(&kept.kept_in).unwrap().len(), 4);
    assert_eq!(tracer.export_stats().kept_spans, 4);
}

#[test]
fn retry_after_is_honoured() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    server.inject(Route::Traces, Fault::status(429).retry_after("1"));
    make_spans(&tracer, 2);
    let started = Instant::now();
    tracer.flush().unwrap();
    // The computed backoff is at most 50 ms here: only the server's Retry-After explains a
    // wait of a second (a lower bound, so a slow machine cannot make this fail).
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(trace_statuses(&server), [429, 200]);
    assert_eq!(server.spans().len(), 2);
}

#[test]
fn a_dead_backend_costs_one_warning_and_no_failure() {
    let url = crate::common::unreachable_url(); // every request is refused
    let warnings = Warnings::default();
    let dir = temp_dir("dead-backend");
    let tracer = crate::common::connected_to(&url)
        .local_dir(&dir)
        .on_warning(warnings.handler())
        .build()
        .expect("a tracer starts whatever the backend does");
    let result = tracer.in_scope(|| {
        make_spans(&tracer, 25);
        "user work done"
    });
    assert_eq!(result, "user work done");
    tracer.flush().unwrap();
    let kept = not_delivered(&warnings);
    assert_eq!(kept.url, url);
    assert_eq!((kept.counts.session_starts, kept.counts.spans), (1, 25));
    assert_eq!(kept.kept_in, dir);
    let text = kept.to_string();
    assert!(
        text.contains(&url) && text.contains("1 session start and 25 spans"),
        "{text}"
    );
    let stats = tracer.export_stats();
    assert_eq!(
        (stats.kept_spans, stats.dropped_spans, stats.exported_spans),
        (25, 0, 0)
    );
    // Kept as local mode keeps them: the session start, then its spans.
    assert_eq!(read_spans(&dir).unwrap().len(), 25);
    assert!(matches!(
        read_sessions(&dir).unwrap().as_slice(),
        [SessionRecord::SessionStart { session, .. }] if session.session_id == tracer.session_id()
    ));
}

#[test]
fn a_hanging_backend_does_not_hang_flush_past_its_timeout() {
    let server = TestServer::start();
    let export = honeyhive::ExportSettings {
        request_timeout: Duration::from_millis(500),
        ..crate::common::fast_export()
    };
    let tracer = connected(&server).export_settings(export).build().unwrap();
    server.inject(Route::Traces, Fault::delay(Duration::from_secs(3)));
    make_spans(&tracer, 1);
    let started = Instant::now();
    let result = tracer.flush_with_timeout(Duration::from_millis(300));
    assert!(matches!(result, Err(Error::FlushTimeout(_))), "{result:?}");
    // Generous upper bound: the point is "returns", not "how fast".
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The export carries on in the background: the stalled request times out, the retry lands.
    server.wait_for_spans(1, WAIT);
}

#[test]
fn session_start_is_retried_and_kept_when_impossible() {
    let server = TestServer::start();
    server.inject(Route::SessionStart, Fault::status(502).times(2));
    let tracer = connected(&server).build().unwrap();
    tracer.flush().unwrap();
    assert_eq!(server.sessions().len(), 1);
    assert_eq!(server.sessions()[0]["session_id"], tracer.session_id());

    // Rejected: the tracer still starts; the session start and its spans are kept.
    // (Another server: the tracers of one destination share the first one's warnings.)
    let server = TestServer::start();
    server.inject(Route::SessionStart, Fault::status(401).times(1));
    let (tracer, warnings) = watched(&server);
    make_spans(&tracer, 2);
    tracer.flush().unwrap();
    let kept = not_delivered(&warnings);
    assert!(
        kept.reason.contains("/session/start") && kept.reason.contains("401"),
        "{kept}"
    );
    assert_eq!((kept.counts.session_starts, kept.counts.spans), (1, 2));
    assert!(
        !server
            .spans()
            .iter()
            .any(|s| s.str_attr("honeyhive.session_id") == Some(tracer.session_id())),
        "no span of a session the backend does not have"
    );
}

#[test]
fn failed_session_updates_become_a_warning() {
    let server = TestServer::start();
    let (tracer, warnings) = watched(&server);
    server.inject(Route::Events, Fault::status(404));
    tracer.enrich_session(honeyhive::Enrichment::new().metric("m", 1));
    tracer.flush().unwrap();
    let kept = not_delivered(&warnings);
    assert_eq!(kept.counts.event_updates, 1, "{kept}");
    let kept = read_sessions(&kept.kept_in).unwrap();
    assert!(
        matches!(kept.as_slice(), [SessionRecord::EventUpdate { update, .. }] if update["metrics"]["m"] == 1),
        "{kept:?}"
    );
}

#[test]
fn a_full_queue_drops_and_counts_in_one_warning() {
    let server = TestServer::start();
    let warnings = Warnings::default();
    let export = honeyhive::ExportSettings {
        max_queue_size: 2,
        max_batch_size: 1,
        ..crate::common::fast_export()
    };
    let tracer = connected(&server)
        .export_settings(export)
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    // The first export stalls, so the queue (2 spans) overflows while it waits.
    server.inject(Route::Traces, Fault::delay(Duration::from_millis(300)));
    make_spans(&tracer, 50);
    tracer.flush().unwrap();
    let stats = tracer.export_stats();
    assert!(stats.dropped_spans > 0, "{stats:?}");
    assert_eq!(stats.dropped_spans + stats.exported_spans, 50, "{stats:?}");
    assert_eq!(server.spans().len() as u64, stats.exported_spans);
    let all = warnings.all();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        matches!(&all[0], Warning::SpansDropped { count, reason, .. } if *count == stats.dropped_spans && reason.contains("max_queue_size = 2")),
        "{all:?}"
    );
}
