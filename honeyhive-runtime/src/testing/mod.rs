//! An in-process, HoneyHive-compatible HTTP server for integration tests.
//!
//! [`TestServer`] listens on `127.0.0.1` on a free port and speaks the subset of the
//! HoneyHive API the toolkit uses (`docs/honeyhive-api.md`): session start, event updates,
//! OTLP trace export (protobuf and JSON, at HoneyHive's path and at the standard
//! `/v1/traces` of any OpenTelemetry collector), runs (with their results and comparisons,
//! computed from the sessions and metrics it received) and hosted datasets. It records
//! every request it receives, decodes exported spans into [`RecordedSpan`]s, and can inject
//! faults ([`Fault`]) so retry and fallback paths are tested over real HTTP.
//!
//! The server runs on its own thread with its own Tokio runtime, so it behaves the same in plain
//! `#[test]`s, current-thread `#[tokio::test]`s and multi-thread runtimes, and never depends on
//! the test's runtime making progress. Dropping the [`TestServer`] stops it.
//!
//! Endpoints it does not implement (such as `/v1/metrics`) answer 404 with a JSON body naming
//! the path, so a test never passes against an invented response.
//!
//! ```no_run
//! use std::time::Duration;
//! use honeyhive::testing::{Fault, Route, TestServer};
//!
//! let server = TestServer::builder().api_key("test-key").start();
//! // The first two exports fail, so the exporter's retries are exercised.
//! server.inject(Route::Traces, Fault::status(503).retry_after("1").times(2));
//! // ... run the code under test with HH_API_URL=server.url() and HH_API_KEY=test-key ...
//! let spans = server.wait_for_spans(3, Duration::from_secs(5));
//! assert_eq!(spans[0].str_attr("honeyhive.project"), Some("my-project"));
//! assert_eq!(server.requests_to("/opentelemetry/v1/traces").len(), 3);
//! ```

mod backend;
mod fault;
pub mod openai;
mod record;
mod results;
mod server_thread;
#[cfg(test)]
mod tests;

/// A connected configuration for `url` whose retries take milliseconds (unit tests of the
/// REST clients).
#[cfg(test)]
pub(crate) fn fast_retry_config(url: &str) -> crate::Config {
    crate::Config::builder()
        .environment(crate::Environment::empty())
        .api_key("k")
        .project("p")
        .base_url(url)
        .export_settings(crate::ExportSettings {
            retry: crate::RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5)),
            ..crate::ExportSettings::default()
        })
        .build()
        .unwrap()
}

pub use self::fault::{Fault, FaultKind, Route};
pub use self::record::{
    AttrValue, OtlpDecodeError, OtlpEncoding, RecordedBody, RecordedEvent, RecordedRequest,
    RecordedSpan, RecordedStatus, SpanKind, StatusCode, decode_spans,
};

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::header::AUTHORIZATION;

use crate::ApiKey;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use self::backend::{
    Backend, Call, EVENTS_PATH, Endpoint, HttpResponse, SESSION_START_PATH, is_traces_path,
};
use self::fault::Faults;
use self::server_thread::{HandlerError, ServerThread, wait_until};

/// A running HoneyHive-compatible test server; see the [module docs](self).
///
/// All methods take `&self`, so a server can be shared between threads (`TestServer` is `Send`
/// and `Sync`).
pub struct TestServer {
    shared: Arc<Shared>,
    server: ServerThread,
}

/// Configures a [`TestServer`] before starting it.
/// Its `Debug` shows no key (they are held as [`ApiKey`]).
#[derive(Debug, Default)]
pub struct TestServerBuilder {
    api_key: Option<ApiKey>,
    ingestion_key: Option<ApiKey>,
    assign_session_ids: bool,
}

impl TestServerBuilder {
    /// Require `Authorization: Bearer <key>` on every request; others get 401 (and are still
    /// recorded). This is the project key: it authorises every endpoint.
    pub fn api_key(mut self, key: impl Into<String>) -> TestServerBuilder {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Accept `Authorization: Bearer <key>` as an ingestion key, as HoneyHive does: on
    /// `POST /session/start`, `PUT /events` and the OTLP export only. Runs and datasets
    /// answer it with 403, saying the call needs the project key.
    pub fn ingestion_key(mut self, key: impl Into<String>) -> TestServerBuilder {
        self.ingestion_key = Some(ApiKey::new(key));
        self
    }

    /// Answer `POST /session/start` with a new id of the server's own instead of echoing the
    /// client's, to test that clients adopt the backend's id.
    pub fn assign_session_ids(mut self) -> TestServerBuilder {
        self.assign_session_ids = true;
        self
    }

    /// Binds `127.0.0.1` on a free port and starts serving on a dedicated thread.
    ///
    /// # Panics
    /// If the port cannot be bound or the thread or runtime cannot be started.
    pub fn start(self) -> TestServer {
        let shared = Arc::new(Shared {
            api_key: self.api_key,
            ingestion_key: self.ingestion_key,
            state: Mutex::new(State {
                backend: Backend::new(self.assign_session_ids),
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let handler_state = Arc::clone(&shared);
        let server = ServerThread::start("honeyhive-test-server", move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        TestServer { shared, server }
    }
}

impl TestServer {
    /// Starts a server that accepts every request without authentication.
    pub fn start() -> TestServer {
        TestServer::builder().start()
    }

    /// Configures a server before starting it, e.g. to require an API key.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:<port>`, to use as `HH_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every completed request, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests().cloned().collect()
    }

    /// Every completed request to `path` (without query string), in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared.lock().requests_to(path).cloned().collect()
    }

    /// Forgets the recorded requests (and with them spans, sessions and event updates); stored
    /// runs, the session starts and metrics their results are computed from, dataset fixtures
    /// and pending faults stay, as they would on a real backend.
    pub fn clear(&self) {
        self.shared.lock().log.clear();
    }

    /// Every span of every accepted (2xx) trace export (to HoneyHive's path or the standard
    /// `/v1/traces`), in arrival order.
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.shared.lock().spans()
    }

    /// The `session` objects of accepted `POST /session/start` requests, as sent.
    pub fn sessions(&self) -> Vec<Value> {
        self.shared
            .lock()
            .accepted_json(SESSION_START_PATH)
            .filter_map(|body| body.get("session").cloned())
            .collect()
    }

    /// The bodies of accepted `PUT /events` requests.
    pub fn event_updates(&self) -> Vec<Value> {
        self.shared
            .lock()
            .accepted_json(EVENTS_PATH)
            .cloned()
            .collect()
    }

    /// The stored runs, in creation order, with every update merged in.
    pub fn runs(&self) -> Vec<Value> {
        self.shared.lock().backend.runs()
    }

    /// Queues `fault` for the next requests on `route`. Faults are consumed in the order they
    /// were injected; a request takes the oldest pending fault whose route matches it.
    pub fn inject(&self, route: Route, fault: Fault) {
        self.shared.lock().faults.push(route, fault);
    }

    /// Takes the server down for `duration`, from now: every request is dropped unanswered
    /// and its connection closed (recorded with status 0 and [`FaultKind::DropConnection`],
    /// and not handled), as a backend that crashed behind its load balancer. Then it serves
    /// as before. Injected faults are not consumed meanwhile.
    pub fn outage(&self, duration: Duration) {
        self.shared.lock().outage_until = Some(Instant::now() + duration);
    }

    /// Whether an [`outage`](Self::outage) is under way.
    pub fn is_down(&self) -> bool {
        self.shared.lock().is_down()
    }

    /// Registers (or replaces) the dataset fixture served by `GET /v1/datasets?dataset_id=<id>`,
    /// with each datapoint (`{"id", "inputs", "ground_truth", "metadata"}`) served verbatim by
    /// `GET /v1/datapoints/{id}`.
    ///
    /// # Panics
    /// If a datapoint has no string `"id"`.
    pub fn add_dataset(
        &self,
        id: impl Into<String>,
        name: impl Into<String>,
        datapoints: Vec<Value>,
    ) {
        self.shared
            .lock()
            .backend
            .add_dataset(id.into(), name.into(), datapoints);
    }

    /// Blocks until at least `n` spans were accepted, then returns all of them.
    ///
    /// This blocks the calling thread: in a current-thread `#[tokio::test]`, make sure the
    /// exporter does not need that thread to deliver the spans (e.g. flush the provider first).
    ///
    /// # Panics
    /// After `timeout`, saying how many spans and trace exports arrived.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<RecordedSpan> {
        self.wait(timeout, |state| {
            let spans = state.spans();
            if spans.len() >= n {
                return Ok(spans);
            }
            let statuses: Vec<u16> = state.trace_exports().map(|r| r.response_status).collect();
            let arrived = spans.len();
            Err(format!(
                "expected at least {n} span(s), but {arrived} arrived; \
                 trace export statuses so far: {statuses:?}"
            ))
        })
    }

    /// Blocks until at least `n` requests to `path` completed (whatever their status), then
    /// returns all requests to `path`. Same blocking caveat as [`TestServer::wait_for_spans`].
    ///
    /// # Panics
    /// After `timeout`, saying how many arrived.
    pub fn wait_for_requests(
        &self,
        path: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        self.wait(timeout, |state| {
            let requests: Vec<RecordedRequest> = state.requests_to(path).cloned().collect();
            if requests.len() >= n {
                return Ok(requests);
            }
            let all: Vec<String> = state
                .requests()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            let arrived = requests.len();
            Err(format!(
                "expected at least {n} request(s) to {path}, but {arrived} arrived; \
                 all requests so far: {all:?}"
            ))
        })
    }

    /// Re-evaluates `check` after every recorded request until it succeeds; panics with its
    /// last complaint at the deadline.
    fn wait<T>(&self, timeout: Duration, check: impl FnMut(&State) -> Result<T, String>) -> T {
        let shared = &self.shared;
        wait_until("TestServer", &shared.state, &shared.changed, timeout, check)
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

/// State shared between the test and the server thread.
struct Shared {
    api_key: Option<ApiKey>,
    ingestion_key: Option<ApiKey>,
    state: Mutex<State>,
    /// Notified whenever a request is recorded.
    changed: Condvar,
}

impl Shared {
    /// Poisoning is ignored: every critical section leaves the state consistent, and a panicking
    /// test thread must not take the server down with it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the request's bearer token may call `route`; the refusal to answer if not.
    fn authorize(
        &self,
        headers: &http::HeaderMap,
        route: Option<Route>,
    ) -> Result<(), (http::StatusCode, &'static str)> {
        if self.api_key.is_none() && self.ingestion_key.is_none() {
            return Ok(());
        }
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ingestion_route = matches!(
            route,
            Some(Route::SessionStart | Route::Events | Route::Traces)
        );
        match bearer {
            Some(token) if Some(token) == self.api_key.as_ref().map(ApiKey::expose) => Ok(()),
            Some(token) if Some(token) == self.ingestion_key.as_ref().map(ApiKey::expose) => {
                match ingestion_route {
                    true => Ok(()),
                    false => Err((
                        http::StatusCode::FORBIDDEN,
                        "an ingestion key authorises session starts, event updates and span \
                         exports only: this call needs the project key",
                    )),
                }
            }
            _ => Err((
                http::StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token in the Authorization header",
            )),
        }
    }
}

#[derive(Default)]
struct State {
    /// Completed requests with their arrival number, ordered by it, so a delayed request is
    /// listed before later ones that completed first.
    log: Vec<(u64, RecordedRequest)>,
    /// Requests read so far.
    arrivals: u64,
    faults: Faults,
    backend: Backend,
    /// The end of the [`TestServer::outage`] under way, if one is.
    outage_until: Option<Instant>,
}

impl State {
    fn is_down(&self) -> bool {
        self.outage_until
            .is_some_and(|until| Instant::now() < until)
    }

    fn requests(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.log.iter().map(|(_, request)| request)
    }

    fn requests_to<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a RecordedRequest> {
        self.requests().filter(move |request| request.path == path)
    }

    fn accepted_json<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Value> {
        self.requests_to(path)
            .filter(|r| r.is_accepted())
            .filter_map(RecordedRequest::json)
    }

    fn trace_exports(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.requests()
            .filter(|request| is_traces_path(&request.path))
    }

    fn spans(&self) -> Vec<RecordedSpan> {
        self.trace_exports()
            .filter(|r| r.is_accepted())
            .flat_map(RecordedRequest::spans)
            .collect()
    }

    /// Numbers a fully read request and hands it its fault in one step, so the fault order and
    /// the arrival order agree.
    fn arrive(&mut self, route: Option<Route>, body_bytes: usize) -> (u64, Option<FaultKind>) {
        let seq = self.arrivals;
        self.arrivals += 1;
        if self.is_down() {
            return (seq, Some(FaultKind::DropConnection));
        }
        (seq, self.faults.take_sized(route, body_bytes))
    }

    fn record(&mut self, seq: u64, request: RecordedRequest) {
        let at = self.log.partition_point(|(s, _)| *s < seq);
        self.log.insert(at, (seq, request));
    }
}

/// Records and answers one request. Returning an error makes hyper close the connection
/// without writing a response, which is how [`FaultKind::DropConnection`] is implemented.
async fn handle(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<HttpResponse, HandlerError> {
    let (parts, body) = request.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let body_bytes = bytes.len();
    let path = parts.uri.path();
    let endpoint = Endpoint::parse(path);
    let (body, problem) =
        RecordedBody::decode(endpoint == Some(Endpoint::Traces), &parts.headers, bytes);

    let (seq, fault) = shared
        .lock()
        .arrive(endpoint.as_ref().map(Endpoint::route), body_bytes);
    if let Some(FaultKind::Delay(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    let refused = shared
        .authorize(&parts.headers, endpoint.as_ref().map(Endpoint::route))
        .err();
    let mut state = shared.lock();
    let response = match &fault {
        Some(FaultKind::DropConnection) => None,
        Some(FaultKind::Status { code, retry_after }) => {
            Some(fault::status_response(*code, retry_after.as_deref()))
        }
        Some(FaultKind::TooLarge { .. }) => Some(fault::status_response(413, None)),
        _ if refused.is_some() => refused.map(|(status, why)| backend::error_response(status, why)),
        _ => Some(state.backend.handle(&Call {
            method: &parts.method,
            path,
            endpoint: endpoint.as_ref(),
            query: parts.uri.query(),
            body: &body,
            problem: problem.as_deref(),
        })),
    };
    let recorded = RecordedRequest {
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        method: parts.method,
        headers: parts.headers,
        body,
        response_status: response.as_ref().map_or(0, |r| r.status().as_u16()),
        fault,
    };
    state.record(seq, recorded);
    drop(state);
    shared.changed.notify_all();
    response.ok_or_else(|| "injected fault: connection dropped".into())
}
