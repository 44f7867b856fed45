//! Span records (`spans.jsonl`) back into spans, to be exported as OTLP as they would have
//! been: same trace and span ids, parent, name, kind, times, attributes, events, status.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value as Otel};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use serde_json::{Map, Value};

use crate::export::local_store::SpanRecord;

/// The span `record` was made from; `None` for a record whose ids are not hex ids.
pub(super) fn span(record: SpanRecord) -> Option<SpanData> {
    let trace_id = TraceId::from_hex(&record.trace_id).ok()?;
    let span_id = SpanId::from_hex(&record.span_id).ok()?;
    let parent_span_id = match &record.parent_span_id {
        Some(parent) => SpanId::from_hex(parent).ok()?,
        None => SpanId::INVALID,
    };
    let status = match record.status.as_str() {
        "ok" => Status::Ok,
        "error" => Status::Error {
            description: Cow::Owned(record.status_message.unwrap_or_default()),
        },
        _ => Status::Unset,
    };
    let end = time(record.end_unix_nanos);
    let events: Vec<opentelemetry::trace::Event> = record
        .events
        .into_iter()
        .map(|e| {
            let at = e.time_unix_nanos.map(time).unwrap_or(end);
            opentelemetry::trace::Event::new(e.name, at, attributes(e.attributes), 0)
        })
        .collect();
    let mut span_events = SpanEvents::default();
    span_events.events = events;
    Some(SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id,
        parent_span_is_remote: false,
        span_kind: kind(record.kind.as_deref()),
        name: Cow::Owned(record.name),
        start_time: time(record.start_unix_nanos),
        end_time: end,
        attributes: attributes(record.attributes),
        dropped_attributes_count: 0,
        events: span_events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: InstrumentationScope::builder("honeyhive")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    })
}

fn time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn kind(kind: Option<&str>) -> SpanKind {
    match kind {
        Some("server") => SpanKind::Server,
        Some("client") => SpanKind::Client,
        Some("producer") => SpanKind::Producer,
        Some("consumer") => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// JSON attribute values back into OpenTelemetry ones, as the local store wrote them
/// (integers stay integers, floats floats; arrays of one kind).
fn attributes(map: Map<String, Value>) -> Vec<KeyValue> {
    map.into_iter()
        .filter_map(|(key, value)| Some(KeyValue::new(key, otel(value)?)))
        .collect()
}

fn otel(value: Value) -> Option<Otel> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => Otel::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Otel::I64(i),
            None => Otel::F64(n.as_f64()?),
        },
        Value::String(s) => Otel::String(s.into()),
        Value::Array(items) => Otel::Array(array(items)),
        other => Otel::String(other.to_string().into()),
    })
}

fn array(items: Vec<Value>) -> Array {
    if items.iter().all(Value::is_boolean) {
        return Array::Bool(items.iter().filter_map(Value::as_bool).collect());
    }
    if items.iter().all(|v| v.as_i64().is_some()) {
        return Array::I64(items.iter().filter_map(Value::as_i64).collect());
    }
    if items.iter().all(Value::is_number) {
        return Array::F64(items.iter().filter_map(Value::as_f64).collect());
    }
    Array::String(
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => StringValue::from(s),
                other => StringValue::from(other.to_string()),
            })
            .collect(),
    )
}
