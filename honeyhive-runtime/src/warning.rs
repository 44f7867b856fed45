//! Warnings: how telemetry failures are reported without failing user code.
//!
//! A telemetry failure (an export that ran out of retries, a full queue, a session update
//! that could not be delivered) must never turn into an error of the user's own call. It is
//! reported once, as a [`Warning`], to the [`WarningHandler`] of the tracer's configuration.
//! The default handler prints one line to stderr.

use std::fmt;
use std::sync::Arc;

/// A telemetry problem that was handled by degrading, not by failing the user's call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// Spans were dropped (the queue was full or their export failed after every retry),
    /// or the attribute limits cut values or attributes from spans.
    SpansDropped {
        /// How many spans were lost since the previous warning of this kind.
        count: u64,
        /// The last reason a span was lost (empty when none was).
        reason: String,
        /// Attribute values cut to the value length limit since the previous warning.
        truncated_values: u64,
        /// Attributes dropped beyond the count limit since the previous warning.
        dropped_attributes: u64,
    },
    /// A session or event update could not be delivered.
    UpdateFailed {
        /// What the update was for, e.g. `enrich_session`.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// An environment variable was read under an old name (once per name and process).
    DeprecatedVariable {
        /// The old name that was set.
        variable: &'static str,
        /// The name to use instead.
        current: &'static str,
    },
    /// HoneyHive could not be reached (or did not accept what it was sent) within the retry
    /// budget: what was not delivered is kept on disk, and this says what, why and where.
    /// One per run, or per flush for tracers outside runs.
    NotDelivered(crate::Undelivered),
    /// A value could not be captured on a span (it failed to serialise).
    CaptureFailed {
        /// The attribute prefix of the value.
        key: String,
        /// The serde message.
        reason: String,
    },
    /// A model call's cost is unknown: the price table has no price for its model (said
    /// once per model).
    UnpricedModel {
        /// The model, as the call named it.
        model: String,
    },
    /// A model call could not be written to its cassette (the call itself succeeded).
    CassetteNotWritten {
        /// The cassette file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A judge's server rejected a structured output form: the judge asks in the next form
    /// down (said once per judge and form).
    JudgeFormRejected {
        /// The judge: its model and URL.
        judge: String,
        /// The form rejected (`json_schema`, `tool_call`).
        rejected: &'static str,
        /// The form asked instead.
        instead: &'static str,
        /// The server's message.
        reason: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::SpansDropped {
                count,
                reason,
                truncated_values,
                dropped_attributes,
            } => {
                if *count > 0 {
                    write!(f, "{count} span(s) were dropped: {reason}")?;
                } else {
                    f.write_str("no span was dropped")?;
                }
                if *truncated_values > 0 || *dropped_attributes > 0 {
                    write!(
                        f,
                        "; {truncated_values} attribute value(s) were truncated to the value \
                         length limit and {dropped_attributes} attribute(s) dropped beyond the \
                         count limit (raise attribute_value_length_limit / \
                         OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT or attribute_count_limit / \
                         OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT to keep more)"
                    )?;
                }
                Ok(())
            }
            Warning::UpdateFailed { what, reason } => {
                write!(f, "{what} was not delivered: {reason}")
            }
            Warning::DeprecatedVariable { variable, current } => write!(
                f,
                "{variable} is an old name, read only while {current} is not set: rename it \
                 to {current}"
            ),
            Warning::NotDelivered(undelivered) => undelivered.fmt(f),
            Warning::CaptureFailed { key, reason } => {
                write!(f, "could not capture `{key}` on its span: {reason}")
            }
            Warning::UnpricedModel { model } => write!(
                f,
                "no price for model `{model}`: its calls have no cost; add it to the file \
                 HH_PRICES names, or with Config::builder().price(..)"
            ),
            Warning::CassetteNotWritten { path, reason } => {
                write!(f, "the model call was not recorded to {path}: {reason}")
            }
            Warning::JudgeFormRejected {
                judge,
                rejected,
                instead,
                reason,
            } => write!(
                f,
                "the judge {judge} does not take structured output as {rejected} ({reason}): \
                 it asks as {instead} instead; declare the form its server takes with \
                 HH_JUDGE_STRUCTURED_OUTPUT to skip the rejected request"
            ),
        }
    }
}

/// Receives [`Warning`]s. Cheap to clone.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use honeyhive::{Warning, WarningHandler};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let handler = WarningHandler::new(move |w: &Warning| sink.lock().unwrap().push(w.clone()));
/// handler.emit(Warning::UpdateFailed { what: "enrich_session".into(), reason: "offline".into() });
/// assert_eq!(seen.lock().unwrap().len(), 1);
/// ```
#[derive(Clone)]
pub struct WarningHandler(Arc<dyn Fn(&Warning) + Send + Sync>);

impl WarningHandler {
    /// A handler that calls `f` for every warning.
    pub fn new(f: impl Fn(&Warning) + Send + Sync + 'static) -> Self {
        WarningHandler(Arc::new(f))
    }

    /// The default: one line on stderr per warning.
    pub fn stderr() -> Self {
        WarningHandler::new(|w| eprintln!("honeyhive: warning: {w}"))
    }

    /// Reports a warning.
    pub fn emit(&self, warning: Warning) {
        (self.0)(&warning)
    }
}

impl Default for WarningHandler {
    fn default() -> Self {
        WarningHandler::stderr()
    }
}

impl fmt::Debug for WarningHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningHandler")
    }
}
