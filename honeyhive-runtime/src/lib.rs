//! Runtime of the `honeyhive` crate: tracers, the span processor, exporters and the local
//! store. Use it through the `honeyhive` facade crate.
//!
//! Data flows one way: user code -> [`HoneyHiveTracer`] scope -> OpenTelemetry span ->
//! the span processor (stamps session and evaluation ids from the parent context) -> the
//! batch queue of the destination's shared pipeline -> every exporter of the destination:
//! OTLP/HTTP to HoneyHive (or the local store when no API key is set), the OTLP/HTTP
//! destination of the `OTEL_EXPORTER_OTLP_*` variables, the user's own.
//!
//! Folders: `trace/` runs on the caller's thread, `export/` after a span ends, `api/` is
//! the HoneyHive REST API, `config/` the configuration; datasets, evaluators and
//! experiments build on them. `docs/architecture.md` says where each kind of change goes.

#![warn(missing_docs)]

pub mod api;
pub mod attributes;
mod config;
pub mod dataset;
mod error;
pub mod evaluator;
pub mod evaluators;
mod event_type;
pub mod experiment;
mod export;
pub mod integrations;
pub mod limits;
pub mod model;
pub mod redact;
pub mod report;
mod retry;
mod secret;
mod trace;
mod undelivered;
pub mod upload;
mod warning;

#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
pub mod __macro_support;

pub use api::client::CLIENT_VERSION;
pub use api::runs;
pub use api::sessions::Enrichment;
pub use api::sessions::SessionStart;
pub use config::{
    ApiKey, Config, ConfigBuilder, DEFAULT_API_TIMEOUT, DEFAULT_API_URL, Environment,
    ExportSettings, KeyKind, KeyProblem, MalformedKey, OtlpDestination, OtlpProtocol,
};
pub use dataset::{Datapoint, Dataset};
pub use error::{Error, Result};
pub use evaluator::{
    Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorList, EvaluatorOptions, IntoEvaluation,
    IntoScore, Params, Score, ScoreValue, Trace,
};
pub use export::local_store;
pub use export::queue::ExportStats;
pub use limits::AttributeLimits;
pub use redact::Redaction;
pub use retry::RetryPolicy;
pub use secret::Secret;
/// JSON values as datasets, ground truth and reports hold them.
pub use serde_json::Value as JsonValue;
pub use trace::baggage;
pub use trace::enrichment::{enrich_session, enrich_span};
pub use trace::span_processor::HoneyHiveSpanProcessor;
pub use trace::spawn::{spawn, spawn_blocking, thread};
pub use trace::tracer::{EvaluationIds, HoneyHiveTracer, TracerBuilder};
pub use undelivered::{RequestCounts, Undelivered};
pub use warning::{Warning, WarningHandler};

/// The OpenTelemetry API this toolkit is built on, for spans made by hand.
pub use opentelemetry;

/// The `async-openai` crate the integration is built for (feature `async-openai`), so its
/// types need no separately versioned dependency.
#[cfg(feature = "async-openai")]
pub use async_openai;
/// The OpenTelemetry SDK this toolkit is built on: its `SpanExporter` trait is how spans
/// reach an exporter of your own (`ConfigBuilder::span_exporter`).
pub use opentelemetry_sdk;
