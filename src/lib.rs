// The crate documentation is the README: what users read on the repository and on docs.rs
// is one text, and its examples run as this crate's doc tests.
#![doc = include_str!("../README.md")]

pub use honeyhive_runtime::{
    Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorList, EvaluatorOptions, IntoEvaluation,
    IntoScore, Params, Score, ScoreValue, Trace,
};
pub use honeyhive_runtime::{
    ApiKey, AttributeLimits, CLIENT_VERSION, Config, ConfigBuilder, DEFAULT_API_TIMEOUT,
    DEFAULT_API_URL, Enrichment, Environment, Error, EvaluationIds, ExportSettings, ExportStats,
    HoneyHiveSpanProcessor, HoneyHiveTracer, JsonValue, KeyKind, KeyProblem, MalformedKey,
    OtlpProtocol, Redaction, RequestCounts, Result, RetryPolicy, Secret, SessionStart,
    TracerBuilder, Undelivered, Warning, WarningHandler, enrich_session, enrich_span, spawn,
    spawn_blocking, thread,
};
/// The experiment API's dataset types (also at `honeyhive::dataset::`).
pub use honeyhive_runtime::{Datapoint, Dataset};
pub use honeyhive_runtime::{
    attributes, baggage, dataset, evaluator, evaluators, experiment, integrations, limits,
    local_store, model, redact, report, runs, upload,
};

/// The OpenTelemetry API this toolkit is built on, for spans made by hand.
pub use honeyhive_runtime::opentelemetry;
/// The OpenTelemetry SDK this toolkit is built on: implement its
/// `trace::SpanExporter` to receive every span ([`ConfigBuilder::span_exporter`]), with no
/// separately versioned dependency.
pub use honeyhive_runtime::opentelemetry_sdk;

/// A HoneyHive-compatible test server for the tests of your code (feature `testing`).
#[cfg(feature = "testing")]
pub use honeyhive_runtime::testing;

/// The `async-openai` crate the integration is built for (feature `async-openai`), so its
/// request and response types need no separately versioned dependency.
#[cfg(feature = "async-openai")]
pub use honeyhive_runtime::async_openai;

/// Records every call of a function as a HoneyHive span: inputs, output, errors, panics,
/// duration, nested under the calling span. See the macro's documentation for its options
/// (`name`, `event_type`, `skip`, `redact`, `skip_all`, `skip_output`, `metadata`, `config`,
/// `metrics`, `feedback`, `crate`).
pub use honeyhive_macros::trace;

/// Makes a scoring function an evaluator of experiments: `output`, `inputs`,
/// `ground_truth` and `trace` parameters bound by name, any score-like return type. See the macro's
/// documentation for its options (`name`, `repeat`, `aggregate`, `timeout`, `crate`).
pub use honeyhive_macros::evaluator;

/// Makes a test that runs a function over a dataset, scores it with evaluators and fails
/// on a missed threshold. See the macro's documentation for its options.
pub use honeyhive_macros::experiment;

/// Items used by the code the macros generate (the path the macros name). Not a public
/// API: it changes without notice.
#[doc(hidden)]
pub use honeyhive_runtime::__macro_support as __private;
