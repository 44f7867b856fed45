//! [`Trace`]: the spans of one datapoint, for evaluators that judge how an output was
//! made (which tools were called, in what order, what the model calls cost), not only
//! what it is.
//!
//! An experiment collects a datapoint's spans in process as they end, before any export,
//! only when an evaluator of the run asks for them (`trace: &honeyhive::Trace` in an
//! `#[evaluator]`, [`Params::trace`](crate::Params::trace) by hand). What a span is here
//! follows `docs/span-attributes.md`:
//!
//! - a **tool call** is a span whose HoneyHive event type is `tool`: the `event_type` it
//!   was given (`#[trace(event_type = "tool")]`, `honeyhive_event_type` set by any code),
//!   else the type inferred from the GenAI or OpenInference conventions
//!   (`gen_ai.operation.name = execute_tool`, `openinference.span.kind = TOOL`), else
//!   `tool`, the default HoneyHive gives a span that says nothing. So a plain `#[trace]`
//!   function is a tool call, as it is a tool event in HoneyHive; give functions that only
//!   orchestrate others `event_type = "chain"`;
//! - a **model call** is a span whose event type is `model`: every call recorded with
//!   [`ModelCall`](crate::model::ModelCall) (the `async-openai` integration, judges) and
//!   any span of the GenAI conventions' model operations.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::attributes as attr;

/// The GenAI conventions' tool name, arguments and result (`execute_tool` spans).
const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
const METRIC_COST_USD: &str = "honeyhive_metrics.cost_usd";

/// The spans one datapoint's function made, collected in process as they ended: its
/// tool calls, its model calls and the tree they form.
///
/// An `#[evaluator]` reads it by taking `trace: &honeyhive::Trace`; the experiment then
/// collects each datapoint's spans (only then: a run whose evaluators do not read the
/// trace collects nothing). The trace holds the spans that ended while the function ran,
/// on any task or thread its context reached: not the datapoint's root span (still open
/// while evaluators run), not the evaluators' own spans, not spans of other datapoints
/// running at the same time. Spans are in the order they started.
///
/// What counts as a tool call and as a model call is in the
/// [module docs](self).
///
/// # Example
/// ```
/// use honeyhive::Trace;
/// use serde_json::json;
///
/// // What an experiment collects, built by hand (as a unit test of an evaluator would).
/// let trace = Trace::builder()
///     .tool("search", json!({"query": "capital of France"}), json!(["Paris is the capital"]))
///     .model_call("gpt-4o-mini", 120, 12, Some(0.000_025))
///     .tool("answer", json!({"draft": "Paris"}), json!("Paris"))
///     .build();
///
/// assert_eq!(trace.tool_names(), ["search", "answer"]);
/// let search = &trace.tool_calls()[0];
/// assert_eq!(search.argument("query"), Some(json!("capital of France")));
/// assert_eq!(search.result(), Some(json!(["Paris is the capital"])));
/// let call = &trace.model_calls()[0];
/// assert_eq!((call.model(), call.total_tokens()), (Some("gpt-4o-mini"), Some(132)));
/// assert_eq!(trace.total_tokens(), 132);
/// assert_eq!(trace.roots().count(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Trace {
    spans: Vec<Node>,
}

/// One span and its place in the tree.
#[derive(Debug, Clone)]
struct Node {
    span_id: SpanId,
    parent: Option<usize>,
    children: Vec<usize>,
    name: String,
    event_type: String,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<KeyValue>,
    status: Status,
}

impl Trace {
    /// The trace of `spans` as exporters receive them (complete, from any pipeline or an
    /// in-memory exporter): parents and children are linked by span id, and a span whose
    /// parent is not among them is a root. Event types missing on a span are inferred as
    /// the export stage does.
    pub fn from_spans(spans: impl IntoIterator<Item = SpanData>) -> Trace {
        let mut spans: Vec<SpanData> = spans.into_iter().collect();
        spans.sort_by_key(|s| (s.start_time, s.end_time));
        let parent_ids: Vec<SpanId> = spans.iter().map(|s| s.parent_span_id).collect();
        let mut nodes: Vec<Node> = spans
            .into_iter()
            .map(|span| {
                let event_type = span
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == attr::EVENT_TYPE)
                    .map(|kv| kv.value.as_str().into_owned())
                    .unwrap_or_else(|| crate::event_type::inferred(&span.attributes).to_owned());
                Node {
                    span_id: span.span_context.span_id(),
                    parent: None,
                    children: Vec::new(),
                    name: span.name.into_owned(),
                    event_type,
                    start: span.start_time,
                    end: span.end_time,
                    attributes: span.attributes,
                    status: span.status,
                }
            })
            .collect();
        let index: HashMap<SpanId, usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.span_id != SpanId::INVALID)
            .map(|(i, n)| (n.span_id, i))
            .collect();
        // Children in start order, since the nodes are.
        for (child, parent_id) in parent_ids.into_iter().enumerate() {
            // (A parent id that would close a loop, which only spans made up by hand
            // can have, leaves the span a root.)
            if let Some(&parent) = index.get(&parent_id)
                && !std::iter::successors(Some(parent), |&i| nodes[i].parent)
                    .any(|ancestor| ancestor == child)
            {
                nodes[child].parent = Some(parent);
                nodes[parent].children.push(child);
            }
        }
        Trace { spans: nodes }
    }

    /// Builds a trace by hand, for the unit tests of evaluators that read one.
    pub fn builder() -> TraceBuilder {
        TraceBuilder::default()
    }

    /// How many spans it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds no span (the function made none).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Every span, in the order they started.
    pub fn spans(&self) -> impl Iterator<Item = TraceSpan<'_>> {
        (0..self.spans.len()).map(|index| TraceSpan { trace: self, index })
    }

    /// The spans whose parent is not in the trace: those the function made directly
    /// (children of the datapoint's root span), in the order they started.
    pub fn roots(&self) -> impl Iterator<Item = TraceSpan<'_>> {
        self.spans().filter(|s| s.node().parent.is_none())
    }

    /// The first span (in start order) named `name`.
    pub fn find(&self, name: &str) -> Option<TraceSpan<'_>> {
        self.spans().find(|s| s.name() == name)
    }

    /// The tool calls, in the order they started.
    pub fn tool_calls(&self) -> Vec<ToolCall<'_>> {
        self.spans()
            .filter(|s| s.event_type() == "tool")
            .map(|span| ToolCall { span })
            .collect()
    }

    /// The names of the tool calls, in the order they started.
    pub fn tool_names(&self) -> Vec<&str> {
        self.spans()
            .filter(|s| s.event_type() == "tool")
            .map(|span| ToolCall { span }.name())
            .collect()
    }

    /// The model calls, in the order they started.
    pub fn model_calls(&self) -> Vec<ModelCallSpan<'_>> {
        self.spans()
            .filter(|s| s.event_type() == "model")
            .map(|span| ModelCallSpan { span })
            .collect()
    }

    /// Input tokens of every model call (calls that report none count 0).
    pub fn input_tokens(&self) -> u64 {
        self.model_calls()
            .iter()
            .filter_map(ModelCallSpan::input_tokens)
            .sum()
    }

    /// Output tokens of every model call.
    pub fn output_tokens(&self) -> u64 {
        self.model_calls()
            .iter()
            .filter_map(ModelCallSpan::output_tokens)
            .sum()
    }

    /// Input and output tokens of every model call.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens().saturating_add(self.output_tokens())
    }

    /// The cost in dollars of the model calls that have one (see
    /// [`ModelCallSpan::cost_usd`]).
    pub fn cost_usd(&self) -> f64 {
        self.model_calls()
            .iter()
            .filter_map(ModelCallSpan::cost_usd)
            .sum()
    }
}

/// One span of a [`Trace`], with its place in the tree.
#[derive(Clone, Copy)]
pub struct TraceSpan<'t> {
    trace: &'t Trace,
    index: usize,
}

impl std::fmt::Debug for TraceSpan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSpan")
            .field("name", &self.name())
            .field("event_type", &self.event_type())
            .field("duration", &self.duration())
            .finish()
    }
}

impl<'t> TraceSpan<'t> {
    fn node(&self) -> &'t Node {
        &self.trace.spans[self.index]
    }

    /// The span's name (for a `#[trace]` function, its name or the `name` option).
    pub fn name(&self) -> &'t str {
        &self.node().name
    }

    /// Its HoneyHive event type: `tool`, `model`, `chain`, or what the span was given.
    pub fn event_type(&self) -> &'t str {
        &self.node().event_type
    }

    /// When it started.
    pub fn start_time(&self) -> SystemTime {
        self.node().start
    }

    /// When it ended.
    pub fn end_time(&self) -> SystemTime {
        self.node().end
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        let node = self.node();
        node.end.duration_since(node.start).unwrap_or_default()
    }

    /// The span it is a child of, when that span is in the trace.
    pub fn parent(&self) -> Option<TraceSpan<'t>> {
        self.node().parent.map(|index| TraceSpan {
            trace: self.trace,
            index,
        })
    }

    /// Its children, in the order they started.
    pub fn children(&self) -> impl Iterator<Item = TraceSpan<'t>> + 't {
        let trace = self.trace;
        self.node()
            .children
            .iter()
            .map(move |&index| TraceSpan { trace, index })
    }

    /// Every span below it (children, their children, ...), depth first.
    pub fn descendants(&self) -> Vec<TraceSpan<'t>> {
        let mut found = Vec::new();
        let mut stack: Vec<TraceSpan<'t>> = self.children().collect();
        stack.reverse();
        while let Some(span) = stack.pop() {
            let mut children: Vec<_> = span.children().collect();
            children.reverse();
            stack.extend(children);
            found.push(span);
        }
        found
    }

    /// How many ancestors it has in the trace (0 for a root).
    pub fn depth(&self) -> usize {
        std::iter::successors(self.parent(), TraceSpan::parent).count()
    }

    /// The value of attribute `key`, as exported.
    pub fn attribute(&self, key: &str) -> Option<&'t Value> {
        self.node()
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// What the span recorded under `honeyhive_inputs` (a `#[trace]` function's
    /// arguments by name, a model call's messages), rebuilt as JSON; `None` when nothing.
    pub fn inputs(&self) -> Option<Json> {
        self.unflattened(attr::INPUTS)
    }

    /// What the span recorded under `honeyhive_outputs` (`result` for a `#[trace]`
    /// function, `role` and `content` for a model call), rebuilt as JSON.
    pub fn outputs(&self) -> Option<Json> {
        self.unflattened(attr::OUTPUTS)
    }

    /// The error it recorded (`honeyhive_error`, else the error status's text).
    pub fn error(&self) -> Option<&'t str> {
        match self.attribute(attr::ERROR) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => match &self.node().status {
                Status::Error { description } => Some(description),
                _ => None,
            },
        }
    }

    /// The attributes under `prefix`, unflattened (`docs/span-attributes.md`,
    /// Flattening): `prefix.a.0` and `prefix.a.1` become `{"a": [.., ..]}`.
    fn unflattened(&self, prefix: &str) -> Option<Json> {
        unflatten(&self.node().attributes, prefix)
    }

    fn number(&self, key: &str) -> Option<f64> {
        match self.attribute(key)? {
            Value::I64(n) => Some(*n as f64),
            Value::F64(f) => Some(*f),
            Value::String(s) => s.as_str().parse().ok(),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> Option<&'t str> {
        match self.attribute(key)? {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// A tool call of a [`Trace`]: a span whose event type is `tool` (see the
/// [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'t> {
    span: TraceSpan<'t>,
}

impl<'t> ToolCall<'t> {
    /// The tool's name: `gen_ai.tool.name`, else the event name (a `#[trace]` function's
    /// name or its `name` option), else the span's name.
    pub fn name(&self) -> &'t str {
        self.span
            .text(GEN_AI_TOOL_NAME)
            .or_else(|| self.span.text(attr::EVENT_NAME))
            .unwrap_or_else(|| self.span.name())
    }

    /// Its arguments as JSON: a `#[trace]` function's captured arguments by name (an
    /// object), else `gen_ai.tool.call.arguments` (parsed when it is JSON text); `Null`
    /// when it recorded none.
    pub fn arguments(&self) -> Json {
        self.span
            .inputs()
            .or_else(|| self.span.text(GEN_AI_TOOL_CALL_ARGUMENTS).map(parse_json))
            .unwrap_or(Json::Null)
    }

    /// The argument named `name` (a field of [`arguments`](Self::arguments)).
    pub fn argument(&self, name: &str) -> Option<Json> {
        match self.arguments() {
            Json::Object(mut map) => map.remove(name),
            _ => None,
        }
    }

    /// What it returned: a `#[trace]` function's `honeyhive_outputs.result` (the `Ok`
    /// value of a `Result`), else `gen_ai.tool.call.result`; `None` when it recorded none
    /// (an error, `skip_output`).
    pub fn result(&self) -> Option<Json> {
        let outputs = self.span.outputs();
        match outputs {
            Some(Json::Object(mut map)) if map.contains_key("result") => map.remove("result"),
            _ => self.span.text(GEN_AI_TOOL_CALL_RESULT).map(parse_json),
        }
    }

    /// The error it failed with, if it did.
    pub fn error(&self) -> Option<&'t str> {
        self.span.error()
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        self.span.duration()
    }

    /// Its span, for its place in the tree and its other attributes.
    pub fn span(&self) -> TraceSpan<'t> {
        self.span
    }
}

/// A model call of a [`Trace`]: a span whose event type is `model`, with the attributes
/// of `docs/model-calls.md`.
#[derive(Debug, Clone, Copy)]
pub struct ModelCallSpan<'t> {
    span: TraceSpan<'t>,
}

/// One chat message of a model call's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// Its text (text parts joined by newlines when the content is a list of parts);
    /// `None` when it has none (an assistant message of tool calls only).
    pub content: Option<String>,
}

impl<'t> ModelCallSpan<'t> {
    /// The model that answered (`gen_ai.response.model`), else the one asked for.
    pub fn model(&self) -> Option<&'t str> {
        self.span
            .text(attr::GEN_AI_RESPONSE_MODEL)
            .or_else(|| self.span.text(attr::GEN_AI_REQUEST_MODEL))
    }

    /// The provider (`gen_ai.provider.name`).
    pub fn provider(&self) -> Option<&'t str> {
        self.span.text(attr::GEN_AI_PROVIDER_NAME)
    }

    /// The operation (`gen_ai.operation.name`: `chat`, `embeddings`, ...).
    pub fn operation(&self) -> Option<&'t str> {
        self.span.text(attr::GEN_AI_OPERATION_NAME)
    }

    /// Input tokens, when the answer reported them.
    pub fn input_tokens(&self) -> Option<u64> {
        self.tokens(attr::GEN_AI_USAGE_INPUT_TOKENS)
    }

    /// Output tokens, when the answer reported them.
    pub fn output_tokens(&self) -> Option<u64> {
        self.tokens(attr::GEN_AI_USAGE_OUTPUT_TOKENS)
    }

    /// Input and output tokens, when the answer reported either.
    pub fn total_tokens(&self) -> Option<u64> {
        match (self.input_tokens(), self.output_tokens()) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
        }
    }

    /// The cost in dollars (`honeyhive_metrics.cost_usd`); `None` when the call reported
    /// no tokens or its model has no price (see `docs/model-calls.md`, Cost).
    pub fn cost_usd(&self) -> Option<f64> {
        self.span.number(METRIC_COST_USD)
    }

    /// The chat messages it was sent (empty when content capture is off, or for
    /// operations without messages).
    pub fn messages(&self) -> Vec<Message> {
        let Some(Json::Array(items)) = unflatten(&self.span.node().attributes, attr::CHAT_HISTORY)
        else {
            return Vec::new();
        };
        items
            .iter()
            .map(|item| Message {
                role: item
                    .get("role")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                content: item.get("content").and_then(content_text),
            })
            .collect()
    }

    /// The text it answered (`honeyhive_outputs.content`), when content was captured.
    pub fn completion(&self) -> Option<&'t str> {
        self.span.text("honeyhive_outputs.content")
    }

    /// Whether it was answered from a cassette (`HH_LLM_CACHE`).
    pub fn cached(&self) -> bool {
        matches!(self.span.attribute(attr::CACHED), Some(Value::Bool(true)))
    }

    /// The error it failed with, if it did.
    pub fn error(&self) -> Option<&'t str> {
        self.span.error()
    }

    /// How long it took (with its retries).
    pub fn duration(&self) -> Duration {
        self.span.duration()
    }

    /// Its span, for its place in the tree and its other attributes.
    pub fn span(&self) -> TraceSpan<'t> {
        self.span
    }

    fn tokens(&self, key: &str) -> Option<u64> {
        match self.span.attribute(key)? {
            Value::I64(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }
}

/// A message's content as text: a string, or the text parts of a list joined by newlines.
fn content_text(content: &Json) -> Option<String> {
    match content {
        Json::String(s) => Some(s.clone()),
        Json::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Json::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

/// JSON text parsed, else the text as a JSON string.
fn parse_json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// The attribute value as JSON.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I64(n) => Json::from(*n),
        Value::F64(f) => Json::from(*f),
        Value::String(s) => Json::String(s.as_str().to_owned()),
        Value::Array(a) => match a {
            opentelemetry::Array::Bool(v) => v.iter().copied().map(Json::Bool).collect(),
            opentelemetry::Array::I64(v) => v.iter().copied().map(Json::from).collect(),
            opentelemetry::Array::F64(v) => v.iter().copied().map(Json::from).collect(),
            opentelemetry::Array::String(v) => v
                .iter()
                .map(|s| Json::String(s.as_str().to_owned()))
                .collect(),
            _ => Json::String(value.as_str().into_owned()),
        },
        _ => Json::String(value.as_str().into_owned()),
    }
}

/// The attributes under `prefix` rebuilt as JSON: the inverse of flattening, where an
/// object whose keys are exactly `0..n` was an array. `None` when there are none.
fn unflatten(attributes: &[KeyValue], prefix: &str) -> Option<Json> {
    let mut root: Option<Json> = None;
    for kv in attributes {
        let key = kv.key.as_str();
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let path = match rest.strip_prefix('.') {
            Some(path) => path,
            None if rest.is_empty() => "",
            None => continue, // `honeyhive_inputsX`: another name
        };
        let value = to_json(&kv.value);
        if path.is_empty() {
            root = Some(value);
            continue;
        }
        let mut node = root.get_or_insert_with(|| Json::Object(Map::new()));
        for segment in path.split('.') {
            if !node.is_object() {
                *node = Json::Object(Map::new());
            }
            node = node
                .as_object_mut()
                .expect("made an object")
                .entry(segment)
                .or_insert(Json::Null);
        }
        *node = value;
    }
    root.map(arrays)
}

/// Objects whose keys are exactly `0..n` made arrays again, all the way down.
fn arrays(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let is_array =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(i.to_string().as_str()));
            if is_array {
                let mut map = map;
                (0..map.len())
                    .map(|i| arrays(map.remove(i.to_string().as_str()).expect("checked")))
                    .collect()
            } else {
                Json::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// Builds a [`Trace`] by hand: tool calls and model calls as top-level spans, one after
/// the other, with the attributes `#[trace]` and [`ModelCall`](crate::model::ModelCall)
/// give them. For unit tests of evaluators; an experiment collects real traces.
///
/// ```
/// use honeyhive::Trace;
/// use serde_json::json;
///
/// let trace = Trace::builder()
///     .tool("lookup", json!({"id": 7}), json!({"name": "Ada"}))
///     .failed_tool("send_email", json!({"to": "ada@example.com"}), "mailbox full")
///     .build();
/// let calls = trace.tool_calls();
/// assert_eq!(calls[0].result(), Some(json!({"name": "Ada"})));
/// assert_eq!(calls[1].error(), Some("mailbox full"));
/// ```
#[derive(Debug, Default)]
pub struct TraceBuilder {
    spans: Vec<SpanData>,
}

impl TraceBuilder {
    /// Adds a tool call `name` with its arguments (an object of arguments by name) and
    /// what it returned.
    pub fn tool(self, name: &str, arguments: impl Serialize, result: impl Serialize) -> Self {
        let mut attrs = tool_attributes(name, &arguments);
        let mut out = crate::trace::capture::Attributes::default();
        let _ = out.capture(attr::OUTPUT_RESULT, &result);
        attrs.extend(out.values);
        self.push(name.to_owned(), attrs, Status::Unset)
    }

    /// Adds a tool call `name` that failed with `error`.
    pub fn failed_tool(self, name: &str, arguments: impl Serialize, error: &str) -> Self {
        let mut attrs = tool_attributes(name, &arguments);
        attrs.push(KeyValue::new(attr::ERROR, error.to_owned()));
        self.push(name.to_owned(), attrs, Status::error(error.to_owned()))
    }

    /// Adds a chat model call to `model` with its token counts and cost (`None`: a model
    /// without a price).
    pub fn model_call(
        self,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: Option<f64>,
    ) -> Self {
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut attrs = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, "chat"),
            KeyValue::new(attr::GEN_AI_REQUEST_MODEL, model.to_owned()),
            KeyValue::new(attr::EVENT_TYPE, "model"),
            KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, int(input_tokens)),
            KeyValue::new(attr::GEN_AI_USAGE_OUTPUT_TOKENS, int(output_tokens)),
        ];
        if let Some(cost) = cost_usd {
            attrs.push(KeyValue::new(METRIC_COST_USD, cost));
        }
        self.push(format!("chat {model}"), attrs, Status::Unset)
    }

    /// The trace.
    pub fn build(self) -> Trace {
        Trace::from_spans(self.spans)
    }

    fn push(mut self, name: String, attributes: Vec<KeyValue>, status: Status) -> Self {
        // One millisecond each, one after the other, as top-level spans.
        let n = self.spans.len() as u64;
        let start = SystemTime::UNIX_EPOCH + Duration::from_millis(2 * n);
        self.spans.push(SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(n + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: opentelemetry::trace::SpanKind::Internal,
            name: name.into(),
            start_time: start,
            end_time: start + Duration::from_millis(1),
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status,
            instrumentation_scope: Default::default(),
        });
        self
    }
}

fn tool_attributes(name: &str, arguments: &impl Serialize) -> Vec<KeyValue> {
    let mut attrs = crate::trace::capture::Attributes::default();
    attrs.values.push(KeyValue::new(attr::EVENT_TYPE, "tool"));
    attrs
        .values
        .push(KeyValue::new(attr::EVENT_NAME, name.to_owned()));
    let _ = attrs.capture(attr::INPUTS, arguments);
    attrs.values
}

/// The trace an evaluator that reads it was given, or its error for the datapoint.
pub(crate) fn given<'a>(trace: Option<&'a Trace>, evaluator: &str) -> Result<&'a Trace, String> {
    trace.ok_or_else(|| {
        format!(
            "`{evaluator}` reads the datapoint's trace, but was given none: an experiment \
             collects it while tracing is enabled (not with `HH_DISABLED` or \
             `OTEL_SDK_DISABLED=true`) for the evaluators whose `params().trace` is true; a \
             caller of `evaluate` gives it as `EvalInput::trace`"
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A span with id `id`, child of `parent` (0: none), from `start` to `end` ms.
    fn span(id: u64, parent: u64, name: &'static str, start: u64, end: u64) -> SpanData {
        let mut span = crate::export::test_span(vec![]);
        span.span_context = SpanContext::new(
            TraceId::from(9),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        span.parent_span_id = if parent == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(parent)
        };
        span.name = name.into();
        span.start_time = SystemTime::UNIX_EPOCH + Duration::from_millis(start);
        span.end_time = SystemTime::UNIX_EPOCH + Duration::from_millis(end);
        span
    }

    fn names<'t>(spans: impl IntoIterator<Item = TraceSpan<'t>>) -> Vec<&'t str> {
        spans.into_iter().map(|s| s.name()).collect()
    }

    #[test]
    fn the_span_tree_links_parents_and_children_in_start_order() {
        // Given in the order they ended (children first), as a pipeline queues them; the
        // datapoint's root (id 100) is not among them.
        let trace = Trace::from_spans([
            span(3, 2, "search", 2, 5),
            span(4, 2, "rank", 6, 8),
            span(2, 100, "retrieve", 1, 9),
            span(6, 5, "chat", 11, 19),
            span(5, 100, "generate", 10, 20),
            span(7, 100, "format", 21, 22),
        ]);
        assert_eq!(trace.len(), 6);
        assert_eq!(
            names(trace.spans()),
            ["retrieve", "search", "rank", "generate", "chat", "format"]
        );
        assert_eq!(names(trace.roots()), ["retrieve", "generate", "format"]);
        let retrieve = trace.find("retrieve").unwrap();
        assert_eq!(names(retrieve.children()), ["search", "rank"]);
        assert_eq!(retrieve.duration(), Duration::from_millis(8));
        assert_eq!(retrieve.parent().map(|p| p.name()), None);
        let chat = trace.find("chat").unwrap();
        assert_eq!(chat.parent().unwrap().name(), "generate");
        assert_eq!((chat.depth(), retrieve.depth()), (1, 0));
        assert_eq!(
            names(retrieve.descendants()),
            ["search", "rank"],
            "depth first, in start order"
        );
        assert!(trace.find("missing").is_none());
        // Spans that say no event type get the inferred one (`tool`).
        assert_eq!(chat.event_type(), "tool");
    }

    #[test]
    fn descendants_go_depth_first_and_loops_made_by_hand_end() {
        let trace = Trace::from_spans([
            span(1, 0, "a", 0, 10),
            span(2, 1, "b", 1, 5),
            span(3, 2, "c", 2, 3),
            span(4, 1, "d", 6, 7),
        ]);
        let a = trace.find("a").unwrap();
        assert_eq!(names(a.descendants()), ["b", "c", "d"]);
        assert_eq!(trace.find("c").unwrap().depth(), 2);
        // Two spans naming each other as parent: one of them stays a root.
        let looped = Trace::from_spans([span(1, 2, "x", 0, 1), span(2, 1, "y", 1, 2)]);
        assert_eq!(names(looped.roots()), ["y"]);
        assert_eq!(names(looped.find("y").unwrap().descendants()), ["x"]);
    }

    #[test]
    fn tool_and_model_calls_read_their_attributes() {
        let mut tool = span(1, 0, "search", 0, 4);
        let mut attrs = crate::trace::capture::Attributes::default();
        attrs.values.push(KeyValue::new(attr::EVENT_TYPE, "tool"));
        attrs.values.push(KeyValue::new(attr::EVENT_NAME, "search"));
        attrs
            .capture(
                attr::INPUTS,
                &json!({"query": "rust", "filters": {"year": 2024, "tags": ["a", "b"]}}),
            )
            .unwrap();
        attrs
            .capture(attr::OUTPUT_RESULT, &json!([{"id": 1}, {"id": 2}]))
            .unwrap();
        tool.attributes = attrs.values;

        let mut genai_tool = span(2, 0, "execute_tool weather", 5, 6);
        genai_tool.attributes = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, "execute_tool"),
            KeyValue::new(GEN_AI_TOOL_NAME, "weather"),
            KeyValue::new(GEN_AI_TOOL_CALL_ARGUMENTS, r#"{"city":"Paris"}"#),
            KeyValue::new(GEN_AI_TOOL_CALL_RESULT, "sunny"),
        ];

        let mut model = span(3, 0, "chat gpt-4o-mini", 7, 9);
        let mut attrs = crate::trace::capture::Attributes::default();
        attrs.values.extend([
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, "chat"),
            KeyValue::new(attr::GEN_AI_PROVIDER_NAME, "openai"),
            KeyValue::new(attr::GEN_AI_REQUEST_MODEL, "gpt-4o-mini"),
            KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, "gpt-4o-mini-2024-07-18"),
            KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, 12_i64),
            KeyValue::new(attr::GEN_AI_USAGE_OUTPUT_TOKENS, 3_i64),
            KeyValue::new(METRIC_COST_USD, 0.25),
            KeyValue::new(attr::CACHED, true),
            KeyValue::new("honeyhive_outputs.role", "assistant"),
            KeyValue::new("honeyhive_outputs.content", "Paris."),
        ]);
        attrs
            .capture(
                attr::CHAT_HISTORY,
                &json!([
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "Capital"}, {"type": "text", "text": "of France?"}]},
                    {"role": "assistant", "tool_calls": [{"id": "1"}]}
                ]),
            )
            .unwrap();
        model.attributes = attrs.values;

        let mut failed = span(4, 0, "chat gpt-4o", 10, 11);
        failed.attributes = vec![KeyValue::new(attr::GEN_AI_OPERATION_NAME, "chat")];
        failed.status = Status::error("HTTP 500");

        let trace = Trace::from_spans([tool, genai_tool, model, failed]);
        assert_eq!(trace.tool_names(), ["search", "weather"]);
        let calls = trace.tool_calls();
        assert_eq!(
            calls[0].arguments(),
            json!({"query": "rust", "filters": {"year": 2024, "tags": ["a", "b"]}})
        );
        assert_eq!(calls[0].argument("query"), Some(json!("rust")));
        assert_eq!(calls[0].result(), Some(json!([{"id": 1}, {"id": 2}])));
        assert_eq!(calls[0].duration(), Duration::from_millis(4));
        assert_eq!(calls[1].arguments(), json!({"city": "Paris"}));
        assert_eq!(calls[1].result(), Some(json!("sunny")));
        assert_eq!(calls[1].error(), None);

        let models = trace.model_calls();
        assert_eq!(models.len(), 2);
        let m = &models[0];
        assert_eq!(m.model(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(
            (m.provider(), m.operation()),
            (Some("openai"), Some("chat"))
        );
        assert_eq!(
            (m.input_tokens(), m.output_tokens(), m.total_tokens()),
            (Some(12), Some(3), Some(15))
        );
        assert_eq!(m.cost_usd(), Some(0.25));
        assert!(m.cached());
        assert_eq!(m.completion(), Some("Paris."));
        assert_eq!(
            m.messages(),
            [
                Message {
                    role: "system".into(),
                    content: Some("Be brief.".into())
                },
                Message {
                    role: "user".into(),
                    content: Some("Capital\nof France?".into())
                },
                Message {
                    role: "assistant".into(),
                    content: None
                },
            ]
        );
        assert_eq!(models[1].error(), Some("HTTP 500"));
        assert_eq!(
            (models[1].total_tokens(), models[1].cost_usd()),
            (None, None)
        );
        assert_eq!((trace.total_tokens(), trace.cost_usd()), (15, 0.25));
    }

    #[test]
    fn unflattening_inverts_flattening() {
        for value in [
            json!("text"),
            json!(3),
            json!({"a": {"b": [1, {"c": true}], "d": 2.5}}),
            json!([[1, 2], [3]]),
        ] {
            let mut attrs = crate::trace::capture::Attributes::default();
            attrs.flatten("p", &value);
            attrs.values.push(KeyValue::new("px", "another name"));
            assert_eq!(unflatten(&attrs.values, "p"), Some(value));
        }
        assert_eq!(unflatten(&[], "p"), None);
    }
}
