//! What an upload did: plain data (the report of [`Error::UploadStopped`](crate::Error::UploadStopped)
//! too), so the error type can name it without importing the upload.

use std::fmt;
use std::path::PathBuf;

use crate::RequestCounts;

/// One request of an upload: sent, or in a dry run, to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRequest {
    /// `POST` or `PUT`.
    pub method: &'static str,
    /// The path below the API base URL.
    pub path: String,
    /// What it carries, e.g. `session 0b6e...` or `512 spans`.
    pub what: String,
}

impl fmt::Display for PlannedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}  {}", self.method, self.path, self.what)
    }
}

/// What an upload did (or in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// The API base URL.
    pub url: String,
    /// The folders uploaded.
    pub folders: Vec<PathBuf>,
    /// What HoneyHive acknowledged in this upload (in a dry run, what it would be sent).
    pub sent: RequestCounts,
    /// What an earlier upload delivered already, so not sent again.
    pub already: RequestCounts,
    /// A dry run: every request it would make, in order.
    pub planned: Vec<PlannedRequest>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Why the upload stopped before the end, when it did (run it again to resume).
    pub stopped: Option<String>,
}

impl fmt::Display for UploadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would send" } else { "sent" };
        write!(f, "{verb} {} to HoneyHive at {}", self.sent, self.url)?;
        if self.already != RequestCounts::default() {
            write!(f, "; already uploaded before: {}", self.already)?;
        }
        if let Some(reason) = &self.stopped {
            write!(f, "; stopped: {reason} (run the upload again to resume)")?;
        }
        Ok(())
    }
}
