//! The sink of `TracerBuilder::discard_spans` (feature `testing`): accepts every span and
//! keeps none, so benchmarks time the tracing hot path without an exporter competing for
//! the CPU.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::buffer_pool;

#[derive(Debug)]
pub(crate) struct DiscardExporter;

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        buffer_pool::recycle(batch);
        Ok(())
    }
}
