//! The OTLP/protobuf body of a batch, written straight from the SDK's spans.
//!
//! Why not `opentelemetry-proto`'s conversion and prost's encoder: the conversion takes the
//! spans by value (the batch queue keeps them, to recycle their buffers, so the whole batch
//! was deep-copied first) and copies every key and value again into prost's owned message
//! types, only to write them out once and free them. Allocation was then over half of the
//! export thread's time, the thread that also runs the pipeline's HTTP. Here each span is
//! read once and written once, with no allocation per span.
//!
//! The bytes are exactly prost's for the same request: fields in tag order, default scalars
//! left out as proto3 does, optional messages present as the conversion sets them. The
//! tests compare the two byte for byte, for every kind of value, event, link, status and
//! scope. The resource is encoded once, by prost.

use opentelemetry::trace::{SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::SpanFlags;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

/// Wire types of the protobuf encoding.
#[derive(Clone, Copy)]
enum Wire {
    Varint = 0,
    Fixed64 = 1,
    Len = 2,
    Fixed32 = 5,
}

/// Encodes export requests for one resource.
#[derive(Debug)]
pub(crate) struct RequestEncoder {
    /// The `Resource` message, encoded once.
    resource: Vec<u8>,
    resource_schema_url: String,
}

impl RequestEncoder {
    pub(crate) fn new(resource: &ResourceAttributesWithSchema) -> RequestEncoder {
        let message = Resource {
            attributes: resource.attributes.0.clone(),
            dropped_attributes_count: 0,
            entity_refs: Vec::new(),
        };
        RequestEncoder {
            resource: message.encode_to_vec(),
            resource_schema_url: resource.schema_url.clone().unwrap_or_default(),
        }
    }

    /// An `ExportTraceServiceRequest` with `batch`: one `ResourceSpans`, one `ScopeSpans`
    /// per instrumentation scope in order of first appearance.
    pub(crate) fn encode(&self, batch: &[SpanData]) -> Vec<u8> {
        // Lengths first (each span's is needed three times), then the bytes.
        let span_lens: Vec<usize> = batch.iter().map(span_len).collect();
        let mut scopes: Vec<(&InstrumentationScope, Vec<usize>)> = Vec::new();
        for (i, span) in batch.iter().enumerate() {
            match scopes
                .iter_mut()
                .find(|(scope, _)| **scope == span.instrumentation_scope)
            {
                Some((_, spans)) => spans.push(i),
                None => scopes.push((&span.instrumentation_scope, vec![i])),
            }
        }
        let scope_lens: Vec<usize> = scopes
            .iter()
            .map(|(scope, spans)| scope_spans_len(scope, spans.iter().map(|&i| span_lens[i])))
            .collect();
        let resource_spans_len = len_field(1, self.resource.len())
            + scope_lens
                .iter()
                .map(|&len| len_field(2, len))
                .sum::<usize>()
            + string_field(3, &self.resource_schema_url);

        let mut buf = Vec::with_capacity(len_field(1, resource_spans_len));
        put_len(&mut buf, 1, resource_spans_len);
        put_len(&mut buf, 1, self.resource.len());
        buf.extend_from_slice(&self.resource);
        for ((scope, spans), len) in scopes.iter().zip(scope_lens) {
            put_len(&mut buf, 2, len);
            put_len(&mut buf, 1, scope_len(scope));
            put_scope(&mut buf, scope);
            for &i in spans {
                put_len(&mut buf, 2, span_lens[i]);
                put_span(&mut buf, &batch[i]);
            }
            put_string(&mut buf, 3, scope.schema_url().unwrap_or_default());
        }
        put_string(&mut buf, 3, &self.resource_schema_url);
        buf
    }
}

// --- lengths -------------------------------------------------------------------------

fn varint_len(value: u64) -> usize {
    // 7 bits per byte; zero takes one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn key_len(tag: u32) -> usize {
    varint_len(u64::from(tag) << 3)
}

/// A length-delimited field whose payload is `len` bytes.
fn len_field(tag: u32, len: usize) -> usize {
    key_len(tag) + varint_len(len as u64) + len
}

/// A string field, left out when empty.
fn string_field(tag: u32, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        len_field(tag, text.len())
    }
}

/// A varint field, left out when zero.
fn varint_field(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + varint_len(value)
    }
}

/// A fixed64 field, left out when zero.
fn fixed64_field(tag: u32, value: u64) -> usize {
    if value == 0 { 0 } else { key_len(tag) + 8 }
}

/// A fixed32 field, left out when zero.
fn fixed32_field(tag: u32, value: u32) -> usize {
    if value == 0 { 0 } else { key_len(tag) + 4 }
}

fn attributes_len(tag: u32, attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| len_field(tag, key_value_len(kv)))
        .sum()
}

fn key_value_len(kv: &KeyValue) -> usize {
    entry_len(kv.key.as_str(), any_value_len(&kv.value))
}

/// The length of a `KeyValue` message with `key` and an `AnyValue` of `value_len` bytes.
fn entry_len(key: &str, value_len: usize) -> usize {
    string_field(1, key) + len_field(2, value_len)
}

/// The length of an `AnyValue` holding the string `text`.
fn string_value_len(text: &str) -> usize {
    len_field(1, text.len())
}

fn any_value_len(value: &Value) -> usize {
    match value {
        // A oneof member is written even when it holds its type's default.
        Value::Bool(_) => key_len(2) + 1,
        Value::I64(v) => key_len(3) + varint_len(*v as u64),
        Value::F64(_) => key_len(4) + 8,
        Value::String(s) => string_value_len(s.as_str()),
        Value::Array(array) => len_field(5, array_len(array)),
        other => len_field(1, other.to_string().len()),
    }
}

fn array_len(array: &Array) -> usize {
    let element = |value: Value| len_field(1, any_value_len(&value));
    match array {
        Array::Bool(values) => values.iter().map(|&v| element(Value::Bool(v))).sum(),
        Array::I64(values) => values.iter().map(|&v| element(Value::I64(v))).sum(),
        Array::F64(values) => values.iter().map(|&v| element(Value::F64(v))).sum(),
        Array::String(values) => values
            .iter()
            .map(|v| len_field(1, len_field(1, v.as_str().len())))
            .sum(),
        other => len_field(1, len_field(1, other.to_string().len())),
    }
}

fn span_len(span: &SpanData) -> usize {
    let cx = &span.span_context;
    let trace_state = trace_state_len(cx.trace_state());
    len_field(1, 16)
        + len_field(2, 8)
        + trace_state
        + if span.parent_span_id == opentelemetry::trace::SpanId::INVALID {
            0
        } else {
            len_field(4, 8)
        }
        + fixed32_field(
            16,
            span_flags(span.parent_span_is_remote, cx.trace_flags().to_u8()),
        )
        + string_field(5, &span.name)
        + varint_field(6, span_kind(&span.span_kind))
        + fixed64_field(7, nanos(span.start_time))
        + fixed64_field(8, nanos(span.end_time))
        + attributes_len(9, &span.attributes)
        + varint_field(10, span.dropped_attributes_count.into())
        + events_len(&span.events)
        + varint_field(12, span.events.dropped_count.into())
        + links_len(&span.links)
        + varint_field(14, span.links.dropped_count.into())
        + len_field(15, status_len(&span.status))
}

fn trace_state_len(state: &TraceState) -> usize {
    // No allocation for the usual empty state.
    string_field(3, &state.header())
}

fn events_len(events: &SpanEvents) -> usize {
    events
        .iter()
        .map(|event| len_field(11, event_len(event)))
        .sum()
}

fn event_len(event: &opentelemetry::trace::Event) -> usize {
    fixed64_field(1, nanos(event.timestamp))
        + string_field(2, &event.name)
        + attributes_len(3, &event.attributes)
        + varint_field(4, event.dropped_attributes_count.into())
}

fn links_len(links: &SpanLinks) -> usize {
    links.iter().map(|link| len_field(13, link_len(link))).sum()
}

fn link_len(link: &opentelemetry::trace::Link) -> usize {
    let cx = &link.span_context;
    len_field(1, 16)
        + len_field(2, 8)
        + trace_state_len(cx.trace_state())
        + attributes_len(4, &link.attributes)
        + varint_field(5, link.dropped_attributes_count.into())
        + fixed32_field(6, span_flags(cx.is_remote(), cx.trace_flags().to_u8()))
}

fn status_len(status: &Status) -> usize {
    let (code, message) = status_parts(status);
    string_field(2, message) + varint_field(3, code)
}

fn scope_len(scope: &InstrumentationScope) -> usize {
    let attributes: usize = scope
        .attributes()
        .map(|kv| len_field(3, key_value_len(kv)))
        .sum();
    string_field(1, scope.name())
        + string_field(2, scope.version().unwrap_or_default())
        + attributes
}

fn scope_spans_len(scope: &InstrumentationScope, span_lens: impl Iterator<Item = usize>) -> usize {
    len_field(1, scope_len(scope))
        + span_lens.map(|len| len_field(2, len)).sum::<usize>()
        + string_field(3, scope.schema_url().unwrap_or_default())
}

// --- values as the OTLP conversion maps them ----------------------------------------

fn nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn span_flags(is_remote: bool, trace_flags: u8) -> u32 {
    let mut flags = u32::from(trace_flags) | SpanFlags::ContextHasIsRemoteMask as u32;
    if is_remote {
        flags |= SpanFlags::ContextIsRemoteMask as u32;
    }
    flags
}

fn span_kind(kind: &SpanKind) -> u64 {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind as Proto;
    (match kind {
        SpanKind::Client => Proto::Client,
        SpanKind::Server => Proto::Server,
        SpanKind::Producer => Proto::Producer,
        SpanKind::Consumer => Proto::Consumer,
        SpanKind::Internal => Proto::Internal,
    }) as u64
}

fn status_parts(status: &Status) -> (u64, &str) {
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode as Proto;
    match status {
        Status::Unset => (Proto::Unset as u64, ""),
        Status::Ok => (Proto::Ok as u64, ""),
        Status::Error { description } => (Proto::Error as u64, description),
    }
}

// --- writing -------------------------------------------------------------------------

fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push(value as u8 | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

fn put_key(buf: &mut Vec<u8>, tag: u32, wire: Wire) {
    put_varint(buf, u64::from(tag) << 3 | wire as u64);
}

/// The key and length of a length-delimited field; the caller writes the payload.
fn put_len(buf: &mut Vec<u8>, tag: u32, len: usize) {
    put_key(buf, tag, Wire::Len);
    put_varint(buf, len as u64);
}

fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_len(buf, tag, bytes.len());
    buf.extend_from_slice(bytes);
}

fn put_string(buf: &mut Vec<u8>, tag: u32, text: &str) {
    if !text.is_empty() {
        put_bytes(buf, tag, text.as_bytes());
    }
}

fn put_varint_field(buf: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_key(buf, tag, Wire::Varint);
        put_varint(buf, value);
    }
}

fn put_fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_key(buf, tag, Wire::Fixed64);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_fixed32(buf: &mut Vec<u8>, tag: u32, value: u32) {
    if value != 0 {
        put_key(buf, tag, Wire::Fixed32);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_attributes<'a>(buf: &mut Vec<u8>, tag: u32, attributes: impl Iterator<Item = &'a KeyValue>) {
    for kv in attributes {
        put_entry(buf, tag, kv.key.as_str(), any_value_len(&kv.value), |buf| {
            put_any_value(buf, &kv.value)
        });
    }
}

/// A `KeyValue` message under `tag`: `key`, then the `AnyValue` of `value_len` bytes that
/// `put_value` writes (its length computed once, for both length prefixes).
fn put_entry(
    buf: &mut Vec<u8>,
    tag: u32,
    key: &str,
    value_len: usize,
    put_value: impl FnOnce(&mut Vec<u8>),
) {
    put_len(buf, tag, entry_len(key, value_len));
    put_string(buf, 1, key);
    put_len(buf, 2, value_len);
    put_value(buf);
}

fn put_any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Bool(v) => {
            put_key(buf, 2, Wire::Varint);
            buf.push(u8::from(*v));
        }
        Value::I64(v) => {
            put_key(buf, 3, Wire::Varint);
            put_varint(buf, *v as u64);
        }
        Value::F64(v) => {
            put_key(buf, 4, Wire::Fixed64);
            buf.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Value::String(s) => put_bytes(buf, 1, s.as_str().as_bytes()),
        Value::Array(array) => {
            put_len(buf, 5, array_len(array));
            put_array(buf, array);
        }
        // `Value` may grow: a kind this version does not know is sent as its text.
        other => put_bytes(buf, 1, other.to_string().as_bytes()),
    }
}

fn put_array(buf: &mut Vec<u8>, array: &Array) {
    let element = |buf: &mut Vec<u8>, value: Value| {
        put_len(buf, 1, any_value_len(&value));
        put_any_value(buf, &value);
    };
    match array {
        Array::Bool(values) => values.iter().for_each(|&v| element(buf, Value::Bool(v))),
        Array::I64(values) => values.iter().for_each(|&v| element(buf, Value::I64(v))),
        Array::F64(values) => values.iter().for_each(|&v| element(buf, Value::F64(v))),
        Array::String(values) => values.iter().for_each(|v: &StringValue| {
            put_len(buf, 1, len_field(1, v.as_str().len()));
            put_bytes(buf, 1, v.as_str().as_bytes());
        }),
        other => {
            let text = other.to_string();
            put_len(buf, 1, len_field(1, text.len()));
            put_bytes(buf, 1, text.as_bytes());
        }
    }
}

fn put_trace_state(buf: &mut Vec<u8>, state: &TraceState) {
    put_string(buf, 3, &state.header());
}

fn put_span(buf: &mut Vec<u8>, span: &SpanData) {
    let cx = &span.span_context;
    put_bytes(buf, 1, &cx.trace_id().to_bytes());
    put_bytes(buf, 2, &cx.span_id().to_bytes());
    put_trace_state(buf, cx.trace_state());
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        put_bytes(buf, 4, &span.parent_span_id.to_bytes());
    }
    put_string(buf, 5, &span.name);
    put_varint_field(buf, 6, span_kind(&span.span_kind));
    put_fixed64(buf, 7, nanos(span.start_time));
    put_fixed64(buf, 8, nanos(span.end_time));
    put_attributes(buf, 9, span.attributes.iter());
    put_varint_field(buf, 10, span.dropped_attributes_count.into());
    for event in span.events.iter() {
        put_len(buf, 11, event_len(event));
        put_fixed64(buf, 1, nanos(event.timestamp));
        put_string(buf, 2, &event.name);
        put_attributes(buf, 3, event.attributes.iter());
        put_varint_field(buf, 4, event.dropped_attributes_count.into());
    }
    put_varint_field(buf, 12, span.events.dropped_count.into());
    for link in span.links.iter() {
        let cx = &link.span_context;
        put_len(buf, 13, link_len(link));
        put_bytes(buf, 1, &cx.trace_id().to_bytes());
        put_bytes(buf, 2, &cx.span_id().to_bytes());
        put_trace_state(buf, cx.trace_state());
        put_attributes(buf, 4, link.attributes.iter());
        put_varint_field(buf, 5, link.dropped_attributes_count.into());
        put_fixed32(buf, 6, span_flags(cx.is_remote(), cx.trace_flags().to_u8()));
    }
    put_varint_field(buf, 14, span.links.dropped_count.into());
    put_len(buf, 15, status_len(&span.status));
    let (code, message) = status_parts(&span.status);
    put_string(buf, 2, message);
    put_varint_field(buf, 3, code);
    put_fixed32(
        buf,
        16,
        span_flags(span.parent_span_is_remote, cx.trace_flags().to_u8()),
    );
}

fn put_scope(buf: &mut Vec<u8>, scope: &InstrumentationScope) {
    put_string(buf, 1, scope.name());
    put_string(buf, 2, scope.version().unwrap_or_default());
    put_attributes(buf, 3, scope.attributes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use std::time::{Duration, UNIX_EPOCH};

    fn every_value() -> Vec<KeyValue> {
        vec![
            KeyValue::new("s", "text"),
            KeyValue::new("empty", ""),
            KeyValue::new("owned", "é ✓ long ".repeat(40)),
            KeyValue::new("t", true),
            KeyValue::new("f", false),
            KeyValue::new("zero", 0_i64),
            KeyValue::new("i", 300_i64),
            KeyValue::new("neg", -7_i64),
            KeyValue::new("max", i64::MAX),
            KeyValue::new("d", 1.5_f64),
            KeyValue::new("d0", 0.0_f64),
            KeyValue::new("dneg", -0.0_f64),
            KeyValue::new("", "key left empty"),
            KeyValue::new("bools", Value::Array(vec![true, false].into())),
            KeyValue::new("ints", Value::Array(vec![0_i64, -1, 1 << 40].into())),
            KeyValue::new("floats", Value::Array(vec![0.25_f64, -2.0].into())),
            KeyValue::new(
                "strings",
                Value::Array(vec![StringValue::from("a"), StringValue::from("")].into()),
            ),
            KeyValue::new("none", Value::Array(Vec::<i64>::new().into())),
        ]
    }

    fn span(scope: &InstrumentationScope, n: u64) -> SpanData {
        let trace_state = TraceState::from_key_value([("vendor", "x1")]).expect("trace state");
        let remote = SpanContext::new(
            TraceId::from(u128::from(n) << 64 | 0xabc),
            SpanId::from(n + 1),
            TraceFlags::SAMPLED,
            true,
            trace_state.clone(),
        );
        let mut links = SpanLinks::default();
        links
            .links
            .push(Link::new(remote.clone(), every_value(), 2));
        links.dropped_count = u32::from(n == 1);
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "exception",
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            every_value(),
            1,
        ));
        events
            .events
            .push(Event::new("", UNIX_EPOCH, Vec::new(), 0));
        events.dropped_count = 3;
        SpanData {
            span_context: SpanContext::new(
                remote.trace_id(),
                SpanId::from(n + 100),
                if n == 2 {
                    TraceFlags::default()
                } else {
                    TraceFlags::SAMPLED
                },
                false,
                if n == 0 {
                    trace_state
                } else {
                    TraceState::NONE
                },
            ),
            parent_span_id: if n == 3 {
                SpanId::INVALID
            } else {
                remote.span_id()
            },
            parent_span_is_remote: n == 0,
            span_kind: [
                SpanKind::Internal,
                SpanKind::Client,
                SpanKind::Server,
                SpanKind::Producer,
                SpanKind::Consumer,
            ][n as usize % 5]
                .clone(),
            name: if n == 4 {
                "".into()
            } else {
                format!("span {n}").into()
            },
            start_time: UNIX_EPOCH + Duration::from_micros(n * 1_000_003),
            end_time: UNIX_EPOCH + Duration::from_micros(n * 2_000_007),
            attributes: every_value(),
            dropped_attributes_count: n as u32,
            events: if n == 3 {
                SpanEvents::default()
            } else {
                events
            },
            links: if n == 2 { SpanLinks::default() } else { links },
            status: match n % 3 {
                0 => Status::Unset,
                1 => Status::Ok,
                _ => Status::error("it failed: ✗"),
            },
            instrumentation_scope: scope.clone(),
        }
    }

    fn resource() -> ResourceAttributesWithSchema {
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_schema_url([KeyValue::new("service.name", "svc")], "https://schema/1")
            .build();
        (&resource).into()
    }

    /// The same batch through `opentelemetry-proto`'s conversion and prost's encoder.
    fn prost_bytes(batch: &[SpanData], resource: &ResourceAttributesWithSchema) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch.to_vec(), resource),
        }
        .encode_to_vec()
    }

    #[test]
    fn bytes_are_prosts_for_every_kind_of_span() {
        let ours = InstrumentationScope::builder("honeyhive")
            .with_version("0.1.0")
            .build();
        let theirs = InstrumentationScope::builder("user-lib")
            .with_schema_url("https://schema/2")
            .with_attributes([KeyValue::new("lib.attr", 7_i64)])
            .build();
        let batch: Vec<SpanData> = (0..10)
            .map(|n| span(if n % 3 == 2 { &theirs } else { &ours }, n))
            .collect();
        let resource = resource();
        let encoder = RequestEncoder::new(&resource);
        let bytes = encoder.encode(&batch);
        assert_eq!(bytes, prost_bytes(&batch, &resource));
        let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.resource_spans[0].scope_spans.len(), 2);
        for n in 0..batch.len() {
            assert_eq!(
                encoder.encode(&batch[n..=n]),
                prost_bytes(&batch[n..=n], &resource)
            );
        }
    }

    #[test]
    fn an_empty_resource_and_default_scope_match_too() {
        let resource: ResourceAttributesWithSchema =
            (&opentelemetry_sdk::Resource::builder_empty().build()).into();
        let batch = vec![crate::export::test_span(Vec::new())];
        assert_eq!(
            RequestEncoder::new(&resource).encode(&batch),
            prost_bytes(&batch, &resource)
        );
    }

    #[test]
    fn varint_lengths() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value), "{value}");
        }
    }
}
