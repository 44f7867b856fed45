//! Every span of a datapoint carries that datapoint's ids, however deep and on whatever
//! task or thread it starts; nothing stays attached after a tracer's scope.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use honeyhive::opentelemetry::trace::{TraceContextExt, Tracer};
use honeyhive::opentelemetry::{Context, context::FutureExt};
use honeyhive::{HoneyHiveTracer, attributes as attr};
use honeyhive_runtime::testing::TestServer;

use crate::common::{WAIT, connected, str_attr};

const TRACERS: usize = 200;
const SPANS_PER_TRACER: usize = 5;

/// One datapoint: a root span with two branches three deep, one through a spawned task and
/// one through a spawned thread.
async fn datapoint(tracer: HoneyHiveTracer, created: Arc<AtomicUsize>) {
    let otel = tracer.otel_tracer().unwrap().clone();
    let root = otel.start("datapoint");
    created.fetch_add(1, Ordering::Relaxed);
    let cx = Context::current_with_span(root);
    async move {
        let task_otel = otel.clone();
        let task_created = created.clone();
        let task = honeyhive::spawn(async move {
            let span = task_otel.start("on-task");
            task_created.fetch_add(1, Ordering::Relaxed);
            let cx = Context::current_with_span(span);
            async {
                tokio::task::yield_now().await;
                task_otel.in_span("leaf-on-task", |_| {
                    task_created.fetch_add(1, Ordering::Relaxed)
                });
            }
            .with_context(cx.clone())
            .await;
            cx.span().end();
        });
        let thread_otel = otel.clone();
        let thread_created = created.clone();
        let thread = honeyhive::thread::spawn(move || {
            thread_otel.in_span("on-thread", |_| {
                thread_created.fetch_add(1, Ordering::Relaxed);
                thread_otel.in_span("leaf-on-thread", |_| {
                    thread_created.fetch_add(1, Ordering::Relaxed)
                });
            })
        });
        task.await.unwrap();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        Context::current().span().end();
    }
    .with_context(cx)
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_span_of_200_concurrent_tracers_carries_its_own_ids() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let created = Arc::new(AtomicUsize::new(0));
    let mut expected = HashMap::new();
    let mut tasks = Vec::new();
    for i in 0..TRACERS {
        // Two runs interleaved, so a span that took another tracer's ids cannot pass.
        let run = format!("run-{}", i % 2);
        let tracer = connected(&server)
            .run_id(&run)
            .dataset_id("dataset-1")
            .datapoint_id(format!("dp-{i}"))
            .session_name(format!("datapoint {i}"))
            .start()
            .await
            .unwrap();
        expected.insert(format!("dp-{i}"), (tracer.session_id().to_owned(), run));
        let work = tracer.instrument(datapoint(tracer.clone(), created.clone()));
        tasks.push(tokio::spawn(work));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let tracer = connected(&server).start().await.unwrap();
    tracer.flush_async().await.unwrap();

    let spans = server.wait_for_spans(TRACERS * SPANS_PER_TRACER, WAIT);
    assert_eq!(created.load(Ordering::Relaxed), TRACERS * SPANS_PER_TRACER);
    assert_eq!(
        spans.len(),
        TRACERS * SPANS_PER_TRACER,
        "spans received must equal spans created"
    );

    let mut mismatches = Vec::new();
    let mut per_datapoint: HashMap<&str, Vec<_>> = HashMap::new();
    for span in &spans {
        let dp = str_attr(span, attr::DATAPOINT_ID);
        let (session, run) = &expected[dp];
        let checks = [
            (attr::SESSION_ID, session.as_str()),
            (attr::TRACELOOP_SESSION_ID, session.as_str()),
            (attr::RUN_ID, run.as_str()),
            (attr::DATASET_ID, "dataset-1"),
            (attr::PROJECT, crate::common::PROJECT),
            (attr::SOURCE, "dev"),
        ];
        for (key, want) in checks {
            if span.str_attr(key) != Some(want) {
                mismatches.push(format!(
                    "{} of {dp}: {key}={:?}, want {want:?}",
                    span.name,
                    span.str_attr(key)
                ));
            }
        }
        per_datapoint.entry(dp).or_default().push(span);
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, e.g. {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    assert_eq!(per_datapoint.len(), TRACERS);
    for (dp, spans) in per_datapoint {
        assert_eq!(spans.len(), SPANS_PER_TRACER, "{dp}");
        let trace = &spans[0].trace_id;
        assert!(
            spans.iter().all(|s| &s.trace_id == trace),
            "{dp}: one trace per datapoint"
        );
        let root = spans.iter().find(|s| s.name == "datapoint").unwrap();
        assert!(root.parent_span_id.is_none());
        let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap();
        for (child, parent) in [
            ("on-task", "datapoint"),
            ("leaf-on-task", "on-task"),
            ("on-thread", "datapoint"),
            ("leaf-on-thread", "on-thread"),
        ] {
            assert_eq!(
                by_name(child).parent_span_id.as_deref(),
                Some(by_name(parent).span_id.as_str()),
                "{dp}: {child}"
            );
        }
    }

    let sessions = server.sessions();
    for (dp, (session, run)) in &expected {
        let s = sessions
            .iter()
            .find(|s| s["session_id"] == session.as_str())
            .expect("session started");
        assert_eq!(s["metadata"]["datapoint_id"], dp.as_str());
        assert_eq!(s["metadata"]["run_id"], run.as_str());
        assert_eq!(s["metadata"]["dataset_id"], "dataset-1");
    }
}

fn ids_of(span: &honeyhive_runtime::testing::RecordedSpan) -> Vec<(&'static str, Option<&str>)> {
    [
        attr::SESSION_ID,
        attr::RUN_ID,
        attr::DATASET_ID,
        attr::DATAPOINT_ID,
    ]
    .map(|k| (k, span.str_attr(k)))
    .to_vec()
}

#[test]
fn nothing_stays_attached_after_a_scope() {
    let server = TestServer::start();
    let tracer = connected(&server)
        .run_id("r")
        .dataset_id("d")
        .datapoint_id("p")
        .build()
        .unwrap();
    let otel = tracer.otel_tracer().unwrap().clone();
    tracer.in_scope(|| otel.in_span("inside", |_| {}));
    otel.in_span("after-scope", |_| {});
    // A panic inside the scope must not leave the context attached either.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tracer.in_scope(|| panic!("boom"))
    }));
    assert!(caught.is_err());
    otel.in_span("after-panic", |_| {});
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tracer
            .instrument(async { otel.in_span("inside-future", |_| {}) })
            .await;
        otel.in_span("after-future", |_| {});
    });
    assert!(HoneyHiveTracer::current().is_none());
    tracer.flush().unwrap();

    let spans = server.wait_for_spans(5, WAIT);
    let span = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("no span {n}"))
    };
    for inside in ["inside", "inside-future"] {
        assert!(
            ids_of(span(inside)).iter().all(|(_, v)| v.is_some()),
            "{inside}: {:?}",
            ids_of(span(inside))
        );
    }
    for outside in ["after-scope", "after-panic", "after-future"] {
        assert!(
            ids_of(span(outside)).iter().all(|(_, v)| v.is_none()),
            "{outside}: {:?}",
            ids_of(span(outside))
        );
    }
}

#[test]
fn a_later_tracer_never_inherits_an_earlier_ones_ids() {
    let server = TestServer::start();
    let evaluation = connected(&server)
        .run_id("r1")
        .dataset_id("d1")
        .datapoint_id("p1")
        .build()
        .unwrap();
    let plain = connected(&server).build().unwrap();
    let otel = plain.otel_tracer().unwrap().clone();
    evaluation.in_scope(|| {
        // Entering another tracer inside replaces every id, it does not merge them.
        plain.in_scope(|| otel.in_span("plain-inside-evaluation", |_| {}));
    });
    plain.in_scope(|| otel.in_span("plain-after", |_| {}));
    plain.flush().unwrap();
    for span in server.wait_for_spans(2, WAIT) {
        assert_eq!(
            span.str_attr(attr::SESSION_ID),
            Some(plain.session_id()),
            "{}",
            span.name
        );
        for key in [attr::RUN_ID, attr::DATASET_ID, attr::DATAPOINT_ID] {
            assert_eq!(span.str_attr(key), None, "{} has {key}", span.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_and_scoped_threads_carry_the_tracer() {
    let server = TestServer::start();
    let tracer = connected(&server)
        .datapoint_id("dp-carried")
        .start()
        .await
        .unwrap();
    let current = || HoneyHiveTracer::current().map(|t| t.session_id().to_owned());
    let (on_blocking, on_scoped) = tracer
        .instrument(async move {
            let on_blocking = honeyhive::spawn_blocking(current).await.unwrap();
            let on_scoped =
                std::thread::scope(|s| honeyhive::thread::scoped(s, current).join().unwrap());
            (on_blocking, on_scoped)
        })
        .await;
    assert_eq!(on_blocking.as_deref(), Some(tracer.session_id()));
    assert_eq!(on_scoped.as_deref(), Some(tracer.session_id()));
    // Plain std/tokio spawns do not carry it: the helpers are what makes the difference.
    let plain = tracer
        .instrument(async move { tokio::task::spawn_blocking(current).await.unwrap() })
        .await;
    assert_eq!(plain, None);
}
