//! [`HoneyHiveTracer`]: one session, cheap to create, isolated from every other tracer.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::{Context, KeyValue, StringValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::sessions::SessionStart;
use crate::export::pipeline::Pipeline;
use crate::export::queue::SharedAttributes;
use crate::trace::baggage;
use crate::trace::span_processor::{PipelineProcessor, Stamp};
use crate::{Config, ConfigBuilder, Environment, Error, Result, WarningHandler};

/// The evaluation ids a tracer stamps on its spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationIds {
    /// Experiment run id.
    pub run_id: Option<String>,
    /// Dataset id.
    pub dataset_id: Option<String>,
    /// Datapoint id.
    pub datapoint_id: Option<String>,
}

/// A HoneyHive session: its ids, labels and the export pipeline of its destination.
///
/// One tracer per session (in experiments, per datapoint). Creating one is cheap: the
/// export pipeline (provider, batch queue, HTTP client) is shared by every tracer with the
/// same destination. Tracers never see each other's ids: a tracer acts only on spans
/// started in a context it was entered into ([`in_scope`](Self::in_scope),
/// [`instrument`](Self::instrument), [`context`](Self::context)), and nothing stays
/// attached after the scope ends.
///
/// ```
/// use honeyhive::{Environment, HoneyHiveTracer};
///
/// let dir = std::env::temp_dir().join("honeyhive-doc-tracer");
/// let tracer = HoneyHiveTracer::builder()
///     .environment(Environment::empty()) // no API key: the local store
///     .local_dir(&dir)
///     .session_name("doc")
///     .datapoint_id("dp-1")
///     .build()
///     .unwrap();
/// tracer.in_scope(|| {
///     assert_eq!(HoneyHiveTracer::current().unwrap().session_id(), tracer.session_id());
/// });
/// assert!(HoneyHiveTracer::current().is_none());
/// tracer.flush().unwrap();
/// ```
#[derive(Clone)]
pub struct HoneyHiveTracer {
    inner: Arc<Inner>,
}

struct Inner {
    session_name: String,
    ids: EvaluationIds,
    /// The baggage this tracer puts into every context it enters, built once: entering a
    /// scope (once per datapoint and per `instrument`) only clones `Arc`s.
    baggage: Vec<(&'static str, StringValue)>,
    config: Config,
    stamp: Stamp,
    /// The attributes of `stamp`, built once, for the spans that take them to the export
    /// queue as one reference.
    shared: SharedAttributes,
    /// `None` when tracing is disabled.
    pipeline: Option<Arc<Pipeline>>,
}

impl HoneyHiveTracer {
    /// A builder; unset values come from the environment, then defaults.
    pub fn builder() -> TracerBuilder {
        TracerBuilder::default()
    }

    /// The tracer of the current context, if any.
    pub fn current() -> Option<HoneyHiveTracer> {
        Context::map_current(|cx| entered(cx).cloned())
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        self.inner.stamp.session_id.as_str()
    }

    /// The session name.
    pub fn session_name(&self) -> &str {
        &self.inner.session_name
    }

    /// The project, when the configuration names one.
    pub fn project(&self) -> Option<&str> {
        self.inner.config.project()
    }

    /// The source label.
    pub fn source(&self) -> &str {
        self.inner.config.source()
    }

    /// The evaluation ids.
    pub fn evaluation_ids(&self) -> &EvaluationIds {
        &self.inner.ids
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// False when tracing is disabled: scopes then run their code untouched.
    pub fn is_enabled(&self) -> bool {
        self.inner.pipeline.is_some()
    }

    /// What this tracer stamps on the spans of its scope.
    pub(crate) fn stamp(&self) -> &Stamp {
        &self.inner.stamp
    }

    /// [`stamp`](Self::stamp)'s attributes, built once.
    pub(crate) fn shared_attributes(&self) -> &SharedAttributes {
        &self.inner.shared
    }

    /// The export pipeline; `None` when tracing is disabled.
    pub(crate) fn pipeline(&self) -> Option<&Arc<Pipeline>> {
        self.inner.pipeline.as_ref()
    }

    /// The OpenTelemetry tracer of this tracer's pipeline, for spans made with the
    /// OpenTelemetry API. Spans it starts inside this tracer's scope carry the session.
    pub fn otel_tracer(&self) -> Option<&opentelemetry_sdk::trace::SdkTracer> {
        self.inner.pipeline.as_ref().map(|p| p.otel_tracer())
    }

    /// The OpenTelemetry provider of this tracer's pipeline (e.g. to install it as the
    /// global provider for crates that use `opentelemetry::global`).
    pub fn provider(&self) -> Option<&opentelemetry_sdk::trace::SdkTracerProvider> {
        self.inner.pipeline.as_ref().map(|p| p.provider())
    }

    /// The baggage entries this tracer puts into every context it enters.
    pub(crate) fn own_baggage(&self) -> &[(&'static str, StringValue)] {
        &self.inner.baggage
    }

    /// Whether `bag` holds nothing but entries this tracer enters itself (as in its own
    /// scope): a span started there is stamped from the tracer's [`Stamp`] alone, which
    /// `#[trace]` calls send along as shared attributes ([`crate::trace::call_span`]). Stricter than
    /// needed (another tracer's id, or equal ids from a caller, answer no and the span is
    /// stamped at start), never looser.
    pub(crate) fn covers(&self, bag: &Baggage) -> bool {
        let own = &self.inner.baggage;
        // The entries of this tracer's scope are its own strings: one pointer comparison
        // each, where matching key names cost a string comparison per entry.
        let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
        bag.len() <= own.len()
            && bag.iter().all(|(key, (value, _))| {
                own.iter().any(|(k, v)| {
                    std::ptr::eq(*k, key.as_str()) && std::ptr::eq(v.as_str(), value.as_str())
                }) || own
                    .iter()
                    .any(|(k, v)| same(k, key.as_str()) && same(v.as_str(), value.as_str()))
            })
    }

    /// `parent` with this tracer entered: its ids replace any inherited ones (a tracer's
    /// spans never carry another session's ids), the parent span stays the parent.
    pub fn context_on(&self, parent: &Context) -> Context {
        if !self.is_enabled() {
            return parent.clone();
        }
        let inherited = parent
            .baggage()
            .iter()
            .filter(|(k, _)| !baggage::PROPAGATED_KEYS.contains(&k.as_str()));
        let mut bag: Baggage = inherited
            .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
            .collect();
        for (key, value) in &self.inner.baggage {
            bag.insert(*key, value.clone());
        }
        Entered::enter(self, parent.with_baggage(bag))
    }

    /// The current context with this tracer entered.
    pub fn context(&self) -> Context {
        Context::map_current(|cx| self.context_on(cx))
    }

    /// This tracer entered into the context of an incoming request: the caller's trace
    /// parent and its propagated ids (`run_id`, `dataset_id`, `datapoint_id`,
    /// `session_id`) win over this tracer's; project and source stay this tracer's.
    pub fn context_from_headers(&self, headers: &http::HeaderMap) -> Context {
        let remote = baggage::extract(headers);
        if !self.is_enabled() {
            return remote;
        }
        let incoming = remote.baggage();
        let mut bag: Baggage = incoming
            .iter()
            .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
            .collect();
        for (key, value) in &self.inner.baggage {
            if incoming.get(key).is_none() {
                bag.insert(*key, value.clone());
            }
        }
        Entered::enter(self, remote.with_baggage(bag))
    }

    /// Runs `f` with this tracer's context current; it is detached when `f` returns or
    /// panics.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.context().attach();
        f()
    }

    /// Wraps `future` so this tracer's context is current on every poll, on whatever
    /// thread polls it (a guard held across `.await` would leak to other tasks).
    pub fn instrument<F: std::future::Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.context())
    }

    /// Updates this tracer's session (`PUT /events` with the session id as event id), or
    /// the session or event the enrichment [targets](crate::Enrichment::session_id).
    /// Delivery happens in the background; a failure becomes a [`Warning`](crate::Warning),
    /// and [`flush`](Self::flush) waits for it.
    pub fn enrich_session(&self, enrichment: crate::Enrichment) {
        let id = match &enrichment.target {
            Some(id) => id.clone(),
            None => self.session_id().to_owned(),
        };
        self.enrich_event(id, enrichment);
    }

    /// Updates the event (or session) `event_id` of this tracer's destination
    /// (`PUT /events`), e.g. a span of an earlier request that feedback arrived for.
    /// Delivery as [`enrich_session`](Self::enrich_session).
    pub fn enrich_event(&self, event_id: impl Into<String>, enrichment: crate::Enrichment) {
        if let Some(p) = &self.inner.pipeline {
            enrichment.warn_failures(self.config().warnings());
            p.update_event(
                event_id.into(),
                enrichment,
                self.inner.ids.run_id.as_deref(),
            );
        }
    }

    /// Exports everything recorded so far (session starts, spans and session updates) and
    /// waits for it, up to the configured flush timeout. Works from sync code and from
    /// inside any tokio runtime (it blocks the calling thread; in async code prefer
    /// [`flush_async`](Self::flush_async)).
    ///
    /// What HoneyHive did not receive within the retry budget is kept on disk (see
    /// [`local_store`](crate::local_store)) and reported in one
    /// [`Warning::NotDelivered`](crate::Warning::NotDelivered), not as an error.
    ///
    /// # Errors
    /// [`Error::FlushTimeout`] when the export is not done in time (it goes on in the
    /// background); in strict mode ([`ConfigBuilder::require_upload`]),
    /// [`Error::NotDelivered`] when something was kept instead of delivered.
    pub fn flush(&self) -> Result<()> {
        self.flush_with_timeout(self.inner.config.export.flush_timeout)
    }

    /// [`flush`](Self::flush) with an explicit timeout.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn flush_with_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        match &self.inner.pipeline {
            Some(p) => p.flush(timeout, self.inner.config.require_upload),
            None => Ok(()),
        }
    }

    /// [`flush`](Self::flush) without blocking the async runtime's worker thread.
    pub async fn flush_async(&self) -> Result<()> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.flush()).await {
            Ok(result) => result,
            Err(join) => Err(Error::Background(format!("flush: {join}"))),
        }
    }

    /// Counters of the export pipeline (spans exported and dropped so far).
    pub fn export_stats(&self) -> crate::ExportStats {
        self.inner
            .pipeline
            .as_ref()
            .map(|p| p.stats())
            .unwrap_or_default()
    }
}

impl fmt::Debug for HoneyHiveTracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HoneyHiveTracer")
            .field("session_id", &self.session_id())
            .field("session_name", &self.inner.session_name)
            .field("project", &self.project())
            .field("source", &self.source())
            .field("evaluation_ids", &self.inner.ids)
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

/// Builds a [`HoneyHiveTracer`] and starts its session.
///
/// Builder values beat the environment (`HH_*`), which beats defaults.
/// [`build`](Self::build) starts the session from sync code; [`start`](Self::start) awaits
/// it in async code (any Tokio runtime).
///
/// # Example
/// ```
/// use honeyhive::{Environment, HoneyHiveTracer};
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-builder-{}", std::process::id()));
/// let tracer = HoneyHiveTracer::builder()
///     .environment(Environment::empty()) // no API key: the local store, nothing sent
///     .local_dir(&dir)
///     .project("support")
///     .session_name("nightly-eval")
///     .run_id("run-7") // evaluation ids stamp every span of the session
///     .datapoint_id("dp-1")
///     .metadata("model", "small")
///     .build()?;
/// assert_eq!(tracer.project(), Some("support"));
/// assert_eq!(tracer.evaluation_ids().run_id.as_deref(), Some("run-7"));
///
/// // In async code, `start` does the same without blocking.
/// let runtime = tokio::runtime::Runtime::new()?;
/// let other = runtime.block_on(
///     HoneyHiveTracer::builder()
///         .environment(Environment::empty())
///         .local_dir(&dir)
///         .session_name("async")
///         .start(),
/// )?;
/// assert_ne!(other.session_id(), tracer.session_id());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until .build() or .start().await"]
pub struct TracerBuilder {
    config: ConfigBuilder,
    resolved: Option<Config>,
    session_name: Option<String>,
    session_id: Option<String>,
    ids: EvaluationIds,
    inputs: Option<Value>,
    metadata: Map<String, Value>,
    user_properties: Map<String, Value>,
    session_config: Map<String, Value>,
    discard_spans: bool,
    errors: Vec<Error>,
}

macro_rules! forward {
    ($($(#[$doc:meta])+ $name:ident($ty:ty)),* $(,)?) => {$(
        $(#[$doc])+
        pub fn $name(mut self, value: $ty) -> Self {
            self.config = self.config.$name(value);
            self
        }
    )*};
}

impl TracerBuilder {
    forward! {
        /// The project key (`HH_API_KEY`); without a key, everything stays in the local
        /// store.
        api_key(impl Into<String>),
        /// The ingestion key (`HH_INGESTION_API_KEY`, `hh_ingst_...`): a tracer works with
        /// it alone.
        ingestion_api_key(impl Into<String>),
        /// The fine-grained data plane key (`HH_DATA_PLANE_API_KEY`): checked, never sent.
        data_plane_api_key(impl Into<String>),
        /// Project (`HH_PROJECT`); optional, HoneyHive infers it from the key.
        project(impl Into<String>),
        /// API base URL (`HH_API_URL`).
        base_url(impl Into<String>),
        /// Source label (`HH_SOURCE`, default `dev`).
        source(impl Into<String>),
        /// OTLP encoding (`HH_OTLP_PROTOCOL`).
        otlp_protocol(crate::OtlpProtocol),
        /// Turn tracing off (`HH_DISABLED`).
        disabled(bool),
        /// Local store directory (`HH_LOCAL_DIR`).
        local_dir(impl Into<std::path::PathBuf>),
        /// Export tuning.
        export_settings(crate::ExportSettings),
        /// Timeout of one REST call, each attempt (`HH_API_TIMEOUT`, seconds; default 5).
        api_timeout(std::time::Duration),
        /// Retries of every HTTP call (`HH_MAX_RETRIES`).
        max_retries(usize),
        /// Where warnings go.
        on_warning(WarningHandler),
        /// Where environment variables come from.
        environment(Environment),
        /// Whether model spans carry message contents (`HH_CAPTURE_CONTENT`).
        capture_content(bool),
        /// The price table model calls are costed with.
        prices(crate::model::PriceTable),
        /// Strict mode (`HH_REQUIRE_UPLOAD`; see [`ConfigBuilder::require_upload`]).
        require_upload(bool),
        /// Also every span to `exporter` ([`ConfigBuilder::span_exporter`](crate::ConfigBuilder::span_exporter)).
        span_exporter(impl opentelemetry_sdk::trace::SpanExporter + 'static),
    }

    /// Prices `model` at `price` (over the built-in table and `HH_PRICES`).
    pub fn price(mut self, model: impl Into<String>, price: crate::model::Price) -> Self {
        self.config = self.config.price(model, price);
        self
    }

    /// Use an already resolved configuration (the builder's own config values are then
    /// ignored).
    pub fn config(mut self, config: Config) -> Self {
        self.resolved = Some(config);
        self
    }

    /// Session name (`HH_SESSION_NAME`; default: the running binary's name).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// Use this id for the new session instead of a fresh UUID v4.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Test support (feature `testing`), for benchmarks: sessions go to the local store
    /// (`local_dir`), spans go through the whole pipeline (span processor, batch queue,
    /// export task) to a sink that drops them, so a benchmark times the tracing hot path
    /// without an exporter competing for the CPU. Not for production use.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn discard_spans(mut self) -> Self {
        self.discard_spans = true;
        self
    }

    /// Experiment run id.
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.ids.run_id = Some(id.into());
        self
    }

    /// Dataset id.
    pub fn dataset_id(mut self, id: impl Into<String>) -> Self {
        self.ids.dataset_id = Some(id.into());
        self
    }

    /// Datapoint id.
    pub fn datapoint_id(mut self, id: impl Into<String>) -> Self {
        self.ids.datapoint_id = Some(id.into());
        self
    }

    /// Session inputs.
    pub fn inputs(mut self, inputs: impl Serialize) -> Self {
        match serde_json::to_value(inputs) {
            Ok(v) => self.inputs = Some(v),
            Err(source) => self.errors.push(Error::Serialize {
                what: "session inputs",
                source,
            }),
        }
        self
    }

    /// One session metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.insert(Which::Metadata, key.into(), value);
        self
    }

    /// One user property of the session.
    pub fn user_property(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.insert(Which::UserProperties, key.into(), value);
        self
    }

    /// One session config entry.
    pub fn session_config(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.insert(Which::Config, key.into(), value);
        self
    }

    fn insert(&mut self, which: Which, key: String, value: impl Serialize) {
        let (map, what) = match which {
            Which::Metadata => (&mut self.metadata, "session metadata"),
            Which::UserProperties => (&mut self.user_properties, "session user properties"),
            Which::Config => (&mut self.session_config, "session config"),
        };
        match serde_json::to_value(value) {
            Ok(v) => {
                map.insert(key, v);
            }
            Err(source) => self.errors.push(Error::Serialize { what, source }),
        }
    }

    /// Builds the tracer and starts its session. Connected, the session start goes to
    /// HoneyHive in the background (its spans and updates follow it there), so this never
    /// waits for the backend nor fails because of it: the session id is the client's UUID
    /// from the start. Only a configuration error is an error.
    ///
    /// # Errors
    /// [`Error::Config`] (and the other configuration errors) for a configuration that
    /// cannot work; in local mode, [`Error::LocalStore`] when the store cannot be written.
    pub fn build(self) -> Result<HoneyHiveTracer> {
        let mut prepared = self.prepare()?;
        if let (Some(p), Some(start)) = (&prepared.pipeline, prepared.start.take()) {
            p.start_session(start)?;
        }
        Ok(prepared.assemble())
    }

    /// [`build`](Self::build), for async code: it never waits either.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub async fn start(self) -> Result<HoneyHiveTracer> {
        self.build()
    }

    fn prepare(mut self) -> Result<Prepared> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        let config = match self.resolved {
            Some(c) => c,
            None => self.config.build()?,
        };
        let session_name = self
            .session_name
            .or_else(|| config.session_name.clone())
            .unwrap_or_else(default_session_name);
        let session_id = self
            .session_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let pipeline = if config.disabled {
            None
        } else {
            Some(pipeline(&config, self.discard_spans)?)
        };
        let start = pipeline.as_ref().map(|_| SessionStart {
            session_id: session_id.clone(),
            project: config.project.clone(),
            session_name: session_name.clone(),
            source: config.source.clone(),
            inputs: self.inputs.unwrap_or_else(|| Value::Object(Map::new())),
            metadata: session_metadata(self.metadata, &self.ids),
            user_properties: (!self.user_properties.is_empty()).then_some(self.user_properties),
            config: (!self.session_config.is_empty()).then_some(self.session_config),
        });
        Ok(Prepared {
            config,
            pipeline,
            session_id,
            session_name,
            ids: self.ids,
            start,
        })
    }
}

/// A tracer whose session is about to start.
struct Prepared {
    config: Config,
    pipeline: Option<Arc<Pipeline>>,
    session_id: String,
    session_name: String,
    ids: EvaluationIds,
    start: Option<SessionStart>,
}

impl Prepared {
    fn assemble(self) -> HoneyHiveTracer {
        let Prepared {
            config,
            pipeline,
            session_id,
            session_name,
            ids,
            ..
        } = self;
        let value = |s: &Option<String>| s.as_deref().map(shared_value);
        let stamp = Stamp {
            session_id: shared_value(&session_id),
            project: config.project.as_deref().map(label_value),
            source: label_value(&config.source),
            run_id: value(&ids.run_id),
            dataset_id: value(&ids.dataset_id),
            datapoint_id: value(&ids.datapoint_id),
        };
        let own_ids = [
            (baggage::RUN_ID, &stamp.run_id),
            (baggage::DATASET_ID, &stamp.dataset_id),
            (baggage::DATAPOINT_ID, &stamp.datapoint_id),
        ];
        let baggage = [
            (baggage::SESSION_ID, stamp.session_id.clone()),
            (
                baggage::TRACER_ID,
                shared_value(&uuid::Uuid::new_v4().to_string()),
            ),
        ]
        .into_iter()
        .chain(
            own_ids
                .into_iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k, v))),
        )
        .collect();
        HoneyHiveTracer {
            inner: Arc::new(Inner {
                session_name,
                ids,
                baggage,
                config,
                shared: stamp.shared_attributes(),
                stamp,
                pipeline,
            }),
        }
    }
}

/// The shared pipeline of `config`'s destination (with `discard_spans`, the benchmarks'
/// pipeline that drops every span at export), its provider running the
/// [`PipelineProcessor`].
pub(crate) fn pipeline(config: &Config, discard_spans: bool) -> Result<Arc<Pipeline>> {
    Pipeline::shared(config, discard_spans, PipelineProcessor::new)
}

/// An enabled tracer as contexts hold it (entered by [`HoneyHiveTracer::context_on`] and
/// [`HoneyHiveTracer::context_from_headers`]). Every context derived from one shares the
/// same value, which is dropped with the last of them.
pub(crate) struct Entered {
    tracer: HoneyHiveTracer,
    /// Where the baggage this scope put in lives, when that baggage holds nothing but the
    /// tracer's own entries (the common case: a tracer entered where no other baggage
    /// was); 0 otherwise. `_baggage` keeps it alive as long as this value, so no other
    /// baggage can be at that address meanwhile: a context whose baggage is there has
    /// exactly this scope's baggage. (It is the context the baggage was put in, the only
    /// handle on it: what that context holds, the parent's values, lives as long, as it
    /// does in every context derived from the scope's.)
    own_baggage_at: usize,
    _baggage: Option<Context>,
}

/// Values of [`Entered`] alive in the process: contexts holding a tracer exist (attached
/// or not, on any thread) only while this is not zero. While it is zero, a `#[trace]` call
/// skips even the thread-local lookup of the current context: code traced but called
/// outside every tracer's scope (or with `HH_DISABLED`) costs one atomic load.
static ENTERED: AtomicUsize = AtomicUsize::new(0);

impl Entered {
    /// `with_baggage` (the baggage of `tracer`'s scope in place) with `tracer` entered.
    fn enter(tracer: &HoneyHiveTracer, with_baggage: Context) -> Context {
        ENTERED.fetch_add(1, Ordering::Relaxed);
        let bag = with_baggage.baggage();
        let own = tracer.covers(bag);
        let entered = Entered {
            tracer: tracer.clone(),
            own_baggage_at: if own { baggage_address(bag) } else { 0 },
            _baggage: own.then(|| with_baggage.clone()),
        };
        with_baggage.with_value(entered)
    }

    /// The tracer.
    pub(crate) fn tracer(&self) -> &HoneyHiveTracer {
        &self.tracer
    }

    /// [`HoneyHiveTracer::covers`] for the baggage of `cx`, a context holding this value.
    /// Why the address: a context derived from the scope's own (a span started in it, a
    /// value added) shares its baggage, and one address comparison replaces a walk of
    /// every entry on every `#[trace]` call.
    #[inline]
    pub(crate) fn covers(&self, cx: &Context) -> bool {
        let bag = cx.baggage();
        (self.own_baggage_at != 0 && baggage_address(bag) == self.own_baggage_at)
            || self.tracer.covers(bag)
    }
}

fn baggage_address(bag: &Baggage) -> usize {
    std::ptr::from_ref(bag).addr()
}

impl Drop for Entered {
    fn drop(&mut self) {
        ENTERED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// False when no context anywhere holds a tracer (so the current one does not either).
/// A context reaches another thread only through some synchronisation, which orders its
/// creation (the increment) before that thread's load.
#[inline]
pub(crate) fn any_entered() -> bool {
    ENTERED.load(Ordering::Relaxed) != 0
}

/// The (enabled) tracer entered into `cx`, if any.
#[inline]
pub(crate) fn entered(cx: &Context) -> Option<&HoneyHiveTracer> {
    scope(cx).map(Entered::tracer)
}

/// The tracer's scope `cx` is in, if any.
#[inline]
pub(crate) fn scope(cx: &Context) -> Option<&Entered> {
    cx.get::<Entered>()
}

/// Project and source as OpenTelemetry strings: interned (a process has one or two of
/// each), so the spans carrying them touch no reference count; shared otherwise.
fn label_value(s: &str) -> StringValue {
    match crate::trace::capture::intern(s) {
        Some(s) => StringValue::from(s),
        None => shared_value(s),
    }
}

/// A reference-counted OpenTelemetry string: every span of the tracer carries these values
/// (and so does the baggage of every context it enters), and cloning one must not copy it.
fn shared_value(s: &str) -> StringValue {
    StringValue::from(Arc::<str>::from(s))
}

enum Which {
    Metadata,
    UserProperties,
    Config,
}

/// Session metadata: the user's entries plus the evaluation ids (`docs/honeyhive-api.md`,
/// Endpoints).
fn session_metadata(mut metadata: Map<String, Value>, ids: &EvaluationIds) -> Map<String, Value> {
    for (key, id) in [
        ("run_id", &ids.run_id),
        ("dataset_id", &ids.dataset_id),
        ("datapoint_id", &ids.datapoint_id),
    ] {
        if let Some(id) = id {
            metadata.insert(key.into(), Value::String(id.clone()));
        }
    }
    metadata
}

fn default_session_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        // Test binaries are named `name-<hash>`; the hash means nothing to a reader.
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name.to_owned()
            }
            _ => s,
        })
        .unwrap_or_else(|| "session".into())
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _};

    use super::*;

    fn local_tracer(dir: &std::path::Path) -> HoneyHiveTracer {
        HoneyHiveTracer::builder()
            .environment(Environment::empty())
            .local_dir(dir)
            .session_name("covers")
            .run_id("run-1")
            .datapoint_id("dp-1")
            .build()
            .expect("local tracer")
    }

    #[test]
    fn a_scope_answers_by_address_only_for_the_baggage_it_put_in() {
        let dir = std::env::temp_dir().join(format!("honeyhive-covers-{}", std::process::id()));
        let tracer = local_tracer(&dir);
        let cx = tracer.context_on(&Context::new());
        let own = scope(&cx).expect("entered");
        assert_ne!(own.own_baggage_at, 0, "a scope of the tracer's own entries");
        assert!(own.covers(&cx));

        // A span started in the scope shares its baggage.
        let span = tracer
            .otel_tracer()
            .unwrap()
            .start_with_context("child", &cx);
        let child = cx.with_span(span);
        assert_eq!(baggage_address(child.baggage()), own.own_baggage_at);
        assert!(scope(&child).unwrap().covers(&child));

        // Baggage added under the scope: same entered tracer, another baggage, no.
        let user = child.with_baggage([KeyValue::new("customer", "acme")]);
        assert!(!scope(&user).unwrap().covers(&user));

        // The scope's own context is gone: what keeps its baggage alive is the scope
        // itself, so the address cannot be taken by another baggage meanwhile.
        let own_at = own.own_baggage_at;
        drop(cx);
        let kept = scope(&child).unwrap()._baggage.as_ref().expect("kept");
        assert_eq!(baggage_address(kept.baggage()), own_at);

        // Entered where user baggage already was: the scope's baggage is not only the
        // tracer's, so there is no address to answer by, and the entries decide.
        let parent = Context::new().with_baggage([KeyValue::new("customer", "acme")]);
        let mixed = tracer.context_on(&parent);
        assert_eq!(scope(&mixed).unwrap().own_baggage_at, 0);
        assert!(!scope(&mixed).unwrap().covers(&mixed));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
