//! The record/replay cache of model calls: cassettes.
//!
//! A cassette is one model call's request and answer, one JSON file per call in a
//! directory the user commits (default `tests/cassettes/`, `HH_LLM_CACHE_DIR`), so that a
//! test or an experiment over a real model runs in CI with no key, no cost and the same
//! verdict every time. `HH_LLM_CACHE` says how calls use them ([`CacheMode`]):
//! `record` sends every call and writes its cassette, `replay` answers every call from its
//! cassette and never touches the network (a call without one fails, naming the call and
//! showing how the closest recorded request differs), `auto` replays what is recorded and
//! records the rest, `off` (the default) leaves calls alone.
//!
//! A call's cassette is found by its key: the request in canonical form (method, path and
//! the JSON body with its object keys sorted: model, messages, every parameter), plus the
//! experiment repetition and how many identical requests came before it in the same
//! datapoint, so that repeated calls (and repetitions) keep their own answers and still
//! vary as they did when recorded. Streamed answers are recorded event by event and
//! replayed as the same server-sent events.
//!
//! What never reaches a cassette: request headers (the API key travels there), the query
//! string, body fields named like credentials (`api_key`, `password`, ...), and the text of
//! any credential the request carried, wherever else it appears (it is replaced by
//! `[REDACTED]`). The transport's redaction rules
//! ([`ModelTransportBuilder::redaction`](crate::model::ModelTransportBuilder::redaction))
//! apply to the request before its key is computed (so a cassette is found by the request
//! as written) and to the answer before it is written.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{ApiKey, Environment, Error, Result};

/// Where cassettes go when `HH_LLM_CACHE_DIR` does not say (relative to the crate being
/// built, `CARGO_MANIFEST_DIR`, when cargo runs the program).
pub const DEFAULT_DIR: &str = "tests/cassettes";

/// Body fields never written to a cassette (compared without case).
const CREDENTIAL_FIELDS: [&str; 7] = [
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "password",
    "secret",
    "access_token",
];

/// What replaces a credential found in a cassette's text.
const REDACTED: &str = "[REDACTED]";

/// How model calls use cassettes (`HH_LLM_CACHE`); see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CacheMode {
    /// Calls go to the model; cassettes are neither read nor written.
    #[default]
    Off,
    /// Every call goes to the model and its cassette is (re)written.
    Record,
    /// Every call is answered from its cassette; a call without one fails.
    Replay,
    /// Calls with a cassette are replayed, the others go to the model and are recorded.
    Auto,
}

impl CacheMode {
    /// The mode `HH_LLM_CACHE` names (`off` when unset).
    ///
    /// # Errors
    /// [`Error::Config`] for a value that is not a mode.
    pub fn from_env(env: &Environment) -> Result<CacheMode> {
        match env.get("HH_LLM_CACHE") {
            Some(value) => value.parse(),
            None => Ok(CacheMode::Off),
        }
    }

    fn reads(self) -> bool {
        matches!(self, CacheMode::Replay | CacheMode::Auto)
    }
}

impl FromStr for CacheMode {
    type Err = Error;

    fn from_str(value: &str) -> Result<CacheMode> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" | "" => Ok(CacheMode::Off),
            "record" => Ok(CacheMode::Record),
            "replay" => Ok(CacheMode::Replay),
            "auto" => Ok(CacheMode::Auto),
            other => Err(Error::Config(format!(
                "HH_LLM_CACHE={other:?} is not a cache mode: use record, replay, auto or off"
            ))),
        }
    }
}

impl fmt::Display for CacheMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CacheMode::Off => "off",
            CacheMode::Record => "record",
            CacheMode::Replay => "replay",
            CacheMode::Auto => "auto",
        })
    }
}

/// A model request in canonical form: what its cassette is found by.
#[derive(Debug, Clone)]
pub(crate) struct CanonicalRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    /// The body with credential fields removed (keys sort when serialised: a `Map` is
    /// ordered here, and [`canonical_text`] sorts regardless).
    pub(crate) body: Value,
    pub(crate) key: [u8; 32],
}

impl CanonicalRequest {
    /// The canonical form of `method path` with JSON `body`.
    pub(crate) fn new(method: &str, path: &str, mut body: Value) -> CanonicalRequest {
        strip_credentials(&mut body);
        let mut text = format!("{method} {path}\n");
        canonical_text(&body, &mut text);
        let key = Sha256::digest(text.as_bytes()).into();
        CanonicalRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            body,
            key,
        }
    }

    fn model(&self) -> &str {
        self.body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("model")
    }

    /// `POST /v1/chat/completions (model gpt-4o-mini)`.
    fn describe(&self) -> String {
        format!("{} {} (model {})", self.method, self.path, self.model())
    }
}

fn strip_credentials(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !CREDENTIAL_FIELDS.iter().any(|c| c.eq_ignore_ascii_case(k)));
            map.values_mut().for_each(strip_credentials);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_credentials),
        _ => {}
    }
}

/// `value` as compact JSON with every object's keys sorted, whatever order the map keeps.
fn canonical_text(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_text(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_text(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Which recorded answer of a request a call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Slot {
    /// The experiment repetition.
    pub(crate) repetition: u32,
    /// Identical requests before this one in the same scope.
    pub(crate) occurrence: u32,
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    /// A JSON answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<Value>,
    /// An answer that is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
    /// A streamed answer: its server-sent events, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) events: Option<Vec<Event>>,
}

impl Answer {
    /// Applies `redaction` to what the answer holds (before it is written).
    pub(crate) fn redact(&mut self, redaction: &crate::Redaction) {
        if let Some(body) = &mut self.body {
            redaction.redact_json("response", body);
        }
        if let Some(text) = &mut self.text
            && let Some(redacted) = redaction.redact_str("response", text)
        {
            *text = redacted;
        }
        for event in self.events.iter_mut().flatten() {
            redaction.redact_json("response", &mut event.data);
        }
    }
}

/// One server-sent event of a recorded stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Event {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) event: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) id: String,
    /// The data, as JSON when it is a JSON object or array (readable, diffable), else as
    /// the text it was.
    pub(crate) data: Value,
}

impl Event {
    pub(crate) fn new(event: &str, id: &str, data: &str) -> Event {
        let data = match serde_json::from_str::<Value>(data) {
            Ok(value @ (Value::Object(_) | Value::Array(_))) => value,
            _ => Value::String(data.to_owned()),
        };
        Event {
            event: event.to_owned(),
            id: id.to_owned(),
            data,
        }
    }

    /// The data as it was sent.
    pub(crate) fn data_text(&self) -> String {
        match &self.data {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }

    /// The event as server-sent event text.
    pub(crate) fn encode(&self, out: &mut String) {
        if !self.event.is_empty() {
            out.push_str("event: ");
            out.push_str(&self.event);
            out.push('\n');
        }
        if !self.id.is_empty() {
            out.push_str("id: ");
            out.push_str(&self.id);
            out.push('\n');
        }
        for line in self.data_text().split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
}

/// A cassette file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct File {
    request: FileRequest,
    repetition: u32,
    occurrence: u32,
    response: Answer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileRequest {
    method: String,
    path: String,
    body: Value,
}

/// A recorded call, as a miss compares it.
#[derive(Debug)]
struct Recorded {
    request: CanonicalRequest,
    slot: Slot,
    path: PathBuf,
}

/// The cassettes of one directory, as model calls use them; see the [module docs](self).
/// Cheap to clone (clones share the counters).
///
/// A call's cassette is the file its key names (the endpoint, the model, the key's first
/// twelve hex digits, the repetition and the occurrence), so a lookup reads that one file
/// (once per process) and checks that it records the same request:
/// nothing is loaded up front, and the directory is read whole only to explain a miss.
#[derive(Clone)]
pub struct Cassettes {
    inner: Arc<CassetteStore>,
}

/// What clones of [`Cassettes`] share.
struct CassetteStore {
    mode: CacheMode,
    dir: PathBuf,
    /// Identical requests so far, for calls made outside every model scope.
    occurrences: Mutex<HashMap<[u8; 32], u32>>,
}

/// Every cassette of a directory, read to explain a miss.
#[derive(Default)]
struct Index {
    all: Vec<Recorded>,
    /// Files that could not be read as cassettes, with why: named in a miss.
    unreadable: Vec<String>,
}

impl Cassettes {
    /// Cassettes in `dir` used as `mode` says. A relative `dir` is taken from the crate
    /// being built (`CARGO_MANIFEST_DIR`) when cargo runs the program, else from the
    /// current directory.
    pub fn new(mode: CacheMode, dir: impl Into<PathBuf>) -> Cassettes {
        let dir = dir.into();
        let dir = match (dir.is_relative(), std::env::var_os("CARGO_MANIFEST_DIR")) {
            (true, Some(root)) => PathBuf::from(root).join(dir),
            _ => dir,
        };
        Cassettes {
            inner: Arc::new(CassetteStore {
                mode,
                dir,
                occurrences: Mutex::default(),
            }),
        }
    }

    /// The mode and directory `HH_LLM_CACHE` and `HH_LLM_CACHE_DIR` name (`off` and
    /// [`DEFAULT_DIR`] when unset).
    ///
    /// # Errors
    /// [`Error::Config`] for a mode that is not one.
    pub fn from_env(env: &Environment) -> Result<Cassettes> {
        let mode = CacheMode::from_env(env)?;
        let dir = env
            .get("HH_LLM_CACHE_DIR")
            .unwrap_or_else(|| DEFAULT_DIR.to_owned());
        Ok(Cassettes::new(mode, dir))
    }

    /// The mode.
    pub fn mode(&self) -> CacheMode {
        self.inner.mode
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The slot of the next call of `request`: the scope's repetition and occurrence
    /// count, or this cache's own count outside every scope.
    pub(crate) fn slot(
        &self,
        request: &CanonicalRequest,
        scope: Option<&super::scope::ModelScope>,
    ) -> Slot {
        match scope {
            Some(scope) => Slot {
                repetition: scope.repetition(),
                occurrence: scope.next_occurrence(&request.key),
            },
            None => {
                let mut counts = self
                    .inner
                    .occurrences
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let count = counts.entry(request.key).or_insert(0);
                let occurrence = *count;
                *count += 1;
                Slot {
                    repetition: 0,
                    occurrence,
                }
            }
        }
    }

    /// The recorded answer of `request` in `slot`, when the mode reads cassettes; in
    /// `replay` mode a call without one is a [`CassetteMiss`].
    pub(crate) fn lookup(
        &self,
        request: &CanonicalRequest,
        slot: Slot,
    ) -> std::result::Result<Option<Arc<Recording>>, CassetteMiss> {
        if !self.inner.mode.reads() {
            return Ok(None);
        }
        let path = self.inner.dir.join(file_name(request, slot));
        // The name says which request and slot the file records; a file edited by hand
        // may not, so its content decides.
        if let Some(found) =
            read_cached(&path).filter(|found| found.key == request.key && found.slot == slot)
        {
            return Ok(Some(found));
        }
        if self.inner.mode == CacheMode::Auto {
            return Ok(None);
        }
        let index = read_dir(&self.inner.dir);
        Err(CassetteMiss::new(request, slot, &self.inner.dir, &index))
    }

    /// Writes the cassette of `request` in `slot` (when the mode records), redacting every
    /// one of `credentials` (those the request carried), and makes it the answer of later
    /// lookups. Returns the file written.
    pub(crate) fn record(
        &self,
        request: &CanonicalRequest,
        slot: Slot,
        answer: Answer,
        credentials: &[ApiKey],
    ) -> std::result::Result<Option<PathBuf>, (PathBuf, String)> {
        if !matches!(self.inner.mode, CacheMode::Record | CacheMode::Auto) {
            return Ok(None);
        }
        let path = self.inner.dir.join(file_name(request, slot));
        let file = File {
            request: FileRequest {
                method: request.method.clone(),
                path: request.path.clone(),
                body: request.body.clone(),
            },
            repetition: slot.repetition,
            occurrence: slot.occurrence,
            response: answer,
        };
        let mut text = serde_json::to_string_pretty(&file)
            .map_err(|e| (path.clone(), format!("could not serialise it: {e}")))?;
        for credential in credentials
            .iter()
            .map(ApiKey::expose)
            .filter(|s| s.len() >= 8)
        {
            // A credential in JSON text is escaped as JSON escapes it.
            let escaped = Value::String(credential.to_owned()).to_string();
            let escaped = &escaped[1..escaped.len() - 1];
            text = text.replace(escaped, REDACTED);
        }
        write_atomically(&self.inner.dir, &path, text.as_bytes())
            .map_err(|e| (path.clone(), e.to_string()))?;
        forget(&path);
        Ok(Some(path))
    }
}

impl fmt::Debug for Cassettes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cassettes")
            .field("mode", &self.inner.mode)
            .field("dir", &self.inner.dir)
            .finish()
    }
}

/// Most cassette files the process keeps parsed.
const CACHED_FILES: usize = 16_384;

/// A cassette file as lookups use it: the key and slot it records, and its answer.
#[derive(Debug)]
pub(crate) struct Recording {
    key: [u8; 32],
    slot: Slot,
    pub(crate) answer: Answer,
}

/// Cassette files already read by this process, by path: an experiment replays every
/// datapoint's file, and a test binary often runs several experiments (or repetitions)
/// over the same cassettes; reading and parsing each file again was most of what a
/// replayed call cost. A file this process writes is forgotten, so it is read again.
static READ: LazyLock<Mutex<HashMap<PathBuf, Arc<Recording>>>> = LazyLock::new(Mutex::default);

/// The cassette file at `path`, read once per process; `None` when there is none (or it
/// does not parse).
fn read_cached(path: &Path) -> Option<Arc<Recording>> {
    if let Some(found) = READ.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
        return Some(Arc::clone(found));
    }
    let file = serde_json::from_slice::<File>(&std::fs::read(path).ok()?).ok()?;
    let key =
        CanonicalRequest::new(&file.request.method, &file.request.path, file.request.body).key;
    let recording = Arc::new(Recording {
        key,
        slot: Slot {
            repetition: file.repetition,
            occurrence: file.occurrence,
        },
        answer: file.response,
    });
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    if read.len() >= CACHED_FILES {
        read.clear();
    }
    read.insert(path.to_owned(), Arc::clone(&recording));
    Some(recording)
}

/// Forgets `path` (this process rewrote it).
fn forget(path: &Path) {
    READ.lock().unwrap_or_else(|p| p.into_inner()).remove(path);
}

fn recorded_of(file: File, path: PathBuf) -> Recorded {
    Recorded {
        request: CanonicalRequest::new(&file.request.method, &file.request.path, file.request.body),
        slot: Slot {
            repetition: file.repetition,
            occurrence: file.occurrence,
        },
        path,
    }
}

/// Every cassette of `dir` (none when it does not exist yet).
fn read_dir(dir: &Path) -> Index {
    let mut index = Index::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return index;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // Sorted, so that a miss names the same closest file each run.
    paths.sort();
    for path in paths {
        let read = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<File>(&bytes).map_err(|e| e.to_string()));
        match read {
            Ok(file) => index.all.push(recorded_of(file, path)),
            Err(e) => index.unreadable.push(format!("{}: {e}", path.display())),
        }
    }
    index
}

/// `chat-completions-gpt-4o-mini-3fa2b1c9d0e4-r0-0.json`: the endpoint and model for
/// people, the key for uniqueness, the slot.
fn file_name(request: &CanonicalRequest, slot: Slot) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(60)
            .collect()
    };
    let endpoint = request
        .path
        .trim_start_matches('/')
        .trim_start_matches("v1/")
        .replace('/', "-");
    let hash: String = request.key[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{hash}-r{}-{}.json",
        clean(&endpoint),
        clean(request.model()),
        slot.repetition,
        slot.occurrence
    )
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("cassette"),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A call in `replay` mode without a cassette: the call, where it was looked for, and how
/// the closest recorded request differs from it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CassetteMiss {
    message: String,
}

/// Most differences a miss lists.
const MAX_DIFFERENCES: usize = 12;

impl CassetteMiss {
    fn new(request: &CanonicalRequest, slot: Slot, dir: &Path, index: &Index) -> CassetteMiss {
        let mut message = format!(
            "HH_LLM_CACHE=replay: no cassette for {} (repetition {}, occurrence {}) in {}; \
             record it with HH_LLM_CACHE=record (or auto, which records only what is missing)",
            request.describe(),
            slot.repetition,
            slot.occurrence,
            dir.display()
        );
        let same: Vec<&Recorded> = index
            .all
            .iter()
            .filter(|r| r.request.key == request.key)
            .collect();
        if !same.is_empty() {
            let mut slots: Vec<Slot> = same.iter().map(|r| r.slot).collect();
            slots.sort();
            let slots: Vec<String> = slots
                .iter()
                .map(|s| format!("repetition {} occurrence {}", s.repetition, s.occurrence))
                .collect();
            message.push_str(&format!(
                "\nthis exact request was recorded, but for {}: the code now makes it more \
                 often (or in more repetitions) than when it was recorded",
                slots.join(", ")
            ));
        } else if let Some((closest, differences)) = closest(request, &index.all) {
            message.push_str(&format!(
                "\nthe closest recorded request, {}, differs in {} place(s) (- recorded, + now):",
                closest.path.display(),
                differences.len()
            ));
            for line in differences.iter().take(MAX_DIFFERENCES) {
                message.push_str("\n  ");
                message.push_str(line);
            }
            if differences.len() > MAX_DIFFERENCES {
                message.push_str(&format!(
                    "\n  ... and {} more",
                    differences.len() - MAX_DIFFERENCES
                ));
            }
        } else if index.all.is_empty() {
            message.push_str("\nno cassette is recorded there at all");
        } else {
            message.push_str(&format!(
                "\nnone of the {} cassettes there is a {} {} request",
                index.all.len(),
                request.method,
                request.path
            ));
        }
        if !index.unreadable.is_empty() {
            message.push_str(&format!(
                "\n{} file(s) there could not be read as cassettes: {}",
                index.unreadable.len(),
                index.unreadable.join("; ")
            ));
        }
        CassetteMiss { message }
    }
}

/// The recorded request of the same method and path closest to `request` (fewest
/// differing leaves), with its differences.
fn closest<'a>(
    request: &CanonicalRequest,
    all: &'a [Recorded],
) -> Option<(&'a Recorded, Vec<String>)> {
    let now = leaves(&request.body);
    all.iter()
        .filter(|r| r.request.method == request.method && r.request.path == request.path)
        .map(|r| (r, differences(&leaves(&r.request.body), &now)))
        .min_by_key(|(r, d)| (d.len(), r.path.clone()))
}

/// Every scalar of `value` by its path (`messages.1.content`), as compact JSON.
fn leaves(value: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, path: &mut String, out: &mut BTreeMap<String, String>) {
        let mut descend = |key: &str, item: &Value, path: &mut String| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            walk(item, path, out);
            path.truncate(len);
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    descend(k, v, path);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    descend(&i.to_string(), v, path);
                }
            }
            scalar => {
                out.insert(path.clone(), scalar.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(value, &mut String::new(), &mut out);
    out
}

fn differences(recorded: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<String> {
    let short = |s: &str| -> String {
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let mut out = Vec::new();
    for (path, old) in recorded {
        match now.get(path) {
            Some(new) if new == old => {}
            Some(new) => {
                out.push(format!("- {path}: {}", short(old)));
                out.push(format!("+ {path}: {}", short(new)));
            }
            None => out.push(format!("- {path}: {}", short(old))),
        }
    }
    for (path, new) in now {
        if !recorded.contains_key(path) {
            out.push(format!("+ {path}: {}", short(new)));
        }
    }
    out
}

/// The credentials `headers` carry: bearer tokens and API key headers, as the cassette
/// writer redacts them.
pub(crate) fn credentials(headers: &http::HeaderMap) -> Vec<ApiKey> {
    let mut found = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let name = name.as_str();
        if name == "authorization" || name == "proxy-authorization" {
            let token = value
                .split_once(' ')
                .map_or(value, |(_, token)| token)
                .trim();
            found.push(token.to_owned());
        } else if name.contains("api-key") || name.contains("apikey") || name.contains("token") {
            found.push(value.trim().to_owned());
        }
    }
    found.retain(|s| !s.is_empty());
    found.into_iter().map(ApiKey::new).collect()
}

#[cfg(test)]
mod tests;
