//! Runtime of the `honeyhive` crate: tracers, the span processor, exporters and the local
//! store. Use it through the `honeyhive` facade crate.
//!
//! Data flows one way: user code -> [`HoneyHiveTracer`] scope -> OpenTelemetry span ->
//! [`HoneyHiveSpanProcessor`] (stamps session and evaluation ids from the parent context)
//! -> the batch queue of the destination's shared pipeline -> OTLP/HTTP to HoneyHive, or the
//! local store when no API key is set.

#![warn(missing_docs)]

pub mod attributes;
pub mod baggage;
mod batch_processor;
mod buffer_pool;
#[doc(hidden)]
pub mod call;
mod call_span;
pub mod capture;
mod client;
mod config;
mod context;
pub mod dataset;
mod error;
pub mod evaluator;
pub mod evaluators;
mod event_type;
pub mod experiment;
pub mod export;
pub mod local_store;
mod pipeline;
mod retry;
pub mod runs;
mod session;
mod span_processor;
mod tracer;
mod warning;

#[cfg(feature = "testing")]
pub mod testing;

pub use batch_processor::ExportStats;
pub use client::CLIENT_VERSION;
pub use config::{
    ApiKey, Config, ConfigBuilder, DEFAULT_API_URL, Environment, ExportSettings, OtlpProtocol,
};
pub use context::{spawn, spawn_blocking, thread};
pub use error::{Error, Result};
#[doc(hidden)]
pub use evaluator::__boxed_evaluator;
pub use evaluator::{
    Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorList, EvaluatorOptions, IntoEvaluation,
    IntoScore, Params, Score, ScoreValue,
};
pub use retry::RetryPolicy;
/// JSON values as datasets, ground truth and reports hold them.
pub use serde_json::Value as JsonValue;
pub use session::{Enrichment, SessionStart, enrich_session, enrich_span};
pub use span_processor::HoneyHiveSpanProcessor;
pub use tracer::{EvaluationIds, HoneyHiveTracer, TracerBuilder};
pub use warning::{Warning, WarningHandler};

/// The OpenTelemetry API this toolkit is built on, for spans made by hand.
pub use opentelemetry;
