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

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Exporter::Otlp(e) => e.export(batch).await,
            Exporter::Local(e) => e.export(batch).await,
            Exporter::Discard => Ok(()),
        }
    }
}
