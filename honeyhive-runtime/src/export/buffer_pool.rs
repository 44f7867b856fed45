//! Buffers that a span carries from the thread that made it to the export thread, recycled
//! instead of allocated on one thread and freed on the other.
//!
//! A span's buffers are allocated on the thread that makes the span and freed on the
//! export thread. With the system allocator that pattern made every such allocation miss
//! the span thread's cache and contend with the export thread's frees for the allocator's
//! lock (futex waits and context switches: about a third of a traced call's time,
//! measured). Recycled buffers are neither allocated nor freed. Their contents are dropped
//! on the export thread: dropping them on the span's thread when it takes a buffer
//! measured slower twice (1,135 ns against 985 ns per call; later 17% of the call's
//! samples, the values' memory being last touched by the export thread).

use std::cell::RefCell;
use std::sync::Mutex;
use std::thread::LocalKey;

use opentelemetry::KeyValue;

/// Room for the attributes of one span when it starts: name and type, a few inputs, and
/// the ten the span processor stamps (session, project and source twice each, three
/// evaluation ids). 16 keeps a buffer within the allocator's per-thread cache.
pub(crate) const SPAN_ATTRIBUTES: usize = 16;

/// Room for the short strings a traced call captures before its span starts
/// ([`crate::trace::capture::Attributes::capture_deferring`]).
pub(crate) const SPAN_TEXT: usize = 256;

/// A pool of emptied buffers of one kind: shared by all threads behind a lock, and taken
/// from it a few at a time into a per-thread cache, so taking one is rarely a lock.
pub(crate) struct Pool<T: 'static> {
    shared: Mutex<Vec<T>>,
    local: &'static LocalKey<RefCell<Vec<T>>>,
    /// Buffers kept in `shared`, at most.
    max_pooled: usize,
    /// Buffers a thread takes from `shared` at once.
    per_thread: usize,
}

impl<T: 'static> Pool<T> {
    const fn new(local: &'static LocalKey<RefCell<Vec<T>>>) -> Pool<T> {
        Pool {
            shared: Mutex::new(Vec::new()),
            local,
            max_pooled: 1024,
            per_thread: 32,
        }
    }

    /// An emptied buffer, if the pool has one.
    pub(crate) fn take(&self) -> Option<T> {
        self.local
            .try_with(|local| {
                let mut local = local.borrow_mut();
                if local.is_empty() {
                    let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                    let keep = shared.len().saturating_sub(self.per_thread);
                    local.extend(shared.drain(keep..));
                }
                local.pop()
            })
            .ok()
            .flatten()
    }

    /// Returns emptied buffers to the pool (one lock for all of them); those it has no
    /// room for stay in `buffers`, for the caller to free after the lock.
    pub(crate) fn give_back(&self, buffers: &mut Vec<T>) {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let room = self.max_pooled.saturating_sub(shared.len());
        let excess = buffers.len().saturating_sub(room);
        shared.extend(buffers.drain(excess..));
    }
}

thread_local! {
    static LOCAL_ATTRIBUTES: RefCell<Vec<Vec<KeyValue>>> = const { RefCell::new(Vec::new()) };
    static LOCAL_TEXT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Emptied attribute buffers of exported spans (about 1 MiB at most).
pub(crate) static ATTRIBUTES: Pool<Vec<KeyValue>> = Pool::new(&LOCAL_ATTRIBUTES);

/// Emptied text buffers of exported call spans (a quarter of a MiB at most).
pub(crate) static TEXT: Pool<String> = Pool::new(&LOCAL_TEXT);

/// An empty attribute buffer with room for [`SPAN_ATTRIBUTES`], recycled when possible.
pub(crate) fn attribute_buffer() -> Vec<KeyValue> {
    ATTRIBUTES
        .take()
        .unwrap_or_else(|| Vec::with_capacity(SPAN_ATTRIBUTES))
}

/// Whether an emptied attribute buffer is worth keeping: one that a large span grew is
/// freed instead.
pub(crate) fn keeps_attributes(buffer: &Vec<KeyValue>) -> bool {
    (SPAN_ATTRIBUTES..=4 * SPAN_ATTRIBUTES).contains(&buffer.capacity())
}

/// An empty text buffer with room for [`SPAN_TEXT`] bytes, recycled when possible.
pub(crate) fn text_buffer() -> String {
    TEXT.take()
        .unwrap_or_else(|| String::with_capacity(SPAN_TEXT))
}

/// Whether an emptied text buffer is worth keeping.
pub(crate) fn keeps_text(buffer: &String) -> bool {
    (SPAN_TEXT..=16 * SPAN_TEXT).contains(&buffer.capacity())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_a_full_pool_leaves_the_rest_to_the_caller() {
        let mut buffer = attribute_buffer();
        assert!(buffer.is_empty() && buffer.capacity() >= SPAN_ATTRIBUTES);
        buffer.push(KeyValue::new("k", "v"));
        buffer.clear();
        ATTRIBUTES.give_back(&mut vec![buffer]);
        for _ in 0..40 {
            assert!(attribute_buffer().is_empty());
        }
        let mut text = text_buffer();
        assert!(text.is_empty() && keeps_text(&text));
        text.push_str("abc");
        text.clear();
        let mut many: Vec<String> = (0..TEXT.max_pooled + 3)
            .map(|_| String::with_capacity(SPAN_TEXT))
            .collect();
        TEXT.give_back(&mut many);
        assert!(many.len() >= 3, "what has no room stays with the caller");
        assert!(TEXT.shared.lock().unwrap().len() <= TEXT.max_pooled);
        assert!(text_buffer().is_empty());
    }
}
