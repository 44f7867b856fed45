//! One retry policy for every request to HoneyHive: span exports and REST calls alike.
//!
//! Retried: connection errors, timeouts, 429 and every 5xx. A `Retry-After` header (seconds)
//! replaces the computed backoff for that attempt. Anything else (4xx) is final at once:
//! repeating a request the server rejected would only delay the error.
//!
//! Every call has a budget: at most [`RetryPolicy::max_retries`] retries, and no retry
//! starts once [`RetryPolicy::max_elapsed`] has passed since the first attempt, whatever
//! the backoff or the server's `Retry-After` ask for. And the calls to one destination share
//! a [`Circuit`]: once one call has spent its budget on a destination that does not answer,
//! the others stop retrying and later calls are not even attempted (one probe at a time
//! finds out when the destination answers again), so a backend that is down costs one
//! budget, not one per call.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

/// How often and how long to retry a request.
///
/// ```
/// use std::time::Duration;
/// use honeyhive::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(8)
///     .initial_backoff(Duration::from_millis(200))
///     .max_backoff(Duration::from_secs(10));
/// assert_eq!(patient.retries(), 8);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_retries: usize,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    max_elapsed: Duration,
}

/// Default of [`RetryPolicy::max_elapsed`].
pub const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(10);

impl Default for RetryPolicy {
    /// 5 retries, 100 ms doubling up to 5 s, with full jitter; `Retry-After` honoured up to
    /// 60 s; no retry starts later than [`DEFAULT_MAX_ELAPSED`] after the first attempt.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            max_elapsed: DEFAULT_MAX_ELAPSED,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt only.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// Backoff before the first retry; it doubles with each retry.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Upper bound of the computed backoff.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Upper bound of a server's `Retry-After`, so a misbehaving server cannot stall export.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The time budget of one call: no retry starts once this much time has passed since
    /// its first attempt (the attempt under way still has its request timeout). With it, a
    /// call to a backend that does not answer, or asks for long `Retry-After` waits, ends
    /// after at most this long plus one request timeout; what it carried is kept on disk
    /// for `honeyhive upload` instead.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Retries after the first attempt.
    pub fn retries(&self) -> usize {
        self.max_retries
    }

    /// The time budget of one call (see [`max_elapsed`](Self::max_elapsed)).
    pub fn elapsed_budget(&self) -> Duration {
        self.max_elapsed
    }

    pub(crate) fn backoff(&self) -> impl BackoffBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries)
            .with_jitter()
    }

    /// How often a destination found down is probed: the longest computed backoff.
    pub(crate) fn probe_interval(&self) -> Duration {
        self.max_backoff
    }

    pub(crate) fn cap_retry_after(&self, d: Duration) -> Duration {
        d.min(self.max_retry_after)
    }
}

/// A failed attempt, classified for the retry loop.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) reason: String,
    pub(crate) retryable: bool,
    pub(crate) retry_after: Option<Duration>,
    /// Whether the destination answered (with an HTTP status): a refused, reset or
    /// timed-out request did not, and only those tell a [`Circuit`] it is down.
    pub(crate) answered: bool,
}

impl AttemptError {
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        // Every transport failure (refused, reset, timed out) is worth another try; a
        // request we could not even build is not.
        AttemptError {
            retryable: !e.is_builder(),
            reason: error_chain(&e),
            retry_after: None,
            answered: false,
        }
    }

    pub(crate) fn from_status(
        status: reqwest::StatusCode,
        headers: &http::HeaderMap,
        body: &str,
    ) -> Self {
        let retryable =
            status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = body.trim();
        let reason = if body.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {}", truncate(body, 300))
        };
        AttemptError {
            reason,
            retryable,
            retry_after,
            answered: true,
        }
    }
}

/// Runs `attempt` under `policy`: retryable failures are retried with backoff, the last
/// failure is returned together with the number of attempts made.
pub(crate) async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    attempt: F,
) -> Result<T, (AttemptError, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AttemptError>>,
{
    retry_through(policy, None, attempt).await
}

/// [`retry`], for a call to the destination of `circuit`: not attempted while the
/// destination is known to be down (but for one probe at a time, made once, without
/// retries), and stopped between
/// attempts when another call finds it down; a call that spends its budget without an
/// answer marks it down, one that gets an answer (any HTTP status) marks it up.
pub(crate) async fn retry_through<T, F, Fut>(
    policy: &RetryPolicy,
    circuit: Option<&Circuit>,
    attempt: F,
) -> Result<T, (AttemptError, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AttemptError>>,
{
    use backon::Retryable;
    let pass = circuit.map_or(Pass::Normal, Circuit::enter);
    let probe_policy;
    let policy = match &pass {
        Pass::Refused(reason) => {
            return Err((
                AttemptError {
                    reason: format!(
                        "not attempted: the destination did not answer before ({reason})"
                    ),
                    retryable: true,
                    retry_after: None,
                    answered: false,
                },
                0,
            ));
        }
        Pass::Probe => {
            probe_policy = RetryPolicy {
                max_retries: 0,
                ..policy.clone()
            };
            &probe_policy
        }
        Pass::Normal => policy,
    };
    let probing = matches!(pass, Pass::Probe);
    let started = Instant::now();
    let attempts = std::sync::atomic::AtomicUsize::new(0);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let mut attempt = attempt;
    let result = (|| {
        let n = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Another call found the destination down while this one waited to retry.
        let stop = n > 0 && !probing && circuit.and_then(Circuit::down_reason).is_some();
        stopped.store(stop, std::sync::atomic::Ordering::Relaxed);
        let next = (!stop).then(&mut attempt);
        async move {
            match next {
                Some(next) => next.await,
                None => Err(AttemptError {
                    reason: "not retried: the destination stopped answering".into(),
                    retryable: false,
                    retry_after: None,
                    answered: false,
                }),
            }
        }
    })
    .retry(policy.backoff())
    .sleep(tokio::time::sleep)
    .when(|e: &AttemptError| e.retryable)
    .adjust(|e: &AttemptError, computed| {
        // The computed delay is `None` once the budget is spent: a Retry-After must not
        // extend the budget, only replace the delay of an attempt we were going to make.
        let delay = match (e.retry_after, computed) {
            (Some(server), Some(_)) => Some(policy.cap_retry_after(server)),
            (_, computed) => computed,
        }?;
        // Nor may any wait take the call past its time budget.
        (started.elapsed() + delay <= policy.max_elapsed).then_some(delay)
    })
    .await;
    let attempts = attempts.into_inner();
    if let Some(circuit) = circuit {
        match &result {
            // Whatever the status, the destination answers: it is up (a 5xx or 429 is
            // retried within each call's own budget).
            Ok(_) => circuit.answered(),
            Err(e) if e.answered => circuit.answered(),
            Err(_) if stopped.into_inner() => {}
            Err(e) => circuit.unanswered(&e.reason, probing),
        }
    }
    result.map_err(|e| (e, attempts))
}

/// Whether a destination answers, shared by every call to it (a pipeline's span exports
/// and REST calls).
///
/// Closed (up) until a call spends its whole budget without an answer (refused, reset or
/// timed out; an HTTP status is an answer); then open (down):
/// calls are not attempted, but for one probe at a time, at most every `probe_interval`,
/// made once without retries. The first call answered closes it again.
#[derive(Debug)]
pub(crate) struct Circuit {
    probe_interval: Duration,
    down: Mutex<Option<Down>>,
}

#[derive(Debug)]
struct Down {
    reason: String,
    next_probe: Instant,
    probing: bool,
}

/// What [`Circuit::enter`] lets a call do.
enum Pass {
    Normal,
    Probe,
    Refused(String),
}

impl Circuit {
    /// A closed circuit whose probes, once it opens, are `probe_interval` apart.
    pub(crate) fn new(probe_interval: Duration) -> Circuit {
        Circuit {
            probe_interval,
            down: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Down>> {
        self.down.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self) -> Pass {
        let mut down = self.lock();
        match &mut *down {
            None => Pass::Normal,
            Some(d) if !d.probing && Instant::now() >= d.next_probe => {
                d.probing = true;
                Pass::Probe
            }
            Some(d) => Pass::Refused(d.reason.clone()),
        }
    }

    /// Why the destination is down, while it is.
    pub(crate) fn down_reason(&self) -> Option<String> {
        self.lock().as_ref().map(|d| d.reason.clone())
    }

    fn answered(&self) {
        *self.lock() = None;
    }

    fn unanswered(&self, reason: &str, probe: bool) {
        let mut down = self.lock();
        let next_probe = Instant::now() + self.probe_interval;
        match &mut *down {
            Some(d) => {
                if probe {
                    d.probing = false;
                    d.next_probe = next_probe;
                }
            }
            None => {
                *down = Some(Down {
                    reason: reason.to_owned(),
                    next_probe,
                    probing: false,
                })
            }
        }
    }
}

/// `e` and all its sources, so "error sending request" says *why*.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
