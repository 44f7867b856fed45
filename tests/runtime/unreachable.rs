//! A backend that is down or slow never fails nor stalls the user's code: a tracer starts
//! at once under the client's session id, its session start goes in the background and
//! precedes its spans, and what could not be delivered is kept on disk with one warning.

use std::time::{Duration, Instant};

use honeyhive::opentelemetry::trace::Tracer;
use honeyhive::{Environment, Error, Warning};
use honeyhive_runtime::testing::{Fault, Route, TestServer};

use crate::common::{WAIT, Warnings, connected, connected_to, temp_dir, unreachable_url};

fn make_spans(tracer: &honeyhive::HoneyHiveTracer, n: usize) {
    let otel = tracer.otel_tracer().unwrap().clone();
    tracer.in_scope(|| {
        for i in 0..n {
            otel.in_span(format!("s{i}"), |_| {});
        }
    });
}

fn uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36 && b[14] == b'4' && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
}

/// `build()` and `start().await` return at once, with the client's session id, while the
/// backend sits on the session start: the README's `start().await?` cannot stop an
/// application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracer_starts_at_once_whatever_the_backend_does() {
    let server = TestServer::start();
    server.inject(
        Route::SessionStart,
        Fault::delay(Duration::from_secs(5)).times(2),
    );
    let started = Instant::now();
    let built = connected(&server).build().unwrap();
    let awaited = connected(&server).start().await.unwrap();
    // Generous: the point is "does not wait for the 5 s stall", not how fast.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for tracer in [&built, &awaited] {
        assert!(uuid_v4(tracer.session_id()), "{}", tracer.session_id());
    }
    assert_ne!(built.session_id(), awaited.session_id());

    // Nothing listening at all: the same.
    let dead = connected_to(&unreachable_url())
        .local_dir(temp_dir("unreachable-start"))
        .on_warning(Warnings::default().handler())
        .start()
        .await
        .unwrap();
    assert!(uuid_v4(dead.session_id()));
}

/// The session start fails at first (the backend asks to retry after a second); the spans,
/// made and flushed at once, reach the backend only after it accepted the session start.
#[test]
fn spans_follow_their_session_start_when_the_backend_comes_back() {
    let server = TestServer::start();
    server.inject(Route::SessionStart, Fault::status(503).retry_after("1"));
    let warnings = Warnings::default();
    let tracer = connected(&server)
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    make_spans(&tracer, 5);
    tracer.enrich_session(honeyhive::Enrichment::new().metric("m", 1));
    tracer.flush().unwrap();
    let requests = server.requests();
    let position = |matches: &dyn Fn(&honeyhive_runtime::testing::RecordedRequest) -> bool| {
        requests
            .iter()
            .position(|r| r.is_accepted() && matches(r))
            .unwrap_or_else(|| {
                panic!(
                    "{:#?}",
                    requests.iter().map(|r| &r.path).collect::<Vec<_>>()
                )
            })
    };
    let start = position(&|r| r.path == "/session/start");
    let first_spans = position(&|r| {
        r.spans()
            .iter()
            .any(|s| s.str_attr("honeyhive.session_id") == Some(tracer.session_id()))
    });
    let update = position(&|r| r.path == "/events");
    assert!(
        start < first_spans && start < update,
        "session start #{start}, spans #{first_spans}, update #{update}"
    );
    assert_eq!(server.requests_to("/session/start")[0].response_status, 503);
    assert_eq!(server.wait_for_spans(5, WAIT).len(), 5);
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());
}

/// Strict mode (`HH_REQUIRE_UPLOAD=1`, or the builder): what was kept makes `flush` an
/// error; it is still kept.
#[test]
fn strict_mode_makes_flush_fail_when_the_backend_did_not_get_everything() {
    // One URL each: tracers of one destination share its pipeline (and warning handler).
    let by_env = connected_to(&unreachable_url())
        .environment(Environment::from_pairs([("HH_REQUIRE_UPLOAD", "1")]))
        .local_dir(temp_dir("strict-env"));
    let by_builder = connected_to(&unreachable_url())
        .require_upload(true)
        .local_dir(temp_dir("strict-builder"));
    for builder in [by_env, by_builder] {
        let warnings = Warnings::default();
        let tracer = builder.on_warning(warnings.handler()).build().unwrap();
        make_spans(&tracer, 3);
        match tracer.flush() {
            Err(Error::NotDelivered(kept)) => {
                assert_eq!((kept.counts.session_starts, kept.counts.spans), (1, 3));
                let text = Error::NotDelivered(kept).to_string();
                assert!(
                    text.starts_with("honeyhive upload: could not send")
                        && text.contains("HH_REQUIRE_UPLOAD"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            warnings.all().is_empty(),
            "the error says it: {:?}",
            warnings.all()
        );
    }
    // Off by default: the same is one warning, and flush succeeds.
    let warnings = Warnings::default();
    let tracer = connected_to(&unreachable_url())
        .local_dir(temp_dir("lenient"))
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    make_spans(&tracer, 3);
    tracer.flush().unwrap();
    assert!(matches!(
        warnings.all().as_slice(),
        [Warning::NotDelivered(_)]
    ));
}

/// A configuration that cannot work is still an error, at once.
#[test]
fn a_bad_url_is_a_configuration_error() {
    let err = connected_to("not a url").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = connected_to(&unreachable_url())
        .environment(Environment::from_pairs([(
            "HH_REQUIRE_UPLOAD",
            "sometimes",
        )]))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

/// The backend stops answering after the session started: the first export spends its
/// budget finding out, and the exports after it are not even attempted (but for a probe
/// now and then): five flushes cost about one budget, not five.
#[test]
fn a_backend_that_stops_answering_is_found_out_once_not_per_request() {
    let server = TestServer::start();
    let warnings = Warnings::default();
    let budget = Duration::from_secs(1);
    let export = honeyhive::ExportSettings {
        request_timeout: Duration::from_millis(400),
        retry: honeyhive::RetryPolicy::default().max_elapsed(budget),
        ..crate::common::fast_export()
    };
    let tracer = connected(&server)
        .export_settings(export)
        .local_dir(temp_dir("stops-answering"))
        .on_warning(warnings.handler())
        .build()
        .unwrap();
    tracer.flush().unwrap();
    assert_eq!(server.sessions().len(), 1);
    server.inject(
        Route::Any,
        Fault::delay(Duration::from_secs(120)).times(1_000),
    );
    let started = Instant::now();
    for _ in 0..5 {
        make_spans(&tracer, 1);
        tracer.flush().unwrap();
    }
    let took = started.elapsed();
    eprintln!("five flushes to a backend that stopped answering, budget {budget:?}: {took:?}");
    // One budget (and an attempt's timeout) and room for a slow machine; five would be
    // past 5 s.
    assert!(took < Duration::from_secs(3), "{took:?}");
    let kept: u64 = warnings
        .all()
        .iter()
        .map(|w| match w {
            Warning::NotDelivered(kept) => kept.counts.spans,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(kept, 5);
    assert_eq!(tracer.export_stats().kept_spans, 5);
}
