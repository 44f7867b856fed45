//! Span attribute names of `docs/span-attributes.md`, defined once.
//!
//! The `gen_ai.*` constants of `opentelemetry-semantic-conventions` are deprecated, so the
//! few we use are defined here.

/// Session id (UUID).
pub const SESSION_ID: &str = "honeyhive.session_id";
/// Session id, traceloop compatibility.
pub const TRACELOOP_SESSION_ID: &str = "traceloop.association.properties.session_id";
/// Project name.
pub const PROJECT: &str = "honeyhive.project";
/// Project name, traceloop compatibility.
pub const TRACELOOP_PROJECT: &str = "traceloop.association.properties.project";
/// Source label.
pub const SOURCE: &str = "honeyhive.source";
/// Source label, traceloop compatibility.
pub const TRACELOOP_SOURCE: &str = "traceloop.association.properties.source";
/// Experiment run id.
pub const RUN_ID: &str = "honeyhive_metadata.run_id";
/// Dataset id.
pub const DATASET_ID: &str = "honeyhive_metadata.dataset_id";
/// Datapoint id.
pub const DATAPOINT_ID: &str = "honeyhive_metadata.datapoint_id";
/// Prefix of every other baggage entry.
pub const BAGGAGE_PREFIX: &str = "baggage.";

/// `model`, `tool`, `chain`, `session` or `generic`.
pub const EVENT_TYPE: &str = "honeyhive_event_type";
/// Event name (the span name).
pub const EVENT_NAME: &str = "honeyhive_event_name";
/// Prefix of captured inputs.
pub const INPUTS: &str = crate::__attribute_prefix!(inputs);
/// Prefix of outputs.
pub const OUTPUTS: &str = "honeyhive_outputs";
/// The return value of a traced call.
pub const OUTPUT_RESULT: &str = "honeyhive_outputs.result";
/// Wall time of a call in milliseconds (f64).
pub const DURATION_MS: &str = "honeyhive_duration_ms";
/// Prefix of configuration values.
pub const CONFIG: &str = crate::__attribute_prefix!(config);
/// Prefix of metadata values.
pub const METADATA: &str = crate::__attribute_prefix!(metadata);

/// The prefixes `#[trace]` joins to argument and option names at compile time, as literals:
/// `concat!` takes literals (and macros expanding to them), not constants. Each whole
/// attribute name is then a `&'static str` in the user's binary, found by no lookup.
#[doc(hidden)]
#[macro_export]
macro_rules! __attribute_prefix {
    (inputs) => {
        "honeyhive_inputs"
    };
    (metadata) => {
        "honeyhive_metadata"
    };
    (config) => {
        "honeyhive_config"
    };
    (metrics) => {
        "honeyhive_metrics"
    };
    (feedback) => {
        "honeyhive_feedback"
    };
}
/// Prefix of metrics.
pub const METRICS: &str = crate::__attribute_prefix!(metrics);
/// Prefix of feedback.
pub const FEEDBACK: &str = crate::__attribute_prefix!(feedback);
/// Prefix of user properties.
pub const USER_PROPERTIES: &str = "honeyhive_user_properties";
/// Error text of a failed call.
pub const ERROR: &str = "honeyhive_error";
/// Keys whose values were cut to the size cap.
pub const TRUNCATED: &str = "honeyhive_truncated";

/// OpenTelemetry GenAI operation name (event type inference).
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// OpenInference span kind (event type inference).
pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";
/// Evaluator name on evaluator spans.
pub const GEN_AI_EVALUATION_NAME: &str = "gen_ai.evaluation.name";
/// Evaluator score on evaluator spans.
pub const GEN_AI_EVALUATION_SCORE_VALUE: &str = "gen_ai.evaluation.score.value";
/// Evaluator label on evaluator spans (text that classifies the output).
pub const GEN_AI_EVALUATION_SCORE_LABEL: &str = "gen_ai.evaluation.score.label";

// GenAI semantic conventions (the current, development-status names of the OpenTelemetry
// GenAI conventions; `docs/model-calls.md` lists what model spans carry).

/// Provider of a model call (`openai`, `anthropic`, ...).
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// Model the request named.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// Sampling temperature of the request.
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// Most tokens the request lets the model generate.
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// Nucleus sampling (`top_p`) of the request.
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `top_k` sampling of the request.
pub const GEN_AI_REQUEST_TOP_K: &str = "gen_ai.request.top_k";
/// Frequency penalty of the request.
pub const GEN_AI_REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
/// Presence penalty of the request.
pub const GEN_AI_REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
/// Stop sequences of the request (string array).
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// Seed of the request.
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// Number of choices the request asks for, when not 1.
pub const GEN_AI_REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";
/// Whether the request was streamed.
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// Dimensions an embeddings request asks for.
pub const GEN_AI_EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";
/// Model that answered.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// Id of the answer.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// Why the model stopped, per choice (string array).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// Seconds from the request to the first chunk of a streamed answer.
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// Input (prompt) tokens, cached ones included.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// Output (completion) tokens, reasoning ones included.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// Input tokens served from the provider's prompt cache.
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// Output tokens spent on reasoning.
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// Class of the error a call ended with (the HTTP status, `cancelled`, ...).
pub const ERROR_TYPE: &str = "error.type";
/// Host of the model server.
pub const SERVER_ADDRESS: &str = "server.address";
/// Port of the model server.
pub const SERVER_PORT: &str = "server.port";

/// The chat messages of a model call, flattened (`honeyhive_inputs.chat_history.0.role`).
pub const CHAT_HISTORY: &str = "honeyhive_inputs.chat_history";
/// `true` on a model span answered from a recorded cassette.
pub const CACHED: &str = "honeyhive_metadata.cached";
