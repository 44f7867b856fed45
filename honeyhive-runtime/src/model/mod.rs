//! Model calls: LLM calls recorded as HoneyHive model events with tokens, cost and streams,
//! and the record/replay cache that makes LLM-backed tests deterministic.
//!
//! - [`ModelCall`]: records one call from any client as a span by the OpenTelemetry GenAI
//!   conventions (`gen_ai.*`) with the HoneyHive attributes of a model event (inputs as the
//!   chat messages, outputs as the completion, config as the model and its parameters,
//!   metrics as the token counts and the cost).
//! - [`PriceTable`]: what calls cost, from a built-in table and the user's (`HH_PRICES`).
//! - [`ModelTransport`]: the HTTP seam of OpenAI-compatible clients (the `async-openai`
//!   integration, the judges): one place that records every call through [`ModelCall`],
//!   retries with the crate's retry policy, and answers from cassettes ([`Cassettes`],
//!   `HH_LLM_CACHE`) when asked to.
//!
//! Inside an experiment, the calls of each datapoint's function add up to its
//! [`ModelTotals`]: the report shows tokens, cost and model latency, and thresholds can
//! name them (`threshold(cost_usd <= 0.02)`).

mod call;
pub mod cassette;
mod openai;
mod pricing;
pub(crate) mod scope;
mod transport;
mod usage;

pub use self::call::{CANCELLED, ModelCall, ModelCallBuilder, Operation};
pub use self::cassette::{CacheMode, CassetteMiss, Cassettes};
pub use self::pricing::{Price, PriceTable};
pub use self::scope::ModelTotals;
pub use self::transport::{ModelTransport, ModelTransportBuilder, TransportError};
pub use self::usage::Usage;

pub(crate) use self::openai::error_message;

/// Metric of a model span and of an experiment datapoint: input tokens.
pub const INPUT_TOKENS: &str = "input_tokens";
/// Metric: output tokens.
pub const OUTPUT_TOKENS: &str = "output_tokens";
/// Metric: input and output tokens.
pub const TOTAL_TOKENS: &str = "total_tokens";
/// Metric: cost in US dollars.
pub const COST_USD: &str = "cost_usd";
/// Metric of a streamed model span: milliseconds to the first chunk.
pub const TIME_TO_FIRST_TOKEN_MS: &str = "time_to_first_token_ms";
/// Metric of an experiment: duration of each model call that reached the model.
pub const MODEL_LATENCY_MS: &str = "model_latency_ms";
