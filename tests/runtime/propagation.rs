//! W3C `traceparent` + `baggage` across a process boundary: ids travel, labels do not.

use honeyhive::opentelemetry::trace::{TraceContextExt, Tracer};
use honeyhive::{attributes as attr, baggage};
use honeyhive_runtime::testing::TestServer;

use crate::common::{INCOMING_PARENT, INCOMING_TRACE_ID, WAIT, connected, incoming};

#[test]
fn incoming_baggage_sets_ids_but_never_project_source_or_keys() {
    let server = TestServer::start();
    let downstream = connected(&server).source("downstream-svc").build().unwrap();
    let headers = incoming(
        true,
        Some(
            "run_id=run-up,datapoint_id=dp-up,session_id=session-up,project=evil,source=evil,api_key=stolen,honeyhive_api_key=stolen",
        ),
    );
    let cx = downstream.context_from_headers(&headers);
    let otel = downstream.otel_tracer().unwrap().clone();
    {
        let _guard = cx.attach();
        otel.in_span("handler", |_| {});
    }
    downstream.flush().unwrap();
    let span = server.wait_for_spans(1, WAIT).remove(0);
    assert_eq!(span.trace_id, INCOMING_TRACE_ID);
    assert_eq!(span.parent_span_id.as_deref(), Some(INCOMING_PARENT));
    assert_eq!(span.str_attr(attr::RUN_ID), Some("run-up"));
    assert_eq!(span.str_attr(attr::DATAPOINT_ID), Some("dp-up"));
    assert_eq!(span.str_attr(attr::SESSION_ID), Some("session-up"));
    assert_eq!(span.str_attr(attr::PROJECT), Some(crate::common::PROJECT));
    assert_eq!(span.str_attr(attr::SOURCE), Some("downstream-svc"));
    let leaked: Vec<_> = span
        .attributes
        .keys()
        .filter(|k| k.starts_with("baggage.") || k.contains("api_key"))
        .collect();
    assert!(
        leaked.is_empty(),
        "untrusted baggage became attributes: {leaked:?}"
    );
    assert!(
        span.attributes
            .values()
            .all(|v| v.as_str() != Some("evil") && v.as_str() != Some("stolen"))
    );
}

#[test]
fn outgoing_headers_carry_trace_and_ids_only() {
    let server = TestServer::start();
    let upstream = connected(&server)
        .run_id("r-1")
        .dataset_id("ds-1")
        .datapoint_id("dp-1")
        .build()
        .unwrap();
    let otel = upstream.otel_tracer().unwrap().clone();
    let mut headers = http::HeaderMap::new();
    let trace_id = upstream.in_scope(|| {
        otel.in_span("client-call", |cx| {
            baggage::inject_current(&mut headers);
            cx.span().span_context().trace_id().to_string()
        })
    });
    let traceparent = headers["traceparent"].to_str().unwrap();
    assert!(traceparent.contains(&trace_id), "{traceparent}");
    let sent = headers["baggage"].to_str().unwrap();
    for want in [
        "run_id=r-1",
        "dataset_id=ds-1",
        "datapoint_id=dp-1",
        &format!("session_id={}", upstream.session_id()),
    ] {
        assert!(sent.contains(want), "{want} missing from {sent}");
    }
    assert!(
        !sent.contains("project")
            && !sent.contains("source")
            && !sent.contains(crate::common::API_KEY),
        "{sent}"
    );

    // The receiving side of the same headers joins the caller's session and datapoint.
    let downstream = connected(&server).build().unwrap();
    let cx = downstream.context_from_headers(&headers);
    {
        let _guard = cx.attach();
        otel.in_span("server-side", |_| {});
    }
    downstream.flush().unwrap();
    let spans = server.wait_for_spans(2, WAIT);
    let server_side = spans.iter().find(|s| s.name == "server-side").unwrap();
    assert_eq!(server_side.trace_id, trace_id);
    assert_eq!(
        server_side.str_attr(attr::SESSION_ID),
        Some(upstream.session_id())
    );
    assert_eq!(server_side.str_attr(attr::DATAPOINT_ID), Some("dp-1"));
}

#[test]
fn user_baggage_becomes_baggage_attributes_in_process_but_never_crosses() {
    use honeyhive::opentelemetry::{Context, KeyValue, baggage::BaggageExt};
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    let otel = tracer.otel_tracer().unwrap().clone();
    let mut headers = http::HeaderMap::new();
    tracer.in_scope(|| {
        let _guard = Context::current_with_baggage([KeyValue::new("customer", "acme")]).attach();
        otel.in_span("with-user-baggage", |_| {
            baggage::inject_current(&mut headers)
        });
    });
    tracer.flush().unwrap();
    let span = server.wait_for_spans(1, WAIT).remove(0);
    assert_eq!(span.str_attr("baggage.customer"), Some("acme"));
    assert_eq!(span.str_attr(attr::SESSION_ID), Some(tracer.session_id()));
    // Replacing the baggage does not lose the session: it still travels, the user key does not.
    let sent = headers["baggage"].to_str().unwrap();
    assert!(
        sent.contains(&format!("session_id={}", tracer.session_id())),
        "{sent}"
    );
    assert!(!sent.contains("customer"), "{sent}");
}
