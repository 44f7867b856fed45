//! The span tree of every session of a run, from its `spans.jsonl` (local runs; a connected
//! run's spans went to HoneyHive), as the JSON object the page reads: session id to its
//! spans in depth-first order. Read on a thread of its own while the datapoints are.
//!
//! A session's spans are only known together at the end of the file, so every span is held
//! until then: as little of it as the tree needs (its ids by their 64 bits, no attributes),
//! and each session's tree is written out as it is laid out, not all trees at once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash as _, Hasher as _};
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::spill::Spill;
use crate::{Error, Result};

/// Most spans of one datapoint the report shows.
const MAX_SPANS: usize = 500;

/// A span of a datapoint's tree, as the page draws it: depth, name, start (ms after the
/// datapoint's first span started), duration (ms), 1 when it ended in error.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SpanOut(
    pub(crate) u16,
    pub(crate) String,
    pub(crate) f64,
    pub(crate) f64,
    pub(crate) u8,
);

/// The run's span trees by session as a JSON object, made safe for the page's script
/// element, in a file beside the page (`dir`, the run's folder); `None` when the run's
/// folder has no spans.
pub(crate) fn trees_json(dir: &Path) -> Result<Option<Spill>> {
    let Some(Held { sessions, names }) = read_spans(&dir.join(crate::local_store::SPANS_FILE))?
    else {
        return Ok(None);
    };
    let mut out = Spill::create(dir, super::REPORT_HTML)?;
    out.write(b"{")?;
    let mut json = Vec::new();
    for (i, (session, held)) in sessions.into_iter().enumerate() {
        let spans = held.into_iter().map(|s| s.span(&names)).collect();
        json.clear();
        if i > 0 {
            json.push(b',');
        }
        serde_json::to_writer(&mut json, &session)
            .and_then(|()| {
                json.push(b':');
                serde_json::to_writer(&mut json, &tree(spans))
            })
            .map_err(|source| Error::Serialize {
                what: "the span trees of the report",
                source,
            })?;
        out.write_with(|out| super::html::write_script_safe(&json, out))?;
    }
    out.write(b"}")?;
    Ok(Some(out))
}

/// A span's id, or its parent's, as a key: its 64 bits when it is written as
/// OpenTelemetry writes it (16 hex digits), else a hash of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SpanKey(u64);

impl From<&str> for SpanKey {
    fn from(text: &str) -> SpanKey {
        match u64::from_str_radix(text, 16) {
            Ok(bits) if !text.starts_with('+') => SpanKey(bits),
            _ => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                text.hash(&mut hasher);
                SpanKey(hasher.finish())
            }
        }
    }
}

/// A span as read from `spans.jsonl`: what the tree needs, nothing else parsed.
#[derive(Deserialize)]
struct SpanLine<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    span_id: Cow<'a, str>,
    #[serde(borrow, default)]
    parent_span_id: Option<Cow<'a, str>>,
    start_unix_nanos: u64,
    end_unix_nanos: u64,
    #[serde(borrow, default)]
    status: Cow<'a, str>,
    /// Kept as text: only the session id is needed of it, and finding it in the text is
    /// much faster than parsing every attribute of 60,000 spans.
    #[serde(borrow)]
    attributes: &'a RawValue,
}

/// The attribute naming a span's session, as it is written.
const SESSION_KEY: &str = "\"honeyhive.session_id\":";

/// The session id in a span's attributes (a JSON object, as written).
fn session_of(attributes: &str) -> Option<Cow<'_, str>> {
    // The quick way: the key once, after `{` or `,`, its value a string without escapes.
    let mut found = attributes.match_indices(SESSION_KEY);
    if let (Some((at, _)), None) = (found.next(), found.next()) {
        let before = attributes[..at].trim_end().chars().next_back();
        let value = attributes[at + SESSION_KEY.len()..].trim_start();
        if matches!(before, Some('{' | ','))
            && let Some(value) = value.strip_prefix('"')
            && let Some(end) = value.find(['"', '\\'])
            && value.as_bytes()[end] == b'"'
        {
            return Some(Cow::Borrowed(&value[..end]));
        }
    }
    // Otherwise (the key's text inside a value, escapes): the attributes parsed.
    #[derive(Deserialize)]
    struct SessionOf<'a> {
        #[serde(rename = "honeyhive.session_id", borrow, default)]
        session_id: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<SessionOf<'_>>(attributes)
        .ok()?
        .session_id
}

/// A span of a session, before its tree is laid out.
struct Span {
    id: SpanKey,
    parent: Option<SpanKey>,
    name: String,
    start: u64,
    end: u64,
    error: bool,
}

/// A span as it is held until every span is read: its name by its place in the run's span
/// names (a run has few), no text of its own.
struct HeldSpan {
    id: SpanKey,
    parent: Option<SpanKey>,
    name: u32,
    start: u64,
    end: u64,
    error: bool,
}

impl HeldSpan {
    fn span(self, names: &[String]) -> Span {
        Span {
            id: self.id,
            parent: self.parent,
            name: names[self.name as usize].clone(),
            start: self.start,
            end: self.end,
            error: self.error,
        }
    }
}

/// The spans of a run by session, and their names.
struct Held {
    sessions: HashMap<String, Vec<HeldSpan>>,
    names: Vec<String>,
}

/// The run's spans by session, from its `spans.jsonl`; `None` when it has none (a
/// connected run's spans went to HoneyHive).
fn read_spans(path: &Path) -> Result<Option<Held>> {
    let io = |source| Error::LocalStore {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut sessions: HashMap<String, Vec<HeldSpan>> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut name_of: HashMap<String, u32> = HashMap::new();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut text = String::new();
    loop {
        text.clear();
        if reader.read_line(&mut text).map_err(io)? == 0 {
            break;
        }
        // A line that is not a span (cut short by a crash) is skipped: the report shows
        // the others.
        let Ok(span) = serde_json::from_str::<SpanLine<'_>>(&text) else {
            continue;
        };
        let Some(session) = session_of(span.attributes.get()) else {
            continue;
        };
        let spans = match sessions.get_mut(session.as_ref()) {
            Some(spans) => spans,
            None => sessions.entry(session.into_owned()).or_default(),
        };
        let name = match name_of.get(span.name.as_ref()) {
            Some(&name) => name,
            None => {
                let name = names.len() as u32;
                names.push(span.name.to_string());
                name_of.insert(span.name.into_owned(), name);
                name
            }
        };
        spans.push(HeldSpan {
            id: SpanKey::from(span.span_id.as_ref()),
            parent: span.parent_span_id.as_deref().map(SpanKey::from),
            name,
            start: span.start_unix_nanos,
            end: span.end_unix_nanos,
            error: span.status == "error",
        });
    }
    Ok(Some(Held { sessions, names }))
}

/// A session's spans as a tree in depth-first order, children by start time.
fn tree(mut spans: Vec<Span>) -> Vec<SpanOut> {
    spans.sort_by_key(|s| s.start);
    let origin = spans.first().map_or(0, |s| s.start);
    let index: HashMap<SpanKey, usize> = spans.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span.parent.and_then(|p| index.get(&p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let ms = |nanos: u64| nanos as f64 / 1e6;
    let mut out = Vec::with_capacity(spans.len().min(MAX_SPANS));
    let mut stack: Vec<(usize, u16)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    let mut seen = vec![false; spans.len()];
    while let Some((i, depth)) = stack.pop() {
        if seen[i] || out.len() == MAX_SPANS {
            continue;
        }
        seen[i] = true;
        let span = &spans[i];
        out.push(SpanOut(
            depth,
            span.name.clone(),
            ms(span.start - origin),
            ms(span.end.saturating_sub(span.start)),
            u8::from(span.error),
        ));
        stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_found_in_the_attributes_text() {
        let plain = r#"{"a":1,"honeyhive.session_id":"s-1","b":"x"}"#;
        assert_eq!(session_of(plain).as_deref(), Some("s-1"));
        // The key's text inside a value, or an escaped id: parsed, not guessed.
        let tricky = r#"{"note":"\"honeyhive.session_id\":\"fake\"","honeyhive.session_id":"s-2"}"#;
        assert_eq!(session_of(tricky).as_deref(), Some("s-2"));
        let escaped = r#"{"honeyhive.session_id":"s\u002d3"}"#;
        assert_eq!(session_of(escaped).as_deref(), Some("s-3"));
        assert_eq!(session_of(r#"{"a":1}"#), None);
    }

    #[test]
    fn the_trees_of_interleaved_sessions_are_written_whole_and_script_safe() {
        let dir = std::env::temp_dir().join(format!("honeyhive-trees-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = |session: &str, name: &str, id: &str, parent: Option<&str>, start: u64| {
            serde_json::json!({
                "name": name,
                "span_id": id,
                "parent_span_id": parent,
                "start_unix_nanos": start * 1_000_000,
                "end_unix_nanos": (start + 1) * 1_000_000,
                "status": if name.contains('<') { "error" } else { "ok" },
                "attributes": {"honeyhive.session_id": session},
            })
            .to_string()
        };
        // Two sessions' spans interleaved, children before parents (as spans end), one
        // id that is not hex, and a line cut short.
        let lines = [
            line(
                "s1",
                "call",
                "00000000000000a2",
                Some("00000000000000a1"),
                2,
            ),
            line("s2", "call", "not-hex-child", Some("not-hex-root"), 6),
            line("s1", "<b>", "00000000000000a3", Some("00000000000000a2"), 3),
            line("s2", "run", "not-hex-root", None, 5),
            line("s1", "run", "00000000000000a1", None, 1),
            "{\"name\": \"cut".to_owned(),
        ];
        std::fs::write(
            dir.join(crate::local_store::SPANS_FILE),
            lines.join("\n") + "\n",
        )
        .unwrap();
        let mut json = Vec::new();
        trees_json(&dir)
            .unwrap()
            .unwrap()
            .copy_to(&mut json)
            .unwrap();
        let text = String::from_utf8(json).unwrap();
        assert!(!text.contains('<'), "{text}");
        let trees: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            trees,
            serde_json::json!({
                "s1": [[0, "run", 0.0, 1.0, 0], [1, "call", 1.0, 1.0, 0], [2, "<b>", 2.0, 1.0, 1]],
                "s2": [[0, "run", 0.0, 1.0, 0], [1, "call", 1.0, 1.0, 0]],
            })
        );
        // Only the spans file is left in the folder.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn span_ids_are_keyed_by_their_bits_or_their_text() {
        assert_eq!(SpanKey::from("00000000000000ff"), SpanKey(255));
        assert_eq!(SpanKey::from("not-hex"), SpanKey::from("not-hex"));
        assert_ne!(SpanKey::from("not-hex"), SpanKey::from("not-hex2"));
        assert_ne!(SpanKey::from("+f"), SpanKey(15));
    }

    #[test]
    fn spans_become_a_tree_in_start_order() {
        let span = |id: &str, parent: Option<&str>, start: u64, end: u64| Span {
            id: id.into(),
            parent: parent.map(Into::into),
            name: format!("s{id}"),
            start,
            end,
            error: id == "c",
        };
        let out = tree(vec![
            span("c", Some("a"), 3_000_000, 4_000_000),
            span("b", Some("a"), 2_000_000, 5_000_000),
            span("a", None, 1_000_000, 9_000_000),
            span("d", Some("b"), 2_500_000, 3_000_000),
        ]);
        let shape: Vec<(u16, &str, f64, f64, u8)> = out
            .iter()
            .map(|s| (s.0, s.1.as_str(), s.2, s.3, s.4))
            .collect();
        assert_eq!(
            shape,
            [
                (0, "sa", 0.0, 8.0, 0),
                (1, "sb", 1.0, 3.0, 0),
                (2, "sd", 1.5, 0.5, 0),
                (1, "sc", 2.0, 1.0, 1)
            ]
        );
    }
}
