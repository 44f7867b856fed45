//! OTLP/HTTP export, protobuf or JSON: to HoneyHive (`{base}/opentelemetry/v1/traces`), or
//! to the standard OTLP destination of the `OTEL_EXPORTER_OTLP_*` variables.
//!
//! Written on `opentelemetry-proto` rather than `opentelemetry-otlp` because every 5xx must
//! be retried (`opentelemetry-otlp` retries only 429/502/503/504) under the same policy as
//! the REST calls, and the exact count of spans lost is needed for the drop warning.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::buffer_pool;
use super::protobuf::RequestEncoder;
use crate::config::OtlpDestination;
use crate::retry::{AttemptError, Circuit, RetryPolicy, retry_through};
use crate::{Config, Error, OtlpProtocol, Result};

/// Path of HoneyHive's OTLP traces endpoint below the API base URL.
pub(crate) const HONEYHIVE_TRACES_PATH: &str = "/opentelemetry/v1/traces";

/// Exports spans to one OTLP/HTTP endpoint. Needs a tokio runtime to run on (the
/// pipeline's own I/O runtime).
#[derive(Debug)]
pub(crate) struct OtlpExporter {
    http: reqwest::Client,
    endpoint: String,
    protocol: OtlpProtocol,
    /// Headers of this endpoint's requests beyond the client's own: HoneyHive's `X-Source`
    /// and key (the ingestion key, else the project key: sensitive, `Debug` does not show
    /// it), or the OTLP destination's.
    headers: http::HeaderMap,
    retry: RetryPolicy,
    resource: ResourceAttributesWithSchema,
    protobuf: RequestEncoder,
    /// Whether the destination answers, shared with the REST calls of the pipeline.
    circuit: Option<Arc<Circuit>>,
}

/// A request body and its content type.
pub(crate) struct Body {
    bytes: Bytes,
    content_type: &'static str,
}

impl OtlpExporter {
    /// The exporter to HoneyHive, on the destination's HTTP client.
    pub(crate) fn honeyhive(
        http: reqwest::Client,
        config: &Config,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<Self> {
        let source = http::HeaderValue::from_str(&config.source).map_err(|_| {
            Error::Config(format!(
                "source {:?} is not a valid HTTP header value",
                config.source
            ))
        })?;
        let mut headers = http::HeaderMap::new();
        headers.insert("X-Source", source);
        if let Some(auth) = crate::api::client::bearer(config, crate::config::Audience::Ingestion)?
        {
            headers.insert(http::header::AUTHORIZATION, auth);
        }
        Ok(OtlpExporter::new(
            http,
            format!("{}{HONEYHIVE_TRACES_PATH}", config.base_url),
            config.otlp_protocol,
            headers,
            config.export.retry.clone(),
            resource,
        ))
    }

    /// The exporter to the OTLP destination `otlp`, on an HTTP client of its own: it sends
    /// the destination's headers and never the HoneyHive API key.
    pub(crate) fn destination(
        otlp: &OtlpDestination,
        config: &Config,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<Self> {
        let mut headers = http::HeaderMap::new();
        for (name, value) in otlp.headers() {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("OTLP header name {name:?} is not valid")))?;
            let mut value = http::HeaderValue::from_str(value).map_err(|_| {
                Error::Config(format!("the value of OTLP header {name} is not valid"))
            })?;
            // Header values are often credentials: never shown by `Debug`.
            value.set_sensitive(true);
            headers.append(name, value);
        }
        let timeout = otlp.timeout().unwrap_or(config.export.request_timeout);
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "OTel-OTLP-Exporter-Rust honeyhive-rust/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(timeout)
            .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
            .build()
            .map_err(|e| {
                Error::Config(format!(
                    "could not build the HTTP client of the OTLP destination: {}",
                    crate::retry::error_chain(&e)
                ))
            })?;
        Ok(OtlpExporter::new(
            http,
            otlp.endpoint().to_owned(),
            otlp.protocol(),
            headers,
            config.export.retry.clone(),
            resource,
        ))
    }

    fn new(
        http: reqwest::Client,
        endpoint: String,
        protocol: OtlpProtocol,
        headers: http::HeaderMap,
        retry: RetryPolicy,
        resource: &opentelemetry_sdk::Resource,
    ) -> Self {
        OtlpExporter {
            http,
            endpoint,
            protocol,
            headers,
            retry,
            protobuf: RequestEncoder::new(&resource.into()),
            resource: resource.into(),
            circuit: None,
        }
    }

    /// This exporter, its requests going through `circuit` (see [`retry_through`]).
    pub(crate) fn with_circuit(mut self, circuit: Arc<Circuit>) -> Self {
        self.circuit = Some(circuit);
        self
    }

    /// The request body of `batch`. Protobuf is written straight from the spans; OTLP/JSON
    /// goes through `opentelemetry-proto`'s conversion, which takes a copy.
    pub(crate) fn encode(&self, batch: &[SpanData]) -> std::result::Result<Body, OTelSdkError> {
        match self.protocol {
            OtlpProtocol::HttpProtobuf => Ok(Body {
                bytes: self.protobuf.encode(batch).into(),
                content_type: "application/x-protobuf",
            }),
            OtlpProtocol::HttpJson => serde_json::to_vec(&ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(batch.to_vec(), &self.resource),
            })
            .map(|bytes| Body {
                bytes: bytes.into(),
                content_type: "application/json",
            })
            .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP/JSON encoding failed: {e}"))),
        }
    }

    /// Posts `body` under the retry policy (through the destination's circuit, if any).
    pub(crate) async fn send(&self, body: Body) -> OTelSdkResult {
        let Body {
            bytes,
            content_type,
        } = body;
        let result = retry_through(&self.retry, self.circuit.as_deref(), || {
            let request = self
                .http
                .post(&self.endpoint)
                .header(http::header::CONTENT_TYPE, content_type)
                .headers(self.headers.clone())
                .body(bytes.clone());
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

impl SpanExporter for OtlpExporter {
    /// Encodes the batch, gives its buffers back for reuse, and sends it.
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let body = self.encode(&batch)?;
        buffer_pool::recycle(batch);
        self.send(body).await
    }
}
