//! Buffers that spans carry from the thread that made them to the export thread, recycled
//! instead of allocated on one thread and freed on the other.
//!
//! Why: a span's attribute buffer is allocated on the thread that makes the span and freed
//! on the export thread. With the system allocator that pattern makes every such
//! allocation miss the span thread's cache and contend with the export thread's frees for
//! the allocator's lock (futex waits and context switches: about a third of a traced
//! call's time, measured). A recycled buffer is neither allocated nor freed. Its contents
//! are dropped on the export thread, which read them last: dropping them on the span's
//! thread when it takes the buffer measured slower.
//!
//! Recycling is an exporter's choice, never its duty: the built-in exporters hand the
//! batches they were given to [`recycle`] once they have read them; a batch that is not
//! recycled is simply freed. The export stage recycles the [`DeferredText`]s it resolved.

use std::cell::RefCell;
use std::sync::Mutex;
use std::thread::LocalKey;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

use super::deferred_text::DeferredText;

/// Room for the attributes of one span when it starts: name and type, a few inputs, and
/// the ten the span processor stamps (session, project and source twice each, three
/// evaluation ids). 16 keeps a buffer within the allocator's per-thread cache.
pub(crate) const SPAN_ATTRIBUTES: usize = 16;

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
    const fn new(
        local: &'static LocalKey<RefCell<Vec<T>>>,
        max_pooled: usize,
        per_thread: usize,
    ) -> Pool<T> {
        Pool {
            shared: Mutex::new(Vec::new()),
            local,
            max_pooled,
            per_thread,
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
    static LOCAL_BATCHES: RefCell<Vec<Vec<SpanData>>> = const { RefCell::new(Vec::new()) };
    static LOCAL_TEXTS: RefCell<Vec<DeferredText>> = const { RefCell::new(Vec::new()) };
}

/// Emptied attribute buffers of exported spans (about 1 MiB at most).
pub(crate) static ATTRIBUTES: Pool<Vec<KeyValue>> = Pool::new(&LOCAL_ATTRIBUTES, 1024, 32);

/// Emptied batches (the vectors the batch queue fills with ended spans).
pub(crate) static BATCHES: Pool<Vec<SpanData>> = Pool::new(&LOCAL_BATCHES, 8, 1);

/// Emptied [`DeferredText`]s of exported spans (about a quarter of a MiB at most).
pub(crate) static TEXTS: Pool<DeferredText> = Pool::new(&LOCAL_TEXTS, 1024, 32);

/// An empty [`DeferredText`], recycled when possible.
pub(crate) fn deferred_text() -> DeferredText {
    TEXTS.take().unwrap_or_else(DeferredText::with_capacity)
}

/// An empty attribute buffer with room for [`SPAN_ATTRIBUTES`], recycled when possible.
pub(crate) fn attribute_buffer() -> Vec<KeyValue> {
    ATTRIBUTES
        .take()
        .unwrap_or_else(|| Vec::with_capacity(SPAN_ATTRIBUTES))
}

/// Whether an emptied attribute buffer is worth keeping: one that a large span grew is
/// freed instead.
fn keeps_attributes(buffer: &Vec<KeyValue>) -> bool {
    (SPAN_ATTRIBUTES..=4 * SPAN_ATTRIBUTES).contains(&buffer.capacity())
}

/// An empty batch with room for `spans`, recycled when possible.
pub(crate) fn batch(spans: usize) -> Vec<SpanData> {
    match BATCHES.take() {
        Some(mut batch) => {
            batch.reserve(spans);
            batch
        }
        None => Vec::with_capacity(spans),
    }
}

/// Takes an exported batch apart for reuse: each span's attribute buffer, emptied, goes
/// back to [`ATTRIBUTES`] and the emptied batch to [`BATCHES`]; the rest of each span is
/// dropped here.
pub(crate) fn recycle(mut batch: Vec<SpanData>) {
    let mut buffers: Vec<Vec<KeyValue>> = Vec::with_capacity(batch.len());
    for span in &mut batch {
        if keeps_attributes(&span.attributes) {
            let mut attributes = std::mem::take(&mut span.attributes);
            attributes.clear();
            buffers.push(attributes);
        }
    }
    batch.clear();
    ATTRIBUTES.give_back(&mut buffers);
    BATCHES.give_back(&mut vec![batch]);
    // What did not fit is freed here, after the locks.
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
        let mut many: Vec<Vec<KeyValue>> = (0..ATTRIBUTES.max_pooled + 3)
            .map(|_| Vec::with_capacity(SPAN_ATTRIBUTES))
            .collect();
        ATTRIBUTES.give_back(&mut many);
        assert!(many.len() >= 3, "what has no room stays with the caller");
        assert!(ATTRIBUTES.shared.lock().unwrap().len() <= ATTRIBUTES.max_pooled);
    }

    #[test]
    fn a_recycled_batch_gives_its_spans_buffers_back_emptied() {
        let mut buffer = attribute_buffer();
        assert!(keeps_attributes(&buffer));
        buffer.push(KeyValue::new("k", "v"));
        let mut batch = batch(4);
        batch.push(super::super::test_span(buffer));
        recycle(batch);
        let reused = self::batch(4);
        assert!(reused.is_empty() && reused.capacity() >= 4);
        for _ in 0..40 {
            assert!(attribute_buffer().is_empty());
        }
    }
}
