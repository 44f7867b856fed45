//! What runs after a span ends: the export pipeline of a destination, its batch queue,
//! the exporters (OTLP over HTTP to HoneyHive or to any OpenTelemetry backend, the local
//! store, the user's own) and the local store. Each exporter implements the SDK's
//! `SpanExporter` and receives complete spans. Nothing here imports `trace/`: data flows
//! one way, from the span processor into the queue.

pub(crate) mod buffer_pool;
pub(crate) mod collect;
pub(crate) mod deferred_text;
mod discard;
mod local;
pub mod local_store;
mod otlp;
pub(crate) mod outbox;
pub(crate) mod pipeline;
mod protobuf;
pub(crate) mod queue;

/// For `honeyhive upload`, which sends kept spans as the pipeline would have.
pub(crate) use otlp::{HONEYHIVE_TRACES_PATH, OtlpExporter};

/// A finished span named `s` with `attributes` and nothing else, for unit tests.
#[cfg(test)]
pub(crate) fn test_span(
    attributes: Vec<opentelemetry::KeyValue>,
) -> opentelemetry_sdk::trace::SpanData {
    opentelemetry_sdk::trace::SpanData {
        span_context: opentelemetry::trace::SpanContext::empty_context(),
        parent_span_id: opentelemetry::trace::SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: opentelemetry::trace::SpanKind::Internal,
        name: "s".into(),
        start_time: std::time::SystemTime::UNIX_EPOCH,
        end_time: std::time::SystemTime::UNIX_EPOCH,
        attributes,
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: opentelemetry::trace::Status::Unset,
        instrumentation_scope: Default::default(),
    }
}
