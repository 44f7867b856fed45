//! What the fake model answers: chat completions (whole, or as the chunks of a stream),
//! embeddings and errors, in the OpenAI wire format, computed from the request alone so
//! that every answer is reproducible.
//!
//! Token counts are words (whitespace-separated pieces of the message contents): not what
//! a real tokenizer counts, but exact, so tests can assert the usage and the cost.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// `created` of every answer: a fixed time, so answers are byte-for-byte reproducible.
const CREATED: u64 = 1_700_000_000;

/// Dimensions of an embedding when the request does not ask for a number.
pub(super) const DEFAULT_DIMENSIONS: usize = 8;

/// Most dimensions the server makes (a request for more is refused with 400).
const MAX_DIMENSIONS: usize = 4096;

/// A request the fake model cannot answer: status and OpenAI error body.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) body: Value,
}

impl Refusal {
    pub(super) fn invalid(message: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            body: error_body(&message.into(), "invalid_request_error", None),
        }
    }
}

/// The OpenAI error object: `{"error": {"message", "type", "param", "code"}}`.
pub(super) fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// The text of a message's `content`: a string, or the text parts of an array of parts.
pub(super) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The tokens of `text` as the server counts them: its whitespace-separated words.
pub(super) fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// A chat completions request, checked.
pub(super) struct ChatRequest<'a> {
    pub(super) body: &'a Value,
    pub(super) model: &'a str,
    messages: &'a [Value],
    choices: usize,
    max_tokens: Option<u64>,
    pub(super) stream: bool,
    include_usage: bool,
}

impl<'a> ChatRequest<'a> {
    pub(super) fn parse(body: &'a Value) -> Result<ChatRequest<'a>, Refusal> {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| Refusal::invalid("`model` is required and must be a string"))?;
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| Refusal::invalid("`messages` must be a non-empty array"))?;
        for (i, message) in messages.iter().enumerate() {
            if message.get("role").and_then(Value::as_str).is_none() {
                return Err(Refusal::invalid(format!("messages[{i}] has no `role`")));
            }
        }
        let choices = match body.get("n") {
            None | Some(Value::Null) => 1,
            Some(n) => n
                .as_u64()
                .filter(|n| (1..=8).contains(n))
                .ok_or_else(|| Refusal::invalid("`n` must be an integer from 1 to 8"))?
                as usize,
        };
        let max_tokens = ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| body.get(*k).and_then(Value::as_u64));
        let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let include_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(ChatRequest {
            body,
            model,
            messages,
            choices,
            max_tokens,
            stream,
            include_usage,
        })
    }

    /// The content of the last `user` message (the default reply echoes it).
    pub(super) fn last_user_message(&self) -> String {
        self.messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content"))
            .map(content_text)
            .unwrap_or_default()
    }

    fn prompt_tokens(&self) -> u64 {
        self.messages
            .iter()
            .filter_map(|m| m.get("content"))
            .map(|c| count_tokens(&content_text(c)))
            .sum()
    }
}

/// A reply cut to the request's token limit, with its finish reason.
struct Completion {
    text: String,
    tokens: u64,
    finish_reason: &'static str,
}

fn complete(request: &ChatRequest<'_>, reply: &str) -> Completion {
    let tokens = count_tokens(reply);
    match request.max_tokens {
        Some(limit) if tokens > limit => {
            let text = pieces(reply)
                .filter(|p| !p.trim().is_empty())
                .take(limit as usize)
                .collect::<String>()
                .trim_end()
                .to_owned();
            Completion {
                text,
                tokens: limit,
                finish_reason: "length",
            }
        }
        _ => Completion {
            text: reply.to_owned(),
            tokens,
            finish_reason: "stop",
        },
    }
}

/// `text` in the pieces a stream sends: each word with the whitespace before it, so the
/// pieces joined are the text again.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let start = rest.len() - rest.trim_start().len();
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| start + i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}
    })
}

/// The id of the answer to `request`: drawn from its body, so the same request gets the
/// same answer, id included, however many came before it (recordings stay reproducible).
pub(super) fn answer_id(request: &ChatRequest<'_>) -> String {
    let digest = Sha256::digest(request.body.to_string().as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("chatcmpl-test-{hex}")
}

/// The whole answer (`chat.completion`) to `request` with `reply` as every choice's
/// content.
pub(super) fn chat_completion(request: &ChatRequest<'_>, reply: &str) -> Value {
    let completion = complete(request, reply);
    let message = json!({"role": "assistant", "content": completion.text, "refusal": null});
    answer_with(
        request,
        &message,
        completion.tokens,
        completion.finish_reason,
    )
}

/// The whole answer to `request` whose every choice calls the function `name` with
/// `arguments` (its JSON text, as the model wrote it); the arguments' words are its tokens.
pub(super) fn tool_call_completion(
    request: &ChatRequest<'_>,
    name: &str,
    arguments: &str,
) -> Value {
    let id = answer_id(request).replace("chatcmpl-test-", "call_");
    let message = json!({
        "role": "assistant",
        "content": null,
        "refusal": null,
        "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": arguments}}]
    });
    answer_with(request, &message, count_tokens(arguments), "tool_calls")
}

/// The `chat.completion` object with `message` as every choice, `tokens` per choice.
fn answer_with(
    request: &ChatRequest<'_>,
    message: &Value,
    tokens: u64,
    finish_reason: &str,
) -> Value {
    let choices: Vec<Value> = (0..request.choices)
        .map(|index| {
            json!({
                "index": index,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason
            })
        })
        .collect();
    json!({
        "id": answer_id(request),
        "object": "chat.completion",
        "created": CREATED,
        "model": request.model,
        "choices": choices,
        "usage": usage(request.prompt_tokens(), tokens * request.choices as u64),
        "system_fingerprint": "fp_honeyhive_test"
    })
}

/// The events of the streamed answer to `request`: one chunk with the role, one per word,
/// one with the finish reason, the usage chunk when the request asked for it
/// (`stream_options.include_usage`), as OpenAI sends them. `[DONE]` is not among them.
pub(super) fn chat_chunks(request: &ChatRequest<'_>, reply: &str) -> Vec<Value> {
    let completion = complete(request, reply);
    let id = answer_id(request);
    let chunk = |choices: Vec<Value>| {
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": request.model,
            "system_fingerprint": "fp_honeyhive_test",
            "choices": choices
        });
        if request.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    let choice = |index: usize, delta: Value, finish: Option<&str>| json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish});
    let every = |delta: &dyn Fn() -> Value, finish: Option<&str>| {
        (0..request.choices)
            .map(|i| choice(i, delta(), finish))
            .collect::<Vec<_>>()
    };
    let mut events = vec![chunk(every(
        &|| json!({"role": "assistant", "content": ""}),
        None,
    ))];
    for piece in pieces(&completion.text) {
        events.push(chunk(every(&|| json!({"content": piece}), None)));
    }
    events.push(chunk(every(&|| json!({}), Some(completion.finish_reason))));
    if request.include_usage {
        let mut last = chunk(Vec::new());
        last["usage"] = usage(
            request.prompt_tokens(),
            completion.tokens * request.choices as u64,
        );
        events.push(last);
    }
    events
}

/// The answer of an embeddings request: a deterministic unit vector per input.
pub(super) fn embeddings(body: &Value) -> Result<Value, Refusal> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::invalid("`model` is required and must be a string"))?;
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                // Token arrays: their numbers stand for the text.
                Value::Number(_) | Value::Array(_) => Ok(item.to_string()),
                _ => Err(Refusal::invalid(
                    "`input` items must be strings or token arrays",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Refusal::invalid(
                "`input` must be a string or a non-empty array",
            ));
        }
    };
    if let Some(format) = body.get("encoding_format").and_then(Value::as_str)
        && format != "float"
    {
        return Err(Refusal::invalid(format!(
            "encoding_format {format:?} is not supported by the test server: use \"float\""
        )));
    }
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(d) => d
            .as_u64()
            .filter(|d| (1..=MAX_DIMENSIONS as u64).contains(d))
            .ok_or_else(|| {
                Refusal::invalid(format!(
                    "`dimensions` must be an integer from 1 to {MAX_DIMENSIONS}"
                ))
            })? as usize,
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            json!({"object": "embedding", "index": index, "embedding": vector(input, dimensions)})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|i| count_tokens(i)).sum();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

/// A unit vector of `dimensions` drawn from the hash of `input`: equal inputs, equal
/// vectors.
fn vector(input: &str, dimensions: usize) -> Vec<f64> {
    let mut raw = Vec::with_capacity(dimensions);
    let mut block = 0u32;
    while raw.len() < dimensions {
        let digest = Sha256::new()
            .chain_update(block.to_le_bytes())
            .chain_update(input.as_bytes())
            .finalize();
        for pair in digest.chunks_exact(2) {
            if raw.len() == dimensions {
                break;
            }
            let n = u16::from_le_bytes([pair[0], pair[1]]);
            raw.push(f64::from(n) / f64::from(u16::MAX) * 2.0 - 1.0);
        }
        block += 1;
    }
    let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for v in &mut raw {
            *v /= norm;
        }
    }
    raw
}

/// The body of a `GET /models` answer: the models the test server pretends to serve.
pub(super) fn models() -> Value {
    let model = |id: &str| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "honeyhive-test"});
    let data: Vec<Value> = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
        .iter()
        .map(|id| model(id))
        .collect();
    let mut list = Map::new();
    list.insert("object".into(), "list".into());
    list.insert("data".into(), Value::Array(data));
    Value::Object(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &Value) -> ChatRequest<'_> {
        ChatRequest::parse(body).unwrap()
    }

    #[test]
    fn stream_pieces_join_to_the_completion() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "stream": true, "stream_options": {"include_usage": true}});
        let r = request(&body);
        let events = chat_chunks(&r, "  Paris is   the capital.");
        let text: String = events
            .iter()
            .filter_map(|e| {
                e.pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
            })
            .collect();
        assert_eq!(text, "  Paris is   the capital.");
        let last = events.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"]["prompt_tokens"], 1);
        assert_eq!(last["usage"]["completion_tokens"], 4);
        assert_eq!(
            events[events.len() - 2]["choices"][0]["finish_reason"],
            "stop"
        );
    }

    #[test]
    fn no_usage_chunk_unless_asked() {
        let body =
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true});
        let events = chat_chunks(&request(&body), "a b");
        assert!(events.iter().all(|e| e.get("usage").is_none()));
    }

    #[test]
    fn max_tokens_cuts_the_reply() {
        let body = json!({"model": "m", "max_tokens": 2,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why?"}]});
        let answer = chat_completion(&request(&body), "because it is so");
        assert_eq!(answer["choices"][0]["message"]["content"], "because it");
        assert_eq!(answer["choices"][0]["finish_reason"], "length");
        assert_eq!(answer["usage"]["prompt_tokens"], 3);
        assert_eq!(answer["usage"]["completion_tokens"], 2);
        let id = answer["id"].as_str().unwrap();
        assert!(id.starts_with("chatcmpl-test-") && id.len() == 26, "{id}");
        assert_eq!(answer, chat_completion(&request(&body), "because it is so"));
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        for (body, says) in [
            (json!({"messages": []}), "`model`"),
            (json!({"model": "m", "messages": []}), "`messages`"),
            (json!({"model": "m", "messages": [{}]}), "`role`"),
            (
                json!({"model": "m", "messages": [{"role": "user"}], "n": 0}),
                "`n`",
            ),
        ] {
            let refusal = ChatRequest::parse(&body).err().unwrap();
            assert_eq!(refusal.status, 400);
            let message = refusal.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let body = json!({"model": "e", "input": ["a b", "c"], "dimensions": 20});
        let first = embeddings(&body).unwrap();
        assert_eq!(first, embeddings(&body).unwrap());
        let v: Vec<f64> = serde_json::from_value(first["data"][0]["embedding"].clone()).unwrap();
        assert_eq!(v.len(), 20);
        let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-9);
        assert_ne!(first["data"][0]["embedding"], first["data"][1]["embedding"]);
        assert_eq!(first["usage"]["prompt_tokens"], 3);
        let base64 = json!({"model": "e", "input": "x", "encoding_format": "base64"});
        assert_eq!(embeddings(&base64).unwrap_err().status, 400);
    }
}
