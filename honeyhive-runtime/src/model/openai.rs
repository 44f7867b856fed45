//! The OpenAI wire format as a [`ModelCall`] records it: what a chat completions,
//! completions or embeddings request asks, what its answer (whole, or chunk by chunk)
//! says. Any OpenAI-compatible server (OpenAI, Azure, Ollama, vLLM, LiteLLM, ...) speaks it.

use serde_json::{Map, Value, json};

use super::call::{ModelCall, ModelCallBuilder, Operation};
use super::usage::Usage;

/// The operation of a request to `path`, when it is a model call this module reads.
pub(crate) fn operation_of(path: &str) -> Option<Operation> {
    let path = path.trim_end_matches('/');
    if path.ends_with("/chat/completions") {
        Some(Operation::Chat)
    } else if path.ends_with("/embeddings") {
        Some(Operation::Embeddings)
    } else if path.ends_with("/completions") {
        Some(Operation::TextCompletion)
    } else {
        None
    }
}

/// Request fields recorded as configuration (`honeyhive_config.<field>`) as they are.
const CONFIG_FIELDS: [&str; 10] = [
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "logprobs",
    "top_logprobs",
    "service_tier",
    "encoding_format",
    "user",
];

/// A call of `operation` described by the request `body`, ready to start.
pub(crate) fn describe(operation: Operation, provider: &str, body: &Value) -> ModelCallBuilder {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let mut call = ModelCall::builder(operation.clone(), provider, model);
    let number = |key: &str| body.get(key).and_then(Value::as_f64);
    let integer = |key: &str| body.get(key).and_then(Value::as_u64);
    if let Some(v) = number("temperature") {
        call = call.temperature(v);
    }
    if let Some(v) = integer("max_completion_tokens").or_else(|| integer("max_tokens")) {
        call = call.max_tokens(v);
    }
    if let Some(v) = number("top_p") {
        call = call.top_p(v);
    }
    if let Some(v) = number("frequency_penalty") {
        call = call.frequency_penalty(v);
    }
    if let Some(v) = number("presence_penalty") {
        call = call.presence_penalty(v);
    }
    if let Some(v) = body.get("seed").and_then(Value::as_i64) {
        call = call.seed(v);
    }
    match body.get("stop") {
        Some(Value::String(stop)) => call = call.stop_sequences(&[stop]),
        Some(Value::Array(stops)) => {
            let stops: Vec<&str> = stops.iter().filter_map(Value::as_str).collect();
            call = call.stop_sequences(&stops);
        }
        _ => {}
    }
    if let Some(n) = integer("n") {
        call = call.choice_count(n);
    }
    if let Some(n) = integer("dimensions") {
        call = call.dimensions(n);
    }
    for field in CONFIG_FIELDS {
        if let Some(value) = body.get(field).filter(|v| !v.is_null()) {
            call = call.parameter(field, value);
        }
    }
    call = call.stream(body.get("stream").and_then(Value::as_bool) == Some(true));
    match operation {
        Operation::Chat => match body.get("messages") {
            Some(messages) => call.messages(messages),
            None => call,
        },
        Operation::Embeddings => match body.get("input") {
            Some(input) => call.input(input),
            None => call,
        },
        _ => match body.get("prompt") {
            Some(prompt) => call.input(prompt),
            None => call,
        },
    }
}

/// The usage object of an answer or chunk.
fn usage(value: &Value) -> Option<Usage> {
    let object = value.as_object()?;
    let count = |key: &str| object.get(key).and_then(Value::as_u64);
    let input = count("prompt_tokens").or_else(|| count("input_tokens"))?;
    let output = count("completion_tokens")
        .or_else(|| count("output_tokens"))
        .unwrap_or(0);
    let mut usage = Usage::new(input, output);
    if let Some(cached) = value
        .pointer("/prompt_tokens_details/cached_tokens")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
    {
        usage = usage.cached_input_tokens(cached);
    }
    if let Some(reasoning) = value
        .pointer("/completion_tokens_details/reasoning_tokens")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
    {
        usage = usage.reasoning_output_tokens(reasoning);
    }
    Some(usage)
}

/// `value` without its null members, recursively: what a message says, not what its type
/// could have said.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Records what a whole (not streamed) answer of `operation` says on `call`.
pub(crate) fn observe_answer(call: &mut ModelCall, operation: &Operation, answer: &Value) {
    if let Some(model) = answer.get("model").and_then(Value::as_str) {
        call.response_model(model);
    }
    if let Some(id) = answer.get("id").and_then(Value::as_str) {
        call.response_id(id);
    }
    if let Some(usage) = answer.get("usage").and_then(usage) {
        call.usage(usage);
    }
    let choices = answer
        .get("choices")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for choice in choices {
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            call.finish_reason(reason);
        }
    }
    match operation {
        Operation::Embeddings => {
            let data = answer.get("data").and_then(Value::as_array);
            let count = data.map_or(0, Vec::len);
            let dimensions = data
                .and_then(|d| d.first())
                .and_then(|e| e.get("embedding"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            call.output(&json!({"embeddings": count, "dimensions": dimensions}));
        }
        Operation::Chat => match choices {
            [] => {}
            [one] => {
                if let Some(message) = one.get("message") {
                    call.output(&without_nulls(message));
                }
            }
            many => {
                let messages: Vec<Value> = many
                    .iter()
                    .filter_map(|c| c.get("message").map(without_nulls))
                    .collect();
                call.output(&json!({ "choices": messages }));
            }
        },
        _ => match choices {
            [one] => {
                if let Some(text) = one.get("text").and_then(Value::as_str) {
                    call.completion(text);
                }
            }
            many => {
                let texts: Vec<&str> = many
                    .iter()
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect();
                call.output(&json!({ "choices": texts }));
            }
        },
    }
}

/// The chunks of a streamed answer folded into what a whole answer would have said: the
/// text of choice 0 goes to the call as it arrives (time to first token included); tool
/// calls and other choices are assembled and given at the end.
#[derive(Debug, Default)]
pub(crate) struct StreamFold {
    /// Per choice index after 0: its text so far.
    other_choices: Vec<String>,
    /// Tool calls of choice 0 by index: id, name, arguments so far.
    tool_calls: Vec<Map<String, Value>>,
    usage_seen: bool,
}

impl StreamFold {
    /// Folds one chunk (the JSON of one server-sent event).
    pub(crate) fn chunk(&mut self, call: &mut ModelCall, chunk: &Value) {
        if let Some(model) = chunk.get("model").and_then(Value::as_str)
            && !self.usage_seen
        {
            call.response_model(model);
        }
        if let Some(id) = chunk.get("id").and_then(Value::as_str) {
            call.response_id(id);
        }
        if let Some(usage) = chunk.get("usage").and_then(usage) {
            self.usage_seen = true;
            call.usage(usage);
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return;
        };
        for choice in choices {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
            let delta = choice.get("delta");
            let text = delta
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                .or_else(|| choice.get("text").and_then(Value::as_str));
            match (index, text) {
                (0, Some(text)) if !text.is_empty() => call.chunk(text),
                (0, _) if delta.and_then(|d| d.get("tool_calls")).is_some() => {
                    call.first_chunk();
                }
                (0, _) => {}
                (i, Some(text)) => {
                    if self.other_choices.len() < i {
                        self.other_choices.resize(i, String::new());
                    }
                    self.other_choices[i - 1].push_str(text);
                }
                _ => {}
            }
            if index == 0
                && let Some(calls) = delta
                    .and_then(|d| d.get("tool_calls"))
                    .and_then(Value::as_array)
            {
                for tool_call in calls {
                    self.tool_call(tool_call);
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                call.finish_reason(reason);
            }
        }
    }

    fn tool_call(&mut self, delta: &Value) {
        let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        if self.tool_calls.len() <= index {
            self.tool_calls.resize(index + 1, Map::new());
        }
        let call = &mut self.tool_calls[index];
        for key in ["id", "type"] {
            if let Some(v) = delta.get(key).and_then(Value::as_str) {
                call.insert(key.into(), Value::String(v.to_owned()));
            }
        }
        if let Some(function) = delta.get("function") {
            let entry = call
                .entry("function")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(f) = entry {
                for key in ["name", "arguments"] {
                    if let Some(piece) = function.get(key).and_then(Value::as_str) {
                        let text = f.entry(key).or_insert_with(|| Value::String(String::new()));
                        if let Value::String(text) = text {
                            text.push_str(piece);
                        }
                    }
                }
            }
        }
    }

    /// Gives the call what only the whole stream shows (tool calls, other choices); the
    /// text of choice 0 it already has.
    pub(crate) fn finish(self, call: &mut ModelCall) {
        if self.tool_calls.is_empty() && self.other_choices.is_empty() {
            return;
        }
        let text = call.streamed();
        let mut first = json!({"role": "assistant"});
        if !text.is_empty() {
            first["content"] = Value::String(text);
        }
        if !self.tool_calls.is_empty() {
            first["tool_calls"] =
                Value::Array(self.tool_calls.into_iter().map(Value::Object).collect());
        }
        if self.other_choices.is_empty() {
            call.output(&first);
        } else {
            let mut choices = vec![first];
            choices.extend(
                self.other_choices
                    .into_iter()
                    .map(|text| json!({"role": "assistant", "content": text})),
            );
            call.output(&json!({ "choices": choices }));
        }
    }
}

/// The message of an OpenAI error body (`{"error": {"message": ..}}`), or the body itself.
pub(crate) fn error_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| text.trim().chars().take(500).collect());
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    }
}
