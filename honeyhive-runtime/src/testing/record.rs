//! What the server saw: recorded requests, their decoded bodies, and OTLP spans flattened into
//! plain values that tests can assert on without walking protobuf structures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, Method};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use prost::Message;
use serde_json::Value;

use super::fault::FaultKind;

/// One request the server received, in full.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query string.
    pub path: String,
    /// The raw (still percent-encoded) query string, if the URL had one.
    pub query: Option<String>,
    /// All request headers, as sent.
    pub headers: HeaderMap,
    /// The body, decoded according to the endpoint and content type.
    pub body: RecordedBody,
    /// The status the server answered with; `0` when an injected
    /// [`FaultKind::DropConnection`] closed the connection without answering.
    pub response_status: u16,
    /// The injected fault that hit this request, if any.
    pub fault: Option<FaultKind>,
}

impl RecordedRequest {
    /// The value of header `name`, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body, if it was JSON (OTLP/JSON trace exports excluded: see [`RecordedBody::Otlp`]).
    pub fn json(&self) -> Option<&Value> {
        match &self.body {
            RecordedBody::Json(value) => Some(value),
            _ => None,
        }
    }

    /// Whether the server answered with a 2xx status.
    pub fn is_accepted(&self) -> bool {
        (200..300).contains(&self.response_status)
    }

    /// The spans in this request's OTLP body, whether or not the server accepted it (empty for
    /// other bodies).
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.body
            .otlp_request()
            .map(|request| flatten(&request))
            .unwrap_or_default()
    }
}

/// A request body, decoded as far as the endpoint and `Content-Type` allow.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedBody {
    /// No body.
    Empty,
    /// A body sent with `Content-Type: application/json` to any path but the trace export.
    Json(Value),
    /// A trace export to `/opentelemetry/v1/traces` that decoded.
    ///
    /// The server decodes every export when it arrives (an undecodable one is answered with
    /// 400) but keeps the bytes, not the decoded messages: a decoded export takes several
    /// times the memory of its body, which made a server recording hundreds of thousands
    /// of spans the bottleneck of the export benchmark. [`otlp_request`](Self::otlp_request)
    /// decodes them again.
    Otlp {
        /// How the export was encoded.
        encoding: OtlpEncoding,
        /// The body, as received.
        body: Bytes,
    },
    /// A body that could not be decoded (the server answered 400 if the endpoint needed it).
    Raw(Bytes),
}

/// The wire encoding of an OTLP export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtlpEncoding {
    /// Binary protobuf, `application/x-protobuf`.
    Protobuf,
    /// OTLP/JSON, `application/json`.
    Json,
}

impl RecordedBody {
    /// The decoded trace export, for [`RecordedBody::Otlp`] (`None` for other bodies).
    pub fn otlp_request(&self) -> Option<ExportTraceServiceRequest> {
        let RecordedBody::Otlp { encoding, body } = self else {
            return None;
        };
        // It decoded when it arrived; the same bytes decode again the same way.
        decode_otlp(*encoding, body).ok()
    }

    /// Decodes `bytes` as an OTLP export (`otlp`) or JSON, returning undecodable bytes as
    /// [`RecordedBody::Raw`] together with the reason, for the 400 the endpoint will answer.
    pub(super) fn decode(
        otlp: bool,
        headers: &HeaderMap,
        bytes: Bytes,
    ) -> (RecordedBody, Option<String>) {
        let media_type = match media_type(headers) {
            Ok(media_type) => media_type,
            Err(reason) => return (RecordedBody::Raw(bytes), Some(reason)),
        };
        let decoded = match (otlp, media_type.as_deref()) {
            (true, Some("application/x-protobuf")) => decode_otlp(OtlpEncoding::Protobuf, &bytes)
                .map(|_| RecordedBody::Otlp {
                    encoding: OtlpEncoding::Protobuf,
                    body: bytes.clone(),
                })
                .map_err(|e| e.to_string()),
            // Only for protobuf is an empty body meaningful (an export without spans).
            _ if bytes.is_empty() => return (RecordedBody::Empty, None),
            (true, Some("application/json")) => decode_otlp(OtlpEncoding::Json, &bytes)
                .map(|_| RecordedBody::Otlp {
                    encoding: OtlpEncoding::Json,
                    body: bytes.clone(),
                })
                .map_err(|e| e.to_string()),
            (false, Some("application/json")) => serde_json::from_slice(&bytes)
                .map(RecordedBody::Json)
                .map_err(|e| format!("body is not valid JSON: {e}")),
            (true, other) => Err(format!(
                "content-type {} is neither application/x-protobuf nor application/json",
                other.unwrap_or("(missing)")
            )),
            (false, other) => Err(format!(
                "content-type {} is not application/json",
                other.unwrap_or("(missing)")
            )),
        };
        match decoded {
            Ok(body) => (body, None),
            Err(reason) => (RecordedBody::Raw(bytes), Some(reason)),
        }
    }
}

/// Why a body is not an OTLP trace export (the server answers it with 400 and this text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpDecodeError {
    /// Not a protobuf `ExportTraceServiceRequest`.
    #[error("body is not a protobuf ExportTraceServiceRequest: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// Not an OTLP/JSON `ExportTraceServiceRequest`.
    #[error("body is not an OTLP/JSON ExportTraceServiceRequest: {0}")]
    Json(#[from] serde_json::Error),
}

/// The spans of a trace export `body`, decoded and flattened as the server does what it
/// receives on `/opentelemetry/v1/traces` (the decoding of [`RecordedRequest::spans`]).
///
/// # Errors
/// [`OtlpDecodeError`] when `body` is not an export in `encoding`.
///
/// # Example
/// ```
/// use honeyhive::testing::{OtlpEncoding, decode_spans};
///
/// let body = br#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "answer",
///     "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708"}]}]}]}"#;
/// assert_eq!(decode_spans(OtlpEncoding::Json, body)?[0].name, "answer");
/// let error = decode_spans(OtlpEncoding::Protobuf, &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap_err();
/// assert!(error.to_string().starts_with("body is not a protobuf"), "{error}");
/// # Ok::<(), honeyhive::testing::OtlpDecodeError>(())
/// ```
pub fn decode_spans(
    encoding: OtlpEncoding,
    body: &[u8],
) -> Result<Vec<RecordedSpan>, OtlpDecodeError> {
    Ok(flatten(&decode_otlp(encoding, body)?))
}

/// Decodes an OTLP trace export, or says why it does not decode.
fn decode_otlp(
    encoding: OtlpEncoding,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, OtlpDecodeError> {
    Ok(match encoding {
        OtlpEncoding::Protobuf => ExportTraceServiceRequest::decode(body)?,
        OtlpEncoding::Json => serde_json::from_slice(body)?,
    })
}

/// The lowercase media type of the body without parameters such as `charset`, or why the
/// body cannot be interpreted at all.
fn media_type(headers: &HeaderMap) -> Result<Option<String>, String> {
    if let Some(encoding) = headers.get(CONTENT_ENCODING)
        && encoding != "identity"
    {
        return Err(format!("content-encoding {encoding:?} is not supported"));
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return Ok(None);
    };
    let content_type = content_type
        .to_str()
        .map_err(|_| format!("content-type {content_type:?} is not visible ASCII"))?;
    let essence = content_type.split(';').next().unwrap_or_default();
    Ok(Some(essence.trim().to_ascii_lowercase()))
}

/// One span of an accepted trace export, flattened with its resource and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSpan {
    /// The span name.
    pub name: String,
    /// Lowercase hex, 32 digits.
    pub trace_id: String,
    /// Lowercase hex, 16 digits.
    pub span_id: String,
    /// Lowercase hex; `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The span kind.
    pub kind: SpanKind,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// The span's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The span's events, in recorded order.
    pub events: Vec<RecordedEvent>,
    /// The span status.
    pub status: RecordedStatus,
    /// Attributes of the resource the span was exported under, shared by the spans of
    /// that resource (a copy per span made an export of many spans under a large resource
    /// take memory in proportion to their product).
    pub resource: Arc<BTreeMap<String, AttrValue>>,
    /// Name of the instrumentation scope (tracer), shared as the resource is; empty if the
    /// export named none.
    pub scope_name: Arc<str>,
}

impl RecordedSpan {
    /// The attribute `key`, if set.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// The attribute `key`, if set to a string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.attr(key)?.as_str()
    }
}

/// A span event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The event name, e.g. `exception`.
    pub name: String,
    /// The event's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
}

/// A span status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedStatus {
    /// The status code.
    pub code: StatusCode,
    /// The description; only meaningful for [`StatusCode::Error`].
    pub message: String,
}

/// An OpenTelemetry span status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// No status was set (also used for codes this OTLP version does not define).
    Unset,
    /// Explicitly marked successful.
    Ok,
    /// Failed.
    Error,
}

/// An OpenTelemetry span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Not specified (also used for kinds this OTLP version does not define).
    Unspecified,
    /// An internal operation.
    Internal,
    /// Handling of a remote request.
    Server,
    /// A request to a remote service.
    Client,
    /// Creation of an asynchronous job.
    Producer,
    /// Processing of an asynchronous job.
    Consumer,
}

/// An attribute value, as OTLP carries it.
///
/// OTLP's "empty" value has no counterpart: attributes, array items and map entries holding
/// one are left out.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A homogeneous or heterogeneous array.
    Array(Vec<AttrValue>),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A nested key-value list.
    Map(BTreeMap<String, AttrValue>),
}

impl AttrValue {
    /// The string, if this is [`AttrValue::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is [`AttrValue::Int`] (no conversion from other types, so tests
    /// catch values exported with the wrong OTel type).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is [`AttrValue::Double`] (integers are not converted).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The boolean, if this is [`AttrValue::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn from_proto(value: &AnyValue) -> Option<AttrValue> {
        use any_value::Value;
        Some(match value.value.as_ref()? {
            Value::StringValue(s) => AttrValue::String(s.clone()),
            Value::BoolValue(b) => AttrValue::Bool(*b),
            Value::IntValue(i) => AttrValue::Int(*i),
            Value::DoubleValue(d) => AttrValue::Double(*d),
            Value::ArrayValue(array) => AttrValue::Array(
                array
                    .values
                    .iter()
                    .filter_map(AttrValue::from_proto)
                    .collect(),
            ),
            Value::KvlistValue(list) => AttrValue::Map(attributes(&list.values)),
            Value::BytesValue(bytes) => AttrValue::Bytes(bytes.clone()),
            // Profiling-only string-table reference: OTLP says to treat it as absent elsewhere.
            Value::StringValueStrindex(_) => return None,
        })
    }
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    pairs
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), AttrValue::from_proto(kv.value.as_ref()?)?)))
        .collect()
}

/// Every span of `request`, each carrying its resource attributes and scope name.
pub(super) fn flatten(request: &ExportTraceServiceRequest) -> Vec<RecordedSpan> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = Arc::new(
            resource_spans
                .resource
                .as_ref()
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default(),
        );
        for scope_spans in &resource_spans.scope_spans {
            let scope_name: Arc<str> = scope_spans
                .scope
                .as_ref()
                .map_or("", |s| s.name.as_str())
                .into();
            spans.extend(
                scope_spans
                    .spans
                    .iter()
                    .map(|span| RecordedSpan::from_proto(span, &resource, &scope_name)),
            );
        }
    }
    spans
}

impl RecordedSpan {
    fn from_proto(
        span: &Span,
        resource: &Arc<BTreeMap<String, AttrValue>>,
        scope_name: &Arc<str>,
    ) -> RecordedSpan {
        let status = span.status.as_ref();
        RecordedSpan {
            name: span.name.clone(),
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_span_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
            kind: match span::SpanKind::try_from(span.kind) {
                Ok(span::SpanKind::Internal) => SpanKind::Internal,
                Ok(span::SpanKind::Server) => SpanKind::Server,
                Ok(span::SpanKind::Client) => SpanKind::Client,
                Ok(span::SpanKind::Producer) => SpanKind::Producer,
                Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
                Ok(span::SpanKind::Unspecified) | Err(_) => SpanKind::Unspecified,
            },
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
            attributes: attributes(&span.attributes),
            events: span
                .events
                .iter()
                .map(|event| RecordedEvent {
                    name: event.name.clone(),
                    attributes: attributes(&event.attributes),
                })
                .collect(),
            status: RecordedStatus {
                code: match status.map(|s| status::StatusCode::try_from(s.code)) {
                    Some(Ok(status::StatusCode::Ok)) => StatusCode::Ok,
                    Some(Ok(status::StatusCode::Error)) => StatusCode::Error,
                    _ => StatusCode::Unset,
                },
                message: status.map(|s| s.message.clone()).unwrap_or_default(),
            },
            resource: Arc::clone(resource),
            scope_name: Arc::clone(scope_name),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
