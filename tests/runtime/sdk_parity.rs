//! What SDK 1.7 changed on the wire, over HTTP against the test server: which key each call
//! carries, the optional project, the REST headers, the shape of `PUT /events` bodies,
//! enrichments of other events, and the REST timeout and retries.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeyhive::opentelemetry::trace::Tracer as _;
use honeyhive::{Enrichment, Environment, Error, HoneyHiveTracer, KeyProblem, attributes as attr};
use honeyhive_runtime::testing::{Fault, RecordedRequest, Route, TestServer};
use serde_json::json;

use crate::common::{API_KEY, PROJECT, WAIT, fast_export};

/// A well-formed ingestion key (`hh_ingst_` + 24 + `_` + 64).
fn ingestion_key() -> String {
    format!(
        "hh_ingst_{}_{}",
        "K3y1d".repeat(5)[..24].to_owned(),
        "S3cr-t_x".repeat(8)
    )
}

/// A tracer of `server` with only the keys given, reading nothing from the environment.
fn tracer_with(server: &TestServer, project_key: bool, ingestion: bool) -> HoneyHiveTracer {
    let mut builder = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .base_url(server.url())
        .export_settings(fast_export())
        .session_name("keys");
    if project_key {
        builder = builder.api_key(API_KEY);
    }
    if ingestion {
        builder = builder.ingestion_api_key(ingestion_key());
    }
    builder.build().unwrap()
}

fn bearer(request: &RecordedRequest) -> &str {
    request
        .header("authorization")
        .unwrap_or_else(|| panic!("{} {} has no Authorization", request.method, request.path))
}

/// Traces: a session start, a span, an event update; every call must be accepted.
fn trace_once(tracer: &HoneyHiveTracer) {
    tracer.in_scope(|| tracer.otel_tracer().unwrap().in_span("step", |_| {}));
    tracer.enrich_session(Enrichment::new().metric("m", 1));
    tracer.flush().unwrap();
}

#[test]
fn an_ingestion_key_alone_traces_and_is_what_ingestion_calls_carry() {
    let key = ingestion_key();
    // The server knows the ingestion key only: a call with any other key is refused.
    let server = TestServer::builder().ingestion_key(&key).start();
    let tracer = tracer_with(&server, false, true);
    assert!(tracer.config().is_connected() && !tracer.config().has_project_key());
    trace_once(&tracer);
    server.wait_for_spans(1, WAIT);
    let requests = server.requests();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/events", "/opentelemetry/v1/traces", "/session/start"],
        "{paths:?}"
    );
    for r in &requests {
        assert_eq!(r.response_status, 200, "{} {}", r.method, r.path);
        assert_eq!(bearer(r), format!("Bearer {key}"));
    }
}

#[test]
fn with_both_keys_ingestion_calls_carry_the_ingestion_key_and_runs_the_project_key() {
    let key = ingestion_key();
    let server = TestServer::builder()
        .api_key(API_KEY)
        .ingestion_key(&key)
        .start();
    let tracer = tracer_with(&server, true, true);
    trace_once(&tracer);
    server.wait_for_spans(1, WAIT);
    for r in server.requests() {
        assert_eq!(bearer(&r), format!("Bearer {key}"), "{}", r.path);
    }

    // A run (the project's) with both keys: the test server answers the ingestion key on
    // /v1/runs with 403, so a run that completes proves the routing.
    server.clear();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime
        .block_on(
            honeyhive::experiment::Experiment::<serde_json::Value, String>::new("keys")
                .config(tracer.config().clone())
                .environment(Environment::empty())
                .dataset(honeyhive::Dataset::from_json(r#"[{"inputs": {"q": 1}}]"#).unwrap())
                .quiet()
                .run(|inputs: serde_json::Value| async move { inputs.to_string() }),
        )
        .unwrap();
    report.check().unwrap();
    let requests = server.requests();
    assert!(
        requests.iter().all(|r| r.response_status == 200),
        "{requests:#?}"
    );
    for r in &requests {
        let expected = if r.path.starts_with("/v1/") {
            API_KEY.to_owned()
        } else {
            key.clone()
        };
        assert_eq!(
            bearer(r),
            format!("Bearer {expected}"),
            "{} {}",
            r.method,
            r.path
        );
    }
    assert!(requests.iter().any(|r| r.path == "/v1/runs"));
    assert!(requests.iter().any(|r| r.path.ends_with("/result")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_with_only_an_ingestion_key_says_it_needs_the_project_key_before_running() {
    let server = TestServer::builder().ingestion_key(ingestion_key()).start();
    // Creating a run, or joining one (HH_RUN_ID: no run is created, the datapoints could
    // start their sessions with the ingestion key, and the run could not be finished).
    for join in [None, Some("run-to-join")] {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = ran.clone();
        let mut config = honeyhive::Config::builder()
            .environment(Environment::empty())
            .ingestion_api_key(ingestion_key())
            .base_url(server.url());
        if let Some(run) = join {
            config = config.run_id(run);
        }
        let error = honeyhive::experiment::Experiment::<serde_json::Value, String>::new("keys")
            .config(config.build().unwrap())
            .environment(Environment::empty())
            .dataset(honeyhive::Dataset::from_json(r#"[{"inputs": {"q": 1}}]"#).unwrap())
            .quiet()
            .run(move |inputs: serde_json::Value| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move { inputs.to_string() }
            })
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(
            text.contains(
                "an experiment (its run is created and finished on HoneyHive) needs \
                           the project API key: set HH_API_KEY"
            ) && text.contains("HH_INGESTION_API_KEY"),
            "{text}"
        );
        assert_eq!(
            ran.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "{join:?}"
        );
        assert!(server.requests().is_empty(), "nothing is sent ({join:?})");
    }

    // The comparison of runs needs it too, and says so without a request.
    let config = honeyhive::Config::builder()
        .environment(Environment::empty())
        .ingestion_api_key(ingestion_key())
        .base_url(server.url())
        .build()
        .unwrap();
    let error = honeyhive::runs::compare_with(
        &config,
        "new",
        "old",
        honeyhive::runs::AggregateFunction::Average,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("needs the project API key"),
        "{error}"
    );
    assert!(server.requests().is_empty(), "nothing is sent");
}

#[test]
fn a_malformed_typed_key_is_an_error_before_anything_is_sent() {
    let server = TestServer::start();
    let key = ingestion_key();
    for (value, problem) in [
        (&key[..key.len() - 3], KeyProblem::Incomplete),
        ("hh_1234567890abcdef", KeyProblem::AnotherHoneyHiveKey),
        ("sk-not-honeyhive-0000", KeyProblem::NotAHoneyHiveKey),
    ] {
        let error = HoneyHiveTracer::builder()
            .environment(Environment::from_pairs([("HH_INGESTION_API_KEY", value)]))
            .base_url(server.url())
            .build()
            .unwrap_err();
        let Error::MalformedKey(malformed) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(
            (malformed.source, malformed.problem),
            ("HH_INGESTION_API_KEY", problem)
        );
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(value), "the key is shown: {shown}");
        }
    }
    assert!(server.requests().is_empty());
}

#[test]
fn without_a_project_none_is_sent_and_with_one_it_is() {
    let server = TestServer::builder().api_key(API_KEY).start();
    let tracer = tracer_with(&server, true, false);
    assert_eq!(tracer.project(), None);
    trace_once(&tracer);
    let span = server.wait_for_spans(1, WAIT).remove(0);
    let session = &server.sessions()[0];
    assert!(session.get("project").is_none(), "{session}");
    assert_eq!(span.str_attr(attr::PROJECT), None);
    assert_eq!(span.str_attr(attr::TRACELOOP_PROJECT), None);
    assert_eq!(span.str_attr(attr::SESSION_ID), Some(tracer.session_id()));

    let server = TestServer::builder().api_key(API_KEY).start();
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::from_pairs([("HH_PROJECT", PROJECT)]))
        .api_key(API_KEY)
        .base_url(server.url())
        .export_settings(fast_export())
        .build()
        .unwrap();
    trace_once(&tracer);
    let span = server.wait_for_spans(1, WAIT).remove(0);
    assert_eq!(server.sessions()[0]["project"], PROJECT);
    assert_eq!(span.str_attr(attr::PROJECT), Some(PROJECT));
}

fn nanos_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn rest_calls_carry_accept_and_a_client_timestamp_the_same_on_every_attempt() {
    let server = TestServer::builder().api_key(API_KEY).start();
    // The session start fails once: its retry must carry the same timestamp.
    server.inject(Route::SessionStart, Fault::status(503).times(1));
    let before = nanos_now();
    let tracer = tracer_with(&server, true, false);
    trace_once(&tracer);
    server.wait_for_spans(1, WAIT);
    let after = nanos_now();
    let starts = server.requests_to("/session/start");
    assert_eq!(
        starts.iter().map(|r| r.response_status).collect::<Vec<_>>(),
        [503, 200]
    );
    let stamp = |r: &RecordedRequest| -> u128 {
        let text = r
            .header("hh-client-timestamp")
            .unwrap_or_else(|| panic!("{} has no hh-client-timestamp", r.path));
        assert!(text.bytes().all(|b| b.is_ascii_digit()), "{text}");
        text.parse().unwrap()
    };
    assert_eq!(
        stamp(&starts[0]),
        stamp(&starts[1]),
        "one timestamp per call"
    );
    let update = &server.requests_to("/events")[0];
    for r in [&starts[0], update] {
        assert_eq!(r.header("accept"), Some("application/json"), "{}", r.path);
        let ns = stamp(r);
        assert!(before <= ns && ns <= after, "{before} <= {ns} <= {after}");
    }
    assert!(stamp(update) >= stamp(&starts[1]), "never back in time");
    // Span exports are not REST calls: no timestamp, as the reference sends none there.
    let export = &server.requests_to("/opentelemetry/v1/traces")[0];
    assert_eq!(export.header("hh-client-timestamp"), None);
}

#[test]
fn event_bodies_hold_objects_and_enrichments_can_target_another_event() {
    let server = TestServer::builder().api_key(API_KEY).start();
    let tracer = tracer_with(&server, true, false);
    tracer.enrich_session(Enrichment::new().outputs(42).inputs("why?").error("late"));
    tracer.enrich_session(Enrichment::new().outputs(["a", "b"]));
    tracer.in_scope(|| {
        honeyhive::enrich_span(
            Enrichment::new()
                .feedback("rating", 5)
                .event_id("3c0ffee0-0000-4000-8000-000000000001"),
        );
        honeyhive::enrich_session(
            Enrichment::new()
                .metric("m", 1)
                .session_id("3c0ffee0-0000-4000-8000-000000000002"),
        );
    });
    tracer.enrich_event(
        "3c0ffee0-0000-4000-8000-000000000003",
        Enrichment::new().outputs(json!({"answer": "Paris"})),
    );
    tracer.flush().unwrap();
    let mut bodies: Vec<serde_json::Value> = server.event_updates();
    bodies.sort_by_key(|b| b.to_string());
    let session = tracer.session_id();
    let mut expected = vec![
        json!({"event_id": session, "outputs": {"result": 42}, "inputs": {"input": "why?"},
               "error": "late"}),
        json!({"event_id": session, "outputs": {"result": ["a", "b"]}}),
        json!({"event_id": "3c0ffee0-0000-4000-8000-000000000001", "feedback": {"rating": 5}}),
        json!({"event_id": "3c0ffee0-0000-4000-8000-000000000002", "metrics": {"m": 1}}),
        json!({"event_id": "3c0ffee0-0000-4000-8000-000000000003",
               "outputs": {"answer": "Paris"}}),
    ];
    expected.sort_by_key(|b| b.to_string());
    assert_eq!(bodies, expected);
    for body in &bodies {
        for field in [
            "outputs", "inputs", "feedback", "metrics", "metadata", "config",
        ] {
            if let Some(value) = body.get(field) {
                assert!(value.is_object(), "{field} of {body}");
            }
        }
    }
}

#[test]
fn enrich_span_records_inputs_outputs_and_the_error_on_the_span() {
    let server = TestServer::builder().api_key(API_KEY).start();
    let tracer = tracer_with(&server, true, false);
    tracer.in_scope(|| {
        tracer.otel_tracer().unwrap().in_span("step", |_| {
            honeyhive::enrich_span(
                Enrichment::new()
                    .inputs(json!({"q": "capital?"}))
                    .outputs("Paris")
                    .error("slow"),
            );
        })
    });
    tracer.flush().unwrap();
    let span = server.wait_for_spans(1, WAIT).remove(0);
    assert_eq!(span.str_attr("honeyhive_inputs.q"), Some("capital?"));
    assert_eq!(span.str_attr("honeyhive_outputs.result"), Some("Paris"));
    assert_eq!(span.str_attr(attr::ERROR), Some("slow"));
}

#[test]
fn the_api_timeout_bounds_each_rest_attempt_and_max_retries_their_number() {
    let server = TestServer::builder().api_key(API_KEY).start();
    // Every session start would answer after 2 s: each attempt is cut at 200 ms (the
    // server never records a request whose client went away, so the error counts them).
    server.inject(
        Route::SessionStart,
        Fault::delay(Duration::from_secs(2)).times(3),
    );
    let started = Instant::now();
    let warnings = crate::common::Warnings::default();
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::from_pairs([
            ("HH_API_TIMEOUT", "0.2"),
            ("HH_MAX_RETRIES", "2"),
        ]))
        .api_key(API_KEY)
        .base_url(server.url())
        .local_dir(crate::common::temp_dir("api-timeout"))
        .on_warning(warnings.handler())
        .build()
        .expect("the session start goes in the background");
    tracer.flush().unwrap();
    let elapsed = started.elapsed();
    let error = match warnings.all().as_slice() {
        [honeyhive::Warning::NotDelivered(kept)] => kept.reason.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        error.contains("POST /session/start") && error.contains("(after 3 attempt(s))"),
        "HH_MAX_RETRIES=2: one attempt and two retries: {error}"
    );
    assert!(
        elapsed < Duration::from_millis(1900),
        "each attempt is cut at 0.2 s, not at the 2 s answer: {elapsed:?}"
    );
}
