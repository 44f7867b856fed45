//! Typed errors of the toolkit.
//!
//! Every variant says what went wrong and, where the user can act, what to change. Each
//! message starts with `honeyhive <kind>: `, one prefix per variant, and shows paths as the
//! user gave them.
//! Telemetry failures inside the user's own calls never surface as these errors: they
//! become [`Warning`](crate::Warning)s. Errors are returned only from calls whose whole
//! purpose is telemetry (building a tracer, flushing, running an experiment).

use std::time::Duration;

/// Result alias used across the toolkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call the user made explicitly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is incomplete or contradictory.
    #[error("honeyhive configuration: {0}")]
    Config(String),

    /// A typed key (`HH_INGESTION_API_KEY`, `HH_DATA_PLANE_API_KEY`) does not have its
    /// kind's shape. The message names the key and what is wrong, never the value.
    #[error("honeyhive configuration: {0}")]
    MalformedKey(crate::config::MalformedKey),

    /// A HoneyHive API call failed after its retry budget.
    #[error("honeyhive API: {method} {path} failed: {reason}")]
    Api {
        /// HTTP method of the failed call.
        method: &'static str,
        /// Path of the failed call, without the base URL.
        path: String,
        /// What the server or the network said.
        reason: String,
    },

    /// The HoneyHive API answered with a body this toolkit does not understand.
    #[error("honeyhive API: {path} returned an unexpected body: {reason}")]
    UnexpectedResponse {
        /// Path of the call.
        path: String,
        /// What was wrong with the body.
        reason: String,
    },

    /// Writing the local (no API key) store failed.
    #[error("honeyhive local store: {}: {source}", path.display())]
    LocalStore {
        /// The file or directory that could not be written.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// `flush` did not finish within its timeout; the data keeps being exported in the
    /// background.
    #[error(
        "honeyhive flush: timed out after {0:?}: export goes on in the background; raise the \
         flush timeout (HoneyHiveTracer::flush_with_timeout) if the backend is slow"
    )]
    FlushTimeout(Duration),

    /// Strict mode (`HH_REQUIRE_UPLOAD=1`, [`ConfigBuilder::require_upload`](crate::ConfigBuilder::require_upload)):
    /// HoneyHive did not receive everything; what it did not is kept on disk.
    #[error(
        "honeyhive upload: {0} (HH_REQUIRE_UPLOAD is set: telemetry that does not reach \
         HoneyHive is an error)"
    )]
    NotDelivered(Box<crate::Undelivered>),

    /// `honeyhive upload` stopped: a request still failed after its retries. The report says
    /// what was sent before it; the next upload of the folder resumes there.
    #[error("honeyhive upload: {0}")]
    UploadStopped(Box<crate::upload::UploadReport>),

    /// The export pipeline was already shut down.
    #[error("honeyhive export: the pipeline is shut down; create a new tracer")]
    Shutdown,

    /// A background task of the toolkit could not finish (its runtime was shutting down).
    #[error("honeyhive background task: {0}")]
    Background(String),

    /// A dataset could not be loaded, or its datapoints do not fit the experiment.
    #[error("honeyhive dataset: {0}")]
    Dataset(#[from] crate::dataset::DatasetError),

    /// A threshold of an experiment names no metric of its evaluators (found before any
    /// datapoint runs); the message lists the metrics it may name.
    #[error("honeyhive configuration: {0}")]
    UnknownMetric(#[from] crate::experiment::UnknownMetric),

    /// The baseline an experiment is compared with could not be found or read (the message
    /// says where it was looked for and how to create it).
    #[error("honeyhive baseline: {0}")]
    Baseline(String),

    /// A value could not be serialised to JSON.
    #[error("honeyhive serialisation: could not serialise {what}: {source}")]
    Serialize {
        /// What was being serialised.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One prefix per kind of error, each `honeyhive <kind>: `.
    #[test]
    fn every_message_starts_with_the_prefix_of_its_kind() {
        let io = || std::io::Error::other("disk full");
        let serde = || serde_json::from_str::<u8>("x").unwrap_err();
        let empty = crate::dataset::DatasetError::Empty {
            path: Some("tests/data/empty.jsonl".into()),
            id: "EXT-1".into(),
        };
        let cases = [
            (Error::Config("bad".into()), "honeyhive configuration: "),
            (
                Error::MalformedKey(crate::config::MalformedKey {
                    kind: crate::config::KeyKind::Ingestion,
                    source: "HH_INGESTION_API_KEY",
                    problem: crate::config::KeyProblem::Incomplete,
                }),
                "honeyhive configuration: HH_INGESTION_API_KEY must be ",
            ),
            (
                Error::Api {
                    method: "POST",
                    path: "/v1/runs".into(),
                    reason: "503".into(),
                },
                "honeyhive API: ",
            ),
            (
                Error::UnexpectedResponse {
                    path: "/v1/runs".into(),
                    reason: "no run_id".into(),
                },
                "honeyhive API: ",
            ),
            (
                Error::LocalStore {
                    path: "target/honeyhive".into(),
                    source: io(),
                },
                "honeyhive local store: target/honeyhive: ",
            ),
            (
                Error::FlushTimeout(Duration::from_secs(1)),
                "honeyhive flush: ",
            ),
            (Error::Shutdown, "honeyhive export: "),
            (
                Error::Background("cancelled".into()),
                "honeyhive background task: ",
            ),
            (
                Error::Dataset(empty),
                "honeyhive dataset: tests/data/empty.jsonl: ",
            ),
            (
                Error::Baseline("`last` names no run".into()),
                "honeyhive baseline: ",
            ),
            (
                Error::Serialize {
                    what: "a report",
                    source: serde(),
                },
                "honeyhive serialisation: ",
            ),
            (
                Error::NotDelivered(Box::new(crate::Undelivered {
                    url: "https://api.honeyhive.ai".into(),
                    run_id: None,
                    counts: crate::RequestCounts::default(),
                    reason: "connection refused".into(),
                    kept_in: "target/honeyhive".into(),
                    lost: 0,
                    keep_error: None,
                })),
                "honeyhive upload: ",
            ),
            (Error::UploadStopped(Box::default()), "honeyhive upload: "),
            (
                Error::UnknownMetric(crate::experiment::UnknownMetric {
                    what: "threshold",
                    metric: "relevance".into(),
                    metrics: vec!["judge".into()],
                }),
                "honeyhive configuration: ",
            ),
        ];
        for (error, prefix) in &cases {
            let message = error.to_string();
            assert!(message.starts_with(prefix), "{message}: expected {prefix}");
            // A new variant does not compile here until it has a case in the table above.
            match error {
                Error::Config(_)
                | Error::MalformedKey(_)
                | Error::Api { .. }
                | Error::UnexpectedResponse { .. }
                | Error::LocalStore { .. }
                | Error::FlushTimeout(_)
                | Error::NotDelivered(_)
                | Error::UploadStopped(_)
                | Error::Shutdown
                | Error::Background(_)
                | Error::Dataset(_)
                | Error::UnknownMetric(_)
                | Error::Baseline(_)
                | Error::Serialize { .. } => {}
            }
        }
    }
}
