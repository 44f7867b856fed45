//! What runs after a span ends: the export pipeline of a destination, its batch queue,
//! the exporters (OTLP over HTTP to HoneyHive, or the local store) and the local store.
//! Both exporters implement the OpenTelemetry SDK's `SpanExporter`, so either also works
//! with the SDK's own processors.

pub(crate) mod buffer_pool;
mod local;
pub mod local_store;
mod otlp;
pub(crate) mod outbox;
pub(crate) mod pipeline;
mod protobuf;
pub(crate) mod queue;

pub use local::LocalExporter;
pub use otlp::OtlpExporter;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::trace::span_processor::BatchStamps;

/// The exporter of a pipeline: one of the two destinations, or (benchmarks only) none.
#[derive(Debug)]
pub(crate) enum Exporter {
    /// OTLP/HTTP to HoneyHive, through the pipeline's outbox. Boxed: the exporter holds its
    /// encoder, several times the size of the others.
    HoneyHive(Box<outbox::HoneyHiveExporter>),
    Local(LocalExporter),
    /// Accepts every span and keeps none: the sink of
    /// `TracerBuilder::discard_spans` (feature `testing`), so benchmarks time the tracing
    /// hot path without an exporter competing for the CPU.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Discard,
}

impl Exporter {
    /// Exports `batch`, with the `stamps` its spans still need, and leaves it the
    /// caller's: the batch queue takes the spans' buffers back for reuse afterwards.
    pub(crate) async fn export_spans(
        &self,
        batch: &[SpanData],
        stamps: &BatchStamps,
    ) -> OTelSdkResult {
        match self {
            Exporter::HoneyHive(e) => e.export_spans(batch, stamps).await,
            Exporter::Local(e) => e.export(stamps.stamped_copy(batch)).await,
            Exporter::Discard => Ok(()),
        }
    }
}

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Exporter::HoneyHive(e) => e.export_spans(&batch, &BatchStamps::default()).await,
            Exporter::Local(e) => e.export(batch).await,
            Exporter::Discard => Ok(()),
        }
    }
}

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
