//! Flattening of captured values into span attributes (`span-attributes.md`, Flattening).
//!
//! One rule serves inputs, outputs, metadata, metrics and the rest: serialise with serde,
//! then walk the value, objects as `prefix.key`, arrays as `prefix.<index>`, nulls skipped,
//! scalars as native OpenTelemetry types.

use std::fmt::Write as _;

use opentelemetry::{KeyValue, Value};
use serde::Serialize;
use serde_json::Value as Json;

/// Longest string value kept on a span, in bytes; longer ones are cut and listed in
/// `honeyhive_truncated`.
pub const MAX_VALUE_BYTES: usize = 32 * 1024;

/// Most attributes one captured value may expand to; the rest are cut and listed in
/// `honeyhive_truncated`, so one huge input cannot push the session attributes off a span.
pub const MAX_LEAVES: usize = 1024;

/// Attributes collected for one span, with the keys that had to be cut.
#[derive(Debug, Default)]
pub struct Attributes {
    /// The flattened attributes, in order.
    pub values: Vec<KeyValue>,
    /// Keys cut to the size caps.
    pub truncated: Vec<String>,
}

impl Attributes {
    /// Serialises `value` and flattens it under `prefix`.
    ///
    /// ```
    /// use honeyhive_runtime::capture::Attributes;
    ///
    /// let mut attrs = Attributes::default();
    /// attrs.capture("honeyhive_outputs.result", &serde_json::json!({"sum": 3, "items": [1, 2]})).unwrap();
    /// let keys: Vec<_> = attrs.values.iter().map(|kv| kv.key.as_str().to_owned()).collect();
    /// assert_eq!(keys, ["honeyhive_outputs.result.items.0", "honeyhive_outputs.result.items.1", "honeyhive_outputs.result.sum"]);
    /// ```
    pub fn capture<T: Serialize + ?Sized>(
        &mut self,
        prefix: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(value)?;
        self.flatten(prefix, &json);
        Ok(())
    }

    /// Flattens an already serialised value under `prefix`.
    pub fn flatten(&mut self, prefix: &str, value: &Json) {
        let mut leaves = 0;
        let mut key = String::from(prefix);
        self.walk(&mut key, value, &mut leaves);
        if leaves > MAX_LEAVES {
            self.truncated.push(prefix.to_owned());
        }
    }

    fn walk(&mut self, key: &mut String, value: &Json, leaves: &mut usize) {
        let scalar = match value {
            Json::Null => return,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::I64(i),
                // Integers beyond i64 keep their digits as text rather than lose precision.
                (None, _) if n.is_u64() => Value::String(n.to_string().into()),
                (None, Some(f)) => Value::F64(f),
                (None, None) => Value::String(n.to_string().into()),
            },
            Json::String(s) => Value::String(self.cap(key, s).into()),
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = key.len();
                    let _ = write!(key, ".{i}");
                    self.walk(key, item, leaves);
                    key.truncate(len);
                }
                return;
            }
            Json::Object(map) => {
                for (k, item) in map {
                    let len = key.len();
                    key.push('.');
                    key.push_str(k);
                    self.walk(key, item, leaves);
                    key.truncate(len);
                }
                return;
            }
        };
        *leaves += 1;
        if *leaves <= MAX_LEAVES {
            self.values.push(KeyValue::new(key.clone(), scalar));
        }
    }

    fn cap(&mut self, key: &str, s: &str) -> String {
        if s.len() <= MAX_VALUE_BYTES {
            return s.to_owned();
        }
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.truncated.push(key.to_owned());
        format!("{}…[truncated {} bytes]", &s[..end], s.len() - end)
    }

    /// The `honeyhive_truncated` attribute, when anything was cut.
    pub fn truncated_attribute(&self) -> Option<KeyValue> {
        (!self.truncated.is_empty()).then(|| {
            let keys: Vec<opentelemetry::StringValue> =
                self.truncated.iter().map(|k| k.clone().into()).collect();
            KeyValue::new(crate::attributes::TRUNCATED, Value::Array(keys.into()))
        })
    }

    /// All attributes, including `honeyhive_truncated` when needed.
    pub fn into_key_values(mut self) -> Vec<KeyValue> {
        if let Some(kv) = self.truncated_attribute() {
            self.values.push(kv);
        }
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Json) -> Vec<(String, Value)> {
        let mut a = Attributes::default();
        a.flatten("p", &v);
        a.into_key_values()
            .into_iter()
            .map(|kv| (kv.key.as_str().to_owned(), kv.value))
            .collect()
    }

    #[test]
    fn scalars_keep_their_types() {
        assert_eq!(
            flat(json!("s")),
            vec![("p".into(), Value::String("s".into()))]
        );
        assert_eq!(flat(json!(true)), vec![("p".into(), Value::Bool(true))]);
        assert_eq!(flat(json!(-3)), vec![("p".into(), Value::I64(-3))]);
        assert_eq!(flat(json!(1.5)), vec![("p".into(), Value::F64(1.5))]);
        assert_eq!(
            flat(json!(u64::MAX)),
            vec![("p".into(), Value::String(u64::MAX.to_string().into()))]
        );
        assert!(flat(json!(null)).is_empty());
    }

    #[test]
    fn nested_values_and_nulls() {
        let got = flat(json!({"a": {"b": [1, null, {"c": "x"}]}, "n": null}));
        assert_eq!(
            got,
            vec![
                ("p.a.b.0".into(), Value::I64(1)),
                ("p.a.b.2.c".into(), Value::String("x".into()))
            ]
        );
    }

    #[test]
    fn oversized_values_are_cut_and_listed() {
        let big = "é".repeat(MAX_VALUE_BYTES);
        let got = flat(json!({ "big": big }));
        let Value::String(s) = &got[0].1 else {
            panic!()
        };
        assert!(s.as_str().len() < MAX_VALUE_BYTES + 40 && s.as_str().contains("truncated"));
        assert_eq!(got[1].0, crate::attributes::TRUNCATED);
        let many: Vec<u32> = (0..(MAX_LEAVES as u32 + 10)).collect();
        let got = flat(json!(many));
        assert_eq!(got.len(), MAX_LEAVES + 1);
    }
}
