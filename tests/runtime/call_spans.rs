//! `#[trace]` spans are made and queued by the pipeline itself, not by the SDK's span path
//! (`call_span.rs`). Each case starts one span with the pipeline's SDK tracer and one with
//! `#[trace]` in the same context, and checks that the two carry the same stamp (session,
//! project, source, evaluation ids, user baggage), parent, trace, kind, scope and resource,
//! whichever way the call's span was stamped (at export from the tracer, or at start when
//! the context's baggage adds to it).

use std::collections::BTreeMap;

use honeyhive::opentelemetry::baggage::BaggageExt as _;
use honeyhive::opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use honeyhive::opentelemetry::{Context, KeyValue};
use honeyhive::{Enrichment, HoneyHiveTracer, attributes as attr, enrich_span, trace};
use honeyhive_runtime::testing::{AttrValue, RecordedSpan, TestServer};

use crate::common::{INCOMING_PARENT, INCOMING_TRACE_ID, WAIT, connected, incoming};

#[trace]
fn traced(question: &str) -> usize {
    question.len()
}

/// One SDK span named `sdk`, then one `#[trace]` span, both in the current context.
fn both(tracer: &HoneyHiveTracer) {
    tracer.otel_tracer().unwrap().in_span("sdk", |_| ());
    traced("why?");
}

/// The attributes that come from the context, not from the call.
fn stamp(span: &RecordedSpan) -> BTreeMap<String, AttrValue> {
    span.attributes
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("honeyhive_inputs.")
                && !k.starts_with("honeyhive_outputs.")
                && *k != attr::DURATION_MS
                && *k != attr::EVENT_NAME
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The `sdk` and `traced` spans of the last `both`, once exported.
fn pair(server: &TestServer, tracer: &HoneyHiveTracer) -> (RecordedSpan, RecordedSpan) {
    tracer.flush().unwrap();
    let spans = server.wait_for_spans(2, WAIT);
    server.clear();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
            .clone()
    };
    (find("sdk"), find("traced"))
}

fn assert_same_origin(sdk: &RecordedSpan, call: &RecordedSpan) {
    assert_eq!(stamp(sdk), stamp(call), "stamps differ");
    assert_eq!(sdk.parent_span_id, call.parent_span_id);
    assert_eq!(sdk.kind, call.kind);
    assert_eq!(sdk.scope_name, call.scope_name);
    assert_eq!(sdk.resource, call.resource);
    assert_eq!(call.str_attr("honeyhive_inputs.question"), Some("why?"));
    assert_eq!(
        call.attr(attr::OUTPUT_RESULT).and_then(AttrValue::as_i64),
        Some(4)
    );
}

/// Runs [`both`] in the tracer's own scope (where a call's span is stamped at export) and
/// checks the call's stamp against the SDK span's; returns the call's span.
fn stamped_at_export(
    server: &TestServer,
    tracer: &HoneyHiveTracer,
    datapoint: &str,
) -> RecordedSpan {
    tracer.in_scope(|| both(tracer));
    let (sdk, call) = pair(server, tracer);
    assert_same_origin(&sdk, &call);
    assert_eq!(call.str_attr(attr::SESSION_ID), Some(tracer.session_id()));
    assert_eq!(call.str_attr(attr::DATAPOINT_ID), Some(datapoint));
    call
}

#[test]
fn the_stamp_of_a_call_is_the_sdk_spans_in_every_kind_of_context() {
    let server = TestServer::start();
    let tracer = connected(&server)
        .run_id("run-1")
        .dataset_id("ds-1")
        .datapoint_id("dp-1")
        .build()
        .unwrap();

    // The tracer's own scope: the call is stamped at export.
    let call = stamped_at_export(&server, &tracer, "dp-1");
    assert_eq!(call.parent_span_id, None);

    // User baggage in the scope: stamped at start, with `baggage.<key>`.
    tracer.in_scope(|| {
        let _guard = Context::current_with_baggage([KeyValue::new("customer", "acme")]).attach();
        both(&tracer);
    });
    let (sdk, call) = pair(&server, &tracer);
    assert_same_origin(&sdk, &call);
    assert_eq!(call.str_attr("baggage.customer"), Some("acme"));
    assert_eq!(call.str_attr(attr::RUN_ID), Some("run-1"));

    // A distributed caller's ids and trace parent win over the tracer's.
    let headers = incoming(
        true,
        Some("run_id=run-up,datapoint_id=dp-up,session_id=session-up"),
    );
    {
        let _guard = tracer.context_from_headers(&headers).attach();
        both(&tracer);
    }
    let (sdk, call) = pair(&server, &tracer);
    assert_same_origin(&sdk, &call);
    assert_eq!(call.trace_id, INCOMING_TRACE_ID);
    assert_eq!(call.parent_span_id.as_deref(), Some(INCOMING_PARENT));
    assert_eq!(call.str_attr(attr::SESSION_ID), Some("session-up"));
    assert_eq!(call.str_attr(attr::DATAPOINT_ID), Some("dp-up"));
    assert_eq!(call.str_attr(attr::DATASET_ID), Some("ds-1"));
}

/// OTLP/JSON is written from copies of the spans, on which the exporter puts the stamps
/// of call spans (the protobuf encoder writes them straight from the stamp).
#[test]
fn the_stamp_of_a_call_exported_as_otlp_json_is_the_sdk_spans() {
    let server = TestServer::start();
    let tracer = connected(&server)
        .otlp_protocol(honeyhive::OtlpProtocol::HttpJson)
        .run_id("run-j")
        .datapoint_id("dp-j")
        .build()
        .unwrap();
    stamped_at_export(&server, &tracer, "dp-j");
}

#[trace(skip(tracer))]
fn outer(tracer: &HoneyHiveTracer) -> usize {
    enrich_span(Enrichment::new().metric("tokens", 42));
    tracer.otel_tracer().unwrap().in_span("sdk-inside", |_| ());
    traced("inner")
}

#[test]
fn calls_and_sdk_spans_nest_both_ways_and_enrichment_reaches_the_call() {
    let server = TestServer::start();
    let tracer = connected(&server).datapoint_id("dp-nest").build().unwrap();
    tracer.in_scope(|| {
        tracer
            .otel_tracer()
            .unwrap()
            .in_span("sdk-outside", |_| outer(&tracer))
    });
    tracer.flush().unwrap();
    let spans = server.wait_for_spans(4, WAIT);
    let named = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let (outside, call, inside, inner) = (
        named("sdk-outside"),
        named("outer"),
        named("sdk-inside"),
        named("traced"),
    );
    assert_eq!(
        call.parent_span_id.as_deref(),
        Some(outside.span_id.as_str())
    );
    assert_eq!(
        inside.parent_span_id.as_deref(),
        Some(call.span_id.as_str())
    );
    assert_eq!(inner.parent_span_id.as_deref(), Some(call.span_id.as_str()));
    for span in [outside, call, inside, inner] {
        assert_eq!(span.trace_id, outside.trace_id, "{}", span.name);
        assert_eq!(
            span.str_attr(attr::DATAPOINT_ID),
            Some("dp-nest"),
            "{}",
            span.name
        );
        assert_eq!(
            span.str_attr(attr::SESSION_ID),
            Some(tracer.session_id()),
            "{}",
            span.name
        );
    }
    assert_eq!(
        call.attr("honeyhive_metrics.tokens")
            .and_then(AttrValue::as_i64),
        Some(42)
    );
}

#[test]
fn a_call_under_an_unsampled_parent_is_not_recorded_as_the_sdk_decides() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    let headers = incoming(false, None);
    let (sdk_sampled, call_sampled) = {
        let _guard = tracer.context_from_headers(&headers).attach();
        let sdk = tracer
            .otel_tracer()
            .unwrap()
            .in_span("sdk", |cx| cx.span().span_context().is_sampled());
        let call = traced_reporting_sampling();
        (sdk, call)
    };
    assert!(!sdk_sampled && !call_sampled);
    // A sampled span afterwards is the only one exported.
    tracer.in_scope(|| traced("after"));
    tracer.flush().unwrap();
    let spans = server.wait_for_spans(1, WAIT);
    tracer.flush().unwrap();
    let names: Vec<_> = server.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["traced"], "{spans:?}");
    assert_eq!(tracer.export_stats().dropped_spans, 0);
    // The baggage of the unsampled context still reached nothing: no leak into later spans.
    assert!(Context::current().baggage().is_empty());
}

#[trace]
fn traced_reporting_sampling() -> bool {
    Context::current().span().span_context().is_sampled()
}

#[test]
fn a_context_attached_with_the_raw_api_on_another_thread_is_traced() {
    // `#[trace]` skips its context lookup while no context holds a tracer anywhere; a
    // context made here and attached there with plain OpenTelemetry must still count.
    let server = TestServer::start();
    let tracer = connected(&server).datapoint_id("dp-raw").build().unwrap();
    let cx = tracer.context();
    std::thread::spawn(move || {
        let _guard = cx.attach();
        traced("from another thread");
    })
    .join()
    .unwrap();
    // Every context holding the tracer is gone: calls are inert again.
    traced("outside");
    tracer.flush().unwrap();
    let spans = server.wait_for_spans(1, WAIT);
    tracer.flush().unwrap();
    let all = server.spans();
    assert_eq!(all.len(), 1, "{spans:?}");
    assert_eq!(all[0].str_attr(attr::DATAPOINT_ID), Some("dp-raw"));
    assert_eq!(
        all[0].str_attr("honeyhive_inputs.question"),
        Some("from another thread")
    );
}

/// Ends its own span through the context, then fails.
#[trace]
fn ends_its_own_span() -> Result<(), String> {
    Context::current().span().end();
    Err("after the end".to_owned())
}

/// Fails inside `ends_its_own_span`.
#[trace]
fn wraps_a_self_ending_call() -> Result<(), String> {
    ends_its_own_span()?;
    Ok(())
}

#[test]
fn a_span_the_body_ended_keeps_what_it_had_and_its_caller_gets_only_its_own_closing() {
    let server = TestServer::start();
    let tracer = connected(&server).build().unwrap();
    assert!(tracer.in_scope(wraps_a_self_ending_call).is_err());
    tracer.flush().unwrap();
    let spans = server.wait_for_spans(2, WAIT);
    let find = |name: &str| spans.iter().find(|s| s.name == name).unwrap().clone();
    let (inner, outer) = (find("ends_its_own_span"), find("wraps_a_self_ending_call"));
    // The inner span ended before the call did: nothing of the call's end reached it.
    assert_eq!(inner.attr(attr::ERROR), None);
    assert_eq!(inner.attr(attr::DURATION_MS), None);
    assert!(inner.events.is_empty(), "{inner:?}");
    // Its caller's end carries the caller's own closing, once.
    assert_eq!(outer.str_attr(attr::ERROR), Some("after the end"));
    assert!(outer.attr(attr::DURATION_MS).is_some());
    assert_eq!(outer.events.len(), 1, "{outer:?}");
    assert_eq!(outer.parent_span_id, None);
}
