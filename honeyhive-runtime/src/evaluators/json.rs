//! What the built-ins share: field paths, reading text and numbers out of JSON, comparing
//! JSON values, and describing values in error messages and explanations.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// A place inside a JSON value: a dotted path (`answer.sources.0`: object keys, array
/// indexes) or, starting with `/`, a JSON Pointer (`/answer/sources/0`, for keys holding
/// dots). The empty path is the whole value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FieldPath {
    text: String,
    segments: Vec<String>,
    pointer: bool,
}

impl FieldPath {
    pub(crate) fn parse(text: impl Into<String>) -> FieldPath {
        let text = text.into();
        let (segments, pointer) = if text.is_empty() {
            (Vec::new(), false)
        } else if let Some(pointer) = text.strip_prefix('/') {
            let segments = pointer
                .split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            (segments, true)
        } else {
            (text.split('.').map(str::to_owned).collect(), false)
        };
        FieldPath {
            text,
            segments,
            pointer,
        }
    }

    /// The path as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    fn prefix(&self, len: usize) -> String {
        let parts = &self.segments[..len];
        if self.pointer {
            parts.iter().map(|s| format!("/{s}")).collect()
        } else {
            parts.join(".")
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The value at `path`, or why there is none (in terms of what is there instead).
pub(crate) fn select<'v>(root: &'v Value, path: &FieldPath) -> Result<&'v Value, String> {
    let mut current = root;
    for (depth, segment) in path.segments.iter().enumerate() {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let at = if depth == 0 {
                "it".to_owned()
            } else {
                format!("`{}`", path.prefix(depth))
            };
            return Err(match current {
                Value::Object(map) if map.is_empty() => format!("{at} is an empty object"),
                Value::Object(map) => format!(
                    "{at} has no field `{segment}`; its fields are {}",
                    key_list(map.keys())
                ),
                Value::Array(items) if segment.parse::<usize>().is_ok() => format!(
                    "{at} is an array of {}, so there is no index {segment}",
                    count(items.len(), "item")
                ),
                Value::Array(_) => format!(
                    "{at} is an array: select an item by index, such as `0`, not `{segment}`"
                ),
                other => format!("{at} is {}, which has no fields", describe(other)),
            });
        };
        current = next;
    }
    Ok(current)
}

/// The output or the ground truth, for messages and for the builder method that selects
/// in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side {
    label: &'static str,
    method: &'static str,
}

/// The output of an evaluator that reads only the output (selected with `.field`).
pub(crate) const OUTPUT: Side = Side {
    label: "output",
    method: "field",
};

/// The output of an evaluator that compares it with the ground truth.
pub(crate) const COMPARED_OUTPUT: Side = Side {
    label: "output",
    method: "output_field",
};

/// The ground truth.
pub(crate) const GROUND_TRUTH: Side = Side {
    label: "ground truth",
    method: "ground_truth_field",
};

/// The value `path` selects in `root` (all of it for `None`).
pub(crate) fn pick<'v>(
    root: &'v Value,
    path: Option<&FieldPath>,
    side: Side,
) -> Result<&'v Value, String> {
    let Some(path) = path else { return Ok(root) };
    select(root, path).map_err(|reason| {
        let mut message = format!("the {} has no field `{path}`: {reason}", side.label);
        if root.is_string() && path.segments.len() == 1 {
            message.push_str(&format!(
                "; the {} is text itself, so read it without `.{}(..)`",
                side.label, side.method
            ));
        }
        message
    })
}

/// The text `path` selects in `root`: a JSON string, nothing else.
pub(crate) fn text<'v>(
    root: &'v Value,
    path: Option<&FieldPath>,
    side: Side,
) -> Result<&'v str, String> {
    match pick(root, path, side)? {
        Value::String(text) => Ok(text),
        other => Err(match path {
            Some(path) => format!(
                "the {}'s field `{path}` is {}, not text",
                side.label,
                describe(other)
            ),
            None => format!(
                "the {} is {}, not text; {}",
                side.label,
                describe(other),
                selection_hint(other, side, Value::is_string, "text")
            ),
        }),
    }
}

/// The number `path` selects in `root`: a JSON number, or a string holding one (as models
/// answer), ignoring surrounding whitespace.
pub(crate) fn number(root: &Value, path: Option<&FieldPath>, side: Side) -> Result<f64, String> {
    let value = pick(root, path, side)?;
    let what = match path {
        Some(path) => format!("the {}'s field `{path}`", side.label),
        None => format!("the {}", side.label),
    };
    match value {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| format!("{what} ({n}) does not fit a 64-bit float")),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err(format!(
                "{what} is {}, which does not read as a number",
                describe(value)
            )),
        },
        other => {
            let mut message = format!("{what} is {}, not a number", describe(other));
            if path.is_none() {
                message.push_str("; ");
                message.push_str(&selection_hint(other, side, Value::is_number, "numeric"));
            }
            Err(message)
        }
    }
}

/// How to select a field of the wanted kind in `value`, naming the candidates.
fn selection_hint(value: &Value, side: Side, fits: fn(&Value) -> bool, kind: &str) -> String {
    let example = if kind == "text" {
        "answer.text"
    } else {
        "invoice.total"
    };
    let candidates: Vec<&String> = match value {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| fits(v))
            .map(|(k, _)| k)
            .collect(),
        _ => Vec::new(),
    };
    match candidates.first() {
        Some(first) => format!(
            "select a field with `.{}(\"{first}\")` (its {kind} fields: {})",
            side.method,
            key_list(candidates.iter().copied())
        ),
        None => format!(
            "select a {kind} field with `.{}(\"..\")`, a dotted path such as `{example}`",
            side.method
        ),
    }
}

/// Case and whitespace handling of a text comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct TextOptions {
    pub(crate) case_insensitive: bool,
    pub(crate) normalize_whitespace: bool,
}

impl TextOptions {
    pub(crate) const EXACT: TextOptions = TextOptions {
        case_insensitive: false,
        normalize_whitespace: false,
    };

    pub(crate) fn is_exact(self) -> bool {
        self == TextOptions::EXACT
    }

    /// The text as compared: whitespace runs become one space and the ends are trimmed,
    /// then it is lowercased, as set.
    pub(crate) fn apply(self, text: &str) -> Cow<'_, str> {
        let mut text = Cow::Borrowed(text);
        if self.normalize_whitespace {
            text = Cow::Owned(text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        if self.case_insensitive {
            text = Cow::Owned(text.to_lowercase());
        }
        text
    }

    /// How the comparison was made, for explanations (empty when exact).
    pub(crate) fn note(self) -> &'static str {
        match (self.case_insensitive, self.normalize_whitespace) {
            (false, false) => "",
            (true, false) => " (ignoring case)",
            (false, true) => " (ignoring whitespace differences)",
            (true, true) => " (ignoring case and whitespace differences)",
        }
    }
}

/// JSON equality where numbers compare by value: `1` equals `1.0`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_eq(x, y),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

fn numbers_eq(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    fn integer(n: &serde_json::Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (integer(x), integer(y)) {
        (Some(x), Some(y)) => x == y,
        _ => x.as_f64() == y.as_f64(),
    }
}

/// How many differences an explanation lists before summing up the rest.
const MAX_LISTED: usize = 5;

/// Where and how `output` differs from `truth`, one line per place, for an explanation.
pub(crate) fn differences(output: &Value, truth: &Value) -> Vec<String> {
    let mut found = Vec::new();
    diff_into(output, truth, &mut Vec::new(), &mut found);
    found
}

fn diff_into(output: &Value, truth: &Value, at: &mut Vec<String>, found: &mut Vec<String>) {
    let place = |at: &[String]| {
        if at.is_empty() {
            String::new()
        } else {
            format!("`{}`: ", at.join("."))
        }
    };
    match (output, truth) {
        (Value::Object(out), Value::Object(gt)) => {
            for (key, gt_value) in gt {
                at.push(key.clone());
                match out.get(key) {
                    Some(out_value) => diff_into(out_value, gt_value, at, found),
                    None => found.push(format!(
                        "{}missing from the output (ground truth {})",
                        place(at),
                        short_json(gt_value)
                    )),
                }
                at.pop();
            }
            for (key, out_value) in out {
                if !gt.contains_key(key) {
                    at.push(key.clone());
                    found.push(format!(
                        "{}not in the ground truth (output {})",
                        place(at),
                        short_json(out_value)
                    ));
                    at.pop();
                }
            }
        }
        (Value::Array(out), Value::Array(gt)) => {
            if out.len() != gt.len() {
                found.push(format!(
                    "{}{} in the output, {} in the ground truth",
                    place(at),
                    count(out.len(), "item"),
                    gt.len()
                ));
            }
            for (i, (o, g)) in out.iter().zip(gt).enumerate() {
                at.push(i.to_string());
                diff_into(o, g, at, found);
                at.pop();
            }
        }
        _ if json_eq(output, truth) => {}
        _ => found.push(format!(
            "{}output {}, ground truth {}",
            place(at),
            short_json(output),
            short_json(truth)
        )),
    }
}

/// The first few items of `list` joined by `; `, with how many were left out.
pub(crate) fn join_listed(list: &[String]) -> String {
    let mut text = list
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if list.len() > MAX_LISTED {
        text.push_str(&format!("; and {} more", list.len() - MAX_LISTED));
    }
    text
}

/// Longest quoted text or JSON in a message, in characters.
const MAX_SHOWN: usize = 80;

/// `text` quoted (Rust-escaped), cut after [`MAX_SHOWN`] characters.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// A value as compact JSON, cut after [`MAX_SHOWN`] characters.
pub(crate) fn short_json(value: &Value) -> String {
    let json = value.to_string();
    match json.char_indices().nth(MAX_SHOWN) {
        Some((end, _)) => format!("{}…", &json[..end]),
        None => json,
    }
}

/// What a value is, for a message: `a number (42)`, `an object with fields `a`, `b``.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({})", quote(s)),
        Value::Array(items) => format!("an array of {}", count(items.len(), "item")),
        Value::Object(map) if map.is_empty() => "an empty object".to_owned(),
        Value::Object(map) => format!("an object with fields {}", key_list(map.keys())),
    }
}

/// `n` `noun`s, singular for one: `1 edit`, `3 edits`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Keys in backticks, the first ten of them.
fn key_list<'k>(keys: impl Iterator<Item = &'k String>) -> String {
    let keys: Vec<&String> = keys.collect();
    let mut text = keys
        .iter()
        .take(10)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > 10 {
        text.push_str(&format!(" and {} more", keys.len() - 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_paths_walk_objects_and_arrays() {
        let value = json!({"a": {"b": [10, {"c": "x"}]}, "d.e": 1});
        let at = |p: &str| select(&value, &FieldPath::parse(p)).cloned();
        assert_eq!(at("a.b.0"), Ok(json!(10)));
        assert_eq!(at("a.b.1.c"), Ok(json!("x")));
        assert_eq!(at(""), Ok(value.clone()));
        assert_eq!(at("/d.e"), Ok(json!(1)));
        assert_eq!(at("/a/b/1/c"), Ok(json!("x")));
    }

    #[test]
    fn missing_fields_say_what_is_there() {
        let value = json!({"a": {"b": [10]}, "s": "text"});
        let why = |p: &str| select(&value, &FieldPath::parse(p)).unwrap_err();
        assert_eq!(why("x"), "it has no field `x`; its fields are `a`, `s`");
        assert_eq!(
            why("a.b.3"),
            "`a.b` is an array of 1 item, so there is no index 3"
        );
        assert!(why("a.b.first").contains("select an item by index"));
        assert_eq!(
            why("s.t"),
            "`s` is a string (\"text\"), which has no fields"
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2.5]}), &json!({"a": [1.0, 2.5]})));
        assert!(!json_eq(&json!(1), &json!(2)));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!json_eq(&json!(-1), &json!(u64::MAX)));
    }

    #[test]
    fn differences_name_places() {
        let found = differences(
            &json!({"a": 1, "b": [1, 2], "c": "x", "extra": true}),
            &json!({"a": 1.0, "b": [1], "c": "y", "d": null}),
        );
        assert_eq!(
            found,
            vec![
                "`b`: 2 items in the output, 1 in the ground truth",
                "`c`: output \"x\", ground truth \"y\"",
                "`d`: missing from the output (ground truth null)",
                "`extra`: not in the ground truth (output true)",
            ]
        );
        assert_eq!(
            differences(&json!("a"), &json!("b")),
            vec!["output \"a\", ground truth \"b\""]
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "é".repeat(200);
        assert_eq!(quote(&long).chars().count(), 80 + 3);
        assert!(short_json(&json!(long)).ends_with('…'));
        let listed: Vec<String> = (0..8).map(|i| i.to_string()).collect();
        assert_eq!(join_listed(&listed), "0; 1; 2; 3; 4; and 3 more");
    }

    #[test]
    fn text_and_number_errors_suggest_a_field() {
        let value = json!({"answer": "Paris", "confidence": 0.9});
        assert_eq!(
            text(&value, None, OUTPUT).unwrap_err(),
            "the output is an object with fields `answer`, `confidence`, not text; \
             select a field with `.field(\"answer\")` (its text fields: `answer`)"
        );
        assert_eq!(
            number(&value, None, GROUND_TRUTH).unwrap_err(),
            "the ground truth is an object with fields `answer`, `confidence`, not a number; \
             select a field with `.ground_truth_field(\"confidence\")` (its numeric fields: `confidence`)"
        );
        assert_eq!(
            text(&value, Some(&FieldPath::parse("confidence")), OUTPUT).unwrap_err(),
            "the output's field `confidence` is a number (0.9), not text"
        );
        assert_eq!(
            text(&json!("Paris"), Some(&FieldPath::parse("answer")), OUTPUT).unwrap_err(),
            "the output has no field `answer`: it is a string (\"Paris\"), which has no fields; \
             the output is text itself, so read it without `.field(..)`"
        );
        assert_eq!(number(&json!(" 4.5\n"), None, OUTPUT), Ok(4.5));
        assert!(
            number(&json!("four"), None, OUTPUT)
                .unwrap_err()
                .contains("does not read as a number")
        );
    }

    #[test]
    fn text_options_normalise() {
        let both = TextOptions {
            case_insensitive: true,
            normalize_whitespace: true,
        };
        assert_eq!(both.apply("  Hello \n  World "), "hello world");
        assert_eq!(TextOptions::EXACT.apply(" A "), " A ");
    }
}
