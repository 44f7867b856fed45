//! The batch queue of a pipeline: ended spans wait here, in chunks of one batch, for the
//! export task on the pipeline's own I/O runtime, which hands every batch to each of the
//! pipeline's exporters.
//!
//! Why not the SDK's `BatchSpanProcessor`: it counts the spans it drops for a full queue but
//! keeps the count to itself; we need that count (and the export failures) in one
//! user-facing warning, and a flush that also works when called from inside an async
//! runtime, since the export never needs the caller's runtime.
//!
//! Before any exporter sees a batch, the export task completes each span: a span may come
//! with attribute values not materialized yet ([`Unresolved`]: attributes it shares with
//! other spans, held once, and strings deferred to this thread), and every span without
//! an event type gets one by inference (`docs/span-attributes.md`). A span's own
//! attributes and deferred strings wait in its chunk, copied there, while the buffers that
//! held them go back to the span's thread ([`Completions`]). Exporters receive complete
//! spans and know nothing of this.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::config::DynSpanExporter;
use crate::event_type;
use crate::export::buffer_pool;
use crate::export::collect::Collectors;
use crate::export::deferred_text::{DeferredText, DeferredTexts, Stored};
use crate::{AttributeLimits, Error, ExportSettings, Redaction, Result, Warning, WarningHandler};

/// Attributes that many spans carry alike (a session's stamp), held once: the export task
/// appends them to each span they came with, after the span's own, before any exporter
/// sees it.
pub(crate) type SharedAttributes = Arc<[KeyValue]>;

/// Attribute values of a queued span that the export task materializes before any
/// exporter sees it.
#[derive(Default)]
pub(crate) struct Unresolved<'a> {
    /// Appended after the span's own attributes.
    pub(crate) shared: Option<&'a SharedAttributes>,
    /// Strings of the span's attributes, deferred to this thread.
    pub(crate) text: Option<DeferredText>,
}

/// How long unreported drops may wait for a flush before a warning goes out anyway.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Counters of an export pipeline. A span counts once per destination (HoneyHive or the
/// local store, the OTLP destination of the environment, each exporter of
/// `ConfigBuilder::span_exporter`): with one destination they count spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans accepted by a destination.
    pub exported_spans: u64,
    /// Spans lost: full queue, or an export that failed after every retry (and could not
    /// be kept on disk).
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
    /// Attribute values cut to the value length limit, and attributes dropped beyond the
    /// count limit, not reported yet.
    cut: Mutex<Cuts>,
    unreported: Mutex<Unreported>,
    warnings: WarningHandler,
}

/// What the limits cut from spans.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cuts {
    /// Attribute values truncated (listed in `honeyhive_truncated`).
    pub(crate) truncated_values: u64,
    /// Attributes dropped beyond the count limit (the spans' and their events').
    pub(crate) dropped_attributes: u64,
}

impl Cuts {
    fn is_empty(&self) -> bool {
        *self == Cuts::default()
    }

    fn add(&mut self, other: Cuts) {
        self.truncated_values += other.truncated_values;
        self.dropped_attributes += other.dropped_attributes;
    }
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
            let mut cut = self.cut.lock().unwrap_or_else(|p| p.into_inner());
            let due = force || u.since.is_some_and(|s| s.elapsed() >= WARNING_INTERVAL);
            if (u.count == 0 && cut.is_empty()) || !due {
                return;
            }
            let u = std::mem::take(&mut *u);
            let cut = std::mem::take(&mut *cut);
            Warning::SpansDropped {
                count: u.count,
                reason: u.reason.map(|r| r.to_string()).unwrap_or_default(),
                truncated_values: cut.truncated_values,
                dropped_attributes: cut.dropped_attributes,
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

/// The exporters of a pipeline. Each receives every batch: the last one the batch itself,
/// the others a copy.
pub(crate) struct Exporters(Vec<Box<dyn DynSpanExporter>>);

impl Exporters {
    /// `exporters`, the one given the batches themselves last. At least one.
    pub(crate) fn new(exporters: Vec<Box<dyn DynSpanExporter>>) -> Exporters {
        assert!(!exporters.is_empty(), "a pipeline exports somewhere");
        Exporters(exporters)
    }

    /// Exports `batch` through every exporter at once and counts what each delivered or
    /// lost.
    async fn export(&self, batch: Vec<SpanData>, shared: &Shared) {
        let n = batch.len() as u64;
        let (last, others) = self.0.split_last().expect("at least one exporter");
        let mut exports: Vec<_> = others.iter().map(|e| e.export(batch.clone())).collect();
        exports.push(last.export(batch));
        for result in futures_util::future::join_all(exports).await {
            match result {
                Ok(()) => {
                    shared.exported.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => shared.dropped(n, DropReason::Export(e.to_string())),
            }
        }
    }

    /// Asks every exporter to deliver what it holds (user exporters may buffer).
    fn force_flush(&self) -> OTelSdkResult {
        // Every exporter is asked, whatever the others answer; the first failure is told.
        let results: Vec<OTelSdkResult> = self.0.iter().map(|e| e.force_flush()).collect();
        results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }

    fn shutdown(&self) {
        for exporter in &self.0 {
            let _ = exporter.shutdown();
        }
    }
}

/// Queues spans, flushes and reads the counters of a pipeline's queue.
#[derive(Clone)]
pub(crate) struct QueueHandle {
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    /// The sessions whose spans are also collected in process, as they are queued.
    collectors: Arc<Collectors>,
}

/// The spans waiting for the export task, in chunks of at most a batch.
///
/// Why chunks: a full chunk is an export batch as it is; moving each span (some 400 bytes)
/// out of one queue vector and into a batch was a fifth of the export thread's work.
#[derive(Default)]
struct Pending {
    /// Chunks of exactly `max_batch` spans, oldest first.
    full: Vec<Chunk>,
    /// The chunk being filled.
    current: Chunk,
    /// Emptied lists of unresolved values, for the chunks to come.
    spare: Vec<Completions>,
    /// Whether the export task has its scheduled delay running (or has been woken to
    /// start it): the queue then needs no wake until a full batch is ready. Cleared, under
    /// the same lock, whenever the task takes the queue without keeping the delay running.
    armed: bool,
}

impl Pending {
    fn len(&self, max_batch: usize) -> usize {
        self.full.len() * max_batch + self.current.spans.len()
    }

    /// The chunk being filled, replaced by an empty one.
    fn take_current(&mut self, max_batch: usize) -> Chunk {
        let unresolved = self
            .spare
            .pop()
            .unwrap_or_else(|| Completions::with_capacity(max_batch));
        let next = Chunk {
            spans: buffer_pool::batch(max_batch),
            unresolved,
        };
        std::mem::replace(&mut self.current, next)
    }
}

/// Ended spans waiting for export, with what each still needs.
#[derive(Default)]
struct Chunk {
    spans: Vec<SpanData>,
    /// What `spans[i]` gets before it is exported.
    unresolved: Completions,
}

/// What the spans of a chunk get before they are exported, and their own attributes and
/// deferred strings.
///
/// The shared attributes are held once per run of spans that share them (the spans of one
/// tracer come one after the other), not once per span: a reference count changed per
/// span, on the span's thread and again on the export thread, moved the count's cache
/// line between the two cores for every span.
///
/// A span's own attributes and deferred strings are copied in here, one span's after
/// another's, and the buffers that held them stay with the thread that made the span, for
/// its next span. The export thread builds each span's attribute list in a buffer of its
/// own. Why: when a span's buffers went to the export thread and came back, the calling
/// thread wrote every span into memory the other core had written last, and waited for
/// it; a traced call spent about a fifth of its time there (`BENCHMARKS.md`).
#[derive(Default)]
struct Completions {
    /// Per span, in order.
    each: Vec<Completion>,
    /// The distinct shared attributes of the chunk's spans.
    shared: Vec<SharedAttributes>,
    /// The spans' own attributes, one span's after another's.
    attributes: Vec<KeyValue>,
    /// The spans' deferred strings.
    text: DeferredTexts,
}

/// What one span of a chunk gets before it is exported.
struct Completion {
    /// The index of its shared attributes in [`Completions::shared`].
    shared: Option<u32>,
    /// Its own attributes.
    own: Own,
    /// Its deferred strings.
    text: Option<Stored>,
}

/// Where the own attributes of a span in a chunk are.
enum Own {
    /// The next this many of [`Completions::attributes`].
    Copied(u32),
    /// In the span's own list: a span with more attributes than a kept buffer holds
    /// ([`buffer_pool::MAX_KEPT_ATTRIBUTES`]), whose buffer its thread would not keep
    /// anyway.
    List(Vec<KeyValue>),
}

/// Asks this core for the cache lines of `room` in the state that allows writing, without
/// waiting for them.
///
/// Why: the chunk's memory was last read by the export thread, on the other core. Copied
/// into without it, a span's attributes all missed at once, filling the core's store
/// buffer until the other core gave the lines up; asked for one span ahead, they arrive
/// while the calling thread runs its code (the model span's figure, `BENCHMARKS.md`).
fn prefetch_for_write<T>(room: &[std::mem::MaybeUninit<T>]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = room.as_ptr().cast::<u8>();
        for offset in (0..std::mem::size_of_val(room)).step_by(64) {
            // SAFETY: `prefetchw` only hints the cache: it reads and writes nothing, never
            // faults, and is a no-op on processors without it. The address is inside
            // `room`.
            unsafe {
                std::arch::asm!(
                    "prefetchw [{0}]",
                    in(reg) start.add(offset),
                    options(nostack, preserves_flags, readonly)
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = room;
}

impl Completions {
    fn with_capacity(spans: usize) -> Completions {
        Completions {
            each: Vec::with_capacity(spans),
            shared: Vec::new(),
            attributes: Vec::with_capacity(spans * 4),
            text: DeferredTexts::with_capacity(spans),
        }
    }

    /// Adds the next span's completion: its own `attributes` (moved in, or the list itself
    /// for a large span) and a copy of its deferred strings. Returns the emptied buffer
    /// the attributes came in, when it stays with the caller.
    fn push(
        &mut self,
        unresolved: &Unresolved<'_>,
        mut attributes: Vec<KeyValue>,
    ) -> Option<Vec<KeyValue>> {
        let shared = unresolved.shared.map(|shared| {
            if !self
                .shared
                .last()
                .is_some_and(|last| Arc::ptr_eq(last, shared))
            {
                self.shared.push(shared.clone());
            }
            (self.shared.len() - 1) as u32
        });
        let (own, emptied) = if attributes.len() <= buffer_pool::MAX_KEPT_ATTRIBUTES {
            let n = attributes.len();
            self.attributes.append(&mut attributes);
            // The next span is likely alike: its room is asked for now, while the thread
            // goes on with other work, instead of when it is written, under the lock.
            let room = self.attributes.spare_capacity_mut();
            prefetch_for_write(&room[..room.len().min(n)]);
            (Own::Copied(n as u32), Some(attributes))
        } else {
            (Own::List(attributes), None)
        };
        let text = unresolved.text.as_ref().map(|text| self.text.store(text));
        self.each.push(Completion { shared, own, text });
        emptied
    }
}

impl Chunk {
    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Adds `span`, its own attributes moved into the completions; returns its emptied
    /// attribute buffer, when it stays with the caller.
    fn push(&mut self, mut span: SpanData, unresolved: &Unresolved<'_>) -> Option<Vec<KeyValue>> {
        let attributes = std::mem::take(&mut span.attributes);
        let emptied = self.unresolved.push(unresolved, attributes);
        self.spans.push(span);
        emptied
    }
}

impl QueueHandle {
    /// Queues an ended, sampled span for export, with its values still to materialize;
    /// counts it dropped when the queue is full or shut down. Never blocks beyond a short
    /// lock. The span's attribute buffer and deferred text, emptied, are kept for this
    /// thread's next span ([`Completions`]).
    pub(crate) fn enqueue(&self, span: SpanData, unresolved: Unresolved) {
        self.collectors.offer(&span, &unresolved);
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
        let attributes = current.push(span, &unresolved);
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
        if let Some(attributes) = attributes {
            buffer_pool::keep_attributes(attributes);
        }
        if let Some(text) = unresolved.text {
            buffer_pool::keep_text(text);
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

    /// Exports what is left, shuts the exporters down and stops the export task; later
    /// spans are dropped (and counted).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.send(Control::Shutdown).wait(timeout)
    }

    fn send(&self, make: fn(std::sync::mpsc::SyncSender<()>) -> Control) -> Reply {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        Reply {
            rx: self.control.send(make(tx)).ok().map(|()| rx),
            exporters: self.queue.exporters.clone(),
        }
    }

    pub(crate) fn stats(&self) -> ExportStats {
        self.shared.stats()
    }

    /// The sessions whose spans are collected in process as they are queued.
    pub(crate) fn collectors(&self) -> &Arc<Collectors> {
        &self.collectors
    }
}

/// The export task's answer to a flush or shutdown request; `rx` is `None` when the
/// request could not be sent (the task is gone).
pub(crate) struct Reply {
    rx: Option<std::sync::mpsc::Receiver<()>>,
    exporters: Arc<Exporters>,
}

impl Reply {
    /// Blocks until the export task has done what was asked, or until `timeout`; then,
    /// on this thread, asks every exporter to deliver what it still holds.
    pub(crate) fn wait(self, timeout: Duration) -> Result<()> {
        let rx = self.rx.ok_or(Error::Shutdown)?;
        match rx.recv_timeout(timeout) {
            Ok(()) => self
                .exporters
                .force_flush()
                .map_err(|e| Error::Background(format!("exporter flush: {e}"))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::FlushTimeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Shutdown),
        }
    }
}

/// The spans waiting for the export task.
///
/// Chunks of spans behind a mutex ([`Pending`]), filled by `enqueue` and taken whole by
/// the task: a channel woke the task for every span (a system call on the span's thread
/// each time); here `enqueue` wakes it only to start the scheduled delay when none is
/// running, and whenever a chunk (a full batch) is ready. The delay keeps running after a
/// full batch, so a steady stream of spans costs one wake per batch.
struct Queue {
    pending: Mutex<Pending>,
    ready: Notify,
    /// Set when the task stops: later spans are dropped (and counted) at once.
    closed: AtomicBool,
    max_queue_size: usize,
    max_batch: usize,
    exporters: Arc<Exporters>,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the export task of a queue on `io` and returns the queue's handle.
pub(crate) fn spawn(
    exporters: Exporters,
    settings: &ExportSettings,
    io: &tokio::runtime::Handle,
    warnings: WarningHandler,
    redaction: Redaction,
    limits: AttributeLimits,
) -> QueueHandle {
    let exporters = Arc::new(exporters);
    let queue = Arc::new(Queue {
        pending: Mutex::new(Pending {
            current: Chunk {
                spans: buffer_pool::batch(settings.max_batch_size),
                unresolved: Completions::with_capacity(settings.max_batch_size),
            },
            ..Pending::default()
        }),
        ready: Notify::new(),
        closed: AtomicBool::new(false),
        max_queue_size: settings.max_queue_size,
        max_batch: settings.max_batch_size,
        exporters: exporters.clone(),
    });
    let (control, control_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        exported: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        cut: Mutex::new(Cuts::default()),
        unreported: Mutex::new(Unreported::default()),
        warnings,
    });
    let worker = Worker {
        exporters,
        in_flight: JoinSet::new(),
        shared: shared.clone(),
        queue: queue.clone(),
        max_batch: settings.max_batch_size,
        delay: settings.scheduled_delay,
        taken: Vec::new(),
        redaction: redaction.clone(),
        limits,
    };
    io.spawn(worker.run(control_rx));
    QueueHandle {
        control,
        shared,
        queue,
        collectors: Arc::new(Collectors::new(redaction)),
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

/// Most emptied lists of unresolved values a queue keeps for reuse.
const SPARE_LISTS: usize = 4;

struct Worker {
    exporters: Arc<Exporters>,
    /// Export requests not finished yet (at most [`MAX_IN_FLIGHT`]).
    in_flight: JoinSet<()>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    max_batch: usize,
    delay: Duration,
    /// Chunks taken from the queue, not exported yet.
    taken: Vec<Chunk>,
    /// Applied to every span before any exporter sees it.
    redaction: Redaction,
    /// Every string value is cut to its value length.
    limits: AttributeLimits,
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
                            self.exporters.shutdown();
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
        let mut taken = std::mem::take(&mut self.taken);
        let mut lists = Vec::with_capacity(taken.len());
        for chunk in taken.drain(..) {
            let mut cuts = Cuts::default();
            let (batch, list) = complete(chunk, &self.redaction, self.limits, &mut cuts);
            if !cuts.is_empty() {
                let mut cut = self.shared.cut.lock().unwrap_or_else(|p| p.into_inner());
                cut.add(cuts);
                drop(cut);
                let mut u = self
                    .shared
                    .unreported
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                u.since.get_or_insert_with(Instant::now);
            }
            lists.push(list);
            self.export(batch).await;
        }
        // The (emptied) list of chunks goes back to the queue next time.
        self.taken = taken;
        let mut pending = self.queue.lock();
        let room = SPARE_LISTS.saturating_sub(pending.spare.len());
        pending.spare.extend(lists.into_iter().take(room));
    }

    /// Starts exporting `batch`, once fewer than [`MAX_IN_FLIGHT`] requests are under way.
    async fn export(&mut self, batch: Vec<SpanData>) {
        while self.in_flight.len() >= MAX_IN_FLIGHT {
            self.in_flight.join_next().await;
        }
        let exporters = self.exporters.clone();
        let shared = self.shared.clone();
        self.in_flight
            .spawn(async move { exporters.export(batch, &shared).await });
    }
}

/// The spans of `chunk`, complete: each one's own attributes in a buffer of this thread's
/// with its deferred strings resolved, its own values redacted then cut to the value
/// length limit, shared attributes appended, and its event type inferred when it has
/// none. Returns them with the emptied list of completions; what the limits cut is added
/// to `cuts`.
fn complete(
    chunk: Chunk,
    redaction: &Redaction,
    limits: AttributeLimits,
    cuts: &mut Cuts,
) -> (Vec<SpanData>, Completions) {
    let Chunk {
        mut spans,
        mut unresolved,
    } = chunk;
    let Completions {
        each,
        shared,
        attributes,
        text,
    } = &mut unresolved;
    let mut own = attributes.drain(..);
    for (span, completion) in spans.iter_mut().zip(each.drain(..)) {
        let stamp = completion.shared.and_then(|i| shared.get(i as usize));
        span.attributes = match completion.own {
            Own::Copied(n) => {
                let mut attributes = buffer_pool::attribute_buffer();
                // Room for the stamp and an inferred event type too.
                attributes.reserve(n as usize + stamp.map_or(0, |s| s.len()) + 1);
                attributes.extend(own.by_ref().take(n as usize));
                attributes
            }
            Own::List(list) => list,
        };
        if let Some(stored) = &completion.text {
            text.resolve(stored, &mut span.attributes);
        }
        // The shared attributes (ids, project, source) are the tracer's, not user data.
        redact_span(span, redaction);
        cuts.add(cut_span(span, limits.value_length));
        // Before the shared attributes are appended: they hold nothing inference reads,
        // and the span's own attributes are fewer to read.
        event_type::infer(span);
        if let Some(stamp) = stamp {
            span.attributes.extend(stamp.iter().cloned());
        }
    }
    drop(own);
    shared.clear();
    text.clear();
    (spans, unresolved)
}

/// Redacts what a span's own attributes, events and status hold.
pub(super) fn redact_span(span: &mut SpanData, redaction: &Redaction) {
    redaction.redact_attributes(&mut span.attributes);
    for event in span.events.events.iter_mut() {
        redaction.redact_attributes(&mut event.attributes);
    }
    if let opentelemetry::trace::Status::Error { description } = &mut span.status
        && let Some(redacted) = redaction.redact_str("status", description)
    {
        *description = redacted.into();
    }
}

/// Cuts the string values of a span's attributes and events to `max` bytes, lists the
/// keys cut in `honeyhive_truncated` (with those the capture cut), and counts what the
/// limits cut from it.
fn cut_span(span: &mut SpanData, max: usize) -> Cuts {
    use opentelemetry::{Array, StringValue, Value};
    let mut cut = crate::limits::cut_attributes(&mut span.attributes, max);
    let mut dropped = u64::from(span.dropped_attributes_count);
    for event in span.events.events.iter_mut() {
        cut.extend(crate::limits::cut_attributes(&mut event.attributes, max));
        dropped += u64::from(event.dropped_attributes_count);
    }
    let listed = span
        .attributes
        .iter_mut()
        .find(|kv| kv.key.as_str() == crate::attributes::TRUNCATED);
    let truncated_values = match listed {
        Some(kv) => {
            let mut keys: Vec<StringValue> = match &kv.value {
                Value::Array(Array::String(keys)) => keys.clone(),
                _ => Vec::new(),
            };
            keys.extend(
                cut.into_iter()
                    .map(|k| StringValue::from(k.as_str().to_owned())),
            );
            let n = keys.len();
            kv.value = Value::Array(Array::String(keys));
            n
        }
        None if !cut.is_empty() => {
            let n = cut.len();
            let keys: Vec<StringValue> = cut
                .into_iter()
                .map(|k| StringValue::from(k.as_str().to_owned()))
                .collect();
            span.attributes.push(KeyValue::new(
                crate::attributes::TRUNCATED,
                Value::Array(Array::String(keys)),
            ));
            n
        }
        None => 0,
    };
    Cuts {
        truncated_values: truncated_values as u64,
        dropped_attributes: dropped,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queued span's attribute buffer and deferred text are the thread's next ones: what
    /// the span held was copied into the queue.
    #[test]
    fn a_queued_spans_buffers_stay_with_its_thread() {
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let queue = spawn(
            Exporters::new(vec![Box::new(super::super::discard::DiscardExporter)]),
            &ExportSettings::default(),
            io.handle(),
            WarningHandler::default(),
            Redaction::default(),
            AttributeLimits::default(),
        );
        // On a thread of its own: its caches start empty.
        std::thread::spawn(move || {
            let mut attributes = buffer_pool::attribute_buffer();
            let mut text = buffer_pool::deferred_text();
            attributes.push(KeyValue::new("input", text.defer(0, "why?").unwrap()));
            let (buffer_at, text_at) = (attributes.as_ptr(), text.buffer_address());
            let unresolved = Unresolved {
                shared: None,
                text: Some(text),
            };
            queue.enqueue(super::super::test_span(attributes), unresolved);
            // Allocations of the same sizes first: had the buffers been freed, these would
            // be at their addresses, and the next buffers elsewhere.
            let _same_size = (
                Vec::<KeyValue>::with_capacity(buffer_pool::SPAN_ATTRIBUTES),
                DeferredText::with_capacity(),
            );
            let next = buffer_pool::attribute_buffer();
            assert!(
                next.is_empty() && next.as_ptr() == buffer_at,
                "the same buffer, emptied"
            );
            let next = buffer_pool::deferred_text();
            assert!(next.is_empty() && next.buffer_address() == text_at);
        })
        .join()
        .unwrap();
    }

    /// A chunk of `spans`, as the queue fills one.
    fn chunk_of(spans: Vec<(SpanData, Unresolved<'_>)>) -> Chunk {
        let mut chunk = Chunk::default();
        for (span, unresolved) in spans {
            let (own, n) = (span.attributes.as_ptr(), span.attributes.len());
            let buffer = chunk.push(span, &unresolved);
            if n <= buffer_pool::MAX_KEPT_ATTRIBUTES {
                let buffer = buffer.expect("a small span's buffer stays with the caller");
                assert!(buffer.is_empty() && (buffer.capacity() == 0 || buffer.as_ptr() == own));
            } else {
                assert!(buffer.is_none(), "a large span goes with its own list");
            }
        }
        chunk
    }

    fn done(chunk: Chunk) -> (Vec<SpanData>, Completions) {
        complete(
            chunk,
            &Redaction::default(),
            AttributeLimits::default(),
            &mut Cuts::default(),
        )
    }

    #[test]
    fn spans_are_completed_before_export() {
        use crate::attributes::EVENT_TYPE;
        let stamp: SharedAttributes = Arc::from([KeyValue::new("session", "s-1")]);
        let mut text = DeferredText::with_capacity();
        let input = text.defer(1, "why?").unwrap();
        let mut other_text = DeferredText::with_capacity();
        let other_input = other_text.defer(0, "how?").unwrap();
        let mut large: Vec<KeyValue> = (0..buffer_pool::MAX_KEPT_ATTRIBUTES as i64)
            .map(|i| KeyValue::new(format!("k{i}"), i))
            .collect();
        large.push(KeyValue::new(EVENT_TYPE, "chain"));
        let chunk = chunk_of(vec![
            (
                super::super::test_span(large.clone()),
                Unresolved::default(),
            ),
            (
                super::super::test_span(vec![KeyValue::new("n", 1), KeyValue::new("input", input)]),
                Unresolved {
                    shared: Some(&stamp),
                    text: Some(text),
                },
            ),
            (
                super::super::test_span(vec![KeyValue::new(EVENT_TYPE, "model")]),
                Unresolved::default(),
            ),
            (
                super::super::test_span(vec![KeyValue::new("input", other_input)]),
                Unresolved {
                    shared: None,
                    text: Some(other_text),
                },
            ),
        ]);
        let (spans, list) = done(chunk);
        assert!(list.each.is_empty() && list.each.capacity() >= 4 && list.shared.is_empty());
        assert!(
            list.attributes.is_empty(),
            "every attribute went to its span"
        );
        assert_eq!(spans[0].attributes, large);
        let spans = &spans[1..];
        assert_eq!(
            spans[0].attributes,
            [
                KeyValue::new("n", 1),
                KeyValue::new("input", "why?".to_owned()),
                KeyValue::new(EVENT_TYPE, "tool"),
                KeyValue::new("session", "s-1"),
            ]
        );
        assert_eq!(spans[1].attributes, [KeyValue::new(EVENT_TYPE, "model")]);
        assert_eq!(
            spans[2].attributes,
            [
                KeyValue::new("input", "how?".to_owned()),
                KeyValue::new(EVENT_TYPE, "tool"),
            ]
        );
    }

    #[test]
    fn spans_sharing_attributes_hold_them_once() {
        let stamp: SharedAttributes = Arc::from([KeyValue::new("session", "s-1")]);
        let other: SharedAttributes = Arc::from([KeyValue::new("session", "s-2")]);
        let chunk = chunk_of(
            [&stamp, &stamp, &other, &stamp]
                .into_iter()
                .map(|shared| {
                    let unresolved = Unresolved {
                        shared: Some(shared),
                        text: None,
                    };
                    (super::super::test_span(Vec::new()), unresolved)
                })
                .collect(),
        );
        assert_eq!(
            chunk.unresolved.shared.len(),
            3,
            "one entry per run of spans"
        );
        let (spans, _) = done(chunk);
        let sessions: Vec<_> = spans
            .iter()
            .map(|span| span.attributes.last().map(|kv| kv.value.to_string()))
            .collect();
        let expected = ["s-1", "s-1", "s-2", "s-1"].map(|s| Some(s.to_owned()));
        assert_eq!(sessions, expected);
        assert_eq!(
            Arc::strong_count(&stamp),
            1,
            "the chunk let go of the shared attributes"
        );
    }
}
