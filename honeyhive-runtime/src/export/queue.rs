//! The batching span processor: a bounded queue drained by a task on the pipeline's own
//! I/O runtime.
//!
//! The SDK's `BatchSpanProcessor` counts spans it drops for a full queue but keeps the count
//! to itself; we need that count (and the export failures) in one user-facing warning, and
//! a flush that also works when called from inside an async runtime, since the export
//! never needs the caller's runtime.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::export::Exporter;
use crate::export::buffer_pool;
use crate::trace::span_processor::{BatchStamps, Stamp};
use crate::{Error, ExportSettings, HoneyHiveSpanProcessor, Result, Warning, WarningHandler};

/// How long unreported drops may wait for a flush before a warning goes out anyway.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Counters of an export pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans accepted by the destination.
    pub exported_spans: u64,
    /// Spans lost: full queue, or export failed after every retry (and could not be kept
    /// on disk).
    pub dropped_spans: u64,
    /// Spans HoneyHive did not receive within the retry budget (or whose session start it
    /// did not), kept on disk for a later upload instead (see
    /// [`local_store`](crate::local_store)).
    pub kept_spans: u64,
}

enum Control {
    Flush(std::sync::mpsc::SyncSender<()>),
    Shutdown(std::sync::mpsc::SyncSender<()>),
}

struct Shared {
    exported: AtomicU64,
    dropped: AtomicU64,
    unreported: Mutex<Unreported>,
    warnings: WarningHandler,
}

#[derive(Default)]
struct Unreported {
    count: u64,
    reason: Option<DropReason>,
    since: Option<Instant>,
}

/// Why spans were dropped. Made into text only when reported: a span dropped because the
/// queue is full costs its thread no formatting, at the time it can least afford it.
enum DropReason {
    ShutDown,
    QueueFull { max_queue_size: usize },
    Export(String),
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::ShutDown => f.write_str("the export pipeline was already shut down"),
            DropReason::QueueFull { max_queue_size } => {
                write!(
                    f,
                    "the export queue is full (max_queue_size = {max_queue_size})"
                )
            }
            DropReason::Export(e) => f.write_str(e),
        }
    }
}

impl Shared {
    fn dropped(&self, count: u64, reason: DropReason) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
        let mut u = self.unreported.lock().unwrap_or_else(|p| p.into_inner());
        u.count += count;
        u.reason = Some(reason);
        u.since.get_or_insert_with(Instant::now);
    }

    /// One warning for everything dropped since the last one: on flush and shutdown, or
    /// when drops have waited a whole interval for either.
    fn report(&self, force: bool) {
        let warning = {
            let mut u = self.unreported.lock().unwrap_or_else(|p| p.into_inner());
            let due = force || u.since.is_some_and(|s| s.elapsed() >= WARNING_INTERVAL);
            if u.count == 0 || !due {
                return;
            }
            let u = std::mem::take(&mut *u);
            Warning::SpansDropped {
                count: u.count,
                reason: u.reason.map(|r| r.to_string()).unwrap_or_default(),
            }
        };
        self.warnings.emit(warning);
    }

    fn stats(&self) -> ExportStats {
        ExportStats {
            exported_spans: self.exported.load(Ordering::Relaxed),
            dropped_spans: self.dropped.load(Ordering::Relaxed),
            kept_spans: 0,
        }
    }
}

/// Queues spans, flushes and reads the counters of a [`BatchProcessor`] from outside the
/// provider.
#[derive(Clone)]
pub(crate) struct QueueHandle {
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
}

/// The spans waiting for the export task, in chunks of at most a batch.
///
/// Why chunks: a full chunk is an export batch as it is. The export task completes its
/// spans in place and exports it; moving each span (some 400 bytes with what the task
/// does to it) out of one queue vector and into a batch was a fifth of the export thread's
/// work.
#[derive(Default)]
struct Pending {
    /// Chunks of exactly `max_batch` spans, oldest first.
    full: Vec<Chunk>,
    /// The chunk being filled.
    current: Chunk,
    /// Chunks whose spans were exported, emptied, for the chunks to come (no regrowing).
    spare: Vec<Chunk>,
    /// Whether the export task has its scheduled delay running (or has been woken to
    /// start it): the queue then needs no wake until a full batch is ready. Cleared, under
    /// the same lock, whenever the task takes the queue without keeping the delay running.
    armed: bool,
}

impl Pending {
    fn len(&self, max_batch: usize) -> usize {
        self.full.len() * max_batch + self.current.spans.len()
    }

    /// The chunk being filled, replaced by a spare one (or a new one).
    fn take_current(&mut self, max_batch: usize) -> Chunk {
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Chunk::with_capacity(max_batch));
        std::mem::replace(&mut self.current, next)
    }
}

/// Ended spans waiting for export, with what the export task still does to them.
#[derive(Default)]
struct Chunk {
    spans: Vec<SpanData>,
    /// What the export task does to `spans[i]` before it is exported.
    completions: Vec<Completion>,
    /// The stamps of the `spans` stamped on their way out (those of `#[trace]` calls,
    /// [`crate::trace::call_span`]); the SDK's spans are stamped at start, by the span processor.
    stamps: BatchStamps,
}

impl Chunk {
    fn with_capacity(n: usize) -> Chunk {
        Chunk {
            spans: Vec::with_capacity(n),
            completions: Vec::with_capacity(n),
            stamps: BatchStamps::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// What the export task completes a queued span with.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Finish {
    /// A span the SDK made: its event type is inferred.
    Sdk,
    /// The span of a `#[trace]` call ([`crate::trace::call_span::complete`]): `infer` when it
    /// carries something event type inference reads, `duration` when the call ended it,
    /// `name` unless its event name is on it already.
    Call {
        infer: bool,
        duration: bool,
        name: bool,
    },
}

/// What the export task does to an ended span before it is exported.
struct Completion {
    finish: Finish,
    /// The strings of the span's placeholder attributes ([`crate::trace::call_span`]), made into
    /// attribute values by the export task; empty for every other span.
    text: String,
}

impl QueueHandle {
    /// Queues an ended, sampled span for export, with the `text` of its placeholder
    /// attributes; counts it dropped when the queue is full or shut down. Never blocks
    /// beyond a short lock.
    pub(crate) fn enqueue(
        &self,
        span: SpanData,
        stamp: Option<&Arc<Stamp>>,
        finish: Finish,
        text: String,
    ) {
        let queue = &self.queue;
        let mut pending = queue.lock();
        if queue.closed.load(Ordering::Relaxed) {
            drop(pending);
            self.shared.dropped(1, DropReason::ShutDown);
            return;
        }
        if pending.len(queue.max_batch) >= queue.max_queue_size {
            drop(pending);
            let max = queue.max_queue_size;
            self.shared.dropped(
                1,
                DropReason::QueueFull {
                    max_queue_size: max,
                },
            );
            return;
        }
        let current = &mut pending.current;
        current.spans.push(span);
        current.completions.push(Completion { finish, text });
        current.stamps.push(stamp);
        let filled = current.spans.len() >= queue.max_batch;
        if filled {
            let full = pending.take_current(queue.max_batch);
            pending.full.push(full);
        }
        let wake = !pending.armed || filled;
        pending.armed = true;
        drop(pending);
        if wake {
            queue.ready.notify_one();
        }
    }

    /// Blocks until every span queued before the call is exported (or dropped), or until
    /// `timeout`. Never needs the caller's runtime, so it cannot deadlock inside one.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        self.start_flush().wait(timeout)
    }

    /// Asks the export task to export every span queued so far, without waiting: the
    /// caller can wait for other work meanwhile, then for the returned [`Reply`].
    pub(crate) fn start_flush(&self) -> Reply {
        self.send(Control::Flush)
    }

    fn request(
        &self,
        make: fn(std::sync::mpsc::SyncSender<()>) -> Control,
        timeout: Duration,
    ) -> Result<()> {
        self.send(make).wait(timeout)
    }

    fn send(&self, make: fn(std::sync::mpsc::SyncSender<()>) -> Control) -> Reply {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        Reply(self.control.send(make(tx)).ok().map(|()| rx))
    }

    pub(crate) fn stats(&self) -> ExportStats {
        self.shared.stats()
    }
}

/// The export task's answer to a flush or shutdown request; `None` when the request could
/// not be sent (the task is gone).
pub(crate) struct Reply(Option<std::sync::mpsc::Receiver<()>>);

impl Reply {
    /// Blocks until the export task has done what was asked, or until `timeout`.
    pub(crate) fn wait(self, timeout: Duration) -> Result<()> {
        let rx = self.0.ok_or(Error::Shutdown)?;
        match rx.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::FlushTimeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Shutdown),
        }
    }
}

/// Queues ended spans for export in batches, and stamps spans at start (it runs the
/// [`HoneyHiveSpanProcessor`] in `on_start`): the SDK clones every ended span once per
/// registered processor, so the pipeline registers this one processor only.
pub(crate) struct BatchProcessor {
    handle: QueueHandle,
}

/// The spans waiting for the export task.
///
/// Chunks of spans behind a mutex ([`Pending`]), filled by `on_end` and taken whole by
/// the task: a channel woke the task for every span (a system call on the span's thread
/// each time); here `on_end` wakes it only to start the scheduled delay when none is
/// running, and whenever a chunk (a full batch) is ready. The delay keeps running after a
/// full batch, so a steady stream of spans costs one wake per batch.
struct Queue {
    pending: Mutex<Pending>,
    ready: Notify,
    /// Set when the task stops: later spans are dropped (and counted) at once.
    closed: AtomicBool,
    max_queue_size: usize,
    max_batch: usize,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("max_queue_size", &self.handle.queue.max_queue_size)
            .finish()
    }
}

impl BatchProcessor {
    /// Starts the export task on `io` and returns the processor with its handle.
    pub(crate) fn spawn(
        exporter: Exporter,
        settings: &ExportSettings,
        io: &tokio::runtime::Handle,
        warnings: WarningHandler,
    ) -> (Self, QueueHandle) {
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending {
                current: Chunk::with_capacity(settings.max_batch_size),
                ..Pending::default()
            }),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
            max_queue_size: settings.max_queue_size,
            max_batch: settings.max_batch_size,
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            exported: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            unreported: Mutex::new(Unreported::default()),
            warnings,
        });
        let worker = Worker {
            exporter: Arc::new(exporter),
            in_flight: JoinSet::new(),
            shared: shared.clone(),
            queue: queue.clone(),
            max_batch: settings.max_batch_size,
            delay: settings.scheduled_delay,
            taken: Vec::new(),
        };
        io.spawn(worker.run(control_rx));
        let handle = QueueHandle {
            control,
            shared,
            queue,
        };
        (
            BatchProcessor {
                handle: handle.clone(),
            },
            handle,
        )
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, span: &mut Span, cx: &opentelemetry::Context) {
        HoneyHiveSpanProcessor.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.handle.enqueue(span, None, Finish::Sdk, String::new());
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.handle
            .flush(Duration::from_secs(30))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self.handle.request(Control::Shutdown, timeout) {
            Ok(()) => Ok(()),
            Err(Error::Shutdown) => Err(OTelSdkError::AlreadyShutdown),
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        // The provider is gone without a shutdown: the task exports what is left and stops.
        self.handle.queue.closed.store(true, Ordering::Relaxed);
        self.handle.queue.ready.notify_one();
    }
}

/// What becomes of the scheduled delay when the export task takes the queue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delay {
    /// It keeps running (the task took a full batch): spans queued next wait for it
    /// without waking the task.
    KeepsRunning,
    /// It stops (it fired, or a flush or shutdown took everything): the next span wakes
    /// the task to start a new one.
    Stops,
}

/// Export requests in flight at once. Two let the next batch be encoded (on the I/O thread)
/// while the destination processes the previous one, instead of one waiting for the other.
const MAX_IN_FLIGHT: usize = 2;

struct Worker {
    exporter: Arc<Exporter>,
    /// Export requests not finished yet (at most [`MAX_IN_FLIGHT`]).
    in_flight: JoinSet<()>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    max_batch: usize,
    delay: Duration,
    /// Chunks taken from the queue, not exported yet.
    taken: Vec<Chunk>,
}

impl Worker {
    async fn run(mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                biased;
                message = control.recv() => {
                    // Everything ended before the request was sent is in the queue now.
                    self.take_queue(Delay::Stops).await;
                    self.finish_exports().await;
                    deadline = None;
                    self.shared.report(true);
                    match message {
                        Some(Control::Flush(reply)) => {
                            let _ = reply.send(());
                        }
                        Some(Control::Shutdown(reply)) => {
                            self.close().await;
                            let _ = self.exporter.shutdown();
                            let _ = reply.send(());
                            return;
                        }
                        None => {
                            self.close().await;
                            return;
                        }
                    }
                }
                () = self.queue.ready.notified() => {
                    if self.queue.closed.load(Ordering::Relaxed) {
                        self.close().await;
                        return;
                    }
                    // Full batches go now; a partial one waits (in the queue, so that the
                    // next span does not wake this task again) for the scheduled delay,
                    // counted from its first span. The delay keeps running after a full
                    // batch: spans queued meanwhile need no wake of their own.
                    if self.has_full_chunks() {
                        self.take_queue(Delay::KeepsRunning).await;
                    }
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.delay);
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.take_queue(Delay::Stops).await;
                    deadline = None;
                    self.shared.report(false);
                }
            }
        }
    }

    /// Stops taking spans and exports those left.
    async fn close(&mut self) {
        self.queue.closed.store(true, Ordering::Relaxed);
        self.take_queue(Delay::Stops).await;
        self.finish_exports().await;
        self.shared.report(true);
    }

    /// Waits until every export request started so far has finished.
    async fn finish_exports(&mut self) {
        while self.in_flight.join_next().await.is_some() {}
    }

    fn has_full_chunks(&self) -> bool {
        !self.queue.lock().full.is_empty()
    }

    /// Exports the queue's full chunks, each a batch, and with [`Delay::Stops`] the chunk
    /// being filled too. The queue's lock is held only to take the chunks.
    async fn take_queue(&mut self, delay: Delay) {
        {
            let mut pending = self.queue.lock();
            std::mem::swap(&mut self.taken, &mut pending.full);
            if delay == Delay::Stops && !pending.current.is_empty() {
                let current = pending.take_current(self.max_batch);
                self.taken.push(current);
            }
            // The next span wakes the task to start a delay, unless the one running stays.
            pending.armed = pending.armed && delay == Delay::KeepsRunning;
        }
        let mut texts = Vec::new();
        let mut taken = std::mem::take(&mut self.taken);
        for mut chunk in taken.drain(..) {
            complete(&mut chunk, &mut texts);
            self.export(chunk).await;
        }
        // The (emptied) list of chunks goes back to the queue next time.
        self.taken = taken;
        buffer_pool::TEXT.give_back(&mut texts);
    }

    /// Starts exporting `chunk` as a batch, once fewer than [`MAX_IN_FLIGHT`] requests are
    /// under way; the emptied chunk goes back to the queue.
    async fn export(&mut self, chunk: Chunk) {
        while self.in_flight.len() >= MAX_IN_FLIGHT {
            self.in_flight.join_next().await;
        }
        let n = chunk.spans.len() as u64;
        let exporter = self.exporter.clone();
        let shared = self.shared.clone();
        let queue = self.queue.clone();
        self.in_flight.spawn(async move {
            match exporter.export_spans(&chunk.spans, &chunk.stamps).await {
                Ok(()) => {
                    shared.exported.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => shared.dropped(n, DropReason::Export(e.to_string())),
            }
            recycle(chunk, &queue);
        });
    }
}

/// Makes the spans of `chunk` ready for export, in place: their placeholder strings, their
/// event type and, for `#[trace]` calls, what follows from the span itself; the emptied
/// text buffers go to `texts`.
fn complete(chunk: &mut Chunk, texts: &mut Vec<String>) {
    for (span, completion) in chunk.spans.iter_mut().zip(chunk.completions.drain(..)) {
        let Completion { finish, mut text } = completion;
        if !text.is_empty() {
            crate::trace::capture::resolve_deferred(&mut span.attributes, &text);
            if buffer_pool::keeps_text(&text) {
                text.clear();
                texts.push(text);
            }
        }
        match finish {
            Finish::Sdk => crate::trace::event_type::infer(span),
            Finish::Call {
                infer,
                duration,
                name,
            } => crate::trace::call_span::complete(span, infer, duration, name),
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Most emptied chunks a queue keeps for reuse.
const SPARE_CHUNKS: usize = 4;

/// Returns the attribute buffers of an exported chunk's spans to the pool, emptied, drops
/// the rest of each span, and gives the emptied chunk back to `queue` for reuse.
fn recycle(mut chunk: Chunk, queue: &Queue) {
    let mut buffers: Vec<Vec<KeyValue>> = Vec::with_capacity(chunk.spans.len());
    for span in &mut chunk.spans {
        if buffer_pool::keeps_attributes(&span.attributes) {
            let mut attributes = std::mem::take(&mut span.attributes);
            attributes.clear();
            buffers.push(attributes);
        }
    }
    chunk.spans.clear();
    chunk.stamps.clear();
    buffer_pool::ATTRIBUTES.give_back(&mut buffers);
    // What did not fit is freed here, after the lock.
    drop(buffers);
    // A chunk never holds more than a batch, so its room is always a batch's.
    let mut pending = queue.lock();
    if pending.spare.len() < SPARE_CHUNKS {
        pending.spare.push(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_buffers_of_exported_spans_come_back_empty() {
        let mut buffer = buffer_pool::attribute_buffer();
        assert!(buffer_pool::keeps_attributes(&buffer));
        buffer.push(KeyValue::new("k", "v"));
        let queue = Queue {
            pending: Mutex::default(),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
            max_queue_size: 8,
            max_batch: 4,
        };
        let mut chunk = Chunk::with_capacity(4);
        chunk.spans.push(crate::export::test_span(buffer));
        chunk.stamps.push(None);
        recycle(chunk, &queue);
        let spare = &queue.lock().spare;
        assert!(
            spare.len() == 1 && spare[0].is_empty(),
            "the chunk is kept, emptied"
        );
        for _ in 0..40 {
            assert!(buffer_pool::attribute_buffer().is_empty());
        }
    }
}
