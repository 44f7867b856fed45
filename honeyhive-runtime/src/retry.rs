//! One retry policy for every request to HoneyHive: span exports and REST calls alike.
//!
//! Retried: connection errors, timeouts, 429 and every 5xx. A `Retry-After` header (seconds)
//! replaces the computed backoff for that attempt. Anything else (4xx) is final at once:
//! repeating a request the server rejected would only delay the error.

use std::time::Duration;

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
}

impl Default for RetryPolicy {
    /// 5 retries, 100 ms doubling up to 5 s, with full jitter; `Retry-After` honoured up to
    /// 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
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

    /// Retries after the first attempt.
    pub fn retries(&self) -> usize {
        self.max_retries
    }

    pub(crate) fn backoff(&self) -> impl BackoffBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries)
            .with_jitter()
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
}

impl AttemptError {
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        // Every transport failure (refused, reset, timed out) is worth another try; a
        // request we could not even build is not.
        AttemptError {
            retryable: !e.is_builder(),
            reason: error_chain(&e),
            retry_after: None,
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
    use backon::Retryable;
    let attempts = std::sync::atomic::AtomicUsize::new(0);
    let mut attempt = attempt;
    let result = (|| {
        attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        attempt()
    })
    .retry(policy.backoff())
    .sleep(tokio::time::sleep)
    .when(|e: &AttemptError| e.retryable)
    .adjust(
        |e: &AttemptError, computed| match (e.retry_after, computed) {
            // The computed delay is `None` once the budget is spent: a Retry-After must not
            // extend the budget, only replace the delay of an attempt we were going to make.
            (Some(server), Some(_)) => Some(policy.cap_retry_after(server)),
            (_, computed) => computed,
        },
    )
    .await;
    result.map_err(|e| (e, attempts.into_inner()))
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
