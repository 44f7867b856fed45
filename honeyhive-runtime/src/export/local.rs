//! Export to the local store: spans become lines of `spans.jsonl`, in their run's folder
//! or at the top of the store (see [`local_store`](crate::local_store)).

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value as Otel};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Map, Value};

use super::buffer_pool;
use super::local_store::{EventRecord, LocalStore, SpanRecord};

/// Writes spans to the local store.
#[derive(Clone)]
pub(crate) struct LocalExporter {
    store: LocalStore,
}

impl std::fmt::Debug for LocalExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalExporter")
            .field("dir", &self.store.dir())
            .finish()
    }
}

impl LocalExporter {
    pub(crate) fn new(store: LocalStore) -> Self {
        LocalExporter { store }
    }
}

impl SpanExporter for LocalExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let written = self
            .store
            .append_spans(batch.iter().map(record))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()));
        buffer_pool::recycle(batch);
        written
    }
}

pub(crate) fn record(span: &SpanData) -> SpanRecord {
    let (status, status_message) = match &span.status {
        Status::Unset => ("unset", None),
        Status::Ok => ("ok", None),
        Status::Error { description } => ("error", Some(description.to_string())),
    };
    let parent = span.parent_span_id;
    SpanRecord {
        name: span.name.to_string(),
        trace_id: span.span_context.trace_id().to_string(),
        span_id: span.span_context.span_id().to_string(),
        parent_span_id: (parent != opentelemetry::trace::SpanId::INVALID)
            .then(|| parent.to_string()),
        kind: match span.span_kind {
            SpanKind::Internal => None,
            SpanKind::Server => Some("server".into()),
            SpanKind::Client => Some("client".into()),
            SpanKind::Producer => Some("producer".into()),
            SpanKind::Consumer => Some("consumer".into()),
        },
        start_unix_nanos: unix_nanos(span.start_time),
        end_unix_nanos: unix_nanos(span.end_time),
        status: status.into(),
        status_message,
        attributes: attributes(&span.attributes),
        events: span
            .events
            .events
            .iter()
            .map(|e| EventRecord {
                name: e.name.to_string(),
                time_unix_nanos: Some(unix_nanos(e.timestamp)),
                attributes: attributes(&e.attributes),
            })
            .collect(),
    }
}

fn unix_nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn attributes(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| (kv.key.to_string(), json(&kv.value)))
        .collect()
}

fn json(value: &Otel) -> Value {
    use opentelemetry::Array;
    match value {
        Otel::Bool(b) => Value::Bool(*b),
        Otel::I64(i) => Value::from(*i),
        Otel::F64(f) => Value::from(*f),
        Otel::String(s) => Value::String(s.to_string()),
        Otel::Array(Array::Bool(v)) => v.iter().copied().map(Value::Bool).collect(),
        Otel::Array(Array::I64(v)) => v.iter().copied().map(Value::from).collect(),
        Otel::Array(Array::F64(v)) => v.iter().copied().map(Value::from).collect(),
        Otel::Array(Array::String(v)) => v.iter().map(|s| Value::String(s.to_string())).collect(),
        // Newer value kinds (bytes, maps) are kept as their text form rather than lost.
        other => Value::String(other.to_string()),
    }
}
