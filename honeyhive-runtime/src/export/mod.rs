//! Span exporters: OTLP over HTTP to HoneyHive, or the local store. Both implement the
//! OpenTelemetry SDK's `SpanExporter`, so either also works with the SDK's own processors.

mod local;
mod otlp;

pub use local::LocalExporter;
pub use otlp::OtlpExporter;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The exporter of a pipeline: one of the two destinations, or (benchmarks only) none.
#[derive(Debug)]
pub(crate) enum Exporter {
    Otlp(OtlpExporter),
    Local(LocalExporter),
    /// Accepts every span and keeps none: the sink of
    /// `TracerBuilder::discard_spans` (feature `testing`), so benchmarks time the tracing
    /// hot path without an exporter competing for the CPU.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Discard,
}

impl Exporter {
    /// Exports `batch`, which stays the caller's: the batch queue takes the spans' buffers
    /// back for reuse afterwards.
    pub(crate) async fn export_spans(&self, batch: &[SpanData]) -> OTelSdkResult {
        match self {
            Exporter::Otlp(e) => e.export_spans(batch).await,
            Exporter::Local(e) => e.export(batch.to_vec()).await,
            Exporter::Discard => Ok(()),
        }
    }
}

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Exporter::Otlp(e) => e.export(batch).await,
            Exporter::Local(e) => e.export(batch).await,
            Exporter::Discard => Ok(()),
        }
    }
}
