//! OTLP/HTTP export to `{base}/opentelemetry/v1/traces`, protobuf or JSON.
//!
//! Written on `opentelemetry-proto` rather than `opentelemetry-otlp` because HoneyHive
//! needs every 5xx retried (`opentelemetry-otlp` retries only 429/502/503/504) under the same
//! policy as the REST calls, and the exact count of spans lost for the drop warning.

use crate::OtlpProtocol;
use crate::retry::{AttemptError, RetryPolicy, retry};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Path of the OTLP traces endpoint below the API base URL.
pub const TRACES_PATH: &str = "/opentelemetry/v1/traces";

/// Exports spans to HoneyHive's OTLP endpoint. Needs a tokio runtime to run on (the
/// pipeline's own I/O runtime).
#[derive(Debug)]
pub struct OtlpExporter {
    http: reqwest::Client,
    endpoint: String,
    protocol: OtlpProtocol,
    source: http::HeaderValue,
    retry: RetryPolicy,
    resource: ResourceAttributesWithSchema,
}

impl OtlpExporter {
    pub(crate) fn new(
        http: reqwest::Client,
        base_url: &str,
        protocol: OtlpProtocol,
        source: &str,
        retry: RetryPolicy,
        resource: &opentelemetry_sdk::Resource,
    ) -> crate::Result<Self> {
        let source = http::HeaderValue::from_str(source).map_err(|_| {
            crate::Error::Config(format!(
                "source {source:?} is not a valid HTTP header value"
            ))
        })?;
        Ok(OtlpExporter {
            http,
            endpoint: format!("{base_url}{TRACES_PATH}"),
            protocol,
            source,
            retry,
            resource: resource.into(),
        })
    }

    fn encode(&self, batch: &[SpanData]) -> Result<(Bytes, &'static str), OTelSdkError> {
        match self.protocol {
            // Written straight from the spans: no intermediate protobuf structs (a `String`
            // per attribute key and value), the same bytes.
            OtlpProtocol::HttpProtobuf => Ok((
                wire::encode_request(batch, &self.resource).into(),
                "application/x-protobuf",
            )),
            OtlpProtocol::HttpJson => serde_json::to_vec(&ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(batch.to_vec(), &self.resource),
            })
            .map(|body| (body.into(), "application/json"))
            .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP/JSON encoding failed: {e}"))),
        }
    }
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.export_spans(&batch).await
    }
}

impl OtlpExporter {
    /// [`export`](SpanExporter::export) of spans the caller keeps.
    pub(crate) async fn export_spans(&self, batch: &[SpanData]) -> OTelSdkResult {
        let (body, content_type) = self.encode(batch)?;
        let result = retry(&self.retry, || {
            let request = self
                .http
                .post(&self.endpoint)
                .header(http::header::CONTENT_TYPE, content_type)
                .header("X-Source", self.source.clone())
                .body(body.clone());
            async move {
                let response = request.send().await.map_err(AttemptError::from_reqwest)?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                Err(AttemptError::from_status(status, &headers, &text))
            }
        })
        .await;
        result.map_err(|(e, attempts)| {
            OTelSdkError::InternalFailure(format!(
                "export to {} failed after {attempts} attempt(s): {}",
                self.endpoint, e.reason
            ))
        })
    }
}

/// OTLP protobuf encoding of an `ExportTraceServiceRequest`, written from `&[SpanData]`.
///
/// The message is what `opentelemetry-proto` builds (`group_spans_by_resource_and_scope`,
/// then prost's encoding, which writes fields in tag order and leaves out default values),
/// byte for byte; the tests compare the two. Lengths of nested messages are computed first
/// (once per span), then everything is written into one buffer of the exact size.
mod wire {
    use std::time::{SystemTime, UNIX_EPOCH};

    use opentelemetry::trace::{SpanId, Status, TraceState};
    use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope as ProtoScope;
    use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

    /// Length of a length-delimited field with a body of `len` bytes.
    fn delimited_len(tag: u32, len: usize) -> usize {
        key_len(tag) + encoded_len_varint(len as u64) + len
    }

    fn put_delimited(buf: &mut Vec<u8>, tag: u32, len: usize) {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(len as u64, buf);
    }

    /// A string or bytes field, left out when empty (proto3 default).
    fn bytes_len(tag: u32, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            0
        } else {
            delimited_len(tag, bytes.len())
        }
    }

    fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
        if !bytes.is_empty() {
            put_delimited(buf, tag, bytes.len());
            buf.extend_from_slice(bytes);
        }
    }

    fn varint_len(tag: u32, value: u64) -> usize {
        if value == 0 {
            0
        } else {
            key_len(tag) + encoded_len_varint(value)
        }
    }

    fn put_varint(buf: &mut Vec<u8>, tag: u32, value: u64) {
        if value != 0 {
            encode_key(tag, WireType::Varint, buf);
            encode_varint(value, buf);
        }
    }

    fn fixed64_len(tag: u32, value: u64) -> usize {
        if value == 0 { 0 } else { key_len(tag) + 8 }
    }

    fn put_fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
        if value != 0 {
            encode_key(tag, WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn fixed32_len(tag: u32, value: u32) -> usize {
        if value == 0 { 0 } else { key_len(tag) + 4 }
    }

    fn put_fixed32(buf: &mut Vec<u8>, tag: u32, value: u32) {
        if value != 0 {
            encode_key(tag, WireType::ThirtyTwoBit, buf);
            buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn nanos(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }

    /// `opentelemetry-proto`'s span flags: the trace flags, and whether the parent is remote.
    fn span_flags(parent_is_remote: bool, trace_flags: u8) -> u32 {
        const HAS_IS_REMOTE: u32 = 0x100;
        const IS_REMOTE: u32 = 0x200;
        let mut flags = u32::from(trace_flags) | HAS_IS_REMOTE;
        if parent_is_remote {
            flags |= IS_REMOTE;
        }
        flags
    }

    fn trace_state(state: &TraceState) -> Option<String> {
        (*state != TraceState::NONE).then(|| state.header())
    }

    // AnyValue: a oneof, always written, even with a default value.

    /// A value kind newer than this encoder (the enum is non-exhaustive) goes as its text.
    fn other_text(value: &Value) -> String {
        value.to_string()
    }

    fn any_len(value: &Value) -> usize {
        match value {
            Value::Bool(_) => key_len(2) + 1,
            Value::I64(i) => key_len(3) + encoded_len_varint(*i as u64),
            Value::F64(_) => key_len(4) + 8,
            Value::String(s) => delimited_len(1, s.as_str().len()),
            Value::Array(a) => delimited_len(5, array_len(a)),
            other => delimited_len(1, other_text(other).len()),
        }
    }

    fn put_any(buf: &mut Vec<u8>, value: &Value) {
        match value {
            Value::Bool(b) => {
                encode_key(2, WireType::Varint, buf);
                encode_varint(u64::from(*b), buf);
            }
            Value::I64(i) => {
                encode_key(3, WireType::Varint, buf);
                encode_varint(*i as u64, buf);
            }
            Value::F64(f) => {
                encode_key(4, WireType::SixtyFourBit, buf);
                buf.extend_from_slice(&f.to_le_bytes());
            }
            Value::String(s) => put_str_any(buf, s.as_str()),
            Value::Array(a) => {
                put_delimited(buf, 5, array_len(a));
                put_array(buf, a);
            }
            other => put_str_any(buf, &other_text(other)),
        }
    }

    fn put_str_any(buf: &mut Vec<u8>, s: &str) {
        put_delimited(buf, 1, s.len());
        buf.extend_from_slice(s.as_bytes());
    }

    /// Each element as an `AnyValue` message (field 1 of `ArrayValue`).
    fn array_items(array: &Array) -> Vec<Value> {
        match array {
            Array::Bool(v) => v.iter().copied().map(Value::Bool).collect(),
            Array::I64(v) => v.iter().copied().map(Value::I64).collect(),
            Array::F64(v) => v.iter().copied().map(Value::F64).collect(),
            Array::String(v) => v.iter().cloned().map(Value::String).collect(),
            other => vec![Value::String(StringValue::from(format!("{other:?}")))],
        }
    }

    fn array_len(array: &Array) -> usize {
        array_items(array)
            .iter()
            .map(|v| delimited_len(1, any_len(v)))
            .sum()
    }

    fn put_array(buf: &mut Vec<u8>, array: &Array) {
        for v in array_items(array) {
            put_delimited(buf, 1, any_len(&v));
            put_any(buf, &v);
        }
    }

    fn kv_len(kv: &KeyValue) -> usize {
        bytes_len(1, kv.key.as_str().as_bytes()) + delimited_len(2, any_len(&kv.value))
    }

    fn put_kv(buf: &mut Vec<u8>, kv: &KeyValue) {
        put_bytes(buf, 1, kv.key.as_str().as_bytes());
        put_delimited(buf, 2, any_len(&kv.value));
        put_any(buf, &kv.value);
    }

    fn attributes_len(tag: u32, attributes: &[KeyValue]) -> usize {
        attributes
            .iter()
            .map(|kv| delimited_len(tag, kv_len(kv)))
            .sum()
    }

    fn put_attributes(buf: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
        for kv in attributes {
            put_delimited(buf, tag, kv_len(kv));
            put_kv(buf, kv);
        }
    }

    fn event_len(event: &opentelemetry::trace::Event) -> usize {
        fixed64_len(1, nanos(event.timestamp))
            + bytes_len(2, event.name.as_bytes())
            + attributes_len(3, &event.attributes)
            + varint_len(4, u64::from(event.dropped_attributes_count))
    }

    fn put_event(buf: &mut Vec<u8>, event: &opentelemetry::trace::Event) {
        put_fixed64(buf, 1, nanos(event.timestamp));
        put_bytes(buf, 2, event.name.as_bytes());
        put_attributes(buf, 3, &event.attributes);
        put_varint(buf, 4, u64::from(event.dropped_attributes_count));
    }

    fn link_len(link: &opentelemetry::trace::Link) -> usize {
        let cx = &link.span_context;
        delimited_len(1, 16)
            + delimited_len(2, 8)
            + trace_state(cx.trace_state()).map_or(0, |s| bytes_len(3, s.as_bytes()))
            + attributes_len(4, &link.attributes)
            + varint_len(5, u64::from(link.dropped_attributes_count))
            + fixed32_len(6, span_flags(cx.is_remote(), cx.trace_flags().to_u8()))
    }

    fn put_link(buf: &mut Vec<u8>, link: &opentelemetry::trace::Link) {
        let cx = &link.span_context;
        put_bytes(buf, 1, &cx.trace_id().to_bytes());
        put_bytes(buf, 2, &cx.span_id().to_bytes());
        if let Some(state) = trace_state(cx.trace_state()) {
            put_bytes(buf, 3, state.as_bytes());
        }
        put_attributes(buf, 4, &link.attributes);
        put_varint(buf, 5, u64::from(link.dropped_attributes_count));
        put_fixed32(buf, 6, span_flags(cx.is_remote(), cx.trace_flags().to_u8()));
    }

    fn status_code(status: &Status) -> u64 {
        match status {
            Status::Unset => 0,
            Status::Ok => 1,
            Status::Error { .. } => 2,
        }
    }

    fn status_message(status: &Status) -> &str {
        match status {
            Status::Error { description } => description,
            _ => "",
        }
    }

    fn status_len(status: &Status) -> usize {
        bytes_len(2, status_message(status).as_bytes()) + varint_len(3, status_code(status))
    }

    fn events_len(events: &SpanEvents) -> usize {
        events
            .events
            .iter()
            .map(|e| delimited_len(11, event_len(e)))
            .sum()
    }

    fn links_len(links: &SpanLinks) -> usize {
        links
            .links
            .iter()
            .map(|l| delimited_len(13, link_len(l)))
            .sum()
    }

    fn span_kind(span: &SpanData) -> u64 {
        use opentelemetry::trace::SpanKind;
        match span.span_kind {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }

    fn parent_id(span: &SpanData) -> Option<[u8; 8]> {
        (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_bytes())
    }

    fn span_len(span: &SpanData) -> usize {
        let cx = &span.span_context;
        delimited_len(1, 16)
            + delimited_len(2, 8)
            + trace_state(cx.trace_state()).map_or(0, |s| bytes_len(3, s.as_bytes()))
            + parent_id(span).map_or(0, |_| delimited_len(4, 8))
            + bytes_len(5, span.name.as_bytes())
            + varint_len(6, span_kind(span))
            + fixed64_len(7, nanos(span.start_time))
            + fixed64_len(8, nanos(span.end_time))
            + attributes_len(9, &span.attributes)
            + varint_len(10, u64::from(span.dropped_attributes_count))
            + events_len(&span.events)
            + varint_len(12, u64::from(span.events.dropped_count))
            + links_len(&span.links)
            + varint_len(14, u64::from(span.links.dropped_count))
            + delimited_len(15, status_len(&span.status))
            + fixed32_len(
                16,
                span_flags(span.parent_span_is_remote, cx.trace_flags().to_u8()),
            )
    }

    fn put_span(buf: &mut Vec<u8>, span: &SpanData) {
        let cx = &span.span_context;
        put_bytes(buf, 1, &cx.trace_id().to_bytes());
        put_bytes(buf, 2, &cx.span_id().to_bytes());
        if let Some(state) = trace_state(cx.trace_state()) {
            put_bytes(buf, 3, state.as_bytes());
        }
        if let Some(parent) = parent_id(span) {
            put_bytes(buf, 4, &parent);
        }
        put_bytes(buf, 5, span.name.as_bytes());
        put_varint(buf, 6, span_kind(span));
        put_fixed64(buf, 7, nanos(span.start_time));
        put_fixed64(buf, 8, nanos(span.end_time));
        put_attributes(buf, 9, &span.attributes);
        put_varint(buf, 10, u64::from(span.dropped_attributes_count));
        for event in &span.events.events {
            put_delimited(buf, 11, event_len(event));
            put_event(buf, event);
        }
        put_varint(buf, 12, u64::from(span.events.dropped_count));
        for link in &span.links.links {
            put_delimited(buf, 13, link_len(link));
            put_link(buf, link);
        }
        put_varint(buf, 14, u64::from(span.links.dropped_count));
        put_delimited(buf, 15, status_len(&span.status));
        put_bytes(buf, 2, status_message(&span.status).as_bytes());
        put_varint(buf, 3, status_code(&span.status));
        put_fixed32(
            buf,
            16,
            span_flags(span.parent_span_is_remote, cx.trace_flags().to_u8()),
        );
    }

    /// The spans of one instrumentation scope, in the order they came.
    struct Scope<'a> {
        scope: &'a InstrumentationScope,
        proto: ProtoScope,
        spans: Vec<(&'a SpanData, usize)>,
    }

    impl Scope<'_> {
        fn body_len(&self) -> usize {
            prost::encoding::message::encoded_len(1, &self.proto)
                + self
                    .spans
                    .iter()
                    .map(|(_, len)| delimited_len(2, *len))
                    .sum::<usize>()
                + bytes_len(3, self.scope.schema_url().unwrap_or_default().as_bytes())
        }
    }

    /// The request `group_spans_by_resource_and_scope` builds for `spans`, encoded.
    pub(super) fn encode_request(
        spans: &[SpanData],
        resource: &ResourceAttributesWithSchema,
    ) -> Vec<u8> {
        let mut scopes: Vec<Scope<'_>> = Vec::new();
        for span in spans {
            let scope = &span.instrumentation_scope;
            let index = match scopes.iter().rposition(|s| s.scope == scope) {
                Some(i) => i,
                None => {
                    scopes.push(Scope {
                        scope,
                        proto: (scope, None).into(),
                        spans: Vec::new(),
                    });
                    scopes.len() - 1
                }
            };
            scopes[index].spans.push((span, span_len(span)));
        }
        let proto_resource = ProtoResource {
            attributes: resource.attributes.0.clone(),
            dropped_attributes_count: 0,
            entity_refs: vec![],
        };
        let schema_url = resource.schema_url.as_deref().unwrap_or_default();
        let scope_lens: Vec<usize> = scopes.iter().map(Scope::body_len).collect();
        let resource_spans_len = prost::encoding::message::encoded_len(1, &proto_resource)
            + scope_lens
                .iter()
                .map(|len| delimited_len(2, *len))
                .sum::<usize>()
            + bytes_len(3, schema_url.as_bytes());

        let mut buf = Vec::with_capacity(delimited_len(1, resource_spans_len));
        put_delimited(&mut buf, 1, resource_spans_len);
        prost::encoding::message::encode(1, &proto_resource, &mut buf);
        for (scope, len) in scopes.iter().zip(scope_lens) {
            put_delimited(&mut buf, 2, len);
            prost::encoding::message::encode(1, &scope.proto, &mut buf);
            for (span, len) in &scope.spans {
                put_delimited(&mut buf, 2, *len);
                put_span(&mut buf, span);
            }
            put_bytes(
                &mut buf,
                3,
                scope.scope.schema_url().unwrap_or_default().as_bytes(),
            );
        }
        put_bytes(&mut buf, 3, schema_url.as_bytes());
        debug_assert_eq!(buf.len(), buf.capacity());
        buf
    }

    #[cfg(test)]
    mod tests {
        use std::borrow::Cow;
        use std::time::Duration;

        use opentelemetry::trace::{
            Event, Link, SpanContext, SpanKind, TraceFlags, TraceId, TraceState,
        };
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
        use prost::Message;

        use super::*;

        fn span(i: u64, scope: &InstrumentationScope) -> SpanData {
            let flags = if i.is_multiple_of(2) {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            let state = if i.is_multiple_of(3) {
                TraceState::from_key_value([("vendor", "v1")]).unwrap()
            } else {
                TraceState::NONE
            };
            let cx = SpanContext::new(
                TraceId::from(u128::from(i) + 1),
                SpanId::from(i + 1),
                flags,
                false,
                state.clone(),
            );
            let mut events = SpanEvents::default();
            let mut links = SpanLinks::default();
            if i % 2 == 1 {
                events.events.push(Event::new(
                    "exception",
                    UNIX_EPOCH + Duration::from_nanos(5),
                    vec![KeyValue::new("exception.message", "boom")],
                    1,
                ));
                events.dropped_count = 2;
                links.links.push(Link::new(
                    SpanContext::new(TraceId::from(9), SpanId::from(9), flags, true, state),
                    vec![KeyValue::new("l", 1)],
                    3,
                ));
            }
            SpanData {
                span_context: cx,
                parent_span_id: if i.is_multiple_of(2) {
                    SpanId::INVALID
                } else {
                    SpanId::from(77)
                },
                parent_span_is_remote: i % 4 == 1,
                span_kind: [SpanKind::Internal, SpanKind::Client, SpanKind::Server][i as usize % 3]
                    .clone(),
                name: Cow::Owned(format!("span-{i}")),
                start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000 + i),
                end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_100_000 + i),
                attributes: vec![
                    KeyValue::new("honeyhive.session_id", "3f0e"),
                    KeyValue::new("empty", ""),
                    KeyValue::new("", "no key"),
                    KeyValue::new("flag", i.is_multiple_of(2)),
                    KeyValue::new("zero", 0i64),
                    KeyValue::new("int", -(i as i64) - 300),
                    KeyValue::new("float", 0.25),
                    KeyValue::new("neg0", -0.0),
                    KeyValue::new("unicode", "é…[truncated 3 bytes]"),
                    KeyValue::new(
                        "honeyhive_truncated",
                        Value::Array(vec![StringValue::from("a"), StringValue::from("")].into()),
                    ),
                    KeyValue::new("ints", Value::Array(vec![1i64, 0, -1].into())),
                    KeyValue::new("bools", Value::Array(vec![true, false].into())),
                    KeyValue::new("floats", Value::Array(vec![1.5f64].into())),
                    KeyValue::new("none", Value::Array(Vec::<i64>::new().into())),
                ],
                dropped_attributes_count: (i % 2) as u32,
                events,
                links,
                status: match i % 3 {
                    0 => Status::Unset,
                    1 => Status::Ok,
                    _ => Status::error(format!("failed {i}")),
                },
                instrumentation_scope: scope.clone(),
            }
        }

        #[test]
        fn same_bytes_as_opentelemetry_proto() {
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("project")
                .with_schema_url([KeyValue::new("k", "v")], "https://schema/1")
                .build();
            let resource = ResourceAttributesWithSchema::from(&resource);
            let honeyhive = InstrumentationScope::builder("honeyhive")
                .with_version("0.1.0")
                .build();
            let other = InstrumentationScope::builder("other")
                .with_schema_url("https://scope/1")
                .with_attributes([KeyValue::new("a", 1)])
                .build();
            for batch in [
                vec![],
                vec![span(0, &honeyhive)],
                (0..40)
                    .map(|i| {
                        span(
                            i,
                            if i.is_multiple_of(5) {
                                &other
                            } else {
                                &honeyhive
                            },
                        )
                    })
                    .collect::<Vec<_>>(),
            ] {
                let ours = encode_request(&batch, &resource);
                let reference = ExportTraceServiceRequest {
                    resource_spans: group_spans_by_resource_and_scope(batch, &resource),
                };
                assert_eq!(
                    ExportTraceServiceRequest::decode(ours.as_slice()).unwrap(),
                    reference
                );
                assert_eq!(ours, reference.encode_to_vec());
            }
        }
    }
}
