//! Recording one model call from any client: a span by the GenAI semantic conventions plus
//! the HoneyHive attributes of a model event, its tokens and cost added up in the current
//! [model scope](super::scope).
//!
//! The `async-openai` integration records its calls through this same API, so a call made
//! by any other client (an HTTP call by hand, a provider SDK) is recorded exactly alike:
//!
//! ```
//! use honeyhive::model::{ModelCall, Usage};
//!
//! # fn send(_: &serde_json::Value) -> (String, u64, u64) { ("Paris.".into(), 12, 2) }
//! let messages = serde_json::json!([{"role": "user", "content": "Capital of France?"}]);
//! let mut call = ModelCall::chat("openai", "gpt-4o-mini")
//!     .messages(&messages)
//!     .temperature(0.2)
//!     .max_tokens(50)
//!     .start();
//! let (answer, input_tokens, output_tokens) = send(&messages); // the client's own call
//! call.completion(&answer);
//! call.usage(Usage::new(input_tokens, output_tokens));
//! call.finish_reason("stop");
//! call.end();
//! ```
//!
//! Outside every tracer's scope (and every model scope) a call records nothing and costs a
//! context lookup. Dropping a call that was not ended ends its span marked `cancelled`,
//! with what was streamed so far as its output.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{Span as _, SpanKind, Status};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};

use serde::Serialize;
use serde_json::Value as Json;

use super::pricing::PriceTable;
use super::scope::{CallOutcome, ModelScope};
use super::usage::Usage;
use crate::attributes as attr;
use crate::export::buffer_pool;
use crate::export::deferred_text::DeferredText;
use crate::trace::call_span::CallSpan;
use crate::trace::capture::{Attributes, KeyName};
use crate::{Warning, WarningHandler};

/// `error.type` and `honeyhive_error` of a call dropped before it ended.
pub const CANCELLED: &str = "cancelled";

// Whole attribute names, as constants: a name built per call is an allocation the export
// thread frees.
const CONFIG_MODEL: &str = "honeyhive_config.model";
const CONFIG_PROVIDER: &str = "honeyhive_config.provider";
const METRIC_INPUT_TOKENS: &str = "honeyhive_metrics.input_tokens";
const METRIC_OUTPUT_TOKENS: &str = "honeyhive_metrics.output_tokens";
const METRIC_TOTAL_TOKENS: &str = "honeyhive_metrics.total_tokens";
const METRIC_COST_USD: &str = "honeyhive_metrics.cost_usd";
const METRIC_TIME_TO_FIRST_TOKEN_MS: &str = "honeyhive_metrics.time_to_first_token_ms";
const OUTPUT_ROLE: &str = "honeyhive_outputs.role";
const OUTPUT_CONTENT: &str = "honeyhive_outputs.content";

/// Room for the attributes of a model span: those of a chat call with a few messages, a
/// few parameters, usage and cost, and the stamp appended at export.
const MODEL_SPAN_ATTRIBUTES: usize = 48;

/// What kind of model call a span records: its `gen_ai.operation.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `chat`: chat completions.
    Chat,
    /// `text_completion`: legacy completions.
    TextCompletion,
    /// `generate_content`: multimodal generation (Gemini).
    GenerateContent,
    /// `embeddings`.
    Embeddings,
    /// Another operation; its span is still a model event.
    Other(Cow<'static, str>),
}

impl Operation {
    /// The `gen_ai.operation.name` value.
    pub fn name(&self) -> &str {
        match self {
            Operation::Chat => "chat",
            Operation::TextCompletion => "text_completion",
            Operation::GenerateContent => "generate_content",
            Operation::Embeddings => "embeddings",
            Operation::Other(name) => name,
        }
    }

    /// The name as an attribute value (no copy for the conventions' names).
    fn value(&self) -> StringValue {
        match self {
            Operation::Other(name) => StringValue::from(name.to_string()),
            known => StringValue::from(match known {
                Operation::Chat => "chat",
                Operation::TextCompletion => "text_completion",
                Operation::GenerateContent => "generate_content",
                _ => "embeddings",
            }),
        }
    }
}

/// A model call about to start: what was asked of which model. Made by
/// [`ModelCall::chat`], [`ModelCall::embeddings`] or [`ModelCall::builder`]; its span
/// starts with [`start`](Self::start).
#[must_use = "a model call is recorded from .start() on"]
pub struct ModelCallBuilder {
    /// `None` when nothing is recorded here (no tracer, no model scope): every method
    /// is then a branch.
    request: Option<Request>,
}

struct Request {
    /// `{operation} {model}`: the span's name and `honeyhive_event_name`.
    name: Cow<'static, str>,
    model: Cow<'static, str>,
    /// The context current when the call was made: the span's parent, and, when an
    /// enabled tracer is in it (`traced`), the scope whose pipeline queues the span and
    /// the configuration the call follows (read there, not copied).
    parent: Context,
    traced: bool,
    /// Whether content (messages, completion) is captured.
    capture: bool,
    scope: Option<Arc<ModelScope>>,
    attributes: Attributes,
    /// The messages' short strings, deferred to the export stage as `#[trace]` arguments'
    /// are (the span takes them when it starts).
    text: Option<DeferredText>,
    cached: bool,
}

/// Names few and on every model span (provider, model, the span's name, the response's
/// model and finish reasons) are [interned](crate::trace::capture::intern): a span then
/// carries a `&'static str`, no allocation (made on the calling thread, freed on the export
/// thread) and no reference count. Once the interned strings reach their bound, a copy.
/// `s` as a string value: interned, else a copy of its own.
fn name_value(s: &str) -> StringValue {
    match crate::trace::capture::intern(s) {
        Some(name) => StringValue::from(name),
        None => StringValue::from(s.to_owned()),
    }
}

/// `s` as a string that lives as long as a span: interned, else a copy.
fn name_cow(s: &str) -> Cow<'static, str> {
    match crate::trace::capture::intern(s) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(s.to_owned()),
    }
}

thread_local! {
    /// Where a span's name is written to be looked up among the known names.
    static SPAN_NAME: RefCell<String> = const { RefCell::new(String::new()) };
}

/// `{operation} {model}`, the span's name.
fn span_name(operation: &str, model: &str) -> Cow<'static, str> {
    SPAN_NAME
        .try_with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            buffer.push_str(operation);
            buffer.push(' ');
            buffer.push_str(model);
            name_cow(&buffer)
        })
        .unwrap_or_else(|_| Cow::Owned(format!("{operation} {model}")))
}

impl ModelCall {
    /// A chat completion call to `model` of `provider` (`openai`, `anthropic`, ... as the
    /// GenAI conventions name providers).
    pub fn chat(provider: &str, model: &str) -> ModelCallBuilder {
        ModelCall::builder(Operation::Chat, provider, model)
    }

    /// An embeddings call.
    pub fn embeddings(provider: &str, model: &str) -> ModelCallBuilder {
        ModelCall::builder(Operation::Embeddings, provider, model)
    }

    /// A call of any `operation`.
    pub fn builder(operation: Operation, provider: &str, model: &str) -> ModelCallBuilder {
        let recording = crate::trace::tracer::any_entered()
            || Context::map_current(|cx| ModelScope::of(cx).is_some());
        if !recording {
            return ModelCallBuilder { request: None };
        }
        let parent = Context::current();
        let tracer =
            crate::trace::tracer::entered(&parent).filter(|_| !parent.is_telemetry_suppressed());
        let scope = ModelScope::of(&parent).cloned();
        if tracer.is_none() && scope.is_none() {
            return ModelCallBuilder { request: None };
        }
        let traced = tracer.is_some();
        // Only added up in its scope (no tracer): no content kept.
        let capture = tracer.is_some_and(|t| t.config().captures_content());
        // Room for the whole span from the start (a buffer grown attribute by attribute
        // was reallocated four times per call), in a buffer recycled from the export
        // stage when one is free, as a `#[trace]` span's is.
        let mut values = buffer_pool::attribute_buffer();
        values.reserve(MODEL_SPAN_ATTRIBUTES);
        let mut attributes = Attributes {
            values,
            ..Attributes::default()
        };
        // Known names, not copies: what the calling thread allocates, the export thread
        // frees, on the allocator's slow path.
        let model = name_cow(model);
        let model_value = StringValue::from(model.clone());
        let provider_value = name_value(provider);
        let name = span_name(operation.name(), &model);
        let values = &mut attributes.values;
        values.push(KeyValue::new(
            attr::GEN_AI_OPERATION_NAME,
            operation.value(),
        ));
        values.push(KeyValue::new(
            attr::GEN_AI_PROVIDER_NAME,
            provider_value.clone(),
        ));
        values.push(KeyValue::new(
            attr::GEN_AI_REQUEST_MODEL,
            model_value.clone(),
        ));
        if let Operation::Other(_) = operation {
            // Inference maps only the conventions' model operations to `model`.
            values.push(KeyValue::new(attr::EVENT_TYPE, "model"));
        }
        values.push(KeyValue::new(CONFIG_MODEL, model_value));
        values.push(KeyValue::new(CONFIG_PROVIDER, provider_value));
        ModelCallBuilder {
            request: Some(Request {
                name,
                model,
                parent,
                traced,
                capture,
                scope,
                attributes,
                text: None,
                cached: false,
            }),
        }
    }
}

impl ModelCallBuilder {
    fn with(mut self, f: impl FnOnce(&mut Request)) -> Self {
        if let Some(request) = &mut self.request {
            f(request);
        }
        self
    }

    /// A request parameter: `gen_ai.request.<name>` and `honeyhive_config.<name>` (`config`).
    fn parameter_as(self, genai: &'static str, config: &'static str, value: Value) -> Self {
        self.with(|r| {
            r.attributes
                .values
                .push(KeyValue::new(genai, value.clone()));
            r.attributes.values.push(KeyValue::new(config, value));
        })
    }

    /// The chat messages sent (any serde value, typically the request's `messages`):
    /// `honeyhive_inputs.chat_history.*`, unless content capture is off.
    pub fn messages<T: Serialize + ?Sized>(self, messages: &T) -> Self {
        self.with(|r| {
            if r.capture {
                // Deferred only when a span takes them.
                let _ = match &mut r.text {
                    Some(text) => r.attributes.capture_deferring(
                        KeyName::Static(attr::CHAT_HISTORY),
                        messages,
                        text,
                    ),
                    None if r.traced => {
                        let text = r.text.insert(buffer_pool::deferred_text());
                        r.attributes.capture_deferring(
                            KeyName::Static(attr::CHAT_HISTORY),
                            messages,
                            text,
                        )
                    }
                    None => r.attributes.capture(attr::CHAT_HISTORY, messages),
                };
            }
        })
    }

    /// The input of a call that has no messages (the text of an embeddings or legacy
    /// completions call): `honeyhive_inputs.input`, unless content capture is off.
    pub fn input<T: Serialize + ?Sized>(self, input: &T) -> Self {
        self.with(|r| {
            if r.capture {
                let _ = r
                    .attributes
                    .capture(&format!("{}.input", attr::INPUTS), input);
            }
        })
    }

    /// Sampling temperature.
    pub fn temperature(self, value: f64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_TEMPERATURE,
            "honeyhive_config.temperature",
            value.into(),
        )
    }

    /// Most tokens to generate.
    pub fn max_tokens(self, value: u64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_MAX_TOKENS,
            "honeyhive_config.max_tokens",
            int(value),
        )
    }

    /// Nucleus sampling.
    pub fn top_p(self, value: f64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_TOP_P,
            "honeyhive_config.top_p",
            value.into(),
        )
    }

    /// `top_k` sampling.
    pub fn top_k(self, value: f64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_TOP_K,
            "honeyhive_config.top_k",
            value.into(),
        )
    }

    /// Frequency penalty.
    pub fn frequency_penalty(self, value: f64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_FREQUENCY_PENALTY,
            "honeyhive_config.frequency_penalty",
            value.into(),
        )
    }

    /// Presence penalty.
    pub fn presence_penalty(self, value: f64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_PRESENCE_PENALTY,
            "honeyhive_config.presence_penalty",
            value.into(),
        )
    }

    /// Seed.
    pub fn seed(self, value: i64) -> Self {
        self.parameter_as(
            attr::GEN_AI_REQUEST_SEED,
            "honeyhive_config.seed",
            value.into(),
        )
    }

    /// Stop sequences.
    pub fn stop_sequences<S: AsRef<str>>(self, stops: &[S]) -> Self {
        let values: Vec<StringValue> = stops.iter().map(|s| s.as_ref().to_owned().into()).collect();
        self.parameter_as(
            attr::GEN_AI_REQUEST_STOP_SEQUENCES,
            "honeyhive_config.stop",
            Value::Array(Array::String(values)),
        )
    }

    /// Choices asked for (recorded when not 1, as the conventions say).
    pub fn choice_count(self, n: u64) -> Self {
        if n == 1 {
            return self;
        }
        self.parameter_as(
            attr::GEN_AI_REQUEST_CHOICE_COUNT,
            "honeyhive_config.n",
            int(n),
        )
    }

    /// Dimensions an embeddings call asks for.
    pub fn dimensions(self, n: u64) -> Self {
        self.parameter_as(
            attr::GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
            "honeyhive_config.dimensions",
            int(n),
        )
    }

    /// Any other request parameter (`response_format`, `tools`, ...):
    /// `honeyhive_config.<name>`, flattened.
    pub fn parameter<T: Serialize + ?Sized>(self, name: &str, value: &T) -> Self {
        self.with(|r| {
            let _ = r
                .attributes
                .capture(&format!("{}.{name}", attr::CONFIG), value);
        })
    }

    /// Whether the answer is streamed (`gen_ai.request.stream`).
    pub fn stream(self, stream: bool) -> Self {
        if !stream {
            return self;
        }
        self.with(|r| {
            r.attributes
                .values
                .push(KeyValue::new(attr::GEN_AI_REQUEST_STREAM, true))
        })
    }

    /// The model server's host and port (`server.address`, `server.port`).
    pub fn server(self, address: &str, port: u16) -> Self {
        self.with(|r| {
            r.attributes
                .values
                .push(KeyValue::new(attr::SERVER_ADDRESS, address.to_owned()));
            r.attributes
                .values
                .push(KeyValue::new(attr::SERVER_PORT, i64::from(port)));
        })
    }

    /// Marks a call answered from a recorded cassette instead of the model
    /// (`honeyhive_metadata.cached = true`; its time is left out of latency statistics).
    pub fn cached(self, cached: bool) -> Self {
        self.with(|r| {
            r.cached = cached;
            if cached {
                r.attributes.values.push(KeyValue::new(attr::CACHED, true));
            }
        })
    }

    /// Starts the call now: its span starts as a child of the context current when the
    /// builder was made.
    pub fn start(self) -> ModelCall {
        let Some(request) = self.request else {
            return ModelCall { state: None };
        };
        let Request {
            name,
            model,
            parent,
            traced,
            capture,
            scope,
            mut attributes,
            text,
            cached,
        } = request;
        let start_time = SystemTime::now();
        // The span of a `#[trace]` call, made the same way: stamped, named
        // (`honeyhive_event_name`) and queued by the pipeline of the tracer in `parent`.
        let span = crate::trace::tracer::scope(&parent)
            .filter(|_| traced)
            .map(|scope| {
                if let Some(truncated) = attributes.truncated_attribute() {
                    attributes.values.push(truncated);
                }
                CallSpan::start(
                    scope,
                    &parent,
                    SpanKind::Client,
                    name,
                    start_time,
                    std::mem::take(&mut attributes.values),
                    text.unwrap_or_default(),
                )
            });
        ModelCall {
            state: Some(Recording {
                span,
                parent,
                traced,
                capture,
                scope,
                model,
                cached,
                started: Instant::now(),
                first_chunk: None,
                streamed: String::new(),
                completion: None,
                output: None,
                response_model: None,
                response_id: None,
                finish_reasons: Vec::new(),
                usage: None,
            }),
        }
    }
}

/// An integer attribute: values beyond `i64` are clamped (no model takes that many).
fn int(value: u64) -> Value {
    Value::I64(i64::try_from(value).unwrap_or(i64::MAX))
}

/// One model call being recorded; see the [module docs](self).
#[must_use = "dropping a ModelCall ends its span as cancelled; call .end() or .fail(..)"]
pub struct ModelCall {
    state: Option<Recording>,
}

struct Recording {
    /// `None` without an enabled tracer: the call is then only added up in its scope.
    span: Option<CallSpan>,
    /// The context the call was made in: its tracer's configuration (prices, warnings)
    /// applies when `traced`.
    parent: Context,
    traced: bool,
    /// Whether content (completion, output) is captured.
    capture: bool,
    scope: Option<Arc<ModelScope>>,
    /// The model the request named (priced when the answer names none).
    model: Cow<'static, str>,
    cached: bool,
    started: Instant,
    first_chunk: Option<Duration>,
    /// The text streamed so far (choice 0).
    streamed: String,
    /// The completion's text (choice 0), when given whole.
    completion: Option<String>,
    output: Option<Json>,
    response_model: Option<Cow<'static, str>>,
    response_id: Option<String>,
    finish_reasons: Vec<StringValue>,
    usage: Option<Usage>,
}

/// How a call ended.
enum End<'a> {
    Ok,
    Failed {
        error_type: &'a str,
        message: &'a str,
    },
    Cancelled,
}

impl ModelCall {
    /// Whether this call records anything (a tracer or a model scope is current).
    pub fn is_recording(&self) -> bool {
        self.state.is_some()
    }

    fn with(&mut self, f: impl FnOnce(&mut Recording)) {
        if let Some(state) = &mut self.state {
            f(state);
        }
    }

    /// A streamed piece of the completion's text (choice 0): the first one sets the time to
    /// first token; the pieces joined are the output unless [`completion`](Self::completion)
    /// or [`output`](Self::output) gives one.
    pub fn chunk(&mut self, text: &str) {
        self.with(|r| {
            r.mark_first_chunk();
            r.streamed.push_str(text);
        });
    }

    /// The text streamed so far (choice 0).
    pub(crate) fn streamed(&self) -> String {
        self.state
            .as_ref()
            .map(|r| r.streamed.clone())
            .unwrap_or_default()
    }

    /// A streamed chunk arrived that carries no text (a tool call delta, a role): it still
    /// sets the time to first token.
    pub fn first_chunk(&mut self) {
        self.with(Recording::mark_first_chunk);
    }

    /// The completion's text (choice 0): `honeyhive_outputs.role` = `assistant` and
    /// `honeyhive_outputs.content`.
    pub fn completion(&mut self, text: &str) {
        self.with(|r| {
            if r.capture {
                r.completion = Some(text.to_owned());
            }
        });
    }

    /// The output as any serde value (a whole assistant message with tool calls, every
    /// choice, an embeddings summary): flattened under `honeyhive_outputs`.
    pub fn output<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.with(|r| {
            if r.capture {
                r.output = serde_json::to_value(value).ok();
            }
        });
    }

    /// The model that answered (`gen_ai.response.model`; it is what the call is priced
    /// as).
    pub fn response_model(&mut self, model: &str) {
        self.with(|r| r.response_model = Some(name_cow(model)));
    }

    /// The answer's id (`gen_ai.response.id`).
    pub fn response_id(&mut self, id: &str) {
        self.with(|r| r.response_id = Some(id.to_owned()));
    }

    /// Why the model stopped, once per choice (`gen_ai.response.finish_reasons`).
    pub fn finish_reason(&mut self, reason: &str) {
        self.with(|r| r.finish_reasons.push(name_value(reason)));
    }

    /// The tokens the call used: recorded, priced and added up.
    pub fn usage(&mut self, usage: Usage) {
        self.with(|r| r.usage = Some(usage));
    }

    /// Ends the call as successful.
    pub fn end(mut self) {
        if let Some(state) = self.state.take() {
            state.finish(End::Ok);
        }
    }

    /// Ends the call as failed: error status, `error.type` = `error_type` (an HTTP status,
    /// an error class), `honeyhive_error` and one `exception` event with `message`.
    pub fn fail(mut self, error_type: &str, message: &str) {
        if let Some(state) = self.state.take() {
            state.finish(End::Failed {
                error_type,
                message,
            });
        }
    }
}

impl Drop for ModelCall {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.finish(End::Cancelled);
        }
    }
}

impl std::fmt::Debug for ModelCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCall")
            .field("recording", &self.is_recording())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ModelCallBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCallBuilder")
            .field("recording", &self.request.is_some())
            .finish_non_exhaustive()
    }
}

impl Recording {
    fn mark_first_chunk(&mut self) {
        if self.first_chunk.is_none() {
            self.first_chunk = Some(self.started.elapsed());
        }
    }

    fn finish(mut self, end: End<'_>) {
        let elapsed = self.started.elapsed();
        let priced_as = self.response_model.as_deref().unwrap_or(&self.model);
        // Traced: the tracer's configuration; only added up in its scope: the built-in
        // table.
        let config = crate::trace::tracer::entered(&self.parent)
            .filter(|_| self.traced)
            .map(|tracer| tracer.config());
        let cost = self.usage.and_then(|usage| {
            let builtin;
            let prices = match config {
                Some(config) => config.prices(),
                None => {
                    builtin = PriceTable::builtin();
                    &builtin
                }
            };
            let cost = prices
                .price_of(priced_as, &self.model)
                .map(|price| price.cost(&usage));
            if cost.is_none() && prices.first_unpriced(priced_as) {
                let warning = Warning::UnpricedModel {
                    model: priced_as.to_owned(),
                };
                match config {
                    Some(config) => config.warnings().emit(warning),
                    None => WarningHandler::default().emit(warning),
                }
            }
            cost
        });
        if let Some(scope) = &self.scope {
            scope.add(&CallOutcome {
                usage: self.usage,
                cost_usd: cost,
                cached: self.cached,
                latency_ms: (matches!(end, End::Ok) && !self.cached)
                    .then_some(elapsed.as_secs_f64() * 1000.0),
            });
        }
        let Some(mut span) = self.span.take() else {
            return;
        };
        // The closing attributes go to the span one by one (a buffer for them was an
        // allocation per call); the output's flattening, the rare case, has its own.
        if let Some(model) = self.response_model.take() {
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_RESPONSE_MODEL,
                StringValue::from(model),
            ));
        }
        if let Some(id) = self.response_id.take() {
            span.set_attribute(KeyValue::new(attr::GEN_AI_RESPONSE_ID, id));
        }
        if !self.finish_reasons.is_empty() {
            let reasons = std::mem::take(&mut self.finish_reasons);
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_RESPONSE_FINISH_REASONS,
                Value::Array(Array::String(reasons)),
            ));
        }
        if let Some(usage) = &self.usage {
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_USAGE_INPUT_TOKENS,
                int(usage.input_tokens),
            ));
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_USAGE_OUTPUT_TOKENS,
                int(usage.output_tokens),
            ));
            if let Some(cached) = usage.cached_input_tokens {
                span.set_attribute(KeyValue::new(
                    attr::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                    int(cached),
                ));
            }
            if let Some(reasoning) = usage.reasoning_output_tokens {
                span.set_attribute(KeyValue::new(
                    attr::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
                    int(reasoning),
                ));
            }
            span.set_attribute(KeyValue::new(METRIC_INPUT_TOKENS, int(usage.input_tokens)));
            span.set_attribute(KeyValue::new(
                METRIC_OUTPUT_TOKENS,
                int(usage.output_tokens),
            ));
            span.set_attribute(KeyValue::new(
                METRIC_TOTAL_TOKENS,
                int(usage.total_tokens()),
            ));
        }
        if let Some(cost) = cost {
            span.set_attribute(KeyValue::new(METRIC_COST_USD, cost));
        }
        if let Some(first) = self.first_chunk {
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                first.as_secs_f64(),
            ));
            span.set_attribute(KeyValue::new(
                METRIC_TIME_TO_FIRST_TOKEN_MS,
                first.as_secs_f64() * 1000.0,
            ));
        }
        span.set_attribute(KeyValue::new(
            attr::DURATION_MS,
            elapsed.as_secs_f64() * 1000.0,
        ));
        // The output: a value given whole, else the completion's text (given, or streamed).
        let text = match self.completion.take() {
            Some(text) => Some(text),
            None if self.capture && (self.first_chunk.is_some() || !self.streamed.is_empty()) => {
                Some(std::mem::take(&mut self.streamed))
            }
            None => None,
        };
        let mut truncated = None;
        match (self.output.take(), text) {
            (Some(output), _) => {
                let mut out = Attributes::default();
                out.flatten(attr::OUTPUTS, &output);
                truncated = out.truncated_attribute();
                span.set_attributes(out.values);
            }
            (None, Some(text)) => {
                span.set_attribute(KeyValue::new(OUTPUT_ROLE, "assistant"));
                span.set_attribute(KeyValue::new(OUTPUT_CONTENT, text));
            }
            (None, None) => {}
        }
        let failure = match end {
            End::Ok => None,
            End::Failed {
                error_type,
                message,
            } => Some((error_type, message, true)),
            End::Cancelled => Some((CANCELLED, CANCELLED, false)),
        };
        if let Some((error_type, message, exception)) = failure {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type.to_owned()));
            span.set_attribute(KeyValue::new(attr::ERROR, message.to_owned()));
            if exception {
                span.add_event(
                    "exception",
                    crate::trace::call::exception_attributes(error_type.to_owned(), message),
                );
            }
            span.set_status(Status::error(message.to_owned()));
        }
        if let Some(truncated) = truncated {
            span.set_attribute(truncated);
        }
        span.end();
    }
}
