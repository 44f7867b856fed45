//! What the model call tests share: clients of the two test servers, and span lookups.

use std::path::Path;
use std::time::Duration;

use honeyhive::RetryPolicy;
use honeyhive::model::CacheMode;
use honeyhive_runtime::async_openai::config::OpenAIConfig;
use honeyhive_runtime::async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessageArgs,
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs,
};
use honeyhive_runtime::testing::openai::OpenAiTestServer;
use honeyhive_runtime::testing::{AttrValue, RecordedSpan};

/// The key the OpenAI test server is started with: long enough to be redacted.
pub const OPENAI_KEY: &str = "sk-test-0123456789abcdef";

pub type Client = honeyhive_runtime::async_openai::Client<OpenAIConfig>;

/// Retries in milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(3)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

/// A client of `base_url` through the integration, cassettes in `dir` used as `mode`.
pub fn client(base_url: &str, mode: CacheMode, dir: &Path) -> Client {
    let transport = crate::common::cassette_transport(mode, dir, fast_retry());
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(OPENAI_KEY);
    honeyhive::integrations::openai::instrument(
        honeyhive_runtime::async_openai::Client::with_config(config),
        transport,
    )
}

/// A client of `server` with cassettes off.
pub fn live(server: &OpenAiTestServer) -> Client {
    client(&server.url(), CacheMode::Off, Path::new("unused"))
}

/// The key-checking OpenAI test server.
pub fn openai_server() -> OpenAiTestServer {
    OpenAiTestServer::builder().api_key(OPENAI_KEY).start()
}

pub fn messages(question: &str) -> Vec<ChatCompletionRequestMessage> {
    vec![
        ChatCompletionRequestSystemMessageArgs::default()
            .content("Answer in one sentence.")
            .build()
            .unwrap()
            .into(),
        ChatCompletionRequestUserMessageArgs::default()
            .content(question)
            .build()
            .unwrap()
            .into(),
    ]
}

/// A chat request for `question` on `gpt-4o-mini`, temperature 0.2, at most 50 tokens.
pub fn chat_request(question: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .temperature(0.2)
        .max_completion_tokens(50u32)
        .messages(messages(question))
        .build()
        .unwrap()
}

/// The same, streamed with the usage chunk.
pub fn stream_request(question: &str) -> CreateChatCompletionRequest {
    let mut request = chat_request(question);
    request.stream = Some(true);
    request.stream_options = Some(
        honeyhive_runtime::async_openai::types::chat::ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        },
    );
    request
}

/// The spans whose `gen_ai.operation.name` is `operation`.
pub fn model_spans<'a>(spans: &'a [RecordedSpan], operation: &str) -> Vec<&'a RecordedSpan> {
    spans
        .iter()
        .filter(|s| s.str_attr("gen_ai.operation.name") == Some(operation))
        .collect()
}

pub fn int(span: &RecordedSpan, key: &str) -> i64 {
    span.attr(key)
        .and_then(AttrValue::as_i64)
        .unwrap_or_else(|| {
            panic!(
                "{key} is not an integer on {}: {:?}",
                span.name, span.attributes
            )
        })
}

pub fn float(span: &RecordedSpan, key: &str) -> f64 {
    span.attr(key)
        .and_then(AttrValue::as_f64)
        .unwrap_or_else(|| {
            panic!(
                "{key} is not a float on {}: {:?}",
                span.name, span.attributes
            )
        })
}

pub fn strings(span: &RecordedSpan, key: &str) -> Vec<String> {
    match span.attr(key) {
        Some(AttrValue::Array(items)) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("{key} is not an array on {}: {other:?}", span.name),
    }
}

/// The cost of `input` and `output` tokens on gpt-4o-mini's built-in price.
pub fn mini_cost(input: u64, output: u64) -> f64 {
    (input as f64 * 0.15 + output as f64 * 0.6) / 1_000_000.0
}
