//! [`DeferredText`]: short string values of a span's attributes, kept as bytes in one
//! reused buffer until the export stage makes them into values.
//!
//! Why: a traced call's captured strings (its arguments, mostly short) were the largest
//! single allocation of the call, made on the calling thread and freed on the export
//! thread, which puts every one of them on the allocator's slow path. Deferred, the calling
//! thread copies the bytes into a buffer it keeps, the export queue copies them on with
//! the span ([`DeferredTexts`]), and the export thread allocates and frees the strings
//! itself, on its fast path.
//!
//! How: [`DeferredText::defer`] appends the string and records which attribute it belongs
//! to; the attribute holds [`PLACEHOLDER`] meanwhile. [`DeferredTexts::resolve`], on the
//! export thread before any exporter sees the span, puts each string in its attribute. An
//! attribute cut off the span (the attribute limit) simply takes nothing; a record that
//! does not find its placeholder where it says leaves that attribute alone. A placeholder
//! left unresolved (only a bug could leave one) reads as what it is, never as an empty
//! string or another value.

use opentelemetry::{KeyValue, StringValue, Value};

/// Longest string [`DeferredText::defer`] takes; longer ones are allocated at once (their
/// copy costs about what the allocation does).
pub(crate) const MAX_DEFERRED_BYTES: usize = 1024;

/// What a deferred attribute holds until it is resolved.
pub(crate) const PLACEHOLDER: &str = "[honeyhive: deferred value not resolved]";

/// Room for one span's deferred strings.
const CAPACITY: usize = 256;

/// Bytes before each deferred string in the buffer: the attribute's index and the
/// string's length, each a little-endian `u32`.
const HEADER: usize = 8;

/// Short string values of one span's attributes, until the export stage resolves them: one
/// buffer of entries, each the index of its attribute, the string's length and the
/// string's bytes.
#[derive(Debug, Default)]
pub(crate) struct DeferredText {
    bytes: Vec<u8>,
}

/// A point in a [`DeferredText`] to roll back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(usize);

impl DeferredText {
    /// An empty one with room for a span's strings.
    pub(crate) fn with_capacity() -> DeferredText {
        DeferredText {
            bytes: Vec::with_capacity(CAPACITY),
        }
    }

    /// Whether nothing is deferred.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Defers `s` (1 to [`MAX_DEFERRED_BYTES`] bytes) as the value of the attribute at
    /// `attribute` in the span's attribute list, and returns the placeholder that
    /// attribute holds until [`resolve`](Self::resolve). `None`: not deferred (empty, too
    /// long, or an index beyond `u32`): the caller makes the value itself.
    pub(crate) fn defer(&mut self, attribute: usize, s: &str) -> Option<Value> {
        if !(1..=MAX_DEFERRED_BYTES).contains(&s.len()) {
            return None;
        }
        let attribute = u32::try_from(attribute).ok()?;
        self.bytes.extend_from_slice(&attribute.to_le_bytes());
        self.bytes
            .extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
        Some(placeholder())
    }

    /// Where the deferred values end now: [`roll_back`](Self::roll_back) forgets what is
    /// deferred after it.
    pub(crate) fn mark(&self) -> Mark {
        Mark(self.bytes.len())
    }

    /// Forgets what was deferred since `mark` (a value whose serialisation failed after it
    /// deferred a string: its attribute is never pushed, so its index is the next one's).
    pub(crate) fn roll_back(&mut self, mark: Mark) {
        self.bytes.truncate(mark.0);
    }

    /// Puts every deferred string in its attribute of `attributes` (a copy of the span's,
    /// for the in-process collection of a datapoint's spans).
    pub(crate) fn resolve(&self, attributes: &mut [KeyValue]) {
        resolve_entries(&self.bytes, attributes);
    }

    /// Where its buffer is: the same buffer, reused, is at the same address.
    #[cfg(test)]
    pub(crate) fn buffer_address(&self) -> *const u8 {
        self.bytes.as_ptr()
    }

    /// Forgets everything deferred, keeping the room.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Whether this buffer is worth keeping for reuse: one that a large span grew is
    /// freed instead.
    pub(crate) fn is_reusable(&self) -> bool {
        self.bytes.capacity() <= 16 * CAPACITY
    }
}

/// The deferred strings of many spans, one span's after another's: how the export queue
/// holds them, so that each span's [`DeferredText`] stays with the thread that made it.
#[derive(Debug, Default)]
pub(crate) struct DeferredTexts {
    bytes: Vec<u8>,
}

/// Where one span's strings are in a [`DeferredTexts`].
#[derive(Debug)]
pub(crate) struct Stored(std::ops::Range<usize>);

impl DeferredTexts {
    /// Empty, with room for the strings of `spans` spans.
    pub(crate) fn with_capacity(spans: usize) -> DeferredTexts {
        DeferredTexts {
            bytes: Vec::with_capacity(spans * 64),
        }
    }

    /// Copies the strings of one span's `text` in, after the others.
    pub(crate) fn store(&mut self, text: &DeferredText) -> Stored {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&text.bytes);
        Stored(start..self.bytes.len())
    }

    /// Puts the `stored` strings of one span in their attributes of `attributes`.
    pub(crate) fn resolve(&self, stored: &Stored, attributes: &mut [KeyValue]) {
        if let Some(bytes) = self.bytes.get(stored.0.clone()) {
            resolve_entries(bytes, attributes);
        }
    }

    /// Forgets every span's strings, keeping the room.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }
}

/// Puts every string of the entries in `bytes` in its attribute of `attributes`.
fn resolve_entries(mut bytes: &[u8], attributes: &mut [KeyValue]) {
    while let Some((Entry { attribute, text }, after)) = next_entry(bytes) {
        bytes = after;
        let Some(kv) = attributes.get_mut(attribute) else {
            continue; // cut off the span by its attribute limit
        };
        if is_placeholder(&kv.value)
            && let Ok(text) = std::str::from_utf8(text)
        {
            kv.value = Value::String(StringValue::from(text.to_owned()));
        }
    }
}

/// One deferred string: the index of its attribute, and its bytes.
struct Entry<'a> {
    attribute: usize,
    text: &'a [u8],
}

/// The first entry of `bytes` and what follows it.
fn next_entry(bytes: &[u8]) -> Option<(Entry<'_>, &[u8])> {
    let (header, rest) = bytes.split_first_chunk::<HEADER>()?;
    let [a0, a1, a2, a3, l0, l1, l2, l3] = *header;
    let attribute = u32::from_le_bytes([a0, a1, a2, a3]) as usize;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let (text, rest) = rest.split_at_checked(len)?;
    Some((Entry { attribute, text }, rest))
}

fn placeholder() -> Value {
    Value::String(StringValue::from(PLACEHOLDER))
}

/// Whether `value` is the placeholder itself (the static string, by address: a string of
/// the user's that reads the same is not one).
fn is_placeholder(value: &Value) -> bool {
    matches!(value, Value::String(s) if std::ptr::eq(s.as_str().as_ptr(), PLACEHOLDER.as_ptr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(attributes: &[KeyValue]) -> Vec<(&str, String)> {
        attributes
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_str().into_owned()))
            .collect()
    }

    #[test]
    fn deferred_strings_land_in_their_attributes() {
        let mut deferred = DeferredText::with_capacity();
        let mut attributes = vec![KeyValue::new("before", 1_i64)];
        for (key, text) in [("a", "first"), ("b", "héllo ✓")] {
            let value = deferred.defer(attributes.len(), text).expect("deferred");
            attributes.push(KeyValue::new(key, value));
        }
        attributes.push(KeyValue::new("after", "own"));
        assert!(!deferred.is_empty());
        let mut copy = attributes.clone();
        deferred.resolve(&mut copy);
        let expected = [
            ("before", "1".to_owned()),
            ("a", "first".to_owned()),
            ("b", "héllo ✓".to_owned()),
            ("after", "own".to_owned()),
        ];
        assert_eq!(strings(&copy), expected);

        // Stored after another span's strings, they land in the same places.
        let mut texts = DeferredTexts::with_capacity(2);
        let mut other = DeferredText::with_capacity();
        let mut other_attributes = vec![KeyValue::new("x", other.defer(0, "other").unwrap())];
        let first = texts.store(&other);
        let second = texts.store(&deferred);
        deferred.clear();
        other.clear();
        assert!(deferred.is_empty(), "the span's own buffer is free again");
        texts.resolve(&second, &mut attributes);
        texts.resolve(&first, &mut other_attributes);
        assert_eq!(strings(&attributes), expected);
        assert_eq!(strings(&other_attributes), [("x", "other".to_owned())]);
    }

    #[test]
    fn empty_and_long_strings_are_not_deferred() {
        let mut deferred = DeferredText::with_capacity();
        assert!(deferred.defer(0, "").is_none());
        assert!(
            deferred
                .defer(0, &"x".repeat(MAX_DEFERRED_BYTES + 1))
                .is_none()
        );
        assert!(deferred.defer(0, &"x".repeat(MAX_DEFERRED_BYTES)).is_some());
    }

    #[test]
    fn cut_attributes_take_nothing_and_lookalikes_are_left_alone() {
        let mut deferred = DeferredText::with_capacity();
        let mut attributes = Vec::new();
        for (key, text) in [("a", "one"), ("b", "two"), ("c", "three")] {
            let value = deferred.defer(attributes.len(), text).unwrap();
            attributes.push(KeyValue::new(key, value));
        }
        // The user's own string that reads like the placeholder is not one.
        attributes[1] = KeyValue::new("b", PLACEHOLDER.to_owned());
        // The span's limit cut the last attribute.
        attributes.pop();
        deferred.resolve(&mut attributes);
        assert_eq!(
            strings(&attributes),
            [("a", "one".to_owned()), ("b", PLACEHOLDER.to_owned())]
        );
    }

    #[test]
    fn a_rolled_back_value_leaves_nothing_behind() {
        let mut deferred = DeferredText::with_capacity();
        let mut attributes = Vec::new();
        attributes.push(KeyValue::new("a", deferred.defer(0, "kept").unwrap()));
        // A value that deferred a string and then failed: its attribute was never pushed.
        let mark = deferred.mark();
        deferred.defer(1, "stray").unwrap();
        deferred.roll_back(mark);
        attributes.push(KeyValue::new("c", deferred.defer(1, "also kept").unwrap()));
        deferred.resolve(&mut attributes);
        assert_eq!(
            strings(&attributes),
            [("a", "kept".to_owned()), ("c", "also kept".to_owned())]
        );
    }

    #[test]
    fn an_unresolved_placeholder_says_so() {
        let mut deferred = DeferredText::with_capacity();
        let value = deferred.defer(0, "lost").unwrap();
        assert_eq!(value.as_str(), PLACEHOLDER);
    }
}
