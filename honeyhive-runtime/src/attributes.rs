//! Span attribute names of `span-attributes.md`, defined once.
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
