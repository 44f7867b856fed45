//! Flattening of captured values into span attributes (`docs/span-attributes.md`,
//! Flattening).
//!
//! One rule serves inputs, outputs, metadata, metrics and the rest: serialise with serde,
//! then walk the value, objects as `prefix.key`, arrays as `prefix.<index>`, nulls skipped,
//! scalars as native OpenTelemetry types.

use std::collections::BTreeSet;
use std::fmt::{Display, Write as _};
use std::sync::Mutex;

use opentelemetry::{Key, KeyValue, Value};
use serde::Serialize;
use serde::ser;
use serde_json::Value as Json;

use crate::export::deferred_text::DeferredText;

/// Longest string value kept on a span by default, in bytes; longer ones are cut and
/// listed in `honeyhive_truncated` (the configuration's value length limit, when a tracer
/// is current, sets [`Attributes::max_value_bytes`]).
pub const MAX_VALUE_BYTES: usize = crate::limits::DEFAULT_VALUE_LENGTH_LIMIT;

/// Most attributes one captured value may expand to; the rest are cut and listed in
/// `honeyhive_truncated`, so one huge input cannot push the session attributes off a span.
pub const MAX_LEAVES: usize = 1024;

/// Attributes collected for one span, with the keys that had to be cut.
#[derive(Debug)]
pub struct Attributes {
    /// The flattened attributes, in order.
    pub values: Vec<KeyValue>,
    /// Keys cut to the size caps.
    pub truncated: Vec<String>,
    /// Longest string value kept, in bytes.
    pub(crate) max_value_bytes: usize,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            values: Vec::new(),
            truncated: Vec::new(),
            max_value_bytes: MAX_VALUE_BYTES,
        }
    }
}

/// The attribute name a value is captured under: `prefix`, or `prefix.name`. Built only
/// once it is known to be needed, and then at its exact size.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyName<'a> {
    /// A constant name, e.g. `honeyhive_outputs.result`: no allocation at all.
    Static(&'static str),
    /// A name given at run time.
    Borrowed(&'a str),
}

impl KeyName<'_> {
    fn to_key(self) -> Key {
        match self {
            KeyName::Static(s) => Key::from_static_str(s),
            KeyName::Borrowed(_) => Key::from(self.text()),
        }
    }

    pub(crate) fn text(self) -> String {
        match self {
            KeyName::Static(s) | KeyName::Borrowed(s) => s.to_owned(),
        }
    }
}

impl Attributes {
    /// Serialises `value` and flattens it under `prefix`.
    pub fn capture<T: Serialize + ?Sized>(
        &mut self,
        prefix: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.capture_as(KeyName::Borrowed(prefix), value)
    }

    /// [`capture`](Self::capture) under `key`, which is built only if something is recorded.
    ///
    /// The value is serialised once, by [`Leaves`]: a scalar (the common argument: a
    /// string, a number) becomes its attribute directly; anything else is built as a
    /// `serde_json::Value` by serde_json's own serializer, exactly as `to_value` would, and
    /// flattened.
    pub(crate) fn capture_as<T: Serialize + ?Sized>(
        &mut self,
        key: KeyName<'_>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let leaf = value.serialize(Leaves { deferred: None })?;
        self.push_leaf(key, leaf);
        Ok(())
    }

    /// [`capture_as`](Self::capture_as), except that a short string value (the common
    /// argument) is deferred to `text` ([`DeferredText`]) instead of allocated here.
    pub(crate) fn capture_deferring<T: Serialize + ?Sized>(
        &mut self,
        key: KeyName<'_>,
        value: &T,
        text: &mut DeferredText,
    ) -> Result<(), serde_json::Error> {
        let mark = text.mark();
        let index = self.values.len();
        match value.serialize(Leaves {
            deferred: Some((text, index)),
        }) {
            Ok(leaf) => {
                self.push_leaf(key, leaf);
                Ok(())
            }
            Err(e) => {
                // A `Serialize` impl may defer a string and then fail: its record must not
                // land on the next attribute, which takes this one's index.
                text.roll_back(mark);
                Err(e)
            }
        }
    }

    fn push_leaf(&mut self, key: KeyName<'_>, leaf: Leaf) {
        match leaf {
            Leaf::Null => {}
            Leaf::Value(value) => self.values.push(KeyValue::new(key.to_key(), value)),
            Leaf::Str(s) => {
                let value = self.cap_owned(key, s);
                self.values.push(KeyValue::new(key.to_key(), value));
            }
            Leaf::Json(json) => match Self::scalar(&json) {
                Some(Scalar::Value(value)) => self.values.push(KeyValue::new(key.to_key(), value)),
                Some(Scalar::Str(s)) => {
                    let value = Value::String(self.cap(&key.text(), s).into());
                    self.values.push(KeyValue::new(key.to_key(), value));
                }
                Some(Scalar::Null) => {}
                None => self.flatten(&key.text(), &json),
            },
        }
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

    /// The attribute value of a JSON scalar; `None` for arrays and objects.
    fn scalar(value: &Json) -> Option<Scalar<'_>> {
        Some(Scalar::Value(match value {
            Json::Null => return Some(Scalar::Null),
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::I64(i),
                // Integers beyond i64 keep their digits as text rather than lose precision.
                (None, _) if n.is_u64() => Value::String(n.to_string().into()),
                (None, Some(f)) => Value::F64(f),
                (None, None) => Value::String(n.to_string().into()),
            },
            Json::String(s) => return Some(Scalar::Str(s)),
            Json::Array(_) | Json::Object(_) => return None,
        }))
    }

    fn walk(&mut self, key: &mut String, value: &Json, leaves: &mut usize) {
        let scalar = match Self::scalar(value) {
            Some(Scalar::Null) => return,
            Some(Scalar::Value(v)) => v,
            Some(Scalar::Str(s)) => Value::String(self.cap(key, s).into()),
            None => {
                match value {
                    Json::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let len = key.len();
                            let _ = write!(key, ".{i}");
                            self.walk(key, item, leaves);
                            key.truncate(len);
                        }
                    }
                    Json::Object(map) => {
                        for (k, item) in map {
                            let len = key.len();
                            key.push('.');
                            key.push_str(k);
                            self.walk(key, item, leaves);
                            key.truncate(len);
                        }
                    }
                    _ => {}
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
        match crate::limits::cut(s, self.max_value_bytes) {
            None => s.to_owned(),
            Some(cut) => {
                self.truncated.push(key.to_owned());
                cut
            }
        }
    }

    /// [`cap`](Self::cap) of a string already owned: kept as it is when short enough.
    fn cap_owned(&mut self, key: KeyName<'_>, s: String) -> Value {
        if s.len() <= self.max_value_bytes {
            return Value::String(s.into());
        }
        Value::String(self.cap(&key.text(), &s).into())
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

/// Most bytes [`intern`] keeps.
const MAX_INTERNED_BYTES: usize = 256 * 1024;

/// Strings interned for the life of the process.
static INTERNED: Mutex<Interned> = Mutex::new(Interned {
    strings: BTreeSet::new(),
    bytes: 0,
});

struct Interned {
    strings: BTreeSet<&'static str>,
    bytes: usize,
}

/// `s` as a string that lives as long as the process, or `None` once the interned strings
/// reach [`MAX_INTERNED_BYTES`]. For the few distinct strings that are on every span
/// (project, source; the attribute names of `#[trace]` arguments are literals already):
/// spans carry a `&'static str` instead of an allocation or a reference count each. The
/// bound keeps the memory fixed however many distinct strings come.
pub(crate) fn intern(s: &str) -> Option<&'static str> {
    let mut interned = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&hit) = interned.strings.get(s) {
        return Some(hit);
    }
    if interned.bytes + s.len() > MAX_INTERNED_BYTES {
        return None;
    }
    let leaked: &'static str = Box::leak(Box::from(s));
    interned.bytes += s.len();
    interned.strings.insert(leaked);
    Some(leaked)
}

enum Scalar<'a> {
    Null,
    Value(Value),
    Str(&'a str),
}

/// What [`Leaves`] made of a value.
enum Leaf {
    /// Nothing to record (`None`, `()`, a non-finite float).
    Null,
    /// A bool or a number, as flattening its `to_value` types it.
    Value(Value),
    /// A string, owned once.
    Str(String),
    /// Anything else, as `serde_json::to_value` makes it.
    Json(Json),
}

/// Serialises like `serde_json::value::Serializer` (the serializer of `to_value`), which
/// it calls for everything but the few kinds it builds directly, so a captured value is
/// exactly what flattening its `to_value` gives, without building a `serde_json::Value`
/// for a string.
struct Leaves<'t> {
    /// Where a short string goes instead of an allocation of its own, and the index of the
    /// attribute it becomes, when deferring.
    deferred: Option<(&'t mut DeferredText, usize)>,
}

use serde_json::value::Serializer as JsonSerializer;

macro_rules! delegate {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method(self, $($arg: $ty),*) -> Result<Leaf, serde_json::Error> {
            JsonSerializer.$method($($arg),*).map(Leaf::Json)
        }
    )*};
}

impl ser::Serializer for Leaves<'_> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    type SerializeSeq = Compound<<JsonSerializer as ser::Serializer>::SerializeSeq>;
    type SerializeTuple = Compound<<JsonSerializer as ser::Serializer>::SerializeTuple>;
    type SerializeTupleStruct = Compound<<JsonSerializer as ser::Serializer>::SerializeTupleStruct>;
    type SerializeTupleVariant =
        Compound<<JsonSerializer as ser::Serializer>::SerializeTupleVariant>;
    type SerializeMap = Compound<<JsonSerializer as ser::Serializer>::SerializeMap>;
    type SerializeStruct = Compound<<JsonSerializer as ser::Serializer>::SerializeStruct>;
    type SerializeStructVariant =
        Compound<<JsonSerializer as ser::Serializer>::SerializeStructVariant>;

    fn serialize_str(self, v: &str) -> Result<Leaf, serde_json::Error> {
        if let Some((text, index)) = self.deferred
            && let Some(placeholder) = text.defer(index, v)
        {
            return Ok(Leaf::Value(placeholder));
        }
        Ok(Leaf::Str(v.to_owned()))
    }

    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<Leaf, serde_json::Error> {
        Ok(Leaf::Str(value.to_string()))
    }

    // The scalars of most return values, typed as `scalar` types their `to_value`, without
    // a `serde_json::Value` in between.
    fn serialize_bool(self, v: bool) -> Result<Leaf, serde_json::Error> {
        Ok(Leaf::Value(Value::Bool(v)))
    }

    fn serialize_i64(self, v: i64) -> Result<Leaf, serde_json::Error> {
        Ok(Leaf::Value(Value::I64(v)))
    }

    fn serialize_i32(self, v: i32) -> Result<Leaf, serde_json::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<Leaf, serde_json::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<Leaf, serde_json::Error> {
        match i64::try_from(v) {
            Ok(v) => self.serialize_i64(v),
            // Beyond i64: the digits as text, as `scalar` keeps them.
            Err(_) => Ok(Leaf::Value(Value::String(v.to_string().into()))),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<Leaf, serde_json::Error> {
        // serde_json has no non-finite numbers: `to_value` makes them null.
        Ok(if v.is_finite() {
            Leaf::Value(Value::F64(v))
        } else {
            Leaf::Null
        })
    }

    fn serialize_none(self) -> Result<Leaf, serde_json::Error> {
        Ok(Leaf::Null)
    }

    fn serialize_unit(self) -> Result<Leaf, serde_json::Error> {
        Ok(Leaf::Null)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Leaf, serde_json::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Leaf, serde_json::Error> {
        value.serialize(self)
    }

    delegate! {
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_char(v: char);
        serialize_bytes(v: &[u8]);
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Leaf, serde_json::Error> {
        JsonSerializer
            .serialize_newtype_variant(name, index, variant, value)
            .map(Leaf::Json)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        JsonSerializer.serialize_seq(len).map(Compound)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, serde_json::Error> {
        JsonSerializer.serialize_tuple(len).map(Compound)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, serde_json::Error> {
        JsonSerializer
            .serialize_tuple_struct(name, len)
            .map(Compound)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        JsonSerializer
            .serialize_tuple_variant(name, index, variant, len)
            .map(Compound)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        JsonSerializer.serialize_map(len).map(Compound)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        JsonSerializer.serialize_struct(name, len).map(Compound)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        JsonSerializer
            .serialize_struct_variant(name, index, variant, len)
            .map(Compound)
    }
}

/// A compound value being built by serde_json's serializer.
struct Compound<C>(C);

type JsonResult<T> = Result<T, serde_json::Error>;

/// Forwards a serde_json compound serializer, turning its finished value into a leaf.
macro_rules! forward_compound {
    ($($trait:ident { $($method:ident($($key:ident: $key_ty:ty,)?);)+ })+) => {$(
        impl<C: ser::$trait<Ok = Json, Error = serde_json::Error>> ser::$trait for Compound<C> {
            type Ok = Leaf;
            type Error = serde_json::Error;
            $(
                fn $method<T: ?Sized + Serialize>(
                    &mut self,
                    $($key: $key_ty,)?
                    value: &T,
                ) -> JsonResult<()> {
                    self.0.$method($($key,)? value)
                }
            )+
            fn end(self) -> JsonResult<Leaf> {
                self.0.end().map(Leaf::Json)
            }
        }
    )+};
}

forward_compound! {
    SerializeSeq { serialize_element(); }
    SerializeTuple { serialize_element(); }
    SerializeTupleStruct { serialize_field(); }
    SerializeTupleVariant { serialize_field(); }
    SerializeStruct { serialize_field(key: &'static str,); }
    SerializeStructVariant { serialize_field(key: &'static str,); }
}

impl<C: ser::SerializeMap<Ok = Json, Error = serde_json::Error>> ser::SerializeMap for Compound<C> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> JsonResult<()> {
        self.0.serialize_key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> JsonResult<()> {
        self.0.serialize_value(value)
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> JsonResult<()> {
        self.0.serialize_entry(key, value)
    }
    fn end(self) -> JsonResult<Leaf> {
        self.0.end().map(Leaf::Json)
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
    fn capture_flattens_under_the_prefix() {
        let mut attrs = Attributes::default();
        attrs
            .capture(
                "honeyhive_outputs.result",
                &json!({"sum": 3, "items": [1, 2]}),
            )
            .unwrap();
        let keys: Vec<_> = attrs.values.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "honeyhive_outputs.result.items.0",
                "honeyhive_outputs.result.items.1",
                "honeyhive_outputs.result.sum"
            ]
        );
    }

    fn pairs(attrs: &[KeyValue]) -> Vec<(&str, Value)> {
        attrs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.clone()))
            .collect()
    }

    #[test]
    fn deferred_strings_resolve_to_what_capture_as_gives() {
        let long = "x".repeat(crate::export::deferred_text::MAX_DEFERRED_BYTES + 1);
        let values: [(&'static str, Json); 7] = [
            ("a", json!("first")),
            ("b", json!(7)),
            ("c", json!("")),
            ("d", json!({"nested": "stays a JSON leaf"})),
            ("e", json!(long)),
            ("f", json!("héllo ✓")),
            ("g", json!(null)),
        ];
        let mut text = DeferredText::with_capacity();
        let (mut direct, mut deferred) = (Attributes::default(), Attributes::default());
        for (key, value) in &values {
            direct.capture_as(KeyName::Static(key), value).unwrap();
            deferred
                .capture_deferring(KeyName::Static(key), value, &mut text)
                .unwrap();
        }
        assert_ne!(pairs(&deferred.values), pairs(&direct.values));
        text.resolve(&mut deferred.values);
        assert_eq!(pairs(&deferred.values), pairs(&direct.values));
    }

    #[test]
    fn a_serializer_that_fails_after_a_string_leaves_nothing_behind() {
        struct WritesThenFails;
        impl Serialize for WritesThenFails {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let _ = s.serialize_str("stray");
                Err(ser::Error::custom("failed after writing"))
            }
        }
        let (mut attrs, mut text) = (Attributes::default(), DeferredText::with_capacity());
        attrs
            .capture_deferring(KeyName::Static("a"), &"kept", &mut text)
            .unwrap();
        assert!(
            attrs
                .capture_deferring(KeyName::Static("b"), &WritesThenFails, &mut text)
                .is_err()
        );
        attrs
            .capture_deferring(KeyName::Static("c"), &"also kept", &mut text)
            .unwrap();
        text.resolve(&mut attrs.values);
        assert_eq!(
            pairs(&attrs.values),
            [
                ("a", Value::String("kept".into())),
                ("c", Value::String("also kept".into()))
            ]
        );
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

    /// `capture` must give exactly what flattening `serde_json::to_value` gives.
    fn same_as_to_value<T: Serialize + ?Sized>(value: &T) {
        let mut direct = Attributes::default();
        let direct_result = direct.capture("p", value);
        let mut reference = Attributes::default();
        let reference_result =
            serde_json::to_value(value).map(|json| reference.flatten("p", &json));
        assert_eq!(
            direct_result.is_ok(),
            reference_result.is_ok(),
            "{direct_result:?} {reference_result:?}"
        );
        assert_eq!(direct.values, reference.values);
        assert_eq!(direct.truncated, reference.truncated);
        let mut named = Attributes::default();
        if named.capture_as(KeyName::Static("a.b"), value).is_ok() {
            let mut reference = Attributes::default();
            reference.capture("a.b", value).unwrap();
            assert_eq!(named.values, reference.values);
        }
    }

    #[test]
    fn direct_capture_matches_to_value() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(&'static str);
        #[derive(Serialize)]
        struct Tuple(i32, Option<i32>);
        #[derive(Serialize)]
        struct Named {
            a: u8,
            b: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            c: Option<u8>,
        }
        #[derive(Serialize)]
        enum E {
            U,
            N(i64),
            T(i8, i8),
            S { x: f32 },
        }
        same_as_to_value("a question");
        same_as_to_value(&"é".repeat(MAX_VALUE_BYTES));
        same_as_to_value(&String::from("owned"));
        same_as_to_value(&true);
        same_as_to_value(&false);
        same_as_to_value(&-7i8);
        same_as_to_value(&i32::MIN);
        same_as_to_value(&u32::MAX);
        same_as_to_value(&usize::MAX);
        same_as_to_value(&0u64);
        same_as_to_value(&(i64::MAX as u64 + 1));
        same_as_to_value(&-0.0f64);
        same_as_to_value(&f64::MAX);
        same_as_to_value(&f64::NEG_INFINITY);
        same_as_to_value(&42u16);
        same_as_to_value(&i64::MIN);
        same_as_to_value(&u64::MAX);
        same_as_to_value(&(i64::MAX as u64));
        same_as_to_value(&1i128);
        same_as_to_value(&(u64::MAX as u128));
        same_as_to_value(&i128::MIN);
        same_as_to_value(&u128::MAX);
        same_as_to_value(&1.5f64);
        same_as_to_value(&0.1f32);
        same_as_to_value(&f64::NAN);
        same_as_to_value(&f32::INFINITY);
        same_as_to_value(&'x');
        same_as_to_value(&());
        same_as_to_value(&None::<u8>);
        same_as_to_value(&Some(Some("nested")));
        same_as_to_value(&Unit);
        same_as_to_value(&Newtype("inner"));
        same_as_to_value(&Tuple(1, None));
        same_as_to_value(&Named {
            a: 1,
            b: None,
            c: None,
        });
        same_as_to_value(&[E::U, E::N(3), E::T(1, 2), E::S { x: 0.5 }]);
        same_as_to_value(&E::U);
        same_as_to_value(&E::N(-1));
        same_as_to_value(&(1, "two", [3.0]));
        same_as_to_value(&vec![Some(1), None, Some(3)]);
        same_as_to_value(&std::collections::BTreeMap::from([(2, "b"), (1, "a")]));
        same_as_to_value(&std::collections::BTreeMap::from([(
            (1, 2),
            "tuple keys fail",
        )]));
        same_as_to_value(&serde_json::json!({"sum": 3, "items": [1, 2], "n": null}));
        same_as_to_value(
            &serde_json::value::RawValue::from_string("{\"raw\":[1]}".into()).unwrap(),
        );
        same_as_to_value(&std::net::Ipv4Addr::LOCALHOST);
        same_as_to_value(&(0..(MAX_LEAVES + 5)).collect::<Vec<_>>());
    }

    #[test]
    fn interned_strings_are_shared() {
        assert!(std::ptr::eq(intern("p").unwrap(), intern("p").unwrap()));
    }

    #[test]
    fn oversized_values_are_cut_and_listed() {
        let big = "é".repeat(MAX_VALUE_BYTES);
        let got = flat(json!({ "big": big }));
        let Value::String(s) = &got[0].1 else {
            panic!()
        };
        assert!(s.as_str().len() <= MAX_VALUE_BYTES && s.as_str().ends_with(" bytes]"));
        assert_eq!(got[1].0, crate::attributes::TRUNCATED);
        let many: Vec<u32> = (0..(MAX_LEAVES as u32 + 10)).collect();
        let got = flat(json!(many));
        assert_eq!(got.len(), MAX_LEAVES + 1);
    }
}
