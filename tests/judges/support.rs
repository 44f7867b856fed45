//! What the judge tests share: judges of the OpenAI test server, datasets, request lookups.

use std::path::Path;
use std::time::Duration;

use honeyhive::evaluators::judge::{Judge, StructuredOutput};
use honeyhive::model::CacheMode;
use honeyhive::{Environment, RetryPolicy, WarningHandler};
use honeyhive_runtime::testing::RecordedRequest;
use honeyhive_runtime::testing::openai::{OpenAiRoute, OpenAiTestServer};
use serde_json::{Value, json};

/// A datapoint's inputs and what the function under test answers: the quickstart's.
pub use crate::qa::{Answer, Question};

/// The key the OpenAI test server checks.
pub const JUDGE_KEY: &str = "sk-judge-0123456789abcdef";

/// Retries in milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(4)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

/// A judge of `server` (its model `judge-model`), asking `form`, cassettes off.
pub fn judge(server: &OpenAiTestServer, form: StructuredOutput) -> Judge {
    judge_with(server, form, WarningHandler::new(|_| {}))
}

/// The same, with warnings to `warnings`.
pub fn judge_with(
    server: &OpenAiTestServer,
    form: StructuredOutput,
    warnings: WarningHandler,
) -> Judge {
    Judge::builder()
        .environment(Environment::empty())
        .base_url(server.url())
        .api_key(JUDGE_KEY)
        .model("judge-model")
        .structured_output(form)
        .retry(fast_retry())
        .on_warning(warnings)
        .build()
        .unwrap()
}

/// A judge of `url` with cassettes in `dir` used as `mode`.
pub fn cached_judge(url: &str, mode: CacheMode, dir: &Path) -> Judge {
    let transport = crate::common::cassette_transport(mode, dir, fast_retry());
    Judge::builder()
        .environment(Environment::empty())
        .base_url(url)
        .api_key(JUDGE_KEY)
        .model("judge-model")
        .transport(transport)
        .on_warning(WarningHandler::new(|_| {}))
        .build()
        .unwrap()
}

/// A key-checking OpenAI test server answering every chat completion with `reply` of the
/// request.
pub fn server(
    reply: impl Fn(&Value) -> honeyhive_runtime::testing::openai::Reply + Send + Sync + 'static,
) -> OpenAiTestServer {
    OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .respond(reply)
        .start()
}

/// The chat completion requests the server got.
pub fn chats(server: &OpenAiTestServer) -> Vec<RecordedRequest> {
    server.requests_on(OpenAiRoute::ChatCompletions)
}

/// How a request asked for its verdict: `json_schema`, `tool_call` or `text`.
pub fn form_of(request: &RecordedRequest) -> &'static str {
    let body = request.json().expect("a JSON body");
    if body.pointer("/response_format/type") == Some(&json!("json_schema")) {
        "json_schema"
    } else if body.get("tool_choice").is_some() {
        "tool_call"
    } else {
        "text"
    }
}

/// The user message of a request.
pub fn prompt_of(request: &RecordedRequest) -> String {
    let body = request.json().expect("a JSON body");
    let messages = body["messages"].as_array().unwrap();
    messages.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The user message the judge sent, from a request body (inside a `respond` function).
pub fn prompt_in(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// `n` datapoints: question `k` expects answer `city k`.
pub fn dataset(n: usize) -> honeyhive::dataset::Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| {
            json!({"inputs": {"question": format!("question {k}")},
                "ground_truth": {"answer": format!("city {k}")}})
            .to_string()
        })
        .collect();
    honeyhive::dataset::Dataset::from_json(&lines.join("\n")).unwrap()
}

/// The answer to question `k`: right for even `k`, wrong for odd.
pub async fn answer(question: Question) -> Answer {
    let k: usize = question
        .question
        .trim_start_matches("question ")
        .parse()
        .unwrap();
    let city = if k.is_multiple_of(2) { k } else { k + 100 };
    Answer {
        answer: format!("It is city {city}."),
        sources: vec![format!("Doc: the answer to question {k} is city {k}.")],
    }
}

/// The text between `<tag>` and `</tag>` in a prompt.
pub fn tagged<'a>(prompt: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>\n");
    let close = format!("\n</{tag}>");
    let start = prompt
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {prompt}"))
        + open.len();
    let end = prompt[start..].find(&close).unwrap() + start;
    &prompt[start..end]
}
