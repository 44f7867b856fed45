//! The HTTP seam of OpenAI-compatible model clients: one place where a model request is
//! answered from its cassette or sent (with the crate's retry policy), and recorded as a
//! [`ModelCall`] either way.
//!
//! The `async-openai` integration plugs it under `async_openai::Client` as the client's
//! HTTP service, so a user's call sites stay as they are; any other client that builds a
//! `reqwest::Request` for an OpenAI-compatible endpoint can [`send`](ModelTransport::send)
//! it here and get the same spans, cost and cassettes.
//!
//! Requests to chat completions, completions and embeddings are model calls; anything
//! else (files, models, ...) goes through untouched: not recorded, not cached, not
//! retried.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode};
use opentelemetry::Context;
use serde_json::Value;

use super::call::{ModelCall, ModelCallBuilder, Operation};
use super::cassette::{
    Answer, CacheMode, CanonicalRequest, CassetteMiss, Cassettes, Event, Slot, credentials,
};
use super::openai::{self, StreamFold};
use super::scope::ModelScope;
use crate::retry::{AttemptError, RetryPolicy, retry};
use crate::{Environment, Result, Warning, WarningHandler};

/// `gen_ai.provider.name` when the builder names none.
pub const DEFAULT_PROVIDER: &str = "openai";

/// Why a model request got no answer at all (an answer with an error status is an answer:
/// it goes back to the client, which reports it its own way).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// `HH_LLM_CACHE=replay` and the call has no cassette.
    #[error(transparent)]
    Miss(#[from] CassetteMiss),
    /// The server could not be reached, or its answer broke off, after every retry.
    #[error("the model server did not answer {what} after {attempts} attempt(s): {reason}")]
    Unreachable {
        /// The request, `POST /v1/chat/completions`.
        what: String,
        /// Attempts made.
        attempts: usize,
        /// The last failure.
        reason: String,
    },
}

/// The seam; see the [module docs](self). Cheap to clone (clones share the HTTP client
/// and the cassettes).
///
/// ```no_run
/// use honeyhive::model::{CacheMode, ModelTransport};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = ModelTransport::builder().cache(CacheMode::Auto).build()?;
/// let request = reqwest::Client::new()
///     .post("http://127.0.0.1:8080/v1/chat/completions")
///     .json(&serde_json::json!({"model": "gpt-4o-mini",
///         "messages": [{"role": "user", "content": "Hello"}]}))
///     .build()?;
/// let answer: serde_json::Value = transport.send(request).await?.json().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ModelTransport {
    inner: Arc<TransportParts>,
}

/// What clones of a [`ModelTransport`] share.
struct TransportParts {
    http: reqwest::Client,
    cassettes: Cassettes,
    retry: RetryPolicy,
    provider: String,
    warnings: WarningHandler,
    redaction: crate::Redaction,
}

/// Builds a [`ModelTransport`]; unset values come from the environment, then defaults.
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct ModelTransportBuilder {
    http: Option<reqwest::Client>,
    cassettes: Option<Cassettes>,
    mode: Option<CacheMode>,
    dir: Option<std::path::PathBuf>,
    retry: Option<RetryPolicy>,
    provider: Option<String>,
    warnings: Option<WarningHandler>,
    environment: Option<Environment>,
    redaction: Option<crate::Redaction>,
}

impl ModelTransportBuilder {
    /// The HTTP client requests are sent with (default: a new `reqwest::Client`).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How calls use cassettes, instead of `HH_LLM_CACHE`.
    pub fn cache(mut self, mode: CacheMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Where cassettes are, instead of `HH_LLM_CACHE_DIR` (default `tests/cassettes`).
    pub fn cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Cassettes to share with other transports (their index and counters), instead of
    /// the mode and directory above.
    pub fn cassettes(mut self, cassettes: Cassettes) -> Self {
        self.cassettes = Some(cassettes);
        self
    }

    /// Retries of 429, 5xx and connection failures (default: the crate's
    /// [`RetryPolicy::default`], which honours `Retry-After`).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// `gen_ai.provider.name` of the calls (default `openai`; e.g. `azure.ai.openai`,
    /// or the provider behind an OpenAI-compatible proxy).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// The redaction rules applied to cassettes (default: the default rules, which catch
    /// strings that look like API keys and bearer tokens); pass a configuration's,
    /// [`Config::redaction`](crate::Config::redaction), to apply its rules too.
    pub fn redaction(mut self, redaction: crate::Redaction) -> Self {
        self.redaction = Some(redaction);
        self
    }

    /// Where warnings go (a cassette that could not be written); default stderr.
    pub fn on_warning(mut self, handler: WarningHandler) -> Self {
        self.warnings = Some(handler);
        self
    }

    /// Where `HH_LLM_CACHE` and `HH_LLM_CACHE_DIR` are read (default: the process
    /// environment).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The transport.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for an `HH_LLM_CACHE` that is not a mode.
    pub fn build(self) -> Result<ModelTransport> {
        let env = self.environment.unwrap_or_else(Environment::process);
        let cassettes = match self.cassettes {
            Some(cassettes) => cassettes,
            None => {
                let mode = match self.mode {
                    Some(mode) => mode,
                    None => CacheMode::from_env(&env)?,
                };
                let dir = self
                    .dir
                    .or_else(|| env.get("HH_LLM_CACHE_DIR").map(Into::into))
                    .unwrap_or_else(|| super::cassette::DEFAULT_DIR.into());
                Cassettes::new(mode, dir)
            }
        };
        Ok(ModelTransport {
            inner: Arc::new(TransportParts {
                http: self.http.unwrap_or_default(),
                cassettes,
                retry: self.retry.unwrap_or_default(),
                provider: self.provider.unwrap_or_else(|| DEFAULT_PROVIDER.to_owned()),
                warnings: self.warnings.unwrap_or_default(),
                redaction: self.redaction.unwrap_or_default(),
            }),
        })
    }
}

impl ModelTransport {
    /// A builder.
    pub fn builder() -> ModelTransportBuilder {
        ModelTransportBuilder::default()
    }

    /// A transport configured by the environment alone.
    ///
    /// # Errors
    /// As [`ModelTransportBuilder::build`].
    pub fn from_env() -> Result<ModelTransport> {
        ModelTransport::builder().build()
    }

    /// The cassettes calls use.
    pub fn cassettes(&self) -> &Cassettes {
        &self.inner.cassettes
    }

    /// Sends `request`, or answers it from its cassette, recording it as a model call
    /// under the current context. An answer with an error status comes back as it is
    /// (after the retries it deserved).
    ///
    /// # Errors
    /// [`TransportError::Miss`] in replay mode without a cassette;
    /// [`TransportError::Unreachable`] when no answer came.
    pub async fn send(
        &self,
        request: reqwest::Request,
    ) -> std::result::Result<reqwest::Response, TransportError> {
        let operation = openai::operation_of(request.url().path());
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
            .filter(Value::is_object);
        let (Some(operation), Some(body)) = (operation, body) else {
            let what = describe_request(&request);
            return self.inner.http.execute(request).await.map_err(|e| {
                TransportError::Unreachable {
                    what,
                    attempts: 1,
                    reason: crate::retry::error_chain(&e),
                }
            });
        };
        let url = request.url().clone();
        let describe = || {
            let call = openai::describe(operation.clone(), &self.inner.provider, &body);
            match (url.host_str(), url.port_or_known_default()) {
                (Some(host), Some(port)) => call.server(host, port),
                _ => call,
            }
        };
        let cassettes = &self.inner.cassettes;
        let cached = (cassettes.mode() != CacheMode::Off).then(|| {
            // Keyed by the request as its cassette records it: redacted.
            let mut body = body.clone();
            self.inner.redaction.redact_json("request", &mut body);
            let canonical =
                CanonicalRequest::new(request.method().as_str(), request.url().path(), body);
            let slot = Context::map_current(|cx| {
                cassettes.slot(&canonical, ModelScope::of(cx).map(|s| &**s))
            });
            (canonical, slot)
        });
        if let Some((canonical, slot)) = &cached {
            match cassettes.lookup(canonical, *slot) {
                Ok(Some(found)) => return Ok(replay(describe(), &operation, &found.answer)),
                Ok(None) => {}
                Err(miss) => {
                    describe().start().fail("cassette_miss", &miss.to_string());
                    return Err(TransportError::Miss(miss));
                }
            }
        }
        let record = cached.map(|(canonical, slot)| Record {
            cassettes: cassettes.clone(),
            canonical,
            slot,
            credentials: credentials(request.headers()),
            warnings: self.inner.warnings.clone(),
            redaction: self.inner.redaction.clone(),
        });
        let what = describe_request(&request);
        let mut call = describe().start();
        let response = match self.execute(request).await {
            Ok(response) => response,
            Err((reason, attempts)) => {
                call.fail("transport", &reason);
                return Err(TransportError::Unreachable {
                    what,
                    attempts,
                    reason,
                });
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() && is_event_stream(&headers) {
            let stream = ObservedEvents {
                events: Box::pin(eventsource_stream::EventStream::new(
                    response.bytes_stream(),
                )),
                call: Some(call),
                fold: StreamFold::default(),
                record: record.map(|r| (r, Vec::new())),
                status: status.as_u16(),
            };
            return Ok(rebuild(
                status,
                &headers,
                reqwest::Body::wrap_stream(stream),
            ));
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                let reason = crate::retry::error_chain(&e);
                call.fail("transport", &reason);
                return Err(TransportError::Unreachable {
                    what,
                    attempts: 1,
                    reason,
                });
            }
        };
        if !status.is_success() {
            call.fail(
                status.as_str(),
                &openai::error_message(status.as_u16(), &bytes),
            );
            // A request the server refuses (400, 422, ...) is refused again: recorded, so a
            // client that goes on differently after a refusal (a judge asking for another
            // answer form) replays the same way. Transient answers (408, 429, 5xx) are not.
            if let Some(record) = record.filter(|_| is_refusal(status)) {
                record.write(Answer {
                    status: status.as_u16(),
                    content_type: content_type(&headers),
                    body: serde_json::from_slice::<Value>(&bytes).ok(),
                    text: serde_json::from_slice::<Value>(&bytes)
                        .is_err()
                        .then(|| String::from_utf8_lossy(&bytes).into_owned()),
                    events: None,
                });
            }
            return Ok(rebuild(status, &headers, bytes));
        }
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        if let Some(json) = &json {
            openai::observe_answer(&mut call, &operation, json);
        }
        call.end();
        if let Some(record) = record {
            let answer = Answer {
                status: status.as_u16(),
                content_type: content_type(&headers),
                text: json
                    .is_none()
                    .then(|| String::from_utf8_lossy(&bytes).into_owned()),
                body: json,
                events: None,
            };
            record.write(answer);
        }
        Ok(rebuild(status, &headers, bytes))
    }

    /// Sends `request` under the retry policy. A last failure that was an answer (429,
    /// 5xx) is returned as that answer; one that was not, as its reason and the attempts.
    async fn execute(
        &self,
        request: reqwest::Request,
    ) -> std::result::Result<reqwest::Response, (String, usize)> {
        let failed: Mutex<Option<(StatusCode, HeaderMap, Bytes)>> = Mutex::new(None);
        let http = &self.inner.http;
        let result = retry(&self.inner.retry, || {
            let attempt = request.try_clone();
            let failed = &failed;
            async move {
                *failed.lock().unwrap_or_else(|p| p.into_inner()) = None;
                let Some(attempt) = attempt else {
                    return Err(AttemptError {
                        reason: "the request body is a stream, which cannot be sent again"
                            .to_owned(),
                        retryable: false,
                        retry_after: None,
                        answered: false,
                    });
                };
                let response = http
                    .execute(attempt)
                    .await
                    .map_err(AttemptError::from_reqwest)?;
                let status = response.status();
                if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                    return Ok(response);
                }
                let headers = response.headers().clone();
                let bytes = response.bytes().await.map_err(AttemptError::from_reqwest)?;
                let error =
                    AttemptError::from_status(status, &headers, &String::from_utf8_lossy(&bytes));
                *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some((status, headers, bytes));
                Err(error)
            }
        })
        .await;
        match result {
            Ok(response) => Ok(response),
            Err((error, attempts)) => {
                match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
                    Some((status, headers, bytes)) => Ok(rebuild(status, &headers, bytes)),
                    None => Err((error.reason, attempts)),
                }
            }
        }
    }
}

impl std::fmt::Debug for ModelTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelTransport")
            .field("cassettes", &self.inner.cassettes)
            .field("provider", &self.inner.provider)
            .finish_non_exhaustive()
    }
}

/// Whether `status` refuses the request itself (a client error that is not about timing
/// or rate): the same request gets it again.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
}

fn describe_request(request: &reqwest::Request) -> String {
    format!("{} {}", request.method(), request.url().path())
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned()
}

/// A response for the client with `status`, `headers` (minus the framing ones, which the
/// new body sets itself) and `body`.
fn rebuild(
    status: StatusCode,
    headers: &HeaderMap,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = status;
    let kept = response.headers_mut();
    for (name, value) in headers {
        if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
            kept.append(name, value.clone());
        }
    }
    reqwest::Response::from(response)
}

/// A call answered from its cassette: recorded as a model call marked cached, answered
/// with what was recorded (a stream as the same server-sent events).
fn replay(call: ModelCallBuilder, operation: &Operation, answer: &Answer) -> reqwest::Response {
    let mut call = call.cached(true).start();
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&answer.content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    let body = if let Some(events) = &answer.events {
        let mut fold = StreamFold::default();
        let mut text = String::new();
        for event in events {
            event.encode(&mut text);
            if event.data.is_object() {
                fold.chunk(&mut call, &event.data);
            }
        }
        fold.finish(&mut call);
        text
    } else if let Some(body) = &answer.body {
        if status.is_success() {
            openai::observe_answer(&mut call, operation, body);
        }
        body.to_string()
    } else {
        answer.text.clone().unwrap_or_default()
    };
    if status.is_success() {
        call.end();
    } else {
        call.fail(
            status.as_str(),
            &openai::error_message(status.as_u16(), body.as_bytes()),
        );
    }
    rebuild(status, &headers, body)
}

/// What is needed to write a call's cassette once its answer is whole.
struct Record {
    cassettes: Cassettes,
    canonical: CanonicalRequest,
    slot: Slot,
    /// What the request authenticated with: redacted wherever it appears in the cassette.
    credentials: Vec<crate::ApiKey>,
    warnings: WarningHandler,
    redaction: crate::Redaction,
}

impl Record {
    fn write(self, mut answer: Answer) {
        answer.redact(&self.redaction);
        if let Err((path, reason)) =
            self.cassettes
                .record(&self.canonical, self.slot, answer, &self.credentials)
        {
            self.warnings.emit(Warning::CassetteNotWritten {
                path: path.display().to_string(),
                reason,
            });
        }
    }
}

type Events = Pin<
    Box<
        dyn Stream<
                Item = std::result::Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// A streamed answer on its way to the client: each server-sent event is folded into the
/// call (and kept for the cassette) as it passes. The call ends when the stream does
/// (`[DONE]`, or the end of the body), fails when it fails, and is cancelled when the
/// client drops the stream first.
struct ObservedEvents {
    events: Events,
    /// Taken when the call ends.
    call: Option<ModelCall>,
    fold: StreamFold,
    record: Option<(Record, Vec<Event>)>,
    status: u16,
}

impl ObservedEvents {
    fn finish(&mut self) {
        if let Some(mut call) = self.call.take() {
            std::mem::take(&mut self.fold).finish(&mut call);
            call.end();
        }
        if let Some((record, events)) = self.record.take() {
            record.write(Answer {
                status: self.status,
                content_type: "text/event-stream".to_owned(),
                body: None,
                text: None,
                events: Some(events),
            });
        }
    }
}

impl Stream for ObservedEvents {
    type Item = std::result::Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.events.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(event))) => {
                let kept = Event::new(&event.event, &event.id, &event.data);
                if let Some(call) = this.call.as_mut()
                    && kept.data.is_object()
                {
                    this.fold.chunk(call, &kept.data);
                }
                let mut text = String::new();
                kept.encode(&mut text);
                if let Some((_, events)) = this.record.as_mut() {
                    events.push(kept);
                }
                // The client stops reading at `[DONE]` (the stream may never be polled
                // to its end): the answer is whole here.
                if event.data == "[DONE]" {
                    this.finish();
                }
                Poll::Ready(Some(Ok(Bytes::from(text))))
            }
            Poll::Ready(Some(Err(e))) => {
                let reason = e.to_string();
                this.record = None;
                if let Some(call) = this.call.take() {
                    call.fail(
                        "stream",
                        &format!("the streamed answer broke off: {reason}"),
                    );
                }
                Poll::Ready(Some(Err(std::io::Error::other(reason))))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
        }
    }
}
