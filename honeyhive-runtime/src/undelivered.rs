//! [`Undelivered`]: what HoneyHive did not receive and was kept on disk instead, as a
//! warning, an error (strict mode) and an experiment report tell it. Plain data, so that
//! `warning.rs`, `error.rs` and the export stage can all name it without importing each
//! other.

use std::fmt;
use std::path::PathBuf;

/// What could not be delivered to HoneyHive and was kept on disk instead: the content of a
/// [`Warning::NotDelivered`](crate::Warning::NotDelivered), of
/// [`Error::NotDelivered`](crate::Error::NotDelivered) in strict mode
/// (`HH_REQUIRE_UPLOAD`), and of an experiment report's `undelivered`.
///
/// ```
/// use std::path::PathBuf;
/// use honeyhive::{Undelivered, RequestCounts};
///
/// let kept = Undelivered {
///     url: "https://api.honeyhive.ai".into(),
///     run_id: Some("run-1".into()),
///     counts: RequestCounts { run_creations: 1, session_starts: 3, spans: 12, ..Default::default() },
///     reason: "connection refused".into(),
///     kept_in: PathBuf::from("target/honeyhive/runs/run-1"),
///     lost: 0,
///     keep_error: None,
/// };
/// assert_eq!(
///     kept.to_string(),
///     "could not send the run's creation, 3 session starts and 12 spans to HoneyHive at \
///      https://api.honeyhive.ai (connection refused); the complete run is kept in \
///      target/honeyhive/runs/run-1 (send it with `honeyhive upload target/honeyhive/runs/run-1`)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Undelivered {
    /// The HoneyHive API base URL.
    pub url: String,
    /// The run it belongs to, if any.
    pub run_id: Option<String>,
    /// What was not delivered.
    pub counts: RequestCounts,
    /// Why: the last failure.
    pub reason: String,
    /// Where it is kept: the run's folder, or the local store for tracers outside runs.
    pub kept_in: PathBuf,
    /// How many of them could not be written to disk either (they are lost), and why.
    pub lost: u64,
    /// Why some could not be kept, when `lost` is not 0.
    pub keep_error: Option<String>,
}

/// How many requests (and spans) of each kind: what HoneyHive did not receive
/// ([`Undelivered`]), or what `honeyhive upload` sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    /// Run creations (`POST /v1/runs`).
    pub run_creations: u64,
    /// Session starts (`POST /session/start`).
    pub session_starts: u64,
    /// Session and event updates (`PUT /events`).
    pub event_updates: u64,
    /// Spans.
    pub spans: u64,
    /// Run completions (`PUT /v1/runs/{id}`).
    pub run_finishes: u64,
}

impl RequestCounts {
    /// Whether every count is 0.
    pub fn is_empty(&self) -> bool {
        *self == RequestCounts::default()
    }

    /// The total of every count (spans one each).
    pub fn total(&self) -> u64 {
        self.run_creations
            + self.session_starts
            + self.event_updates
            + self.spans
            + self.run_finishes
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &RequestCounts) {
        self.run_creations += other.run_creations;
        self.session_starts += other.session_starts;
        self.event_updates += other.event_updates;
        self.spans += other.spans;
        self.run_finishes += other.run_finishes;
    }
}

impl fmt::Display for RequestCounts {
    /// `the run's creation, 3 session starts, 3 session updates, 15 spans and the run's
    /// completion`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, one: &str, many: &str| match n {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        };
        let mut parts = Vec::new();
        if self.run_creations > 0 {
            parts.push("the run's creation".to_owned());
        }
        if self.session_starts > 0 {
            parts.push(plural(
                self.session_starts,
                "session start",
                "session starts",
            ));
        }
        if self.event_updates > 0 {
            parts.push(plural(
                self.event_updates,
                "session update",
                "session updates",
            ));
        }
        if self.spans > 0 {
            parts.push(plural(self.spans, "span", "spans"));
        }
        if self.run_finishes > 0 {
            parts.push("the run's completion".to_owned());
        }
        match parts.split_last() {
            None => f.write_str("nothing"),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} and {last}", rest.join(", ")),
        }
    }
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not send {} to HoneyHive at {} ({}); ",
            self.counts, self.url, self.reason
        )?;
        let dir = self.kept_in.display();
        match self.counts.run_creations > 0 {
            true => write!(f, "the complete run is kept in {dir}")?,
            false => write!(f, "kept in {dir}")?,
        }
        write!(f, " (send it with `honeyhive upload {dir}`)")?;
        if let Some(error) = &self.keep_error {
            write!(f, "; {} could not be kept either: {error}", self.lost)?;
        }
        Ok(())
    }
}
