//! The embedded local default: with no API key, sessions and spans are written as JSON
//! lines under `target/honeyhive/` (or `HH_LOCAL_DIR`), readable by a person and loadable
//! by [`read_spans`] / [`read_sessions`].

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::sessions::{EventUpdate, SessionStart};
use crate::trace::enrichment::Enrichment;
use crate::{Error, Result};

/// File of session records in the local store.
pub const SESSIONS_FILE: &str = "sessions.jsonl";
/// File of span records in the local store.
pub const SPANS_FILE: &str = "spans.jsonl";

/// One line of `sessions.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionRecord {
    /// A session started (the body `POST /session/start` would carry).
    SessionStart {
        /// Unix time in milliseconds.
        recorded_at_ms: u64,
        /// The session.
        session: SessionStart,
    },
    /// A session or event was enriched (the body `PUT /events` would carry).
    EventUpdate {
        /// Unix time in milliseconds.
        recorded_at_ms: u64,
        /// The update, with `event_id`.
        update: Value,
    },
}

/// One line of `spans.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpanRecord {
    /// Span (event) name.
    pub name: String,
    /// Trace id, hex.
    pub trace_id: String,
    /// Span id, hex.
    pub span_id: String,
    /// Parent span id, hex; absent for a root.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent_span_id: Option<String>,
    /// Start, Unix nanoseconds.
    pub start_unix_nanos: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nanos: u64,
    /// `unset`, `ok` or `error`.
    pub status: String,
    /// The status message of an error.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_message: Option<String>,
    /// Attributes, flattened keys as on the wire.
    pub attributes: Map<String, Value>,
    /// Events (e.g. `exception`) with their attributes.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub events: Vec<EventRecord>,
}

/// A span event in the local store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventRecord {
    /// Event name.
    pub name: String,
    /// Event attributes.
    pub attributes: Map<String, Value>,
}

/// Append-only JSONL files shared by the tracers of one local directory.
#[derive(Clone)]
pub(crate) struct LocalStore {
    inner: Arc<Files>,
}

struct Files {
    dir: PathBuf,
    sessions: Mutex<File>,
    spans: Mutex<File>,
}

impl LocalStore {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let io = |path: PathBuf| move |source| Error::LocalStore { path, source };
        std::fs::create_dir_all(dir).map_err(io(dir.to_owned()))?;
        let open = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io(path))
        };
        Ok(LocalStore {
            inner: Arc::new(Files {
                dir: dir.to_owned(),
                sessions: Mutex::new(open(SESSIONS_FILE)?),
                spans: Mutex::new(open(SPANS_FILE)?),
            }),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub(crate) fn start_session(&self, session: &SessionStart) -> Result<()> {
        let record = SessionRecord::SessionStart {
            recorded_at_ms: now_ms(),
            session: session.clone(),
        };
        self.append(SESSIONS_FILE, &self.inner.sessions, std::iter::once(record))
    }

    pub(crate) fn update_event(&self, event_id: &str, enrichment: &Enrichment) -> Result<()> {
        let update = serde_json::to_value(EventUpdate {
            event_id,
            enrichment,
        })
        .map_err(|source| Error::Serialize {
            what: "event update",
            source,
        })?;
        let record = SessionRecord::EventUpdate {
            recorded_at_ms: now_ms(),
            update,
        };
        self.append(SESSIONS_FILE, &self.inner.sessions, std::iter::once(record))
    }

    pub(crate) fn append_spans(&self, spans: impl IntoIterator<Item = SpanRecord>) -> Result<()> {
        self.append(SPANS_FILE, &self.inner.spans, spans)
    }

    /// Writes all records with one `write` call, so lines from parallel test processes
    /// appending to the same file never interleave.
    fn append<T: Serialize>(
        &self,
        name: &str,
        file: &Mutex<File>,
        records: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        let mut buf = Vec::new();
        for record in records {
            serde_json::to_writer(&mut buf, &record).map_err(|source| Error::Serialize {
                what: "local record",
                source,
            })?;
            buf.push(b'\n');
        }
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&buf).map_err(|source| Error::LocalStore {
            path: self.inner.dir.join(name),
            source,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let io = |source| Error::LocalStore {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {}: {e}", n + 1),
            ))
        })?;
        out.push(record);
    }
    Ok(out)
}

/// Every span record of the local store in `dir`, in the order written.
pub fn read_spans(dir: &Path) -> Result<Vec<SpanRecord>> {
    read_lines(&dir.join(SPANS_FILE))
}

/// Every session record of the local store in `dir`, in the order written.
pub fn read_sessions(dir: &Path) -> Result<Vec<SessionRecord>> {
    read_lines(&dir.join(SESSIONS_FILE))
}
