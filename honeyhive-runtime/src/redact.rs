//! Redaction: what is replaced by `"[REDACTED]"` before anything is written or sent.
//!
//! One set of rules per configuration ([`Redaction`], built by the `redact_*` methods of
//! [`ConfigBuilder`](crate::ConfigBuilder)), applied to every value on its way out: the
//! attributes and events of every span before any exporter sees it (HoneyHive, the local
//! store, the OTLP destination, the user's exporters), session starts and event updates,
//! the lines of `datapoints.jsonl` and the results a report is made of, and model-call
//! cassettes. Values are checked as flattened: a key rule matches any segment of an
//! attribute name (`honeyhive_inputs.user.password` matches `password`), so nested fields
//! are covered.
//!
//! Why at the export stage rather than on the caller's thread: the traced call is the hot
//! path, and a span's attributes come from many places (captured arguments, enrichment,
//! model calls, spans made with the OpenTelemetry API); the export task sees them all,
//! once, before the first byte is encoded.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use regex::Regex;
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

/// What a redacted value (or the redacted part of one) is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Key names redacted by default: a value under one of them is replaced whole, whatever
/// it looks like. Compared with each segment of a key, ignoring ASCII case.
pub const DEFAULT_KEYS: &[&str] = &[
    "authorization",
    "api_key",
    "apikey",
    "x-api-key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "access_token",
    "refresh_token",
];

/// Strings that look like credentials, redacted by default wherever they occur in a
/// value: bearer tokens, HoneyHive, OpenAI and Anthropic (`sk-`), GitHub, AWS access key,
/// Google API and Slack keys. Each shape is a pattern and the literals one of which every
/// match of it starts with (its anchors).
const DEFAULT_SHAPES: &[Shape] = &[
    Shape {
        anchors: &["bearer"],
        pattern: r"(?i:\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*",
    },
    Shape {
        anchors: &["hh_"],
        pattern: r"\bhh_[A-Za-z0-9_]{20,}",
    },
    Shape {
        anchors: &["sk-"],
        pattern: r"\bsk-[A-Za-z0-9_\-]{20,}",
    },
    Shape {
        anchors: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}",
    },
    Shape {
        anchors: &["github_pat_"],
        pattern: r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    },
    Shape {
        anchors: &["AKIA"],
        pattern: r"\bAKIA[0-9A-Z]{16}\b",
    },
    Shape {
        anchors: &["AIza"],
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}",
    },
    Shape {
        anchors: &["xox"],
        pattern: r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    },
];

/// One shape of credential redacted by default.
struct Shape {
    /// What every match of `pattern` starts with, one of them (compared ignoring ASCII
    /// case: a looser test than the pattern's, never a stricter one).
    anchors: &'static [&'static str],
    pattern: &'static str,
}

/// Shortest string a default pattern can match (`AKIA` + 16): shorter strings, most
/// captured values, are not searched at all.
const DEFAULT_PATTERN_MIN_LEN: usize = 15;

/// The default patterns, one regular expression, and their anchors.
///
/// Why the anchors: every span's captured strings are checked on the export thread, and
/// the regular expression's own search cost about a thousand instructions per short
/// string, a quarter of what the export stage spent on a traced call's span. Almost no
/// captured string contains an anchor; a string that does not cannot match, and is not
/// searched. The anchors are looked for with a DFA without prefilter (some five
/// instructions a byte on short strings, where the regular expression's vectorised
/// prefilter pays its setup for every string).
struct DefaultPatterns {
    anchors: AhoCorasick,
    regex: Regex,
}

static DEFAULT_PATTERNS: LazyLock<DefaultPatterns> = LazyLock::new(|| {
    let anchors = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(false)
        .build(DEFAULT_SHAPES.iter().flat_map(|s| s.anchors))
        .expect("the default anchors build");
    let pattern = DEFAULT_SHAPES
        .iter()
        .map(|s| s.pattern)
        .collect::<Vec<_>>()
        .join("|");
    DefaultPatterns {
        anchors,
        regex: Regex::new(&pattern).expect("the default pattern compiles"),
    }
});

impl DefaultPatterns {
    /// Replaces what the default patterns match in `text`.
    fn replace(&self, text: &mut Cow<'_, str>) {
        if text.len() >= DEFAULT_PATTERN_MIN_LEN && self.anchors.is_match(text.as_ref()) {
            replace(&self.regex, text);
        }
    }
}

/// Email addresses ([`ConfigBuilder::redact_emails`](crate::ConfigBuilder::redact_emails)).
pub const EMAIL_PATTERN: &str = r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b";

/// Payment card numbers: 13 to 19 digits, optionally grouped by spaces or dashes
/// ([`ConfigBuilder::redact_card_numbers`](crate::ConfigBuilder::redact_card_numbers)).
pub const CARD_NUMBER_PATTERN: &str = r"\b(?:\d[ \-]?){12,18}\d\b";

/// The key names of a set of rules, compared with every segment of every attribute key.
struct KeyNames {
    /// The defaults' (when on), then the user's (`redact_key`), as given.
    names: Vec<String>,
    /// Where the user's names start in `names`.
    first_user: usize,
    /// Bit `n` is set when a name is `n` bytes long (bit 63: 63 bytes or more). Most
    /// segments (`honeyhive_inputs`, `question`, ...) are ruled out by their length alone.
    lengths: u64,
}

impl KeyNames {
    fn new(defaults: bool, user: Vec<String>) -> KeyNames {
        let names: Vec<String> = defaults
            .then_some(DEFAULT_KEYS)
            .into_iter()
            .flatten()
            .map(|k| (*k).to_owned())
            .chain(user)
            .collect();
        let lengths = names.iter().fold(0, |m, n| m | length_bit(n.len()));
        let first_user = if defaults { DEFAULT_KEYS.len() } else { 0 };
        KeyNames {
            names,
            first_user,
            lengths,
        }
    }

    /// The user's names (`redact_key`).
    fn user_names(&self) -> &[String] {
        &self.names[self.first_user..]
    }

    /// Whether one of the names is `segment`, ignoring ASCII case.
    fn contains(&self, segment: &[u8]) -> bool {
        self.lengths & length_bit(segment.len()) != 0
            && self
                .names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(segment))
    }

    /// Whether one of the names is a segment of `key` (segments joined by `.`).
    fn name_any_segment(&self, key: &str) -> bool {
        key.as_bytes()
            .split(|b| *b == b'.')
            .any(|s| self.contains(s))
    }
}

fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Most keys a thread keeps the answer of; past it, it starts over.
const MAX_KEY_ANSWERS: usize = 4096;

thread_local! {
    /// What the key rules answered on this thread, by key, for one set of rules.
    static KEY_ANSWERS: RefCell<KeyAnswers> = RefCell::new(KeyAnswers::default());
}

/// The key rules' answers already worked out on a thread, for the rules with id `rules`.
///
/// Why: every attribute of every span is checked on the export thread, and the keys
/// repeat from span to span (`honeyhive_inputs.question`, `gen_ai.usage.input_tokens`):
/// looking a key up (a hash of its bytes and one comparison) costs a third of splitting it
/// into segments and testing each, which was a fifth of the export stage's work on a
/// `#[trace]` span and two fifths on a model span's. The answer depends on the key and the
/// rules only.
#[derive(Default)]
struct KeyAnswers {
    rules: u64,
    answers: FxHashMap<Box<str>, bool>,
}

impl KeyAnswers {
    fn get_or_work_out(&mut self, rules: u64, key: &str, work_out: impl FnOnce() -> bool) -> bool {
        if self.rules != rules {
            self.answers.clear();
            self.rules = rules;
        }
        if let Some(&answer) = self.answers.get(key) {
            return answer;
        }
        let answer = work_out();
        if self.answers.len() >= MAX_KEY_ANSWERS {
            self.answers.clear();
        }
        self.answers.insert(key.into(), answer);
        answer
    }
}

/// A user's redaction function: given the (flattened) key and a string value, the value
/// to record instead, or `None` to keep it.
pub type RedactFn = dyn Fn(&str, &str) -> Option<String> + Send + Sync;

/// The redaction rules of a configuration ([`Config::redaction`](crate::Config::redaction)).
/// Cheap to clone.
///
/// ```
/// use honeyhive::{Config, Environment};
///
/// let config = Config::builder()
///     .environment(Environment::empty())
///     .redact_key("ssn")
///     .redact_emails()
///     .build()
///     .unwrap();
/// let rules = config.redaction();
/// assert_eq!(rules.redact_str("honeyhive_inputs.user.ssn", "123-45-6789").as_deref(), Some("[REDACTED]"));
/// assert_eq!(
///     rules.redact_str("honeyhive_inputs.q", "mail ada@example.com, key sk-abcdefghijklmnopqrstuvwx").as_deref(),
///     Some("mail [REDACTED], key [REDACTED]")
/// );
/// assert_eq!(rules.redact_str("honeyhive_inputs.q", "nothing to hide"), None);
/// ```
#[derive(Clone)]
pub struct Redaction {
    rules: Arc<Rules>,
}

struct Rules {
    /// 0 for the default rules (configurations with them share a pipeline), else unique.
    id: u64,
    defaults: bool,
    /// Every key name a segment is compared with: the defaults' (when on) and the user's.
    key_rules: KeyNames,
    patterns: Vec<Regex>,
    function: Option<Arc<RedactFn>>,
}

impl Default for Redaction {
    fn default() -> Self {
        static DEFAULT: LazyLock<Redaction> = LazyLock::new(|| Redaction {
            rules: Arc::new(Rules {
                id: 0,
                defaults: true,
                key_rules: KeyNames::new(true, Vec::new()),
                patterns: Vec::new(),
                function: None,
            }),
        });
        DEFAULT.clone()
    }
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rules;
        f.debug_struct("Redaction")
            .field("defaults", &r.defaults)
            .field("key_names", &r.key_rules.user_names())
            .field(
                "patterns",
                &r.patterns.iter().map(Regex::as_str).collect::<Vec<_>>(),
            )
            .field("function", &r.function.is_some())
            .finish()
    }
}

/// What the `redact_*` methods of the builder collected, compiled by
/// [`RedactionRules::build`].
#[derive(Clone, Default)]
pub(crate) struct RedactionRules {
    pub(crate) defaults: Option<bool>,
    pub(crate) key_names: Vec<String>,
    pub(crate) patterns: Vec<String>,
    pub(crate) function: Option<Arc<RedactFn>>,
}

impl fmt::Debug for RedactionRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactionRules")
            .field("defaults", &self.defaults)
            .field("key_names", &self.key_names)
            .field("patterns", &self.patterns)
            .field("function", &self.function.is_some())
            .finish()
    }
}

impl RedactionRules {
    /// The rules, their patterns compiled.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming a pattern that is not a valid
    /// regular expression.
    pub(crate) fn build(self) -> crate::Result<Redaction> {
        let defaults = self.defaults.unwrap_or(true);
        if defaults
            && self.key_names.is_empty()
            && self.patterns.is_empty()
            && self.function.is_none()
        {
            return Ok(Redaction::default());
        }
        let patterns = self
            .patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| {
                    crate::Error::Config(format!(
                        "redact_pattern({p:?}) is not a valid regular expression: {e}"
                    ))
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Redaction {
            rules: Arc::new(Rules {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                defaults,
                key_rules: KeyNames::new(defaults, self.key_names),
                patterns,
                function: self.function,
            }),
        })
    }
}

impl Redaction {
    /// Rules that redact nothing at all (not even the defaults).
    pub fn none() -> Redaction {
        RedactionRules {
            defaults: Some(false),
            ..RedactionRules::default()
        }
        .build()
        .expect("no pattern to compile")
    }

    /// Identifies these rules among a process's configurations: equal for configurations
    /// with the default rules (or clones of one configuration), different otherwise.
    pub(crate) fn id(&self) -> u64 {
        self.rules.id
    }

    /// Whether a value under `key` (a flattened attribute name or a JSON path, segments
    /// joined by `.`) is redacted whole by a key rule.
    pub fn redacts_key(&self, key: &str) -> bool {
        let rules = &*self.rules;
        if rules.key_rules.lengths == 0 {
            return false;
        }
        let work_out = || rules.key_rules.name_any_segment(key);
        KEY_ANSWERS
            .try_with(|answers| match answers.try_borrow_mut() {
                Ok(mut answers) => answers.get_or_work_out(rules.id, key, work_out),
                Err(_) => work_out(),
            })
            .unwrap_or_else(|_| work_out())
    }

    /// The value to record instead of `value` under `key`, or `None` when it is kept as
    /// it is. Key rules replace it whole; patterns replace what they match; the user's
    /// function has the last word.
    pub fn redact_str(&self, key: &str, value: &str) -> Option<String> {
        if self.redacts_key(key) {
            return (value != REDACTED).then(|| REDACTED.to_owned());
        }
        self.redact_text(key, value)
    }

    /// [`redact_str`](Self::redact_str) without the key rules (the key was checked).
    fn redact_text(&self, key: &str, value: &str) -> Option<String> {
        let r = &self.rules;
        let mut text = Cow::Borrowed(value);
        if r.defaults {
            DEFAULT_PATTERNS.replace(&mut text);
        }
        for pattern in &r.patterns {
            replace(pattern, &mut text);
        }
        if let Some(function) = &r.function
            && let Some(replaced) = function(key, &text)
        {
            text = Cow::Owned(replaced);
        }
        match text {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) if s == value => None,
            Cow::Owned(s) => Some(s),
        }
    }

    /// Redacts a JSON value in place: `prefix` is the key it is recorded under (may be
    /// empty). An object or array under a key rule is replaced whole.
    pub fn redact_json(&self, prefix: &str, value: &mut Json) {
        let mut key = prefix.to_owned();
        self.walk(&mut key, value);
    }

    fn walk(&self, key: &mut String, value: &mut Json) {
        match value {
            Json::String(s) => {
                if let Some(new) = self.redact_text(key, s) {
                    *s = new;
                }
            }
            Json::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = key.len();
                    if !key.is_empty() {
                        key.push('.');
                    }
                    key.push_str(&i.to_string());
                    self.walk(key, item);
                    key.truncate(len);
                }
            }
            Json::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if item.is_null() {
                        continue;
                    }
                    if self.redacts_key(k) {
                        *item = Json::String(REDACTED.to_owned());
                        continue;
                    }
                    let len = key.len();
                    if !key.is_empty() {
                        key.push('.');
                    }
                    key.push_str(k);
                    self.walk(key, item);
                    key.truncate(len);
                }
            }
            Json::Null | Json::Bool(_) | Json::Number(_) => {}
        }
    }

    /// Redacts a JSON map (a body's `inputs`, `metadata`, ...) recorded under `prefix`.
    pub(crate) fn redact_map(&self, prefix: &str, map: &mut serde_json::Map<String, Json>) {
        let mut value = Json::Object(std::mem::take(map));
        self.redact_json(prefix, &mut value);
        if let Json::Object(redacted) = value {
            *map = redacted;
        }
    }

    /// Redacts span attributes in place; returns how many values changed.
    pub(crate) fn redact_attributes(&self, attributes: &mut [KeyValue]) -> usize {
        let mut changed = 0;
        for kv in attributes {
            if self.redact_attribute(kv) {
                changed += 1;
            }
        }
        changed
    }

    fn redact_attribute(&self, kv: &mut KeyValue) -> bool {
        let key = kv.key.as_str();
        if self.redacts_key(key) {
            if matches!(&kv.value, Value::String(s) if s.as_str() == REDACTED) {
                return false;
            }
            kv.value = Value::String(StringValue::from(REDACTED));
            return true;
        }
        match &kv.value {
            Value::String(s) => match self.redact_text(key, s.as_str()) {
                Some(new) => {
                    kv.value = Value::String(new.into());
                    true
                }
                None => false,
            },
            Value::Array(Array::String(items)) => {
                let mut new: Option<Vec<StringValue>> = None;
                for (i, item) in items.iter().enumerate() {
                    if let Some(replaced) = self.redact_text(key, item.as_str()) {
                        new.get_or_insert_with(|| items.clone())[i] = replaced.into();
                    }
                }
                match new {
                    Some(new) => {
                        kv.value = Value::Array(Array::String(new));
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}

/// Replaces what `pattern` matches in `text` with [`REDACTED`].
fn replace(pattern: &Regex, text: &mut Cow<'_, str>) {
    if let Cow::Owned(new) = pattern.replace_all(text, REDACTED) {
        *text = Cow::Owned(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(f: impl FnOnce(&mut RedactionRules)) -> Redaction {
        let mut r = RedactionRules::default();
        f(&mut r);
        r.build().unwrap()
    }

    /// One credential of each default shape (and case variants of the case-blind one).
    const SECRETS: &[&str] = &[
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "BEARER eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "hh_ingst_abcdefghijklmnopqrstuvwx_0123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "AKIAIOSFODNN7EXAMPLE",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
        "xoxb-1234567890-abcdefghij",
    ];

    #[test]
    fn defaults_catch_api_keys_and_bearer_tokens() {
        let r = Redaction::default();
        for secret in SECRETS {
            let text = format!("header: {secret} end");
            assert_eq!(
                r.redact_str("honeyhive_inputs.q", &text).as_deref(),
                Some("header: [REDACTED] end"),
                "{secret}"
            );
        }
        for kept in [
            "short",
            "the bearer of good news",
            "sk-short",
            "what is 2 + 2?",
        ] {
            assert_eq!(r.redact_str("honeyhive_inputs.q", kept), None, "{kept}");
        }
        assert_eq!(
            r.redact_str(
                "honeyhive_inputs.request.headers.Authorization",
                "Basic abc"
            )
            .as_deref(),
            Some(REDACTED)
        );
        assert_eq!(
            Redaction::none().redact_str("password", "sk-abcdefghijklmnopqrstuvwxyz"),
            None
        );
    }

    /// Strings without an anchor are not searched: sound only if every match of a default
    /// shape starts with its anchor.
    #[test]
    fn every_default_match_starts_with_its_anchor() {
        for shape in DEFAULT_SHAPES {
            let regex = Regex::new(shape.pattern).unwrap();
            let mut matches = 0;
            for secret in SECRETS {
                for m in regex.find_iter(&format!("header: {secret} end")) {
                    matches += 1;
                    let starts_with = |anchor: &&str| {
                        m.as_str()
                            .get(..anchor.len())
                            .is_some_and(|s| s.eq_ignore_ascii_case(anchor))
                    };
                    assert!(
                        shape.anchors.iter().any(starts_with),
                        "{:?} matched {:?}, which starts with none of {:?}",
                        shape.pattern,
                        m.as_str(),
                        shape.anchors
                    );
                }
            }
            assert!(matches > 0, "no sample secret of {:?}", shape.pattern);
        }
        let defaults = &*DEFAULT_PATTERNS;
        for secret in SECRETS {
            assert!(defaults.anchors.is_match(*secret), "{secret}");
        }
        for plain in [
            "What is the capital of France?",
            "a question long enough to be searched, though with no credential in it",
            "the plan-based approach, right? Thank you!",
        ] {
            assert!(!defaults.anchors.is_match(plain), "{plain}");
            assert!(!defaults.regex.is_match(plain), "{plain}");
        }
        // At the very end, in any case; cut short by the end.
        assert!(defaults.anchors.is_match("a header that ends with BeArEr"));
        assert!(defaults.anchors.is_match("sk-"));
        assert!(!defaults.anchors.is_match("a header that ends with bea"));
        assert!(!defaults.anchors.is_match(""));
    }

    #[test]
    fn key_names_of_any_length_and_keys_with_empty_segments() {
        let long = "k".repeat(70);
        let r = rules(|r| r.key_names.push(long.clone()));
        assert!(r.redacts_key(&format!("honeyhive_inputs.{}", long.to_uppercase())));
        assert!(!r.redacts_key(&format!("honeyhive_inputs.{}", "k".repeat(69))));
        assert!(r.redacts_key("a..password."));
        assert!(!r.redacts_key(""));
        assert!(!r.redacts_key("..."));
        assert!(!Redaction::none().redacts_key("password"));
    }

    /// The answers a thread keeps are those of the rules asked.
    #[test]
    fn key_answers_follow_the_rules_asked() {
        let ssn = rules(|r| r.key_names.push("ssn".into()));
        let defaults = Redaction::default();
        let kept = |key: &str| KEY_ANSWERS.with(|a| a.borrow().answers.get(key).copied());
        assert!(ssn.redacts_key("honeyhive_inputs.ssn"));
        assert_eq!(
            kept("honeyhive_inputs.ssn"),
            Some(true),
            "the answer is kept"
        );
        for _ in 0..3 {
            assert!(ssn.redacts_key("honeyhive_inputs.ssn"));
            assert!(!defaults.redacts_key("honeyhive_inputs.ssn"));
            assert!(defaults.redacts_key("honeyhive_inputs.password"));
            assert!(!Redaction::none().redacts_key("honeyhive_inputs.password"));
        }
        // Past the most answers kept, a thread starts over and still answers right.
        for i in 0..MAX_KEY_ANSWERS + 10 {
            assert!(!ssn.redacts_key(&format!("honeyhive_inputs.k{i}")));
        }
        assert!(ssn.redacts_key("honeyhive_inputs.ssn"));
    }

    #[test]
    fn key_rules_match_any_segment_and_cover_nested_values() {
        let r = rules(|r| r.key_names.push("ssn".into()));
        assert!(r.redacts_key("honeyhive_inputs.person.SSN"));
        assert!(r.redacts_key("honeyhive_inputs.ssn.0"));
        assert!(!r.redacts_key("honeyhive_inputs.ssnx"));
        let mut value = json!({"person": {"ssn": {"area": 123}, "name": "Ada", "password": 42}});
        r.redact_json("", &mut value);
        assert_eq!(
            value,
            json!({"person": {"ssn": REDACTED, "name": "Ada", "password": REDACTED}})
        );
    }

    #[test]
    fn patterns_and_the_user_function() {
        let r = rules(|r| {
            r.patterns.push(EMAIL_PATTERN.into());
            r.patterns.push(CARD_NUMBER_PATTERN.into());
            r.function = Some(Arc::new(|key: &str, value: &str| {
                (key.ends_with("name") && value == "Ada").then(|| "A.".to_owned())
            }));
        });
        assert_eq!(
            r.redact_str("x", "card 4111 1111 1111 1111 of ada@example.org")
                .as_deref(),
            Some("card [REDACTED] of [REDACTED]")
        );
        assert_eq!(r.redact_str("user.name", "Ada").as_deref(), Some("A."));
        assert_eq!(r.redact_str("user.name", "Bob"), None);
        assert_eq!(r.redact_str("x", "order 12345"), None);
        let mut attrs = vec![
            KeyValue::new("a", "write to ada@example.org"),
            KeyValue::new("b", 7),
            KeyValue::new(
                "c",
                Value::Array(Array::String(vec!["ok".into(), "x@y.io".into()])),
            ),
        ];
        assert_eq!(r.redact_attributes(&mut attrs), 2);
        assert_eq!(attrs[0].value.as_str(), "write to [REDACTED]");
        assert_eq!(
            attrs[2].value,
            Value::Array(Array::String(vec!["ok".into(), REDACTED.into()]))
        );
    }

    #[test]
    fn invalid_patterns_are_configuration_errors() {
        let mut r = RedactionRules::default();
        r.patterns.push("(unclosed".into());
        let e = r.build().err().unwrap().to_string();
        assert!(e.contains("redact_pattern(\"(unclosed\")"), "{e}");
    }

    #[test]
    fn default_rules_are_shared() {
        assert_eq!(Redaction::default().id(), 0);
        assert_eq!(RedactionRules::default().build().unwrap().id(), 0);
        assert_ne!(rules(|r| r.key_names.push("k".into())).id(), 0);
    }
}
