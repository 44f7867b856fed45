//! What goes over the wire: paths, headers, auth, content types and bodies of the spec.

use honeyhive::opentelemetry::trace::Tracer;
use honeyhive::{Enrichment, OtlpProtocol, attributes as attr};
use honeyhive_runtime::testing::{OtlpEncoding, RecordedBody, RecordedRequest, TestServer};

use crate::common::{API_KEY, PROJECT, WAIT, connected};

fn assert_client_headers(request: &RecordedRequest) {
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str()),
        "{}",
        request.path
    );
    assert_eq!(request.header("hh-client-language"), Some("rust"));
    assert_eq!(request.header("hh-client-package"), Some("honeyhive"));
    assert_eq!(
        request.header("hh-client-version"),
        Some(honeyhive::CLIENT_VERSION)
    );
    assert_eq!(
        request.header("user-agent"),
        Some(format!("honeyhive-rust/{}", honeyhive::CLIENT_VERSION).as_str())
    );
}

fn export_one_span(protocol: OtlpProtocol) -> (TestServer, honeyhive::HoneyHiveTracer) {
    let server = TestServer::builder().api_key(API_KEY).start();
    let tracer = connected(&server)
        .otlp_protocol(protocol)
        .source("ci")
        .session_name("wire")
        .inputs(serde_json::json!({"question": "q"}))
        .metadata("team", "search")
        .run_id("run-w")
        .build()
        .unwrap();
    tracer.in_scope(|| tracer.otel_tracer().unwrap().in_span("call", |_| {}));
    tracer.flush().unwrap();
    server.wait_for_spans(1, WAIT);
    (server, tracer)
}

#[test]
fn otlp_protobuf_request() {
    let (server, tracer) = export_one_span(OtlpProtocol::HttpProtobuf);
    let requests = server.requests_to("/opentelemetry/v1/traces");
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, http::Method::POST);
    assert_client_headers(r);
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("x-source"), Some("ci"));
    assert!(matches!(
        r.body,
        RecordedBody::Otlp {
            encoding: OtlpEncoding::Protobuf,
            ..
        }
    ));
    let span = &r.spans()[0];
    assert_eq!(span.str_attr(attr::SESSION_ID), Some(tracer.session_id()));
    assert_eq!(
        span.resource.get("service.name").and_then(|v| v.as_str()),
        Some(PROJECT)
    );
}

#[test]
fn otlp_json_request() {
    let (server, tracer) = export_one_span(OtlpProtocol::HttpJson);
    let r = &server.requests_to("/opentelemetry/v1/traces")[0];
    assert_client_headers(r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(matches!(
        r.body,
        RecordedBody::Otlp {
            encoding: OtlpEncoding::Json,
            ..
        }
    ));
    assert_eq!(
        r.spans()[0].str_attr(attr::SESSION_ID),
        Some(tracer.session_id())
    );
}

#[test]
fn session_start_and_update_bodies() {
    let (server, tracer) = export_one_span(OtlpProtocol::HttpProtobuf);
    let start = &server.requests_to("/session/start")[0];
    assert_eq!(start.method, http::Method::POST);
    assert_client_headers(start);
    assert_eq!(start.header("content-type"), Some("application/json"));
    let body = start.json().unwrap();
    assert_eq!(
        body,
        &serde_json::json!({"session": {
            "session_id": tracer.session_id(),
            "project": PROJECT,
            "session_name": "wire",
            "source": "ci",
            "inputs": {"question": "q"},
            "metadata": {"team": "search", "run_id": "run-w"},
        }})
    );
    assert!(uuid_v4(tracer.session_id()), "{}", tracer.session_id());

    tracer.enrich_session(
        Enrichment::new()
            .metric("accuracy", 0.5)
            .feedback("ground_truth", "Paris")
            .outputs(serde_json::json!({"answer": "Paris"})),
    );
    tracer.flush().unwrap();
    let update = &server.requests_to("/events")[0];
    assert_eq!(update.method, http::Method::PUT);
    assert_client_headers(update);
    assert_eq!(
        update.json().unwrap(),
        &serde_json::json!({
            "event_id": tracer.session_id(),
            "metrics": {"accuracy": 0.5},
            "feedback": {"ground_truth": "Paris"},
            "outputs": {"answer": "Paris"},
        })
    );
}

#[test]
fn a_given_session_id_is_used_and_the_key_never_leaks() {
    let server = TestServer::start();
    let tracer = connected(&server)
        .session_id("0b6e8a5e-9d8f-4c1b-8f4e-2a7f6c3d1e00")
        .build()
        .unwrap();
    assert_eq!(tracer.session_id(), "0b6e8a5e-9d8f-4c1b-8f4e-2a7f6c3d1e00");
    tracer.in_scope(|| tracer.otel_tracer().unwrap().in_span("s", |_| {}));
    tracer.flush().unwrap();
    for span in server.wait_for_spans(1, WAIT) {
        assert!(
            span.attributes
                .values()
                .all(|v| v.as_str() != Some(API_KEY))
        );
    }
}

/// The tracer starts at once under the client's session id; when the backend answers the
/// session start with an id of its own, that id goes on the session's spans and updates
/// (they are sent only after the answer).
#[test]
fn the_backends_session_id_wins_before_any_span_is_sent() {
    let server = TestServer::builder().assign_session_ids().start();
    let tracer = connected(&server).build().unwrap();
    assert!(uuid_v4(tracer.session_id()), "{}", tracer.session_id());
    tracer.in_scope(|| tracer.otel_tracer().unwrap().in_span("s", |_| {}));
    tracer.enrich_session(honeyhive::Enrichment::new().metric("m", 1));
    tracer.flush().unwrap();
    let sessions = server.sessions();
    assert_eq!(sessions[0]["session_id"], tracer.session_id(), "sent: ours");
    let span = server.wait_for_spans(1, WAIT).remove(0);
    let backend_id = span.str_attr(attr::SESSION_ID).unwrap().to_owned();
    assert!(uuid_v4(&backend_id), "{backend_id}");
    assert_ne!(
        backend_id,
        tracer.session_id(),
        "the server answered with its own"
    );
    assert_eq!(
        span.str_attr(attr::TRACELOOP_SESSION_ID),
        Some(backend_id.as_str())
    );
    assert_eq!(server.event_updates()[0]["event_id"], backend_id.as_str());
}

fn uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36 && b[14] == b'4' && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
}
