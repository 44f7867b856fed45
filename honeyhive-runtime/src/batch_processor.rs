//! The batching span processor: a bounded queue drained by a task on the pipeline's own
//! I/O runtime.
//!
//! The SDK's `BatchSpanProcessor` counts spans it drops for a full queue but keeps the count
//! to itself; we need that count (and the export failures) in one user-facing warning, and
//! a flush that also works when called from inside an async runtime, since the export
//! never needs the caller's runtime.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::mpsc;

use crate::{Error, ExportSettings, Result, Warning, WarningHandler};

/// How long unreported drops may wait for a flush before a warning goes out anyway.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Counters of an export pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans accepted by the destination.
    pub exported_spans: u64,
    /// Spans lost: full queue, or export failed after every retry.
    pub dropped_spans: u64,
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
    reason: String,
    since: Option<Instant>,
}

impl Shared {
    fn dropped(&self, count: u64, reason: impl FnOnce() -> String) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
        let mut u = self.unreported.lock().unwrap_or_else(|p| p.into_inner());
        u.count += count;
        u.reason = reason();
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
                reason: u.reason,
            }
        };
        self.warnings.emit(warning);
    }

    fn stats(&self) -> ExportStats {
        ExportStats {
            exported_spans: self.exported.load(Ordering::Relaxed),
            dropped_spans: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Flushes and reads the counters of a [`BatchProcessor`] from outside the provider.
#[derive(Clone)]
pub(crate) struct QueueHandle {
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
}

impl QueueHandle {
    /// Blocks until every span queued before the call is exported (or dropped), or until
    /// `timeout`. Never needs the caller's runtime, so it cannot deadlock inside one.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        self.request(Control::Flush, timeout)
    }

    fn request(
        &self,
        make: fn(std::sync::mpsc::SyncSender<()>) -> Control,
        timeout: Duration,
    ) -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.control.send(make(tx)).map_err(|_| Error::Shutdown)?;
        match rx.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::FlushTimeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Shutdown),
        }
    }

    pub(crate) fn stats(&self) -> ExportStats {
        self.shared.stats()
    }
}

/// Queues ended spans for export in batches.
pub(crate) struct BatchProcessor {
    spans: mpsc::Sender<SpanData>,
    handle: QueueHandle,
    max_queue_size: usize,
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("max_queue_size", &self.max_queue_size)
            .finish()
    }
}

impl BatchProcessor {
    /// Starts the export task on `io` and returns the processor with its handle.
    pub(crate) fn spawn<E>(
        exporter: E,
        settings: &ExportSettings,
        io: &tokio::runtime::Handle,
        warnings: WarningHandler,
    ) -> (Self, QueueHandle)
    where
        E: SpanExporter + 'static,
    {
        let (spans, span_rx) = mpsc::channel(settings.max_queue_size);
        let (control, control_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            exported: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            unreported: Mutex::new(Unreported::default()),
            warnings,
        });
        let worker = Worker {
            exporter,
            shared: shared.clone(),
            max_batch: settings.max_batch_size,
            delay: settings.scheduled_delay,
            batch: Vec::with_capacity(settings.max_batch_size),
        };
        io.spawn(worker.run(span_rx, control_rx));
        let handle = QueueHandle { control, shared };
        (
            BatchProcessor {
                spans,
                handle: handle.clone(),
                max_queue_size: settings.max_queue_size,
            },
            handle,
        )
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.spans.try_send(span) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let max = self.max_queue_size;
                self.handle.shared.dropped(1, || {
                    format!("the export queue is full (max_queue_size = {max})")
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.handle
                    .shared
                    .dropped(1, || "the export pipeline was already shut down".into());
            }
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

struct Worker<E> {
    exporter: E,
    shared: Arc<Shared>,
    max_batch: usize,
    delay: Duration,
    batch: Vec<SpanData>,
}

impl<E: SpanExporter> Worker<E> {
    async fn run(
        mut self,
        mut spans: mpsc::Receiver<SpanData>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                biased;
                message = control.recv() => {
                    // Everything queued before the request was sent is in the channel now.
                    while let Ok(span) = spans.try_recv() {
                        self.push(span).await;
                    }
                    self.export().await;
                    deadline = None;
                    self.shared.report(true);
                    match message {
                        Some(Control::Flush(reply)) => {
                            let _ = reply.send(());
                        }
                        Some(Control::Shutdown(reply)) => {
                            let _ = self.exporter.shutdown();
                            let _ = reply.send(());
                            return;
                        }
                        None => return,
                    }
                }
                span = spans.recv() => match span {
                    Some(span) => {
                        if self.batch.is_empty() {
                            deadline = Some(tokio::time::Instant::now() + self.delay);
                        }
                        self.push(span).await;
                    }
                    None => {
                        self.export().await;
                        self.shared.report(true);
                        return;
                    }
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.export().await;
                    deadline = None;
                    self.shared.report(false);
                }
            }
        }
    }

    async fn push(&mut self, mut span: SpanData) {
        crate::event_type::infer(&mut span);
        self.batch.push(span);
        if self.batch.len() >= self.max_batch {
            self.export().await;
        }
    }

    async fn export(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.max_batch));
        let n = batch.len() as u64;
        match self.exporter.export(batch).await {
            Ok(()) => {
                self.shared.exported.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => self.shared.dropped(n, || e.to_string()),
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
