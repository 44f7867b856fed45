//! An in-process, OpenAI-compatible model server for tests: no key, no network beyond
//! `127.0.0.1`, reproducible answers.
//!
//! [`OpenAiTestServer`] speaks the parts of the OpenAI REST API that model calls use
//! (`POST /v1/chat/completions`, streamed as server-sent events when the request says
//! `"stream": true`, with the final usage chunk when it asks for
//! `stream_options.include_usage`; `POST /v1/embeddings`; `GET /v1/models`), records every
//! request, and injects the failures clients must survive ([`Fault`]: 429 with
//! `Retry-After`, 5xx, delays, dropped connections, streams broken off midway).
//!
//! Answers are computed from the request: the reply text is the last user message echoed
//! back, or whatever [`reply`](OpenAiTestServerBuilder::reply) computes, or the [`Reply`]
//! (text, a tool call, a structured value in the form the request asks for, an error) that
//! [`respond`](OpenAiTestServerBuilder::respond) computes or
//! [`script`](OpenAiTestServer::script) queued; token counts are the words of the messages
//! and of the reply, so tests can assert usage and cost exactly. A server can lack
//! capabilities ([`reject_json_schema`](OpenAiTestServerBuilder::reject_json_schema),
//! [`reject_tools`](OpenAiTestServerBuilder::reject_tools)) and bound how many model
//! requests it serves at once ([`max_concurrency`](OpenAiTestServerBuilder::max_concurrency)).
//! It runs on its own thread with its own runtime (as [`TestServer`](super::TestServer)
//! does), listens on `127.0.0.1` only, and stops when dropped.
//!
//! ```no_run
//! use std::time::Duration;
//! use honeyhive::testing::Fault;
//! use honeyhive::testing::openai::{OpenAiRoute, OpenAiTestServer};
//!
//! let server = OpenAiTestServer::builder()
//!     .api_key("test-key")
//!     .reply(|_request| "Paris is the capital of France.".to_owned())
//!     .start();
//! // The first call is rate limited, the retry succeeds.
//! server.inject(OpenAiRoute::ChatCompletions, Fault::status(429).retry_after("0"));
//! // ... run the code under test with OPENAI_BASE_URL=server.url() ...
//! let calls = server.wait_for_requests(OpenAiRoute::ChatCompletions, 2, Duration::from_secs(5));
//! assert_eq!(calls[1].response_status, 200);
//! ```

mod reply;
mod scripted;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::Value;

use self::reply::{ChatRequest, Refusal, error_body};
pub use self::scripted::Reply;
use super::Fault;
use super::fault::{FaultKind, FaultRoute, Faults};
use super::record::{RecordedBody, RecordedRequest};
use super::server_thread::{HandlerError, ServerThread, wait_until};
use crate::ApiKey;

type Body = BoxBody<Bytes, HandlerError>;
type RespondFn = dyn Fn(&Value) -> Reply + Send + Sync;

/// The group of endpoints a [`Fault`] applies to on the [`OpenAiTestServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenAiRoute {
    /// `POST /v1/chat/completions`, streamed or not.
    ChatCompletions,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `GET /v1/models`.
    Models,
    /// Every request, including paths the server has no route for.
    Any,
}

impl FaultRoute for OpenAiRoute {
    const ANY: Self = OpenAiRoute::Any;
}

impl OpenAiRoute {
    /// The route of `path`: with or without the `/v1` prefix, as clients configured with
    /// either base URL send it.
    fn of(path: &str) -> Option<OpenAiRoute> {
        let path = path.strip_prefix("/v1").unwrap_or(path);
        match path {
            "/chat/completions" => Some(OpenAiRoute::ChatCompletions),
            "/embeddings" => Some(OpenAiRoute::Embeddings),
            "/models" => Some(OpenAiRoute::Models),
            _ => None,
        }
    }

    fn method(self) -> Method {
        match self {
            OpenAiRoute::Models => Method::GET,
            _ => Method::POST,
        }
    }
}

/// Configures an [`OpenAiTestServer`] before starting it.
#[derive(Default)]
#[must_use = "a builder does nothing until .start()"]
pub struct OpenAiTestServerBuilder {
    api_key: Option<ApiKey>,
    respond: Option<Arc<RespondFn>>,
    latency: Duration,
    event_interval: Duration,
    reject_json_schema: bool,
    reject_tools: bool,
    max_concurrency: Option<usize>,
}

impl OpenAiTestServerBuilder {
    /// Require `Authorization: Bearer <key>`; other requests get OpenAI's 401 (and are still
    /// recorded).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The reply text of every chat completion, computed from the request body (the JSON
    /// the client sent). Default: the content of the last `user` message.
    pub fn reply(self, reply: impl Fn(&Value) -> String + Send + Sync + 'static) -> Self {
        self.respond(move |request| Reply::Text(reply(request)))
    }

    /// The [`Reply`] to every chat completion, computed from the request body: text, a
    /// tool call, a structured value in the form the request asks for, or an error (replies
    /// queued with [`OpenAiTestServer::script`] come first).
    pub fn respond(mut self, respond: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Self {
        self.respond = Some(Arc::new(respond));
        self
    }

    /// Refuse chat completions that ask for a `response_format` of type `json_schema` with
    /// 400, as servers without structured outputs do.
    pub fn reject_json_schema(mut self) -> Self {
        self.reject_json_schema = true;
        self
    }

    /// Refuse chat completions that carry `tools` or `tool_choice` with 400, as servers
    /// without function calling do.
    pub fn reject_tools(mut self) -> Self {
        self.reject_tools = true;
        self
    }

    /// Serve at most `n` chat completion or embeddings requests at once: the others wait
    /// for a free slot (as a provider's concurrency limit queues them). Default: no limit.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "max_concurrency: the server must serve at least one request"
        );
        self.max_concurrency = Some(n);
        self
    }

    /// Time the model "thinks" before it answers each chat completion or embeddings
    /// request (default none): for tests of latency statistics and timeouts.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Time between two events of a streamed answer (default none): for tests of time to
    /// first token and of streams dropped midway.
    pub fn event_interval(mut self, interval: Duration) -> Self {
        self.event_interval = interval;
        self
    }

    /// Binds `127.0.0.1` on a free port and starts serving on a dedicated thread.
    ///
    /// # Panics
    /// If the port cannot be bound or the thread or runtime cannot be started.
    pub fn start(self) -> OpenAiTestServer {
        let shared = Arc::new(Shared {
            slots: self.max_concurrency.map(tokio::sync::Semaphore::new),
            config: self,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let handler_state = Arc::clone(&shared);
        let server = ServerThread::start("honeyhive-openai-test-server", move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        OpenAiTestServer { shared, server }
    }
}

impl fmt::Debug for OpenAiTestServerBuilder {
    // Hand-written so the key never ends up in test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiTestServerBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("latency", &self.latency)
            .field("event_interval", &self.event_interval)
            .field("reject_json_schema", &self.reject_json_schema)
            .field("reject_tools", &self.reject_tools)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

/// A running OpenAI-compatible test server; see the [module docs](self).
///
/// All methods take `&self`; a server can be shared between threads.
pub struct OpenAiTestServer {
    shared: Arc<Shared>,
    server: ServerThread,
}

impl OpenAiTestServer {
    /// Starts a server that accepts every request without authentication and echoes the
    /// last user message.
    pub fn start() -> OpenAiTestServer {
        OpenAiTestServer::builder().start()
    }

    /// Configures a server before starting it.
    pub fn builder() -> OpenAiTestServerBuilder {
        OpenAiTestServerBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:<port>/v1`, to use as `OPENAI_BASE_URL` (the
    /// server also answers without the `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Queues `fault` for the next requests on `route`, oldest first (as
    /// [`TestServer::inject`](super::TestServer::inject)).
    pub fn inject(&self, route: OpenAiRoute, fault: Fault) {
        self.shared.lock().faults.push(route, fault);
    }

    /// Queues `replies` for the next chat completions, in order, before the
    /// [`respond`](OpenAiTestServerBuilder::respond) function (or the echo) answers again.
    /// A request refused by a fault or a missing capability does not take one.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().script.extend(replies);
    }

    /// The most chat completion and embeddings requests that were in the server at once
    /// (waiting for a slot of [`max_concurrency`](OpenAiTestServerBuilder::max_concurrency)
    /// included).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::Relaxed)
    }

    /// Every request read so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Every request on `route`, in arrival order.
    pub fn requests_on(&self, route: OpenAiRoute) -> Vec<RecordedRequest> {
        self.shared.lock().on(route).cloned().collect()
    }

    /// Forgets the recorded requests (pending faults stay).
    pub fn clear(&self) {
        self.shared.lock().log.clear();
    }

    /// Blocks until at least `n` requests on `route` were answered (whatever their
    /// status), then returns every request on it.
    ///
    /// # Panics
    /// After `timeout`, saying how many arrived.
    pub fn wait_for_requests(
        &self,
        route: OpenAiRoute,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        let shared = &self.shared;
        wait_until(
            "OpenAiTestServer",
            &shared.state,
            &shared.changed,
            timeout,
            |state| {
                let requests: Vec<RecordedRequest> = state.on(route).cloned().collect();
                if requests.len() >= n {
                    return Ok(requests);
                }
                let all: Vec<String> = state
                    .log
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                Err(format!(
                    "expected at least {n} request(s) on {route:?}, but {} arrived; all \
                     requests so far: {all:?}",
                    requests.len()
                ))
            },
        )
    }
}

impl fmt::Debug for OpenAiTestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiTestServer")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// What the builder set, as it set it.
    config: OpenAiTestServerBuilder,
    /// One permit per model request served at once, with a concurrency limit.
    slots: Option<tokio::sync::Semaphore>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    /// Poisoning is ignored: every critical section leaves the state consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn authorized(&self, headers: &http::HeaderMap) -> bool {
        let Some(key) = &self.config.api_key else {
            return true;
        };
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        bearer == Some(key.expose())
    }

    fn reply_to(&self, request: &ChatRequest<'_>) -> Reply {
        if let Some(scripted) = self.lock().script.pop_front() {
            return scripted;
        }
        match &self.config.respond {
            Some(respond) => respond(request.body),
            None => Reply::Text(request.last_user_message()),
        }
    }
}

/// Counts a model request in the server from its creation to its drop.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> InFlight<'a> {
        let now = shared.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct State {
    log: Vec<RecordedRequest>,
    faults: Faults<OpenAiRoute>,
    script: VecDeque<Reply>,
}

impl State {
    fn on(&self, route: OpenAiRoute) -> impl Iterator<Item = &RecordedRequest> {
        self.log
            .iter()
            .filter(move |r| route == OpenAiRoute::Any || OpenAiRoute::of(&r.path) == Some(route))
    }
}

/// What the server sends back.
enum Answer {
    Json(u16, Value),
    /// Server-sent events, each a JSON `data:` line, then `[DONE]` unless the stream is
    /// broken off after `break_after` events.
    Events {
        events: Vec<Value>,
        break_after: Option<usize>,
    },
    /// No answer: the connection closes.
    Drop,
}

async fn handle(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Body>, HandlerError> {
    let (parts, body) = request.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let route = OpenAiRoute::of(parts.uri.path());
    let fault = shared.lock().faults.take(route);
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    if let Some(FaultKind::Delay(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    let answer = match (&fault, route) {
        (Some(FaultKind::DropConnection), _) => Answer::Drop,
        (Some(FaultKind::Status { code, .. }), _) => Answer::Json(*code, fault_body(*code)),
        _ if !shared.authorized(&parts.headers) => Answer::Json(
            401,
            error_body(
                "Incorrect API key provided: the test server expects its own key",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
        ),
        (_, None) => Answer::Json(
            404,
            error_body(
                &format!(
                    "the OpenAI test server has no route for {} {}",
                    parts.method,
                    parts.uri.path()
                ),
                "invalid_request_error",
                None,
            ),
        ),
        (_, Some(route)) if parts.method != route.method() => Answer::Json(
            405,
            error_body(
                &format!(
                    "{} is not allowed here; use {}",
                    parts.method,
                    route.method()
                ),
                "invalid_request_error",
                None,
            ),
        ),
        (_, Some(OpenAiRoute::Models)) => Answer::Json(200, reply::models()),
        (_, Some(route)) => {
            let _counted = InFlight::enter(&shared);
            let _slot = match &shared.slots {
                Some(slots) => Some(slots.acquire().await?),
                None => None,
            };
            if !shared.config.latency.is_zero() {
                tokio::time::sleep(shared.config.latency).await;
            }
            let break_after = match fault {
                Some(FaultKind::BreakStream { after_events }) => Some(after_events),
                _ => None,
            };
            answer(&shared, route, json.as_ref(), break_after)
        }
    };
    let status = match &answer {
        Answer::Json(status, _) => *status,
        Answer::Events { .. } => 200,
        Answer::Drop => 0,
    };
    let recorded = RecordedRequest {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        method: parts.method,
        headers: parts.headers,
        body: match json {
            Some(value) => RecordedBody::Json(value),
            None if bytes.is_empty() => RecordedBody::Empty,
            None => RecordedBody::Raw(bytes),
        },
        response_status: status,
        fault: fault.clone(),
    };
    shared.lock().log.push(recorded);
    shared.changed.notify_all();
    let retry_after = match &fault {
        Some(FaultKind::Status { retry_after, .. }) => retry_after.clone(),
        _ => None,
    };
    match answer {
        Answer::Drop => Err("injected fault: connection dropped".into()),
        Answer::Json(status, body) => {
            let mut response = json_response(status, &body);
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            Ok(response)
        }
        Answer::Events {
            events,
            break_after,
        } => Ok(event_stream(
            events,
            break_after,
            shared.config.event_interval,
        )),
    }
}

/// The answer of a model request on `route` (chat completions or embeddings).
fn answer(
    shared: &Shared,
    route: OpenAiRoute,
    body: Option<&Value>,
    break_after: Option<usize>,
) -> Answer {
    let Some(body) = body else {
        let refusal = Refusal::invalid("the body must be a JSON object");
        return Answer::Json(refusal.status, refusal.body);
    };
    let result = match route {
        OpenAiRoute::ChatCompletions => ChatRequest::parse(body).and_then(|request| {
            if let Some(refusal) = scripted::unsupported(
                body,
                shared.config.reject_json_schema,
                shared.config.reject_tools,
            ) {
                return Err(refusal);
            }
            let (text, tool_call) = scripted::message(shared.reply_to(&request), body)?;
            Ok(match (tool_call, request.stream) {
                (Some((name, arguments)), false) => Answer::Json(
                    200,
                    reply::tool_call_completion(&request, &name, &arguments),
                ),
                // A streamed tool call is not something tests need: its arguments stream
                // as text.
                (Some((_, arguments)), true) => Answer::Events {
                    events: reply::chat_chunks(&request, &arguments),
                    break_after,
                },
                (None, true) => Answer::Events {
                    events: reply::chat_chunks(&request, &text.unwrap_or_default()),
                    break_after,
                },
                (None, false) => Answer::Json(
                    200,
                    reply::chat_completion(&request, &text.unwrap_or_default()),
                ),
            })
        }),
        _ => reply::embeddings(body).map(|value| Answer::Json(200, value)),
    };
    result.unwrap_or_else(|refusal| Answer::Json(refusal.status, refusal.body))
}

/// The error body of an injected status, as OpenAI words them.
fn fault_body(code: u16) -> Value {
    let message = format!("injected fault: status {code}");
    match code {
        429 => error_body(&message, "requests", Some("rate_limit_exceeded")),
        500.. => error_body(&message, "server_error", None),
        _ => error_body(&message, "invalid_request_error", None),
    }
}

fn json_response(status: u16, body: &Value) -> hyper::Response<Body> {
    let body = Full::new(Bytes::from(body.to_string()))
        .map_err(|never: Infallible| match never {})
        .boxed();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `events` as server-sent events `interval` apart, then `data: [DONE]`; broken off (the
/// body fails, so the connection closes mid-body) after `break_after` events.
fn event_stream(
    events: Vec<Value>,
    break_after: Option<usize>,
    interval: Duration,
) -> hyper::Response<Body> {
    let total = events.len();
    let cut = break_after.unwrap_or(usize::MAX);
    let frames = events
        .into_iter()
        .map(|event| format!("data: {event}\n\n"))
        .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
        .enumerate();
    let body = futures_util::stream::iter(frames).then(move |(i, text)| async move {
        if i > 0 && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        if i >= cut && i <= total {
            return Err::<Frame<Bytes>, HandlerError>(
                "injected fault: the stream broke off".into(),
            );
        }
        Ok(Frame::data(Bytes::from(text)))
    });
    let mut response = hyper::Response::new(BodyExt::boxed(StreamBody::new(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}

#[cfg(test)]
mod tests;
