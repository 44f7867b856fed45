//! Bounded payloads: the attribute limits of a configuration, and how a value is cut to
//! them.

use opentelemetry::{Array, Key, KeyValue, StringValue, Value};

/// Default longest attribute string value, in bytes
/// ([`ConfigBuilder::attribute_value_length_limit`](crate::ConfigBuilder::attribute_value_length_limit)).
pub const DEFAULT_VALUE_LENGTH_LIMIT: usize = 32 * 1024;

/// Default most attributes a span keeps
/// ([`ConfigBuilder::attribute_count_limit`](crate::ConfigBuilder::attribute_count_limit));
/// the OpenTelemetry SDK's default of 128 is too few for flattened inputs.
pub const DEFAULT_ATTRIBUTE_COUNT_LIMIT: u32 = 4096;

/// How large the attributes of a span may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeLimits {
    /// Longest string value (and string of a string array), in bytes; a longer one is cut
    /// on a character boundary and marked `...[truncated N bytes]`.
    pub value_length: usize,
    /// Most attributes per span; later ones are dropped (and counted).
    pub count: u32,
}

impl Default for AttributeLimits {
    fn default() -> Self {
        AttributeLimits {
            value_length: DEFAULT_VALUE_LENGTH_LIMIT,
            count: DEFAULT_ATTRIBUTE_COUNT_LIMIT,
        }
    }
}

/// `s` cut to at most `max` bytes, the marker `...[truncated N bytes]` included (the kept
/// part ends on a character boundary); `None` when it fits. With a limit shorter than the
/// marker, the marker alone is kept.
pub(crate) fn cut(s: &str, max: usize) -> Option<String> {
    if s.len() <= max {
        return None;
    }
    // The marker's length with the most digits `N` can have.
    let marker = MARKER_TEXT_LEN + digits(s.len());
    let mut end = max.saturating_sub(marker);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(format!(
        "{}...[truncated {} bytes]",
        &s[..end],
        s.len() - end
    ))
}

/// `...[truncated ` and ` bytes]`.
const MARKER_TEXT_LEN: usize = 21;

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Whether `s` was cut by [`cut`] already (its marker ends it).
fn is_cut(s: &str) -> bool {
    s.ends_with(" bytes]")
        && s.rfind("...[truncated ")
            .is_some_and(|at| s[at + 14..s.len() - 7].bytes().all(|b| b.is_ascii_digit()))
}

/// Cuts every string value of `attributes` (and every string of a string array) longer
/// than `max` bytes; returns the keys of the attributes cut.
pub(crate) fn cut_attributes(attributes: &mut [KeyValue], max: usize) -> Vec<Key> {
    let mut cut_keys = Vec::new();
    for kv in attributes {
        let replaced = match &kv.value {
            Value::String(s) => cut_once(s.as_str(), max).map(|s| Value::String(s.into())),
            Value::Array(Array::String(items))
                if items.iter().any(|s| cut_once(s.as_str(), max).is_some()) =>
            {
                let items: Vec<StringValue> = items
                    .iter()
                    .map(|s| cut_once(s.as_str(), max).map_or_else(|| s.clone(), Into::into))
                    .collect();
                Some(Value::Array(Array::String(items)))
            }
            _ => None,
        };
        if let Some(value) = replaced {
            kv.value = value;
            cut_keys.push(kv.key.clone());
        }
    }
    cut_keys
}

/// [`cut`], except for a value cut already (by the capture, with the same limit).
fn cut_once(s: &str, max: usize) -> Option<String> {
    if is_cut(s) { None } else { cut(s, max) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_on_a_char_boundary_and_marked() {
        assert_eq!(cut("short", 10), None);
        let long = "x".repeat(100);
        let cut_long = cut(&long, 40).unwrap();
        assert_eq!(
            cut_long,
            format!("{}...[truncated 84 bytes]", "x".repeat(16))
        );
        assert!(cut_long.len() <= 40);
        // `é` is two bytes: a cut inside it moves back to its start.
        let accents = format!("{}{}", "a".repeat(26), "é".repeat(30));
        assert_eq!(
            cut(&accents, 50).as_deref(),
            Some(format!("{}...[truncated 60 bytes]", "a".repeat(26)).as_str())
        );
        // Shorter than the marker: the marker alone.
        assert_eq!(cut("abcdef", 4).as_deref(), Some("...[truncated 6 bytes]"));
        // A value cut once is not cut again.
        assert!(is_cut(&cut_long) && !is_cut("5 bytes]"));
        assert_eq!(cut_once("...[truncated 6 bytes]", 4), None);
        let mut attrs = vec![
            KeyValue::new("a", "x".repeat(10)),
            KeyValue::new("b", 12345),
            KeyValue::new("c", "ok"),
            KeyValue::new(
                "d",
                Value::Array(Array::String(vec!["ok".into(), "y".repeat(9).into()])),
            ),
        ];
        let keys = cut_attributes(&mut attrs, 8);
        assert_eq!(keys, [Key::from("a"), Key::from("d")]);
        assert_eq!(attrs[0].value.as_str(), "...[truncated 10 bytes]");
        assert_eq!(attrs[1].value, Value::I64(12345));
        assert_eq!(
            attrs[3].value,
            Value::Array(Array::String(vec![
                "ok".into(),
                "...[truncated 9 bytes]".into()
            ]))
        );
        assert!(cut_attributes(&mut attrs, 8).is_empty(), "cut once");
    }
}
