//! The export pipeline of one destination, shared by every tracer that sends there.
//!
//! A provider per tracer measured 20-26x slower and costs a thread each; here 10,000
//! tracers of one destination share one provider, one batch queue, one HTTP client and one
//! I/O thread. Pipelines are found through a registry of weak references: the last tracer
//! of a destination to go away shuts its pipeline down (exporting what is left), and
//! nothing about a pipeline is global state that a test could observe from another.
//!
//! A pipeline's exporters: HoneyHive (OTLP/HTTP) or the local store, then the standard
//! OTLP/HTTP destination of the `OTEL_EXPORTER_OTLP_*` variables, then the user's own
//! (`ConfigBuilder::span_exporter`). Every one of them receives every span, complete.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanProcessor};

use super::discard::DiscardExporter;
use super::local::LocalExporter;
use super::local_store::LocalStore;
use super::otlp::OtlpExporter;
use super::queue::{self, Exporters, QueueHandle};
use crate::api::client::{ApiClient, http_client};
use crate::api::sessions::{Enrichment, SessionStart};
use crate::config::{DynSpanExporter, Keys, OtlpDestination};
use crate::export::outbox::{HoneyHiveExporter, Outbox};
use crate::retry::Circuit;
use crate::{Config, Error, ExportStats, OtlpProtocol, Result, Warning};

/// Where a pipeline sends spans: configurations that agree on it share one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Destination {
    primary: Primary,
    otlp: Option<OtlpDestination>,
    /// The ids of the user's exporters.
    exporters: Vec<u64>,
    /// The id of the redaction rules (applied by the pipeline's export task).
    redaction: u64,
    /// The attribute limits (of the provider and the export task).
    limits: crate::AttributeLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Primary {
    Remote {
        base_url: String,
        keys: Keys,
        protocol: OtlpProtocol,
    },
    Local {
        dir: PathBuf,
    },
    /// Sessions to the local store, spans to a sink that drops them (benchmarks only).
    Discard {
        dir: PathBuf,
    },
}

impl Destination {
    fn of(config: &Config, discard_spans: bool) -> Self {
        let primary = match () {
            _ if discard_spans => Primary::Discard {
                dir: config.local_dir.clone(),
            },
            _ if config.is_connected() => Primary::Remote {
                base_url: config.base_url.clone(),
                keys: config.keys.clone(),
                protocol: config.otlp_protocol,
            },
            _ => Primary::Local {
                dir: config.local_dir.clone(),
            },
        };
        Destination {
            primary,
            otlp: config.otlp_destination.clone(),
            exporters: config.span_exporters.iter().map(|e| e.id()).collect(),
            redaction: config.redaction.id(),
            limits: config.limits,
        }
    }
}

enum Backend {
    /// HoneyHive: REST calls through the outbox, which keeps what it cannot deliver.
    Remote(ApiClient, Arc<Outbox>),
    Local(LocalStore),
}

/// The REST API of a pipeline's HoneyHive destination ([`Pipeline::remote_api`]).
#[derive(Clone)]
pub(crate) struct RemoteApi {
    client: ApiClient,
    io: tokio::runtime::Handle,
}

impl RemoteApi {
    /// Runs `call` with the client on the pipeline's runtime and waits for its answer.
    /// Why there: reqwest connections belong to the runtime that opened them, and the
    /// caller's runtime (a test's) may be gone tomorrow while the pipeline lives on.
    pub(crate) async fn call<T, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        F: FnOnce(ApiClient) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.io
            .spawn(call(self.client.clone()))
            .await
            .map_err(|e| Error::Background(format!("{what}: {e}")))?
    }
}

pub(crate) struct Pipeline {
    config: Config,
    /// Taken by `drop` to shut the runtime down without blocking an async caller.
    io: Option<tokio::runtime::Runtime>,
    io_handle: tokio::runtime::Handle,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    /// The instrumentation scope of `tracer`, for the spans made without it
    /// (the spans of `#[trace]` calls).
    scope: InstrumentationScope,
    queue: QueueHandle,
    backend: Backend,
}

fn registry() -> &'static Mutex<HashMap<Destination, Weak<Pipeline>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Destination, Weak<Pipeline>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl Pipeline {
    /// The live pipeline of `config`'s destination, or a new one whose provider runs the
    /// span processor `processor` makes from the pipeline's queue (it is the provider's
    /// only processor: the SDK clones every ended span once per processor). The first
    /// tracer of a destination sets its export settings and warning handler.
    ///
    /// With `discard_spans`, the pipeline that writes sessions to the local store and
    /// drops every span at export (`TracerBuilder::discard_spans`, for benchmarks).
    pub(crate) fn shared<P: SpanProcessor + 'static>(
        config: &Config,
        discard_spans: bool,
        processor: impl FnOnce(QueueHandle) -> P,
    ) -> Result<Arc<Pipeline>> {
        let key = Destination::of(config, discard_spans);
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(p);
        }
        map.retain(|_, w| w.strong_count() > 0);
        let pipeline = Arc::new(Pipeline::new(config.clone(), discard_spans, processor)?);
        map.insert(key, Arc::downgrade(&pipeline));
        Ok(pipeline)
    }

    fn new<P: SpanProcessor + 'static>(
        config: Config,
        discard_spans: bool,
        processor: impl FnOnce(QueueHandle) -> P,
    ) -> Result<Pipeline> {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("honeyhive-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("could not start the export thread: {e}")))?;
        // Without a project (HoneyHive infers it from the key), the SDK's default service
        // name stands.
        let resource = match &config.project {
            Some(project) => Resource::builder().with_service_name(project.clone()),
            None => Resource::builder(),
        }
        .build();
        let (backend, primary): (Backend, Box<dyn DynSpanExporter>) = match config.is_connected() {
            _ if discard_spans => (
                Backend::Local(LocalStore::open(&config.local_dir)?),
                Box::new(DiscardExporter),
            ),
            true => {
                let http = http_client(&config)?;
                // Every call to the destination (spans and REST alike) learns from the
                // others whether it answers: a backend that is down costs one retry
                // budget, not one per call. Once down, a probe every max_backoff.
                let circuit = Arc::new(Circuit::new(config.export.retry.probe_interval()));
                let exporter = OtlpExporter::honeyhive(http.clone(), &config, &resource)?
                    .with_circuit(circuit.clone());
                let client = ApiClient::new(http, &config)?.with_circuit(circuit);
                let outbox = Arc::new(Outbox::new(
                    client.clone(),
                    LocalStore::lazy(&config.local_dir),
                    io.handle().clone(),
                ));
                let exporter = HoneyHiveExporter::new(exporter, outbox.clone());
                (Backend::Remote(client, outbox), Box::new(exporter))
            }
            false => {
                let store = LocalStore::open(&config.local_dir)?;
                (
                    Backend::Local(store.clone()),
                    Box::new(LocalExporter::new(store)),
                )
            }
        };
        // The primary destination last: it is given the batches themselves (the others
        // copies), and recycles their buffers.
        let mut exporters: Vec<Box<dyn DynSpanExporter>> = Vec::new();
        for user in &config.span_exporters {
            exporters.push(Box::new(user.clone()));
        }
        if let Some(otlp) = &config.otlp_destination {
            exporters.push(Box::new(OtlpExporter::destination(
                otlp, &config, &resource,
            )?));
        }
        exporters.push(primary);
        for exporter in &mut exporters {
            exporter.set_resource(&resource);
        }
        let queue = queue::spawn(
            Exporters::new(exporters),
            &config.export,
            io.handle(),
            config.warnings.clone(),
            config.redaction.clone(),
            config.limits,
        );
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor(queue.clone()))
            .with_resource(resource)
            .with_max_attributes_per_span(config.limits.count)
            .build();
        let scope = opentelemetry::InstrumentationScope::builder("honeyhive")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = provider.tracer_with_scope(scope.clone());
        Ok(Pipeline {
            config,
            io_handle: io.handle().clone(),
            io: Some(io),
            provider,
            tracer,
            scope,
            queue,
            backend,
        })
    }

    pub(crate) fn otel_tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    pub(crate) fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    pub(crate) fn queue(&self) -> &QueueHandle {
        &self.queue
    }

    /// The REST API of the destination, when it is HoneyHive: the pipeline's own HTTP
    /// client (a run builds no second one), its calls run on the pipeline's runtime.
    pub(crate) fn remote_api(&self) -> Option<RemoteApi> {
        match &self.backend {
            Backend::Remote(client, _) => Some(self.api(client)),
            Backend::Local(_) => None,
        }
    }

    /// The outbox of the destination, when it is HoneyHive.
    pub(crate) fn outbox(&self) -> Option<&Arc<Outbox>> {
        match &self.backend {
            Backend::Remote(_, outbox) => Some(outbox),
            Backend::Local(_) => None,
        }
    }

    fn api(&self, client: &ApiClient) -> RemoteApi {
        RemoteApi {
            client: client.clone(),
            io: self.io_handle.clone(),
        }
    }

    /// Starts `session`: in the local store at once, or on HoneyHive in the background
    /// (its spans and updates wait for it there; see [`Outbox`]). Connected, it never fails
    /// and never waits for the backend.
    pub(crate) fn start_session(&self, mut session: SessionStart) -> Result<()> {
        redact_session(&self.config.redaction, &mut session);
        match &self.backend {
            Backend::Remote(_, outbox) => {
                outbox.start_session(session);
                Ok(())
            }
            Backend::Local(store) => store.start_session(&session),
        }
    }

    /// Sends an event update in the background; [`flush`](Self::flush) waits for it. `run`
    /// is the run of the event's session (where the local store keeps it).
    pub(crate) fn update_event(
        &self,
        event_id: String,
        mut enrichment: Enrichment,
        run: Option<&str>,
    ) {
        enrichment.redact(&self.config.redaction);
        let warn = |reason: String| {
            self.config.warnings.emit(Warning::UpdateFailed {
                what: format!("update of event {event_id}"),
                reason,
            })
        };
        match &self.backend {
            Backend::Local(store) => {
                if let Err(e) = store.update_event(&event_id, &enrichment, run) {
                    warn(e.to_string());
                }
            }
            Backend::Remote(_, outbox) => {
                outbox.update_event(event_id, enrichment, run.map(str::to_owned));
            }
        }
    }

    /// Exports everything recorded so far and waits for it (sent, or kept on disk), up to
    /// `timeout`; then reports what was kept since the last report, outside the runs an
    /// experiment reports itself: one warning each, or with `require_upload` the error.
    pub(crate) fn flush(&self, timeout: Duration, require_upload: bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        // The spans go out while the session starts and updates settle (the spans of a
        // session wait for its start in the exporter, not here).
        let spans = self.queue.start_flush();
        if let Some(outbox) = self.outbox()
            && !outbox.wait_idle(deadline)
        {
            return Err(Error::FlushTimeout(timeout));
        }
        spans.wait(deadline.saturating_duration_since(Instant::now()))?;
        self.report_undelivered(require_upload)
    }

    /// One warning (or with `require_upload` the error) per run, outside the runs an
    /// experiment reports itself, for what was kept since the last report.
    fn report_undelivered(&self, require_upload: bool) -> Result<()> {
        let Some(outbox) = self.outbox() else {
            return Ok(());
        };
        let mut kept = outbox.take_unclaimed().into_iter();
        if require_upload && let Some(first) = kept.next() {
            for other in kept {
                self.config.warnings.emit(Warning::NotDelivered(other));
            }
            return Err(Error::NotDelivered(Box::new(first)));
        }
        for undelivered in kept {
            self.config
                .warnings
                .emit(Warning::NotDelivered(undelivered));
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> ExportStats {
        let mut stats = self.queue.stats();
        // The export task counts what it handed the destination; what the destination
        // kept on disk instead was not exported.
        if let Some(outbox) = self.outbox() {
            let kept = outbox.kept_spans();
            stats.exported_spans = stats.exported_spans.saturating_sub(kept);
            stats.kept_spans = kept;
        }
        stats
    }
}

/// Redacts what a session start carries from the user (its ids, name and source are the
/// tracer's).
fn redact_session(redaction: &crate::Redaction, session: &mut SessionStart) {
    redaction.redact_json("inputs", &mut session.inputs);
    redaction.redact_map("metadata", &mut session.metadata);
    if let Some(map) = &mut session.user_properties {
        redaction.redact_map("user_properties", map);
    }
    if let Some(map) = &mut session.config {
        redaction.redact_map("config", map);
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let provider = self.provider.clone();
        let queue = self.queue.clone();
        let io = self.io.take();
        let timeout = self.config.export.flush_timeout;
        let outbox = self.outbox().cloned();
        let warnings = self.config.warnings.clone();
        let finish = move || {
            let deadline = Instant::now() + timeout;
            let _ = provider.shutdown_with_timeout(timeout);
            // Already done when the provider's processor shut its queue down.
            let _ = queue.shutdown(timeout);
            // Session starts and updates still under way are sent or kept before the
            // runtime they run on goes; what was kept is reported.
            if let Some(outbox) = outbox {
                outbox.wait_idle(deadline);
                for undelivered in outbox.take_unclaimed() {
                    warnings.emit(Warning::NotDelivered(undelivered));
                }
            }
            if let Some(io) = io {
                io.shutdown_background();
            }
        };
        // Exporting what is left can take a while; an async worker thread must not wait
        // for it, a plain thread (e.g. `main` returning) must, or the data would be lost.
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("honeyhive-shutdown".into())
                .spawn(finish);
        } else {
            finish();
        }
    }
}
