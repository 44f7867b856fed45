//! Flattening of captured values into span attributes (`docs/span-attributes.md`,
//! Flattening).
//!
//! One rule serves inputs, outputs, metadata, metrics and the rest: the value as
//! `serde_json::to_value` makes it, objects as `prefix.key` (members in key order),
//! arrays as `prefix.<index>`, nulls skipped, scalars as native OpenTelemetry types.
//! [`Attributes::flatten`] walks a `serde_json::Value` already made; a value captured from
//! its `Serialize` impl goes through the flattening serializer ([`Leaves`]), which gives
//! the same attributes without making the `Value`.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::{Display, Write as _};
use std::ops::Range;
use std::sync::Mutex;

use opentelemetry::{Key, KeyValue, Value};
use serde::Serialize;
use serde::ser;
use serde::ser::{SerializeMap as _, Serializer as _};
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

impl<'a> KeyName<'a> {
    fn to_key(self) -> Key {
        match self {
            KeyName::Static(s) => Key::from_static_str(s),
            KeyName::Borrowed(_) => Key::from(self.text()),
        }
    }

    pub(crate) fn text(self) -> String {
        self.as_str().to_owned()
    }

    fn as_str(self) -> &'a str {
        match self {
            KeyName::Static(s) | KeyName::Borrowed(s) => s,
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
    /// The value is serialised once, by [`Leaves`], the flattening serializer: a scalar (the
    /// common argument: a string, a number) becomes its attribute directly; a compound
    /// value's leaves are written as bytes to a reused scratch, then made into attributes
    /// exactly as flattening its `serde_json::to_value` gives them, without building that
    /// value.
    pub(crate) fn capture_as<T: Serialize + ?Sized>(
        &mut self,
        key: KeyName<'_>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let leaf = value.serialize(Leaves::top(None))?;
        self.push_leaf(key, leaf, None);
        Ok(())
    }

    /// [`capture_as`](Self::capture_as), except that short string values (the common
    /// argument, the leaves of chat messages) are deferred to `text` ([`DeferredText`])
    /// instead of allocated here.
    pub(crate) fn capture_deferring<T: Serialize + ?Sized>(
        &mut self,
        key: KeyName<'_>,
        value: &T,
        text: &mut DeferredText,
    ) -> Result<(), serde_json::Error> {
        let mark = text.mark();
        let index = self.values.len();
        match value.serialize(Leaves::top(Some((text, index)))) {
            Ok(leaf) => {
                self.push_leaf(key, leaf, Some(text));
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

    fn push_leaf(&mut self, key: KeyName<'_>, leaf: Leaf, text: Option<&mut DeferredText>) {
        match leaf {
            Leaf::Null => {}
            Leaf::Value(value) => self.values.push(KeyValue::new(key.to_key(), value)),
            Leaf::Str(s) => {
                let value = self.cap_owned(key, s);
                self.values.push(KeyValue::new(key.to_key(), value));
            }
            Leaf::Entries(mut scratch) => self.push_entries(key.as_str(), &mut scratch, text),
        }
    }

    /// The leaves of a compound value, recorded in `scratch`, as attributes under `prefix`:
    /// what [`flatten`](Self::flatten) gives for its `to_value`, in the same order, with the
    /// same strings cut and listed, and the same leaves past [`MAX_LEAVES`] left out; short
    /// strings deferred to `text` when one is given.
    fn push_entries(
        &mut self,
        prefix: &str,
        scratch: &mut Scratch,
        mut text: Option<&mut DeferredText>,
    ) {
        let mut leaves = 0;
        let Scratch {
            paths,
            text: strings,
            entries,
            ..
        } = scratch;
        let key = |relative: Range<usize>| {
            let relative = &paths[relative];
            let mut key = String::with_capacity(prefix.len() + relative.len());
            key.push_str(prefix);
            key.push_str(relative);
            key
        };
        for Recorded {
            key: relative,
            value,
        } in entries.drain(..)
        {
            leaves += 1;
            let value = match value {
                Entry::Value(value) => value,
                Entry::Text(range) => {
                    let s = &strings[range];
                    match crate::limits::cut(s, self.max_value_bytes) {
                        Some(cut) => {
                            self.truncated.push(key(relative.clone()));
                            Value::String(cut.into())
                        }
                        None if leaves > MAX_LEAVES => continue,
                        None => match text
                            .as_deref_mut()
                            .and_then(|text| text.defer(self.values.len(), s))
                        {
                            Some(placeholder) => placeholder,
                            None => Value::String(s.to_owned().into()),
                        },
                    }
                }
            };
            if leaves <= MAX_LEAVES {
                self.values.push(KeyValue::new(key(relative), value));
            }
        }
        if leaves > MAX_LEAVES {
            self.truncated.push(prefix.to_owned());
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

/// How many interned strings a thread remembers, so that the lock of [`INTERNED`] is
/// seldom taken on the paths that intern per span (model calls).
const REMEMBERED: usize = 16;

thread_local! {
    /// The strings this thread interned last, and where the next one goes once it is full.
    static RECENT: RefCell<(Vec<&'static str>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// `s` as a string that lives as long as the process, or `None` once the interned strings
/// reach [`MAX_INTERNED_BYTES`]. For the few distinct strings that are on every span
/// (project, source, a model call's provider, model and names; the attribute names of
/// `#[trace]` arguments are literals already): spans carry a `&'static str` instead of an
/// allocation or a reference count each. The bound keeps the memory fixed however many
/// distinct strings come.
pub(crate) fn intern(s: &str) -> Option<&'static str> {
    RECENT
        .try_with(|recent| {
            let mut recent = recent.try_borrow_mut().ok()?;
            let (names, next) = &mut *recent;
            if let Some(&hit) = names.iter().find(|name| **name == s) {
                return Some(hit);
            }
            let name = intern_shared(s)?;
            if names.len() < REMEMBERED {
                names.push(name);
            } else {
                names[*next] = name;
                *next = (*next + 1) % REMEMBERED;
            }
            Some(name)
        })
        .ok()
        .flatten()
        .or_else(|| intern_shared(s))
}

/// [`intern`] through the process-wide set.
fn intern_shared(s: &str) -> Option<&'static str> {
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
    /// Nothing to record (`None`, `()`, a non-finite float); or, for a member of a compound
    /// value, its leaves already recorded in the [`Scratch`].
    Null,
    /// A bool or a number, as flattening its `to_value` types it.
    Value(Value),
    /// A string, owned once.
    Str(String),
    /// A compound value: its leaves, in the order flattening its `to_value` gives them.
    Entries(ScratchBox),
}

/// The flattening serializer: serialises a value straight into its leaves, typed, keyed
/// and ordered exactly as flattening its `serde_json::to_value` would (objects' members in
/// key order, a repeated key's last value kept, nulls skipped), without building the
/// `serde_json::Value`. A scalar (the common argument: a string, a number) becomes its
/// attribute directly; a compound value's leaves go to a [`Scratch`] (keys and strings as
/// bytes in a few reused buffers), which [`Attributes::push_entries`] then caps, defers and
/// makes into attributes.
struct Leaves<'t> {
    to: To<'t>,
}

enum To<'t> {
    /// The captured value itself. When deferring: where a short string goes instead of an
    /// allocation of its own, and the index of the attribute it becomes.
    Top(Option<(&'t mut DeferredText, usize)>),
    /// A member of a compound value, recorded under the scratch's current path.
    Nested(&'t mut Scratch),
}

impl<'t> Leaves<'t> {
    fn top(deferred: Option<(&'t mut DeferredText, usize)>) -> Self {
        Leaves {
            to: To::Top(deferred),
        }
    }

    fn nested(scratch: &'t mut Scratch) -> Self {
        Leaves {
            to: To::Nested(scratch),
        }
    }

    fn scalar(self, value: Value) -> JsonResult<Leaf> {
        match self.to {
            To::Top(_) => Ok(Leaf::Value(value)),
            To::Nested(scratch) => {
                scratch.push(Entry::Value(value));
                Ok(Leaf::Null)
            }
        }
    }

    /// A string that is not deferred even at the top (as it never was: it is capped where
    /// it is captured, whatever its length).
    fn owned_str(self, v: &str) -> JsonResult<Leaf> {
        match self.to {
            To::Top(_) => Ok(Leaf::Str(v.to_owned())),
            To::Nested(scratch) => {
                scratch.push_text(v);
                Ok(Leaf::Null)
            }
        }
    }

    /// A scalar as serde_json's own serializer makes it (the rare number types, whose
    /// range rules are serde_json's).
    fn json_scalar(self, json: JsonResult<Json>) -> JsonResult<Leaf> {
        let json = json?;
        match Attributes::scalar(&json) {
            Some(Scalar::Value(value)) => self.scalar(value),
            Some(Scalar::Str(s)) => self.owned_str(s),
            Some(Scalar::Null) | None => Ok(Leaf::Null),
        }
    }

    /// The scratch a compound value records its leaves in: the capture's own, reused, at
    /// the top; the enclosing value's otherwise.
    fn compound(self) -> Slot<'t> {
        match self.to {
            To::Top(_) => Slot::Owned(ScratchBox::take()),
            To::Nested(scratch) => Slot::Borrowed(scratch),
        }
    }
}

impl<'t> ser::Serializer for Leaves<'t> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    type SerializeSeq = Seq<'t>;
    type SerializeTuple = Seq<'t>;
    type SerializeTupleStruct = Seq<'t>;
    type SerializeTupleVariant = Seq<'t>;
    type SerializeMap = Object<'t>;
    type SerializeStruct = Struct<'t>;
    type SerializeStructVariant = Object<'t>;

    fn serialize_str(self, v: &str) -> JsonResult<Leaf> {
        match self.to {
            To::Top(deferred) => {
                if let Some((text, index)) = deferred
                    && let Some(placeholder) = text.defer(index, v)
                {
                    return Ok(Leaf::Value(placeholder));
                }
                Ok(Leaf::Str(v.to_owned()))
            }
            To::Nested(scratch) => {
                scratch.push_text(v);
                Ok(Leaf::Null)
            }
        }
    }

    fn collect_str<T: ?Sized + Display>(self, value: &T) -> JsonResult<Leaf> {
        match self.to {
            To::Top(_) => Ok(Leaf::Str(value.to_string())),
            To::Nested(scratch) => {
                let start = scratch.text.len();
                let _ = write!(scratch.text, "{value}");
                scratch.push(Entry::Text(start..scratch.text.len()));
                Ok(Leaf::Null)
            }
        }
    }

    fn serialize_char(self, v: char) -> JsonResult<Leaf> {
        self.owned_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_bool(self, v: bool) -> JsonResult<Leaf> {
        self.scalar(Value::Bool(v))
    }

    fn serialize_i64(self, v: i64) -> JsonResult<Leaf> {
        self.scalar(Value::I64(v))
    }

    fn serialize_i8(self, v: i8) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_u8(self, v: u8) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_u16(self, v: u16) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_u32(self, v: u32) -> JsonResult<Leaf> {
        self.serialize_i64(v.into())
    }

    fn serialize_u64(self, v: u64) -> JsonResult<Leaf> {
        match i64::try_from(v) {
            Ok(v) => self.serialize_i64(v),
            // Beyond i64: the digits as text, as `scalar` keeps them.
            Err(_) => self.scalar(Value::String(v.to_string().into())),
        }
    }

    fn serialize_i128(self, v: i128) -> JsonResult<Leaf> {
        self.json_scalar(JsonSerializer.serialize_i128(v))
    }

    fn serialize_u128(self, v: u128) -> JsonResult<Leaf> {
        self.json_scalar(JsonSerializer.serialize_u128(v))
    }

    fn serialize_f32(self, v: f32) -> JsonResult<Leaf> {
        self.json_scalar(JsonSerializer.serialize_f32(v))
    }

    fn serialize_f64(self, v: f64) -> JsonResult<Leaf> {
        // serde_json has no non-finite numbers: `to_value` makes them null.
        if v.is_finite() {
            self.scalar(Value::F64(v))
        } else {
            Ok(Leaf::Null)
        }
    }

    fn serialize_bytes(self, v: &[u8]) -> JsonResult<Leaf> {
        // An array of numbers, as serde_json makes bytes.
        self.collect_seq(v)
    }

    fn serialize_none(self) -> JsonResult<Leaf> {
        Ok(Leaf::Null)
    }

    fn serialize_unit(self) -> JsonResult<Leaf> {
        Ok(Leaf::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> JsonResult<Leaf> {
        Ok(Leaf::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> JsonResult<Leaf> {
        self.owned_str(variant)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> JsonResult<Leaf> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> JsonResult<Leaf> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> JsonResult<Leaf> {
        // `{variant: value}`: an object of one member, in order already.
        let mut slot = self.compound();
        let scratch = slot.get();
        let outer = scratch.enter(variant);
        value.serialize(Leaves::nested(scratch))?;
        scratch.path.truncate(outer);
        Ok(slot.done())
    }

    fn serialize_seq(self, _len: Option<usize>) -> JsonResult<Seq<'t>> {
        let mut slot = self.compound();
        let base = slot.get().path.len();
        Ok(Seq {
            slot,
            base,
            outer: base,
            next: 0,
        })
    }

    fn serialize_tuple(self, len: usize) -> JsonResult<Seq<'t>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> JsonResult<Seq<'t>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> JsonResult<Seq<'t>> {
        // `{variant: [..]}`.
        let mut slot = self.compound();
        let outer = slot.get().enter(variant);
        let base = slot.get().path.len();
        Ok(Seq {
            slot,
            base,
            outer,
            next: 0,
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> JsonResult<Object<'t>> {
        Ok(Object::new(self.compound()))
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> JsonResult<Struct<'t>> {
        if name == RAW_VALUE_TOKEN {
            // A `RawValue` holds JSON text, which serde_json's serializer parses.
            let leaves = match self.to {
                To::Top(_) => Leaves::top(None),
                nested => Leaves { to: nested },
            };
            let raw = JsonSerializer.serialize_struct(name, len)?;
            return Ok(Struct::Raw(raw, leaves));
        }
        Ok(Struct::Object(Object::new(self.compound())))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> JsonResult<Object<'t>> {
        // `{variant: {..}}`.
        let mut slot = self.compound();
        let outer = slot.get().enter(variant);
        let mut object = Object::new(slot);
        object.outer = outer;
        Ok(object)
    }
}

use serde_json::value::Serializer as JsonSerializer;

type JsonResult<T> = Result<T, serde_json::Error>;

/// The name serde_json gives the struct a `RawValue` serialises as.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The leaves of one compound value being captured, in reused buffers: the path of the
/// member being serialised, and for each leaf its key (relative to the capture's key, e.g.
/// `.0.role`) and its value, strings as bytes.
#[derive(Default)]
struct Scratch {
    /// Where the value being serialised is, relative to the capture's key.
    path: String,
    /// The leaves' keys (relative), end to end.
    paths: String,
    /// The leaves' strings, end to end.
    text: String,
    entries: Vec<Recorded>,
    /// The members of the objects being serialised, innermost last.
    members: Vec<Member>,
    /// The members' names, end to end.
    names: String,
    /// Room to put an object's members in key order.
    order: Vec<usize>,
    spare: Vec<Recorded>,
}

/// One leaf of a compound value: its key in [`Scratch::paths`], and its value.
#[derive(Clone)]
struct Recorded {
    key: Range<usize>,
    value: Entry,
}

#[derive(Clone)]
enum Entry {
    Value(Value),
    /// A string, in [`Scratch::text`].
    Text(Range<usize>),
}

/// A member of an object: its name in [`Scratch::names`], and its first leaf.
struct Member {
    name: Range<usize>,
    first: usize,
}

impl Scratch {
    /// Records a leaf under the current path.
    fn push(&mut self, value: Entry) {
        let start = self.paths.len();
        self.paths.push_str(&self.path);
        self.entries.push(Recorded {
            key: start..self.paths.len(),
            value,
        });
    }

    fn push_text(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.push(Entry::Text(start..self.text.len()));
    }

    /// Extends the path with `.name`; returns the length to cut it back to.
    fn enter(&mut self, name: &str) -> usize {
        let outer = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        outer
    }

    /// Starts the member whose name was just written to `names` from `start`.
    fn begin_member(&mut self, start: usize) {
        self.members.push(Member {
            name: start..self.names.len(),
            first: self.entries.len(),
        });
        self.path.push('.');
        self.path.push_str(&self.names[start..]);
    }

    /// Puts the leaves of the object whose members start at `from` in the order of its
    /// `to_value` (a `BTreeMap`: members by name, a repeated name's last value only), then
    /// forgets its members. Struct fields are seldom declared in name order, so this runs
    /// for most structs: an insertion sort of the members' runs of leaves, by rotation in
    /// place (nothing moves for members already in order).
    fn order_members(&mut self, from: usize) {
        let mut repeated = false;
        let Scratch {
            entries,
            members,
            names,
            ..
        } = &mut *self;
        'members: for i in from + 1..members.len() {
            let name = |m: &Member| &names[m.name.clone()];
            let mut at = i;
            while at > from {
                match name(&members[at - 1]).cmp(name(&members[i])) {
                    Ordering::Less => break,
                    Ordering::Greater => at -= 1,
                    Ordering::Equal => {
                        repeated = true;
                        break 'members;
                    }
                }
            }
            if at < i {
                // Member `i`'s leaves move before those of `at..i`.
                let start = members[at].first;
                let end = members.get(i + 1).map_or(entries.len(), |next| next.first);
                let moved = end - members[i].first;
                entries[start..end].rotate_right(moved);
                for member in &mut members[at..i] {
                    member.first += moved;
                }
                members[i].first = start;
                members[at..=i].rotate_right(1);
            }
        }
        if repeated {
            self.merge_repeated(from);
        }
        self.members.truncate(from);
    }

    /// [`order_members`](Self::order_members) for an object with a repeated name (a map
    /// whose keys serialise alike, a hand-written impl): members by name, stably, each
    /// name's last value only, through a copy.
    fn merge_repeated(&mut self, from: usize) {
        let Scratch {
            entries,
            members,
            names,
            order,
            spare,
            ..
        } = self;
        let name = |m: &Member| &names[m.name.clone()];
        let first = members[from].first;
        let end = entries.len();
        order.clear();
        order.extend(from..members.len());
        // Stable: a repeated name keeps the order its values came in.
        order.sort_by(|&a, &b| name(&members[a]).cmp(name(&members[b])));
        spare.clear();
        spare.extend(entries.drain(first..));
        for (i, &m) in order.iter().enumerate() {
            if order
                .get(i + 1)
                .is_some_and(|&next| name(&members[next]) == name(&members[m]))
            {
                continue; // replaced by a later value of the same name
            }
            let start = members[m].first - first;
            let stop = members.get(m + 1).map_or(end, |next| next.first) - first;
            entries.extend_from_slice(&spare[start..stop]);
        }
    }

    /// Whether these buffers are worth keeping for the next capture: ones a huge value grew
    /// are freed instead.
    fn is_reusable(&self) -> bool {
        const MAX: usize = 64 * 1024;
        self.paths.capacity() + self.text.capacity() + self.names.capacity() <= MAX
            && self.entries.capacity() + self.spare.capacity() <= MAX_LEAVES * 2
    }

    fn clear(&mut self) {
        self.path.clear();
        self.paths.clear();
        self.text.clear();
        self.entries.clear();
        self.members.clear();
        self.names.clear();
        self.order.clear();
        self.spare.clear();
    }
}

thread_local! {
    /// The calling thread's [`Scratch`], between captures.
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// A [`Scratch`] taken from the calling thread (a new one if it has none: the first
/// capture, or a capture made while serialising another), given back when dropped.
struct ScratchBox(Option<Box<Scratch>>);

impl ScratchBox {
    fn take() -> ScratchBox {
        let scratch = SCRATCH.try_with(Cell::take).ok().flatten();
        ScratchBox(Some(scratch.unwrap_or_default()))
    }
}

impl std::ops::Deref for ScratchBox {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        self.0.as_deref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for ScratchBox {
    fn deref_mut(&mut self) -> &mut Scratch {
        self.0.as_deref_mut().expect("present until dropped")
    }
}

impl Drop for ScratchBox {
    fn drop(&mut self) {
        if let Some(mut scratch) = self.0.take()
            && scratch.is_reusable()
        {
            scratch.clear();
            let _ = SCRATCH.try_with(|cell| cell.set(Some(scratch)));
        }
    }
}

/// Where a compound value records its leaves.
enum Slot<'t> {
    /// The captured value itself: the capture's own scratch.
    Owned(ScratchBox),
    /// A member of another compound value: that value's scratch.
    Borrowed(&'t mut Scratch),
}

impl Slot<'_> {
    fn get(&mut self) -> &mut Scratch {
        match self {
            Slot::Owned(scratch) => scratch,
            Slot::Borrowed(scratch) => scratch,
        }
    }

    fn done(self) -> Leaf {
        match self {
            Slot::Owned(scratch) => Leaf::Entries(scratch),
            Slot::Borrowed(_) => Leaf::Null,
        }
    }
}

/// Appends `.index`: a digit pushed as it is for the first ten (most sequences captured
/// are short), the formatting machinery otherwise.
fn push_index(path: &mut String, index: usize) {
    path.push('.');
    match u8::try_from(index) {
        Ok(digit @ 0..=9) => path.push(char::from(b'0' + digit)),
        _ => {
            let _ = write!(path, "{index}");
        }
    }
}

/// A sequence (or tuple) being serialised: `path.<index>`.
struct Seq<'t> {
    slot: Slot<'t>,
    /// The path's length at the sequence itself.
    base: usize,
    /// Its length to restore at the end (shorter than `base` for a tuple variant's
    /// `.variant`).
    outer: usize,
    next: usize,
}

impl Seq<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> JsonResult<()> {
        let scratch = self.slot.get();
        push_index(&mut scratch.path, self.next);
        self.next += 1;
        value.serialize(Leaves::nested(scratch))?;
        scratch.path.truncate(self.base);
        Ok(())
    }

    fn finish(mut self) -> JsonResult<Leaf> {
        self.slot.get().path.truncate(self.outer);
        Ok(self.slot.done())
    }
}

/// The four sequence-like compound serializers, all a [`Seq`].
macro_rules! seq_serializers {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = Leaf;
            type Error = serde_json::Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> JsonResult<()> {
                self.element(value)
            }
            fn end(self) -> JsonResult<Leaf> {
                self.finish()
            }
        }
    )*};
}

seq_serializers!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// A map or struct being serialised: `path.<name>`, its members put in name order at the
/// end.
struct Object<'t> {
    slot: Slot<'t>,
    /// The path's length at the object itself.
    base: usize,
    /// Its length to restore at the end (shorter than `base` for a struct variant's
    /// `.variant`).
    outer: usize,
    /// Where this object's members start in [`Scratch::members`].
    members: usize,
}

impl<'t> Object<'t> {
    fn new(mut slot: Slot<'t>) -> Self {
        let scratch = slot.get();
        let base = scratch.path.len();
        let members = scratch.members.len();
        Object {
            slot,
            base,
            outer: base,
            members,
        }
    }

    fn field<T: ?Sized + Serialize>(&mut self, name: &str, value: &T) -> JsonResult<()> {
        let scratch = self.slot.get();
        let start = scratch.names.len();
        scratch.names.push_str(name);
        scratch.begin_member(start);
        self.value(value)
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T) -> JsonResult<()> {
        let scratch = self.slot.get();
        value.serialize(Leaves::nested(scratch))?;
        scratch.path.truncate(self.base);
        Ok(())
    }

    fn finish(mut self) -> JsonResult<Leaf> {
        let scratch = self.slot.get();
        scratch.order_members(self.members);
        scratch.path.truncate(self.outer);
        Ok(self.slot.done())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> JsonResult<()> {
        let scratch = self.slot.get();
        let start = scratch.names.len();
        map_key(key, &mut scratch.names)?;
        scratch.begin_member(start);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> JsonResult<()> {
        self.value(value)
    }
    fn end(self) -> JsonResult<Leaf> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> JsonResult<()> {
        self.field(key, value)
    }
    fn end(self) -> JsonResult<Leaf> {
        self.finish()
    }
}

/// A struct being serialised: an object, or a `RawValue` (JSON text serde_json parses).
enum Struct<'t> {
    Object(Object<'t>),
    Raw(
        <JsonSerializer as ser::Serializer>::SerializeStruct,
        Leaves<'t>,
    ),
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = Leaf;
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> JsonResult<()> {
        match self {
            Struct::Object(object) => object.field(key, value),
            Struct::Raw(raw, _) => raw.serialize_field(key, value),
        }
    }
    fn end(self) -> JsonResult<Leaf> {
        match self {
            Struct::Object(object) => object.finish(),
            Struct::Raw(raw, leaves) => ser::SerializeStruct::end(raw)?.serialize(leaves),
        }
    }
}

/// Appends the member name serde_json makes of a map key to `out`: a string as it is (the
/// common key, without an allocation); anything else as serde_json's own map makes it
/// (numbers and bools as text; sequences, maps and the like an error).
fn map_key<K: ?Sized + Serialize>(key: &K, out: &mut String) -> JsonResult<()> {
    let start = out.len();
    if key.serialize(StrKey(out)).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    let mut map = JsonSerializer.serialize_map(Some(1))?;
    map.serialize_key(key)?;
    map.serialize_value(&())?;
    if let Json::Object(map) = ser::SerializeMap::end(map)?
        && let Some(name) = map.keys().next()
    {
        out.push_str(name);
    }
    Ok(())
}

/// Takes a string key (or a unit variant's name); anything else fails, and is left to
/// serde_json.
struct StrKey<'a>(&'a mut String);

/// Not a string key: [`map_key`] asks serde_json instead.
fn not_a_string() -> serde_json::Error {
    ser::Error::custom("not a string key")
}

macro_rules! not_a_string_key {
    ($($method:ident($($ty:ty),*);)*) => {$(
        fn $method(self, $(_: $ty),*) -> JsonResult<()> {
            Err(not_a_string())
        }
    )*};
}

impl ser::Serializer for StrKey<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = ser::Impossible<(), serde_json::Error>;
    type SerializeTuple = ser::Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = ser::Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = ser::Impossible<(), serde_json::Error>;
    type SerializeMap = ser::Impossible<(), serde_json::Error>;
    type SerializeStruct = ser::Impossible<(), serde_json::Error>;
    type SerializeStructVariant = ser::Impossible<(), serde_json::Error>;

    fn serialize_str(self, v: &str) -> JsonResult<()> {
        self.0.push_str(v);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> JsonResult<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> JsonResult<()> {
        value.serialize(self)
    }

    not_a_string_key! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> JsonResult<()> {
        Err(not_a_string())
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> JsonResult<()> {
        Err(not_a_string())
    }

    fn serialize_seq(self, _: Option<usize>) -> JsonResult<Self::SerializeSeq> {
        Err(not_a_string())
    }

    fn serialize_tuple(self, _: usize) -> JsonResult<Self::SerializeTuple> {
        Err(not_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> JsonResult<Self::SerializeTupleStruct> {
        Err(not_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> JsonResult<Self::SerializeTupleVariant> {
        Err(not_a_string())
    }

    fn serialize_map(self, _: Option<usize>) -> JsonResult<Self::SerializeMap> {
        Err(not_a_string())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> JsonResult<Self::SerializeStruct> {
        Err(not_a_string())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> JsonResult<Self::SerializeStructVariant> {
        Err(not_a_string())
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

    /// What the flattening serializer makes of `value` with strings capped at `max` bytes:
    /// exactly what flattening its `serde_json::to_value` makes (attributes, their order and
    /// types, the keys listed as cut), or an error when `to_value` fails; and, strings
    /// deferred, the same once resolved.
    fn flattens_like_to_value<T: Serialize + ?Sized>(value: &T, max: usize) {
        let limited = || Attributes {
            max_value_bytes: max,
            ..Attributes::default()
        };
        let (mut direct, mut reference) = (limited(), limited());
        let direct_result = direct.capture_as(KeyName::Static("p"), value);
        let reference_result =
            serde_json::to_value(value).map(|json| reference.flatten("p", &json));
        assert_eq!(
            direct_result.as_ref().map_err(ToString::to_string),
            reference_result.as_ref().map_err(ToString::to_string),
        );
        assert_eq!(pairs(&direct.values), pairs(&reference.values));
        assert_eq!(direct.truncated, reference.truncated);
        if direct_result.is_err() {
            assert!(direct.values.is_empty() && direct.truncated.is_empty());
        }
        // Deferred: a string at the top is deferred before any cap (as `#[trace]`
        // arguments always were), so compare at a limit no top-level string reaches.
        if max >= MAX_VALUE_BYTES {
            let (mut deferred, mut text) = (limited(), DeferredText::with_capacity());
            let before = KeyValue::new("before", "own");
            deferred.values.push(before.clone());
            let result = deferred.capture_deferring(KeyName::Static("p"), value, &mut text);
            assert_eq!(result.is_ok(), direct_result.is_ok());
            text.resolve(&mut deferred.values);
            assert_eq!(deferred.values[0], before);
            assert_eq!(pairs(&deferred.values[1..]), pairs(&direct.values));
            assert_eq!(deferred.truncated, direct.truncated);
        }
    }

    /// [`flattens_like_to_value`] at the default limit and at a small one.
    fn same_leaves<T: Serialize + ?Sized>(value: &T) {
        flattens_like_to_value(value, MAX_VALUE_BYTES);
        flattens_like_to_value(value, 40);
    }

    #[test]
    fn flattening_serializer_matches_to_value_for_structs_and_enums() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(u8);
        #[derive(Serialize)]
        enum Kind {
            Plain,
            Wrapped(String),
            Pair(i8, Option<i8>),
            Shaped { zeta: f32, alpha: char },
        }
        // Fields not in name order, as most structs declare them.
        #[derive(Serialize)]
        struct Message {
            role: &'static str,
            content: String,
            name: Option<&'static str>,
            unit: (),
            marker: Unit,
            weight: Newtype,
            kind: Kind,
            tags: Vec<Kind>,
            pair: (u64, bool),
            nested: Option<Box<Message>>,
        }
        #[derive(Serialize)]
        #[serde(tag = "role", rename_all = "lowercase")]
        enum Tagged {
            User {
                content: String,
            },
            Assistant {
                tool_calls: Vec<u8>,
                content: Option<String>,
            },
        }
        #[derive(Serialize)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            A(i32),
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Untagged {
            Text(&'static str),
            Number(i64),
        }
        #[derive(Serialize)]
        struct Flattened {
            z: u8,
            #[serde(flatten)]
            extra: std::collections::HashMap<String, i32>,
        }
        let message = |content: &str, nested| Message {
            role: "user",
            content: content.to_owned(),
            name: None,
            unit: (),
            marker: Unit,
            weight: Newtype(3),
            kind: Kind::Shaped {
                zeta: 0.25,
                alpha: 'é',
            },
            tags: vec![
                Kind::Plain,
                Kind::Wrapped("w".into()),
                Kind::Pair(-1, None),
                Kind::Pair(1, Some(2)),
            ],
            pair: (u64::MAX, false),
            nested,
        };
        same_leaves(&message("hello", None));
        same_leaves(&[
            message("first", Some(Box::new(message("inner", None)))),
            message(&"long ".repeat(50), None),
        ]);
        same_leaves(&vec![
            Tagged::User {
                content: "q".into(),
            },
            Tagged::Assistant {
                tool_calls: vec![1, 2],
                content: None,
            },
        ]);
        same_leaves(&(Adjacent::A(7), Untagged::Text("t"), Untagged::Number(-4)));
        same_leaves(&Flattened {
            z: 1,
            extra: (0..20).map(|i| (format!("k{i}"), i)).collect(),
        });
        same_leaves(&Kind::Wrapped("top".into()));
        same_leaves(&Kind::Pair(0, Some(0)));
        same_leaves(&Kind::Shaped {
            zeta: f32::NAN,
            alpha: 'a',
        });
        same_leaves(&Unit);
        same_leaves(&Newtype(9));
        same_leaves(&(Unit, (), None::<u8>, Some(()), Newtype(1)));
    }

    #[test]
    fn flattening_serializer_matches_to_value_for_maps_and_sequences() {
        use std::collections::{BTreeMap, HashMap};
        #[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
        enum Key {
            B,
            A,
        }
        #[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
        struct Id(u32);
        // Member names that order differently as names than as they come.
        let names: HashMap<&str, i32> = ["b", "a", "a.b", "ab", "", "B", "é", "a0"]
            .into_iter()
            .zip(0..)
            .collect();
        same_leaves(&names);
        same_leaves(&HashMap::from([
            (10u32, "ten"),
            (9, "nine"),
            (100, "hundred"),
        ]));
        same_leaves(&BTreeMap::from([(-1i64, 1), (2, 2)]));
        same_leaves(&HashMap::from([(true, 1), (false, 0)]));
        same_leaves(&HashMap::from([('z', 1), ('y', 0)]));
        same_leaves(&BTreeMap::from([(Key::B, 1), (Key::A, 2)]));
        same_leaves(&BTreeMap::from([(Id(2), "x"), (Id(1), "y")]));
        same_leaves(&BTreeMap::from([(1.5f64.to_bits(), 1)]));
        same_leaves(&vec![(1.5f64, 1)].into_iter().collect::<Vec<_>>());
        same_leaves(&BTreeMap::from([(Some(1), "option keys fail")]));
        same_leaves(&BTreeMap::from([(vec![1], "sequence keys fail")]));
        same_leaves(&BTreeMap::from([((), "unit keys fail")]));
        same_leaves(&vec![vec![vec![1, 2], vec![]], vec![vec![3]]]);
        same_leaves(&Vec::<u8>::new());
        same_leaves(&BTreeMap::<String, u8>::new());
        same_leaves(&[[Some("a"), None], [None, Some("b")]]);
        same_leaves(&HashMap::from([(
            "inner",
            HashMap::from([("z", 1), ("y", 2)]),
        )]));
        same_leaves(&json!({"b": [{"y": 1, "x": null}], "a": {"c": "d"}, "n": null}));
    }

    #[test]
    fn flattening_serializer_matches_to_value_for_scalars_and_strings() {
        same_leaves(&(
            i8::MIN,
            i16::MAX,
            i32::MIN,
            i64::MAX,
            u8::MAX,
            u16::MAX,
            u32::MAX,
            u64::MAX,
            (i64::MAX as u64) + 1,
        ));
        same_leaves(&(
            1i128,
            u64::MAX as u128,
            -1.5f64,
            0.1f32,
            f64::INFINITY,
            -0.0,
        ));
        same_leaves(&[i128::MIN]);
        same_leaves(&[u128::MAX]);
        same_leaves(&(true, false, 'x', "", String::new()));
        same_leaves(&[std::net::Ipv4Addr::LOCALHOST]);
        same_leaves(&[
            serde_json::value::RawValue::from_string("{\"z\":1,\"a\":[2]}".into()).unwrap(),
        ]);
        // Long strings cut (at the default limit and at 40 bytes) and listed in order.
        let long = "é".repeat(MAX_VALUE_BYTES);
        same_leaves(&json!({"z": long, "a": ["short", long, "x".repeat(41)]}));
        let short_and_long: Vec<String> = (0..60).map(|i| "y".repeat(i)).collect();
        same_leaves(&short_and_long);
        // Strings longer than deferred text takes, and of many characters.
        same_leaves(&["x".repeat(crate::export::deferred_text::MAX_DEFERRED_BYTES + 1)]);
        same_leaves(&["héllo ✓", "👋"]);
    }

    #[test]
    fn flattening_serializer_matches_to_value_past_the_leaf_limit() {
        #[derive(Serialize)]
        struct Row {
            text: String,
            n: usize,
        }
        // Long strings past the limit are still listed as cut, as flattening lists them.
        let rows: Vec<Row> = (0..(MAX_LEAVES / 2 + 10))
            .map(|n| Row {
                text: if n % 100 == 0 {
                    "z".repeat(50)
                } else {
                    "t".into()
                },
                n,
            })
            .collect();
        same_leaves(&rows);
        same_leaves(&(0..(MAX_LEAVES + 1)).collect::<Vec<_>>());
        same_leaves(&(0..MAX_LEAVES).collect::<Vec<_>>());
    }

    /// Bytes, a repeated key (the last value kept, in the first's place by name) and a
    /// `Serialize` impl that fails half-way.
    #[test]
    fn flattening_serializer_matches_to_value_for_hand_written_impls() {
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"\x00\xffab")
            }
        }
        struct Repeated(Option<&'static str>);
        impl Serialize for Repeated {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("k", &["first", "value"])?;
                map.serialize_entry("a", &1)?;
                map.serialize_entry("k", &self.0)?;
                map.serialize_entry("a", &json!({"deep": [1]}))?;
                map.end()
            }
        }
        struct FailsInside;
        impl Serialize for FailsInside {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeStruct;
                let mut st = s.serialize_struct("FailsInside", 3)?;
                st.serialize_field("ok", "written first")?;
                st.serialize_field("list", &[1, 2])?;
                Err(ser::Error::custom("failed half-way"))
            }
        }
        same_leaves(&Bytes);
        same_leaves(&[Bytes]);
        same_leaves(&Repeated(Some("second")));
        same_leaves(&Repeated(None));
        same_leaves(&FailsInside);
        same_leaves(&json!({"a": [1]}).as_object().map(|_| [FailsInside]));
        // A failed capture leaves nothing behind for the next one.
        let mut attrs = Attributes::default();
        assert!(attrs.capture("p", &[FailsInside]).is_err());
        attrs.capture("q", &json!({"b": 1, "a": "x"})).unwrap();
        assert_eq!(
            pairs(&attrs.values),
            [("q.a", Value::String("x".into())), ("q.b", Value::I64(1))]
        );
    }

    #[test]
    fn interned_strings_are_shared() {
        assert!(std::ptr::eq(intern("p").unwrap(), intern("p").unwrap()));
    }

    #[test]
    fn a_thread_remembers_what_it_interned_and_every_thread_gets_the_same_string() {
        let remembered =
            |s: &'static str| RECENT.with(|r| r.borrow().0.iter().any(|n| std::ptr::eq(*n, s)));
        let here = intern("a-remembered-name").unwrap();
        assert!(remembered(here));
        let there = std::thread::spawn(|| intern("a-remembered-name").unwrap().as_ptr() as usize)
            .join()
            .unwrap();
        assert_eq!(there, here.as_ptr() as usize);
        // Past as many other names, the thread forgets it; the process does not.
        for i in 0..REMEMBERED {
            intern(&format!("another-remembered-name-{i}")).unwrap();
        }
        assert!(!remembered(here));
        assert!(std::ptr::eq(intern("a-remembered-name").unwrap(), here));
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
