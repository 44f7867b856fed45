//! The embedded local default: with no API key, sessions and spans are written as JSON
//! lines under `target/honeyhive/` (or `HH_LOCAL_DIR`), readable by a person and loadable
//! by [`read_spans`] / [`read_sessions`].
//!
//! # Layout
//! ```text
//! <local dir>/
//!   sessions.jsonl     sessions of the tracers that belong to no run, one record a line
//!   spans.jsonl        their spans
//!   sessions.1.jsonl   the previous sessions.jsonl, and spans.1.jsonl the previous
//!   spans.1.jsonl      spans.jsonl: past MAX_SHARED_FILE_BYTES a file is rotated here
//!   runs/<run id>/     one folder per run, whole and self-contained:
//!     sessions.jsonl   its sessions (one per datapoint and repetition of an experiment)
//!     spans.jsonl      its spans
//!     run.jsonl        the run's creation and completion, when HoneyHive could not be
//!                      reached (see below)
//!     summary.json     an experiment's report: figures, thresholds, verdicts
//!     datapoints.jsonl an experiment's results, one datapoint a line, in dataset order
//!     report.html      the page to open (see `honeyhive::report`), junit.xml for CI's
//!     junit.xml        test views, summary.md in Markdown
//!     summary.md
//!   tmp/               results an experiment spills while it runs, gone with its report
//! ```
//! A session and its spans go to the folder of their run: the `run_id` of the session's
//! metadata, of its tracer, and of each span (`honeyhive_metadata.run_id`); an experiment's
//! datapoints all carry theirs, as does a tracer built with a `run_id`. Anything else goes
//! to the files at the top, which are capped: one rotated generation each, so the store
//! keeps at most twice [`MAX_SHARED_FILE_BYTES`] of each. A run's files are never rotated (a
//! run stays whole); delete old `runs/` folders (or `cargo clean`) to reclaim their space.
//! [`run_dir`] names a run's folder; the readers read either kind of folder.
//!
//! Records are appended with one write each, so the lines of parallel test processes
//! writing into one store never interleave.
//!
//! # What HoneyHive did not receive
//! With an API key, sessions and spans go to HoneyHive. What could not be delivered there
//! after the retry budget (a backend that is down, rate limits that outlast the budget, a
//! rejected request) is kept here instead, in this same layout and as it would have been
//! sent: a session start as its `POST /session/start` body, an event update as its
//! `PUT /events` body, spans as span records, and a run's creation and completion as their
//! `POST /v1/runs` and `PUT /v1/runs/{id}` bodies in the run's `run.jsonl`
//! ([`RunRecord`]). Once a run's creation could not be delivered, the whole run is kept
//! (its sessions, updates and spans are not sent without it), so its folder holds the
//! complete run. A tracer outside any run keeps what it could not deliver at the top.
//! `honeyhive upload <folder>` ([`upload`](crate::upload)) sends it later, in order and
//! under the same ids, and records what HoneyHive acknowledged in the folder's
//! `uploaded.jsonl`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::sessions::{Enrichment, EventUpdate, SessionStart};
use crate::{Error, Result};

/// File of session records in the local store.
pub const SESSIONS_FILE: &str = "sessions.jsonl";
/// File of span records in the local store.
pub const SPANS_FILE: &str = "spans.jsonl";
/// File of a run's creation and completion in its folder, when they were not delivered.
pub const RUN_FILE: &str = "run.jsonl";
/// The folder of the runs' folders in the local store (see [`run_dir`]).
pub const RUNS_DIR: &str = "runs";
/// Size past which `sessions.jsonl` or `spans.jsonl` at the top of the store is rotated
/// (renamed to `sessions.1.jsonl` / `spans.1.jsonl`, replacing the previous one).
pub const MAX_SHARED_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The folder of run `run_id` in the local store at `dir`: `<dir>/runs/<run id>`, where a
/// run's sessions, spans and report are. Characters that cannot be part of one folder
/// name (`/`, `\`, `:`, control characters) become `_`, and a name of dots only (or none)
/// gets a `_` in front, so the folder is always one below `runs/`.
///
/// ```
/// use std::path::Path;
/// use honeyhive::local_store::run_dir;
///
/// let dir = Path::new("target/honeyhive");
/// assert_eq!(run_dir(dir, "r-1"), Path::new("target/honeyhive/runs/r-1"));
/// assert_eq!(run_dir(dir, "../x"), Path::new("target/honeyhive/runs/.._x"));
/// assert_eq!(run_dir(dir, ".."), Path::new("target/honeyhive/runs/_.."));
/// ```
pub fn run_dir(dir: &Path, run_id: &str) -> PathBuf {
    let mut name: String = run_id
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if name.chars().all(|c| c == '.') {
        name.insert(0, '_');
    }
    dir.join(RUNS_DIR).join(name)
}

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

/// One line of a run's `run.jsonl`: a request about the run that HoneyHive did not
/// receive, its body as it would have been sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunRecord {
    /// The run's creation: the body of `POST /v1/runs`.
    RunCreate {
        /// Unix time in milliseconds.
        recorded_at_ms: u64,
        /// The body, with the run's id (`run_id`).
        body: Value,
    },
    /// The run's completion: the body of `PUT /v1/runs/{run_id}`.
    RunUpdate {
        /// Unix time in milliseconds.
        recorded_at_ms: u64,
        /// The run.
        run_id: String,
        /// The body.
        body: Value,
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
    /// The span kind (`server`, `client`, `producer`, `consumer`); absent for `internal`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
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
    /// When it happened, Unix nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_unix_nanos: Option<u64>,
    /// Event attributes.
    pub attributes: Map<String, Value>,
}

/// The local store of one directory, shared by the tracers that write there: each record
/// goes to its run's folder, or to the files at the top.
#[derive(Clone)]
pub(crate) struct LocalStore {
    inner: Arc<Store>,
}

struct Store {
    dir: PathBuf,
    /// [`MAX_SHARED_FILE_BYTES`]; smaller in tests.
    max_shared_bytes: u64,
    /// Held while a file at the top is rotated, so two threads do not rotate it twice.
    rotation: Mutex<()>,
    /// The files of runs kept open (see [`LocalStore::run_file`]), the one used last last.
    run_files: Mutex<Vec<(PathBuf, Arc<Mutex<File>>)>>,
}

/// How many files of runs a store keeps open (two per run: sessions and spans).
const OPEN_RUN_FILES: usize = 16;

impl LocalStore {
    /// The store at `dir`, created if needed (an unwritable directory is an error now,
    /// not at the first record).
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        LocalStore::open_capped(dir, MAX_SHARED_FILE_BYTES)
    }

    fn open_capped(dir: &Path, max_shared_bytes: u64) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|source| Error::LocalStore {
            path: dir.to_owned(),
            source,
        })?;
        Ok(LocalStore::at(dir, max_shared_bytes))
    }

    /// The store at `dir`, its folders made with the first record written there.
    pub(crate) fn lazy(dir: &Path) -> Self {
        LocalStore::at(dir, MAX_SHARED_FILE_BYTES)
    }

    fn at(dir: &Path, max_shared_bytes: u64) -> Self {
        LocalStore {
            inner: Arc::new(Store {
                dir: dir.to_owned(),
                max_shared_bytes,
                rotation: Mutex::new(()),
                run_files: Mutex::new(Vec::new()),
            }),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Records a session start, in the folder of the run its metadata names.
    pub(crate) fn start_session(&self, session: &SessionStart) -> Result<()> {
        let run = session.metadata.get("run_id").and_then(Value::as_str);
        let record = SessionRecord::SessionStart {
            recorded_at_ms: now_ms(),
            session: session.clone(),
        };
        self.append(run, SESSIONS_FILE, &lines([record])?)
    }

    /// Records an update of session or event `event_id`, in the folder of run `run` (the
    /// run of the session).
    pub(crate) fn update_event(
        &self,
        event_id: &str,
        enrichment: &Enrichment,
        run: Option<&str>,
    ) -> Result<()> {
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
        self.append(run, SESSIONS_FILE, &lines([record])?)
    }

    /// Records a request about run `run_id` that HoneyHive did not receive, in the run's
    /// `run.jsonl`.
    pub(crate) fn append_run_record(&self, run_id: &str, record: &RunRecord) -> Result<()> {
        self.append(Some(run_id), RUN_FILE, &lines([record])?)
    }

    /// Records spans, each in the folder of its run (`honeyhive_metadata.run_id`), in the
    /// order given within each folder.
    pub(crate) fn append_spans(&self, spans: impl IntoIterator<Item = SpanRecord>) -> Result<()> {
        for (run, spans) in by_run(spans) {
            self.append_run_spans(run.as_deref(), spans)?;
        }
        Ok(())
    }

    /// Records the spans of run `run` (or of no run) in its folder, in order.
    pub(crate) fn append_run_spans(&self, run: Option<&str>, spans: Vec<SpanRecord>) -> Result<()> {
        self.append(run, SPANS_FILE, &lines(spans)?)
    }

    /// Appends `text` (whole lines) to file `name` of `run`'s folder, or of the top of the
    /// store, with one write; then rotates a file at the top that grew past its cap.
    fn append(&self, run: Option<&str>, name: &str, text: &[u8]) -> Result<()> {
        let path = match run {
            Some(run) => run_dir(&self.inner.dir, run).join(name),
            None => self.inner.dir.join(name),
        };
        let io = |source| Error::LocalStore {
            path: path.clone(),
            source,
        };
        match run {
            Some(_) => {
                let file = self.run_file(&path).map_err(io)?;
                let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                file.write_all(text).map_err(io)
            }
            // Opened for each append: a file at the top may be rotated by another process,
            // and a handle kept open would go on writing into the rotated one.
            None => {
                let mut file = match open_append(&path) {
                    // The store's folder is made when first needed (connected, the store
                    // only keeps what HoneyHive did not receive: usually nothing).
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        fs::create_dir_all(&self.inner.dir).map_err(io)?;
                        open_append(&path)
                    }
                    opened => opened,
                }
                .map_err(io)?;
                file.write_all(text).map_err(io)?;
                if file.metadata().map_err(io)?.len() > self.inner.max_shared_bytes {
                    self.rotate(&path).map_err(io)?;
                }
                Ok(())
            }
        }
    }

    /// The open file at `path` in a run's folder (made with the run's first record): a run
    /// appends a record or more per datapoint, so its files stay open, the
    /// [`OPEN_RUN_FILES`] used last.
    fn run_file(&self, path: &Path) -> io::Result<Arc<Mutex<File>>> {
        let mut files = self
            .inner
            .run_files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(i) = files.iter().position(|(p, _)| p == path) {
            // Last in the list: the one used last.
            let entry = files.remove(i);
            let file = entry.1.clone();
            files.push(entry);
            return Ok(file);
        }
        let file = match open_append(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(folder) = path.parent() {
                    fs::create_dir_all(folder)?;
                }
                open_append(path)
            }
            opened => opened,
        }?;
        if files.len() == OPEN_RUN_FILES {
            files.remove(0);
        }
        let file = Arc::new(Mutex::new(file));
        files.push((path.to_owned(), file.clone()));
        Ok(file)
    }

    /// Renames `path` to its rotated name (replacing the previous one), unless another
    /// thread did already.
    fn rotate(&self, path: &Path) -> io::Result<()> {
        let _rotating = self
            .inner
            .rotation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match fs::metadata(path) {
            Ok(meta) if meta.len() > self.inner.max_shared_bytes => fs::rename(path, rotated(path)),
            // Rotated meanwhile (by another thread or process).
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `spans` by the run each belongs to (`honeyhive_metadata.run_id`; `None`: no run), in
/// the order given within each run.
pub(crate) fn by_run(
    spans: impl IntoIterator<Item = SpanRecord>,
) -> Vec<(Option<String>, Vec<SpanRecord>)> {
    // A batch holds the spans of a few runs at most: a list beats a map.
    let mut by_run: Vec<(Option<String>, Vec<SpanRecord>)> = Vec::new();
    for span in spans {
        let run = span
            .attributes
            .get(crate::attributes::RUN_ID)
            .and_then(Value::as_str)
            .map(str::to_owned);
        match by_run.iter_mut().find(|(r, _)| *r == run) {
            Some((_, spans)) => spans.push(span),
            None => by_run.push((run, vec![span])),
        }
    }
    by_run
}

/// `path` opened to append, created if missing.
fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `spans.jsonl` -> `spans.1.jsonl`, in the same folder.
fn rotated(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.1.jsonl"))
}

/// Each record as a JSON line.
fn lines<T: Serialize>(records: impl IntoIterator<Item = T>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    for record in records {
        serde_json::to_writer(&mut buf, &record).map_err(|source| Error::Serialize {
            what: "local record",
            source,
        })?;
        buf.push(b'\n');
    }
    Ok(buf)
}

/// Unix time in milliseconds, as records and ledgers stamp it.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path, out: &mut Vec<T>) -> Result<()> {
    let io = |source| Error::LocalStore {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| {
            io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line {}: {e}", n + 1),
            ))
        })?;
        out.push(record);
    }
    Ok(())
}

/// The files that hold the records of file `name` in `dir`, oldest first: its rotated
/// generation, then itself (either may be absent).
pub(crate) fn generations(dir: &Path, name: &str) -> [PathBuf; 2] {
    let path = dir.join(name);
    [rotated(&path), path]
}

/// The records of file `name` in `dir`: its rotated generation, then itself.
fn read_records<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for path in generations(dir, name) {
        read_lines(&path, &mut out)?;
    }
    Ok(out)
}

/// Every span record of the local store folder `dir`, in the order written (the rotated
/// file's first). The top of a store holds the spans of no run; a run's are in its folder:
/// `read_spans(&run_dir(dir, run_id))`, or the report directory of an experiment.
///
/// # Errors
/// [`Error::LocalStore`] when the file cannot be read or a line is not a span record. A
/// folder with no spans yet reads as none.
///
/// # Example
/// ```
/// use honeyhive::local_store::{read_spans, run_dir};
/// use honeyhive::opentelemetry::trace::Tracer as _;
/// use honeyhive::{Environment, HoneyHiveTracer};
///
/// let dir = std::env::temp_dir().join(format!("honeyhive-doc-read-{}", std::process::id()));
/// let local = || HoneyHiveTracer::builder().environment(Environment::empty()).local_dir(&dir);
///
/// let plain = local().session_name("chat").build()?;
/// plain.in_scope(|| plain.otel_tracer().unwrap().in_span("answer", |_| {}));
/// plain.flush()?;
/// let spans = read_spans(&dir)?;
/// assert_eq!(spans.len(), 1);
/// assert_eq!(spans[0].name, "answer");
/// assert_eq!(spans[0].attributes["honeyhive.session_id"], plain.session_id());
///
/// // A tracer of a run records into the run's folder.
/// let in_run = local().run_id("run-1").build()?;
/// in_run.in_scope(|| in_run.otel_tracer().unwrap().in_span("judge", |_| {}));
/// in_run.flush()?;
/// assert_eq!(read_spans(&run_dir(&dir, "run-1"))?[0].name, "judge");
/// assert_eq!(read_spans(&dir)?.len(), 1);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), honeyhive::Error>(())
/// ```
pub fn read_spans(dir: &Path) -> Result<Vec<SpanRecord>> {
    read_records(dir, SPANS_FILE)
}

/// Every session record of the local store folder `dir`, in the order written (see
/// [`read_spans`] for where a run's are).
pub fn read_sessions(dir: &Path) -> Result<Vec<SessionRecord>> {
    read_records(dir, SESSIONS_FILE)
}

/// The run records of a run's folder `dir` (its creation and completion, when HoneyHive did
/// not receive them), in the order written; none when there are none.
pub fn read_run_records(dir: &Path) -> Result<Vec<RunRecord>> {
    let mut out = Vec::new();
    read_lines(&dir.join(RUN_FILE), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("honeyhive-store-{name}-{}", uuid::Uuid::new_v4()))
    }

    fn span(name: &str, run: Option<&str>) -> SpanRecord {
        let mut attributes = Map::new();
        if let Some(run) = run {
            attributes.insert(crate::attributes::RUN_ID.into(), run.into());
        }
        SpanRecord {
            name: name.into(),
            trace_id: "t".into(),
            span_id: name.into(),
            parent_span_id: None,
            kind: None,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            status: "unset".into(),
            status_message: None,
            attributes,
            events: Vec::new(),
        }
    }

    fn session(id: &str, run: Option<&str>) -> SessionStart {
        let mut metadata = Map::new();
        if let Some(run) = run {
            metadata.insert("run_id".into(), run.into());
        }
        SessionStart {
            session_id: id.into(),
            project: Some("p".into()),
            session_name: "s".into(),
            source: "dev".into(),
            inputs: Value::Null,
            metadata,
            user_properties: None,
            config: None,
        }
    }

    fn names(spans: &[SpanRecord]) -> Vec<&str> {
        spans.iter().map(|s| s.name.as_str()).collect()
    }

    /// A run's sessions, updates and spans go to its folder, in order; the rest to the
    /// top. Each folder reads back on its own.
    #[test]
    fn records_go_to_the_folder_of_their_run() {
        let dir = temp_dir("runs");
        let store = LocalStore::open(&dir).unwrap();
        store.start_session(&session("s-top", None)).unwrap();
        store.start_session(&session("s-a", Some("run-a"))).unwrap();
        store
            .update_event("s-a", &Enrichment::new().metadata("k", 1), Some("run-a"))
            .unwrap();
        store
            .append_spans([
                span("a1", Some("run-a")),
                span("top1", None),
                span("b1", Some("run-b")),
                span("a2", Some("run-a")),
            ])
            .unwrap();
        assert_eq!(names(&read_spans(&dir).unwrap()), ["top1"]);
        assert_eq!(
            names(&read_spans(&run_dir(&dir, "run-a")).unwrap()),
            ["a1", "a2"]
        );
        assert_eq!(names(&read_spans(&run_dir(&dir, "run-b")).unwrap()), ["b1"]);
        let top = read_sessions(&dir).unwrap();
        assert!(
            matches!(&top[..], [SessionRecord::SessionStart { session, .. }] if session.session_id == "s-top"),
            "{top:?}"
        );
        let run_a = read_sessions(&run_dir(&dir, "run-a")).unwrap();
        assert!(
            matches!(&run_a[..], [
                SessionRecord::SessionStart { session, .. },
                SessionRecord::EventUpdate { update, .. },
            ] if session.session_id == "s-a" && update["event_id"] == "s-a"),
            "{run_a:?}"
        );
        fs::remove_dir_all(&dir).ok();
    }

    /// More runs than the store keeps files open for: each run still gets every record,
    /// in order (a file closed for room is opened again to append).
    #[test]
    fn more_runs_than_open_files_keep_every_record() {
        let dir = temp_dir("many-runs");
        let store = LocalStore::open(&dir).unwrap();
        let runs = OPEN_RUN_FILES + 5;
        for round in 0..3 {
            for run in 0..runs {
                let run = format!("run-{run}");
                store
                    .append_spans([span(&format!("{run}/{round}"), Some(&run))])
                    .unwrap();
            }
        }
        for run in 0..runs {
            let run = format!("run-{run}");
            let spans = read_spans(&run_dir(&dir, &run)).unwrap();
            let expected: Vec<String> = (0..3).map(|round| format!("{run}/{round}")).collect();
            assert_eq!(names(&spans), expected);
        }
        assert_eq!(store.inner.run_files.lock().unwrap().len(), OPEN_RUN_FILES);
        fs::remove_dir_all(&dir).ok();
    }

    /// The files at the top are capped: past the cap a file is rotated (one generation
    /// kept), so the top holds at most about twice the cap of each; the readers read the
    /// rotated records first. A run's files are never rotated.
    #[test]
    fn the_files_at_the_top_are_rotated_and_a_runs_are_not() {
        let dir = temp_dir("rotation");
        let cap = 2_000;
        let store = LocalStore::open_capped(&dir, cap).unwrap();
        for i in 0..200 {
            store
                .append_spans([
                    span(&format!("top{i}"), None),
                    span(&format!("run{i}"), Some("r")),
                ])
                .unwrap();
        }
        // Each file at most the cap and the one append that took it past.
        let line = lines([span("top199", None)]).unwrap().len() as u64;
        for name in [SPANS_FILE, "spans.1.jsonl"] {
            let size = fs::metadata(dir.join(name)).unwrap().len();
            assert!(size <= cap + line, "{name}: {size} bytes");
        }
        // The newest spans, in order, the rotated ones first.
        let top = read_spans(&dir).unwrap();
        assert!(top.len() > 1 && top.len() < 200, "{} spans kept", top.len());
        let newest: Vec<String> = (200 - top.len()..200).map(|i| format!("top{i}")).collect();
        assert_eq!(names(&top), newest);
        // The run keeps every span.
        assert_eq!(read_spans(&run_dir(&dir, "r")).unwrap().len(), 200);
        assert!(!run_dir(&dir, "r").join("spans.1.jsonl").exists());
        fs::remove_dir_all(&dir).ok();
    }
}
