//! # honeyhive
//!
//! Trace and evaluate LLM applications on [HoneyHive](https://honeyhive.ai) from Rust.
//!
//! A [`HoneyHiveTracer`] is one session. Every OpenTelemetry span started while a tracer's
//! context is current (directly, in a task spawned with [`spawn`], on a thread started with
//! [`thread::spawn`], or in another process that received the context through
//! [`baggage::inject`]) carries the session and its evaluation ids (`run_id`, `dataset_id`,
//! `datapoint_id`).
//!
//! With an API key (`HH_API_KEY`), sessions and spans go to HoneyHive over HTTP. Without
//! one, they are written under `target/honeyhive/` as JSON lines: no account is needed to
//! start.
//!
//! ```
//! use honeyhive::{Enrichment, Environment, HoneyHiveTracer};
//! use honeyhive::opentelemetry::trace::Tracer as _;
//!
//! let dir = std::env::temp_dir().join("honeyhive-doc-facade");
//! let tracer = HoneyHiveTracer::builder()
//!     .environment(Environment::empty()) // no API key: local store
//!     .local_dir(&dir)
//!     .session_name("support-bot")
//!     .build()?;
//! tracer.in_scope(|| {
//!     tracer.otel_tracer().unwrap().in_span("retrieve", |_cx| {
//!         honeyhive::enrich_span(Enrichment::new().metadata("k", &3));
//!     });
//! });
//! tracer.flush()?;
//! let spans = honeyhive::local_store::read_spans(&dir)?;
//! assert!(spans.iter().any(|s| s.attributes["honeyhive.session_id"] == tracer.session_id()));
//! # Ok::<(), honeyhive::Error>(())
//! ```

pub use honeyhive_runtime::{
    Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorList, EvaluatorOptions, IntoEvaluation,
    IntoScore, Params, Score, ScoreValue,
};
pub use honeyhive_runtime::{
    ApiKey, CLIENT_VERSION, Config, ConfigBuilder, DEFAULT_API_URL, Enrichment, Environment, Error,
    EvaluationIds, ExportSettings, ExportStats, HoneyHiveSpanProcessor, HoneyHiveTracer, JsonValue,
    OtlpProtocol, Result, RetryPolicy, SessionStart, TracerBuilder, Warning, WarningHandler,
    enrich_session, enrich_span, spawn, spawn_blocking, thread,
};
/// The experiment API's dataset types (also at `honeyhive::dataset::`).
pub use honeyhive_runtime::{Datapoint, Dataset};
pub use honeyhive_runtime::{
    attributes, baggage, dataset, evaluator, evaluators, experiment, local_store, runs,
};

/// The OpenTelemetry API this toolkit is built on, for spans made by hand.
pub use honeyhive_runtime::opentelemetry;

/// Records every call of a function as a HoneyHive span: inputs, output, errors, panics,
/// duration, nested under the calling span. See the macro's documentation for its options
/// (`name`, `event_type`, `skip`, `skip_all`, `skip_output`, `metadata`, `config`,
/// `metrics`, `feedback`, `crate`).
pub use honeyhive_macros::trace;

/// Makes a scoring function an evaluator of experiments: `output`, `inputs` and
/// `ground_truth` parameters bound by name, any score-like return type. See the macro's
/// documentation for its options (`name`, `repeat`, `aggregate`, `timeout`, `crate`).
pub use honeyhive_macros::evaluator;

/// Makes a test that runs a function over a dataset, scores it with evaluators and fails
/// on a missed threshold. See the macro's documentation for its options.
pub use honeyhive_macros::experiment;

/// Items used by the code the macros generate (the path the macros name). Not a public
/// API: it changes without notice.
#[doc(hidden)]
pub use honeyhive_runtime::__macro_support as __private;

/// The README's examples, compiled and run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
