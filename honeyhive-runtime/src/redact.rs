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
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use opentelemetry::{Array, KeyValue, StringValue, Value};
use regex::Regex;
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
/// Google API and Slack keys.
const DEFAULT_PATTERN: &str = concat!(
    r"(?i:\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*",
    r"|\bhh_[A-Za-z0-9_]{20,}",
    r"|\bsk-[A-Za-z0-9_\-]{20,}",
    r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}",
    r"|\bgithub_pat_[A-Za-z0-9_]{22,}",
    r"|\bAKIA[0-9A-Z]{16}\b",
    r"|\bAIza[0-9A-Za-z_\-]{35}",
    r"|\bxox[abposr]-[A-Za-z0-9\-]{10,}",
);

/// Shortest string a default pattern can match (`AKIA` + 16): shorter strings, most
/// captured values, are not searched at all.
const DEFAULT_PATTERN_MIN_LEN: usize = 15;

/// Email addresses ([`ConfigBuilder::redact_emails`](crate::ConfigBuilder::redact_emails)).
pub const EMAIL_PATTERN: &str = r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b";

/// Payment card numbers: 13 to 19 digits, optionally grouped by spaces or dashes
/// ([`ConfigBuilder::redact_card_numbers`](crate::ConfigBuilder::redact_card_numbers)).
pub const CARD_NUMBER_PATTERN: &str = r"\b(?:\d[ \-]?){12,18}\d\b";

static DEFAULT_REGEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DEFAULT_PATTERN).expect("the default pattern compiles"));

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
    key_names: Vec<String>,
    patterns: Vec<Regex>,
    function: Option<Arc<RedactFn>>,
}

impl Default for Redaction {
    fn default() -> Self {
        static DEFAULT: LazyLock<Redaction> = LazyLock::new(|| Redaction {
            rules: Arc::new(Rules {
                id: 0,
                defaults: true,
                key_names: Vec::new(),
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
            .field("key_names", &r.key_names)
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
                key_names: self.key_names,
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
        key.split('.').any(|segment| self.key_rule(segment))
    }

    /// Whether `segment`, one segment of a key, is named by a key rule.
    fn key_rule(&self, segment: &str) -> bool {
        let r = &self.rules;
        (r.defaults
            && DEFAULT_KEYS
                .iter()
                .any(|k| k.len() == segment.len() && k.eq_ignore_ascii_case(segment)))
            || r.key_names
                .iter()
                .any(|k| k.len() == segment.len() && k.eq_ignore_ascii_case(segment))
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
        // A quick length check before the default pattern: most captured strings are
        // shorter than any credential, and are not searched.
        if r.defaults && value.len() >= DEFAULT_PATTERN_MIN_LEN {
            replace(&DEFAULT_REGEX, &mut text);
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
                    if k.split('.').any(|segment| self.key_rule(segment)) {
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

    #[test]
    fn defaults_catch_api_keys_and_bearer_tokens() {
        let r = Redaction::default();
        for secret in [
            "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
            "hh_ingst_abcdefghijklmnopqrstuvwx_0123456789",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
            "xoxb-1234567890-abcdefghij",
        ] {
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
