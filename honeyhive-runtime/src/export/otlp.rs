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

    /// Sends `batch`, encoded as one request or, when the destination rejects a request
    /// as too large (HTTP 413), split: each half is sent on its own, down to single spans,
    /// and a span too large alone is sent once more cut down ([`shrink`]). Nothing is
    /// dropped whole for its size. Returns the spans not delivered, by index in `batch`,
    /// with the last failure.
    pub(crate) async fn deliver(&self, batch: &[SpanData]) -> Result<(), NotDelivered> {
        let mut failed = NotDelivered::default();
        // Ranges of `batch` still to send, the next one last; `true` for a span to send
        // cut down.
        let mut pending = vec![(0, batch.len(), false)];
        while let Some((start, end, shrunk)) = pending.pop() {
            let encoded = if shrunk {
                self.encode(&[shrink(&batch[start])])
            } else {
                self.encode(&batch[start..end])
            };
            let outcome = match encoded {
                Ok(body) => self.post(body).await,
                Err(e) => Err(Failure::Other(e)),
            };
            match outcome {
                Ok(()) => {}
                Err(Failure::TooLarge(_)) if end - start > 1 => {
                    let middle = start + (end - start) / 2;
                    pending.push((middle, end, false));
                    pending.push((start, middle, false));
                }
                Err(Failure::TooLarge(_)) if !shrunk => pending.push((start, end, true)),
                Err(Failure::TooLarge(e) | Failure::Other(e)) => {
                    failed.spans.extend(start..end);
                    failed.error = Some(e);
                }
            }
        }
        if failed.spans.is_empty() {
            Ok(())
        } else {
            Err(failed)
        }
    }

    /// Posts `body` under the retry policy (through the destination's circuit, if any).
    async fn post(&self, body: Body) -> Result<(), Failure> {
        let Body {
            bytes,
            content_type,
        } = body;
        let too_large = std::sync::atomic::AtomicBool::new(false);
        let result = retry_through(&self.retry, self.circuit.as_deref(), || {
            let too_large = &too_large;
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
                if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
                    too_large.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                Err(AttemptError::from_status(status, &headers, &text))
            }
        })
        .await;
        result.map_err(|(e, attempts)| {
            let error = OTelSdkError::InternalFailure(format!(
                "export to {} failed after {attempts} attempt(s): {}",
                self.endpoint, e.reason
            ));
            if too_large.load(std::sync::atomic::Ordering::Relaxed) {
                Failure::TooLarge(error)
            } else {
                Failure::Other(error)
            }
        })
    }
}

/// Why a request failed: too large (HTTP 413, worth splitting), or anything else.
enum Failure {
    TooLarge(OTelSdkError),
    Other(OTelSdkError),
}

/// The spans of a batch [`OtlpExporter::deliver`] could not deliver.
#[derive(Debug, Default)]
pub(crate) struct NotDelivered {
    /// Their indices in the batch, in order.
    pub(crate) spans: Vec<usize>,
    /// The last failure.
    pub(crate) error: Option<OTelSdkError>,
}

impl NotDelivered {
    /// The failure, as the exporter reports it.
    pub(crate) fn into_error(self) -> OTelSdkError {
        self.error
            .unwrap_or_else(|| OTelSdkError::InternalFailure("export failed".to_owned()))
    }
}

/// Longest string value a span keeps once the destination rejected it alone as too
/// large.
const SHRUNK_VALUE_BYTES: usize = 1024;

/// `span`, cut down for a destination that rejected it alone as too large: every string
/// value of its attributes and events cut to [`SHRUNK_VALUE_BYTES`] (marked as cut); its
/// identity, timing, status and other values kept.
fn shrink(span: &SpanData) -> SpanData {
    let mut span = span.clone();
    crate::limits::cut_attributes(&mut span.attributes, SHRUNK_VALUE_BYTES);
    for event in span.events.events.iter_mut() {
        crate::limits::cut_attributes(&mut event.attributes, SHRUNK_VALUE_BYTES);
    }
    span
}

impl SpanExporter for OtlpExporter {
    /// Sends the batch (split if the destination finds it too large), then gives its
    /// buffers back for reuse.
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let delivered = self.deliver(&batch).await;
        buffer_pool::recycle(batch);
        delivered.map_err(NotDelivered::into_error)
    }
}
