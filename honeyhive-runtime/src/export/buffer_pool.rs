//! Buffers of spans, reused instead of allocated and freed for every span.
//!
//! Two ways round:
//! - A span's own buffers (its attribute buffer while it is open, its [`DeferredText`])
//!   stay with the thread that made it: the export queue copies what they hold, and the
//!   thread keeps them ([`keep_attributes`], [`keep_text`]) for its next span, whose
//!   writes then land in memory its own core has.
//! - The attribute lists the export stage builds, one per exported span, and the batches
//!   go to the exporters, which hand them back ([`recycle`]) once they have read them.
//!   Recycling is an exporter's choice, never its duty: a batch not recycled is simply
//!   freed.
//!
//! Why not allocate: a buffer allocated on one thread and freed on another misses the
//! allocator's per-thread cache and contends for its lock (futex waits and context
//! switches: about a third of a traced call's time, measured).

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

    /// Keeps an emptied buffer for this thread's next `take`, up to twice as many as a
    /// thread takes from the shared pool at once (what each thread holds stays bounded,
    /// however many threads make spans); one the thread has no room for goes to the shared
    /// pool, for threads that take more than they keep (a span that ends on another thread
    /// than it started).
    pub(crate) fn keep(&self, buffer: T) {
        let mut buffer = Some(buffer);
        let _ = self.local.try_with(|local| {
            let mut local = local.borrow_mut();
            if local.len() < 2 * self.per_thread {
                local.extend(buffer.take());
            }
        });
        if let Some(buffer) = buffer {
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if shared.len() < self.max_pooled {
                shared.push(buffer);
            }
            // One the pool has no room for is freed here, after the lock.
        }
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

/// Most attributes a kept buffer has room for: one that a larger span grew is freed
/// instead.
pub(crate) const MAX_KEPT_ATTRIBUTES: usize = 4 * SPAN_ATTRIBUTES;

/// Whether an emptied attribute buffer is worth keeping.
fn keeps_attributes(buffer: &Vec<KeyValue>) -> bool {
    (SPAN_ATTRIBUTES..=MAX_KEPT_ATTRIBUTES).contains(&buffer.capacity())
}

/// Keeps an emptied attribute buffer for this thread's next span.
pub(crate) fn keep_attributes(buffer: Vec<KeyValue>) {
    if keeps_attributes(&buffer) {
        ATTRIBUTES.keep(buffer);
    }
}

/// Empties a span's deferred text (its strings are copied on) and keeps it for this
/// thread's next span.
pub(crate) fn keep_text(mut text: DeferredText) {
    text.clear();
    if text.is_reusable() {
        TEXTS.keep(text);
    }
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

    thread_local! {
        static TEST_LOCAL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A pool of its own: the process's pools are shared with every other test.
    static TEST_POOL: Pool<Vec<u8>> = Pool::new(&TEST_LOCAL, 4, 2);

    #[test]
    fn a_kept_buffer_is_the_threads_next_and_the_overflow_is_shared() {
        let buffer = Vec::with_capacity(8);
        let at = buffer.as_ptr();
        TEST_POOL.keep(buffer);
        assert_eq!(
            TEST_POOL.take().map(|b| b.as_ptr()),
            Some(at),
            "the same buffer"
        );

        // The thread keeps twice as many as it takes at once; then the shared pool, up to
        // its maximum; then nothing.
        let kept: Vec<*const u8> = (0..2 * TEST_POOL.per_thread + TEST_POOL.max_pooled + 1)
            .map(|_| {
                let buffer = Vec::with_capacity(8);
                let at = buffer.as_ptr();
                TEST_POOL.keep(buffer);
                at
            })
            .collect();
        assert_eq!(
            TEST_LOCAL.with(|l| l.borrow().len()),
            2 * TEST_POOL.per_thread
        );
        let shared: Vec<*const u8> = TEST_POOL
            .shared
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.as_ptr())
            .collect();
        assert_eq!(
            shared,
            kept[2 * TEST_POOL.per_thread..][..TEST_POOL.max_pooled]
        );

        // What another thread kept, this one takes from the shared pool.
        let taken = std::thread::spawn(|| TEST_POOL.take().map(|b| b.as_ptr() as usize))
            .join()
            .unwrap();
        assert!(taken.is_some_and(|t| shared.iter().any(|s| *s as usize == t)));
    }

    #[test]
    fn only_a_buffer_of_the_usual_size_is_kept() {
        std::thread::spawn(|| {
            let too_big = Vec::<KeyValue>::with_capacity(8 * SPAN_ATTRIBUTES);
            let at = too_big.as_ptr();
            keep_attributes(too_big);
            assert!(LOCAL_ATTRIBUTES.with(|l| l.borrow().iter().all(|b| b.as_ptr() != at)));
            let usual = Vec::<KeyValue>::with_capacity(SPAN_ATTRIBUTES);
            let at = usual.as_ptr();
            keep_attributes(usual);
            // Had it been freed, this allocation would be at its address.
            let _same_size = Vec::<KeyValue>::with_capacity(SPAN_ATTRIBUTES);
            let next = attribute_buffer();
            assert_eq!(next.as_ptr(), at, "the same buffer comes back");
        })
        .join()
        .unwrap();
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
