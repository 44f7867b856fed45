//! Fault injection: failures a test queues up so the client's retry and fallback paths run
//! against real HTTP instead of mocks.

use std::time::Duration;

use http::HeaderValue;
use http::header::RETRY_AFTER;

use super::backend::{HttpResponse, error_response};

/// The group of endpoints a [`Fault`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /session/start`.
    SessionStart,
    /// `PUT /events`.
    Events,
    /// `POST /opentelemetry/v1/traces`.
    Traces,
    /// `POST /v1/runs`, `PUT /v1/runs/{id}`, `GET /v1/runs/{id}/result` and
    /// `GET /v1/runs/{new}/compare-with/{old}`.
    Runs,
    /// `GET /v1/datasets` and `GET /v1/datapoints/{id}`.
    Datasets,
    /// Every request, including paths the server has no route for.
    Any,
}

/// What happened to a request because of an injected fault; kept on the
/// [`RecordedRequest`](super::RecordedRequest) so tests can tell faulted requests apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answered with this status (and `Retry-After` header, if set) instead of being handled.
    Status {
        /// The HTTP status code sent.
        code: u16,
        /// The `Retry-After` header value sent, if any.
        retry_after: Option<String>,
    },
    /// Handled normally, after this delay.
    Delay(Duration),
    /// The request was read, then the connection was closed without any response.
    DropConnection,
    /// A streamed answer (the OpenAI-compatible server's server-sent events) breaks off
    /// after this many events: the connection closes mid-body, as when a server crashes
    /// while streaming. Requests that are not streamed are answered normally.
    BreakStream {
        /// Events sent before the break.
        after_events: usize,
    },
    /// Answered `413 Payload Too Large`: the body was larger than `max_bytes`, as a
    /// backend with a request size limit answers. Only requests over the size are hit.
    TooLarge {
        /// The largest body accepted, in bytes.
        max_bytes: usize,
    },
}

/// A failure to inject with [`TestServer::inject`](super::TestServer::inject).
///
/// A fault hits the next `times` requests of its route (once by default).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a fault does nothing until it is passed to TestServer::inject"]
pub struct Fault {
    kind: FaultKind,
    times: usize,
    /// Hits one matching request in `every` (the first, then every `every`-th).
    every: usize,
    /// Matching requests seen so far (for `every`).
    seen: usize,
}

impl Fault {
    /// Answer with `code` (and a JSON error body saying the fault was injected).
    ///
    /// # Panics
    /// If `code` is not a valid HTTP status code.
    pub fn status(code: u16) -> Fault {
        assert!(
            http::StatusCode::from_u16(code).is_ok(),
            "Fault::status: {code} is not a valid HTTP status code"
        );
        Fault::new(FaultKind::Status {
            code,
            retry_after: None,
        })
    }

    /// Respond normally, but only after `delay`.
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultKind::Delay(delay))
    }

    /// Read the request, then close the connection without answering, as a crashing proxy
    /// or backend would.
    pub fn drop_connection() -> Fault {
        Fault::new(FaultKind::DropConnection)
    }

    /// Break a streamed answer off after `events` server-sent events (see
    /// [`FaultKind::BreakStream`]).
    pub fn break_stream_after(events: usize) -> Fault {
        Fault::new(FaultKind::BreakStream {
            after_events: events,
        })
    }

    /// Send a `Retry-After` header with this value.
    ///
    /// # Panics
    /// If this is not a [`Fault::status`] fault, or `value` is not a valid header value.
    pub fn retry_after(mut self, value: impl Into<String>) -> Fault {
        let value = value.into();
        assert!(
            HeaderValue::from_str(&value).is_ok(),
            "Fault::retry_after: {value:?} is not a valid header value"
        );
        match &mut self.kind {
            FaultKind::Status { retry_after, .. } => *retry_after = Some(value),
            other => panic!("Fault::retry_after only applies to status faults, not {other:?}"),
        }
        self
    }

    /// Answer `413 Payload Too Large` to requests whose body is larger than `max_bytes`;
    /// smaller ones are handled normally and do not count against
    /// [`times`](Self::times) (which counts the requests answered 413).
    pub fn reject_bodies_over(max_bytes: usize) -> Fault {
        Fault::new(FaultKind::TooLarge { max_bytes })
    }

    /// Hit the next `n` requests of the route instead of only the next one.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn times(mut self, n: usize) -> Fault {
        assert!(n > 0, "Fault::times: a fault must hit at least one request");
        self.times = n;
        self
    }

    /// Hit one request of the route in `n` (the first, then every `n`-th: the others go on
    /// to later faults, or are handled), until its `times` hits are spent: faults spread
    /// over a long run, as a flaky backend's are, rather than on consecutive requests
    /// (which a client's retries would meet one after the other).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn every(mut self, n: usize) -> Fault {
        assert!(n > 0, "Fault::every: n must be at least 1");
        self.every = n;
        self
    }

    /// What the fault does to each request it hits.
    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            times: 1,
            every: 1,
            seen: 0,
        }
    }
}

/// The routes of a test server, for its fault queue: one of them matches every request.
pub(super) trait FaultRoute: Copy + PartialEq {
    /// The route whose faults hit every request.
    const ANY: Self;
}

impl FaultRoute for Route {
    const ANY: Self = Route::Any;
}

/// Faults waiting for requests, in injection order.
#[derive(Debug)]
pub(super) struct Faults<R = Route>(Vec<(R, Fault)>);

impl<R> Default for Faults<R> {
    fn default() -> Self {
        Faults(Vec::new())
    }
}

impl<R: FaultRoute> Faults<R> {
    pub(super) fn push(&mut self, route: R, fault: Fault) {
        self.0.push((route, fault));
    }

    /// Consumes one hit of the oldest fault that applies to a request on `route` (`None` for
    /// paths without a route, which only [`FaultRoute::ANY`] faults hit); a fault of
    /// [`Fault::every`] applies to one matching request in `n`.
    pub(super) fn take(&mut self, route: Option<R>) -> Option<FaultKind> {
        self.take_sized(route, 0)
    }

    /// [`take`](Self::take) for a request whose body is `body_bytes` long: a
    /// [`FaultKind::TooLarge`] fault applies only to larger ones.
    pub(super) fn take_sized(&mut self, route: Option<R>, body_bytes: usize) -> Option<FaultKind> {
        let index = self.0.iter_mut().position(|(r, fault)| {
            if *r != R::ANY && Some(*r) != route {
                return false;
            }
            if let FaultKind::TooLarge { max_bytes } = fault.kind
                && body_bytes <= max_bytes
            {
                return false;
            }
            fault.seen += 1;
            (fault.seen - 1) % fault.every == 0
        })?;
        let fault = &mut self.0[index].1;
        fault.times -= 1;
        if fault.times > 0 {
            return Some(fault.kind.clone());
        }
        Some(self.0.remove(index).1.kind)
    }
}

/// The response of a [`FaultKind::Status`] fault.
pub(super) fn status_response(code: u16, retry_after: Option<&str>) -> HttpResponse {
    let status = http::StatusCode::from_u16(code).expect("validated by Fault::status");
    let mut response = error_response(status, format!("injected fault: status {code}"));
    if let Some(value) = retry_after {
        let value = HeaderValue::from_str(value).expect("validated by Fault::retry_after");
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}
