//! OTLP/HTTP export to `{base}/opentelemetry/v1/traces`, protobuf or JSON.
//!
//! Written on `opentelemetry-proto` rather than `opentelemetry-otlp` because HoneyHive
//! needs every 5xx retried (`opentelemetry-otlp` retries only 429/502/503/504) under the same
//! policy as the REST calls, and the exact count of spans lost for the drop warning.

use crate::OtlpProtocol;
use crate::retry::{AttemptError, Circuit, RetryPolicy, retry_through};
use crate::trace::span_processor::BatchStamps;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;

use super::protobuf::RequestEncoder;
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
    /// The ingestion key, else the project key (sensitive: `Debug` does not show it).
    auth: Option<http::HeaderValue>,
    protocol: OtlpProtocol,
    source: http::HeaderValue,
    retry: RetryPolicy,
    resource: ResourceAttributesWithSchema,
    protobuf: RequestEncoder,
    /// Whether the destination answers, shared with the REST calls of the pipeline.
    circuit: Option<std::sync::Arc<Circuit>>,
}

impl OtlpExporter {
    pub(crate) fn new(
        http: reqwest::Client,
        config: &crate::Config,
        resource: &opentelemetry_sdk::Resource,
    ) -> crate::Result<Self> {
        let source = config.source();
        let source = http::HeaderValue::from_str(source).map_err(|_| {
            crate::Error::Config(format!(
                "source {source:?} is not a valid HTTP header value"
            ))
        })?;
        Ok(OtlpExporter {
            http,
            endpoint: format!("{}{TRACES_PATH}", config.base_url()),
            auth: crate::api::client::bearer(config, crate::config::Audience::Ingestion)?,
            protocol: config.otlp_protocol(),
            source,
            retry: config.export_settings().retry.clone(),
            protobuf: RequestEncoder::new(&resource.into()),
            resource: resource.into(),
            circuit: None,
        })
    }

    /// This exporter, its requests going through `circuit` (see [`retry_through`]).
    pub(crate) fn with_circuit(mut self, circuit: std::sync::Arc<Circuit>) -> Self {
        self.circuit = Some(circuit);
        self
    }

    fn encode(
        &self,
        batch: &[SpanData],
        stamps: &BatchStamps,
    ) -> Result<(Bytes, &'static str), OTelSdkError> {
        match self.protocol {
            OtlpProtocol::HttpProtobuf => Ok((
                self.protobuf.encode(batch, stamps).into(),
                "application/x-protobuf",
            )),
            OtlpProtocol::HttpJson => serde_json::to_vec(&ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(
                    stamps.stamped_copy(batch),
                    &self.resource,
                ),
            })
            .map(|body| (body.into(), "application/json"))
            .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP/JSON encoding failed: {e}"))),
        }
    }
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.export_spans(&batch, &BatchStamps::default()).await
    }
}

impl OtlpExporter {
    /// [`export`](SpanExporter::export) of spans the caller keeps.
    pub(crate) async fn export_spans(
        &self,
        batch: &[SpanData],
        stamps: &BatchStamps,
    ) -> OTelSdkResult {
        let (body, content_type) = self.encode(batch, stamps)?;
        let result = retry_through(&self.retry, self.circuit.as_deref(), || {
            let mut request = self
                .http
                .post(&self.endpoint)
                .header(http::header::CONTENT_TYPE, content_type)
                .header("X-Source", self.source.clone())
                .body(body.clone());
            if let Some(auth) = &self.auth {
                request = request.header(http::header::AUTHORIZATION, auth.clone());
            }
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
