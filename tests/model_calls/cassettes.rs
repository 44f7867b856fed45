//! Cassettes end to end: recorded against the test server, replayed with the server gone,
//! a replay miss, secrets kept out.

use futures_util::StreamExt as _;
use honeyhive::model::CacheMode;
use honeyhive_runtime::testing::openai::OpenAiRoute;
use honeyhive_runtime::testing::{AttrValue, TestServer};

use crate::common::{connected, str_attr, temp_dir};
use crate::support::{
    Client, OPENAI_KEY, chat_request, client, int, model_spans, openai_server, stream_request,
};

/// One plain call, then one streamed call of the same question; the answers' texts.
async fn conversation(client: &Client, question: &str) -> (String, String) {
    let plain = client
        .chat()
        .create(chat_request(question))
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    let mut stream = client
        .chat()
        .create_stream(stream_request(question))
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    let mut streamed = String::new();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk
            .unwrap()
            .choices
            .first()
            .and_then(|c| c.delta.content.clone())
        {
            streamed.push_str(&text);
        }
    }
    (
        plain.choices[0].message.content.clone().unwrap_or_default(),
        streamed,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_calls_replay_with_the_server_gone_and_are_marked_cached() {
    let dir = temp_dir("cassettes-roundtrip");
    let server = TestServer::start();
    let openai = openai_server();
    let url = openai.url();
    let recorded = {
        let client = client(&url, CacheMode::Record, &dir);
        let a = conversation(&client, "What is Rust?").await;
        // The same request again: its own cassette (occurrence 1).
        let b = conversation(&client, "What is Rust?").await;
        (a, b)
    };
    assert_eq!(openai.requests_on(OpenAiRoute::ChatCompletions).len(), 4);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 4, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains(OPENAI_KEY),
            "the API key is in {}",
            file.display()
        );
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );
    }
    drop(openai);

    // The server is gone: replay answers every call, streams included, from the files.
    let tracer = connected(&server).start().await.unwrap();
    let client = client(&url, CacheMode::Replay, &dir);
    let replayed = tracer
        .instrument(async {
            (
                conversation(&client, "What is Rust?").await,
                conversation(&client, "What is Rust?").await,
            )
        })
        .await;
    assert_eq!(replayed, recorded);
    tracer.flush_async().await.unwrap();
    let spans = server.spans();
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 4);
    for span in &chat {
        assert_eq!(
            span.attr("honeyhive_metadata.cached"),
            Some(&AttrValue::Bool(true))
        );
        assert_eq!(str_attr(span, "honeyhive_outputs.content"), "What is Rust?");
        assert!(int(span, "gen_ai.usage.output_tokens") > 0);
        assert_eq!(str_attr(span, "honeyhive.session_id"), tracer.session_id());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_miss_fails_loudly_with_the_closest_difference() {
    let dir = temp_dir("cassettes-miss");
    let openai = openai_server();
    let recorder = client(&openai.url(), CacheMode::Record, &dir);
    recorder
        .chat()
        .create(chat_request("What is Rust?"))
        .await
        .unwrap();
    drop(openai);

    let replay = client("http://127.0.0.1:9/v1", CacheMode::Replay, &dir);
    let error = replay
        .chat()
        .create(chat_request("What is rust?"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "HH_LLM_CACHE=replay: no cassette for POST /v1/chat/completions (model gpt-4o-mini)"
        ),
        "{error}"
    );
    assert!(
        error.contains("- messages.1.content: \"What is Rust?\""),
        "{error}"
    );
    assert!(
        error.contains("+ messages.1.content: \"What is rust?\""),
        "{error}"
    );
    assert!(error.contains("HH_LLM_CACHE=record"), "{error}");

    // Auto records the miss from the server, then replays it.
    let openai = openai_server();
    let auto = client(&openai.url(), CacheMode::Auto, &dir);
    auto.chat()
        .create(chat_request("What is Rust?"))
        .await
        .unwrap();
    auto.chat()
        .create(chat_request("What is rust?"))
        .await
        .unwrap();
    assert_eq!(
        openai.requests_on(OpenAiRoute::ChatCompletions).len(),
        1,
        "only the miss reached the server"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client of `base_url` whose cassettes (in `dir`, used as `mode`) apply the redaction
/// rules of a configuration that adds emails to the defaults.
fn redacting_client(base_url: &str, mode: CacheMode, dir: &std::path::Path) -> Client {
    let config = honeyhive::Config::builder()
        .environment(honeyhive::Environment::empty())
        .redact_emails()
        .build()
        .unwrap();
    let transport = honeyhive::model::ModelTransport::builder()
        .environment(honeyhive::Environment::empty())
        .cache(mode)
        .cache_dir(dir)
        .retry(crate::support::fast_retry())
        .redaction(config.redaction().clone())
        .build()
        .unwrap();
    let config = honeyhive_runtime::async_openai::config::OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(OPENAI_KEY);
    honeyhive::integrations::openai::instrument(
        honeyhive_runtime::async_openai::Client::with_config(config),
        transport,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassettes_are_redacted_and_still_replay() {
    const EMAIL: &str = "ada@example.org";
    const TOKEN: &str = "Bearer abcdefgh12345678.zyx";
    let question = format!("Write to {EMAIL} with header {TOKEN}");
    let dir = temp_dir("cassettes-redacted");
    let openai = openai_server();
    let url = openai.url();
    // The test server's default answer echoes the question: both the request and the
    // answer of the cassette hold the secrets.
    let live = conversation(&redacting_client(&url, CacheMode::Record, &dir), &question).await;
    assert!(live.0.contains(EMAIL), "{}", live.0);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let cassette: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Each part of a cassette is redacted on its own: the request, a whole answer,
        // each event of a streamed answer (a secret split across two events is not seen:
        // docs/redaction.md).
        let parts = std::iter::once(cassette["request"].to_string())
            .chain(cassette["response"].get("body").map(|b| b.to_string()))
            .chain(
                cassette["response"]["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string()),
            );
        for part in parts {
            for secret in [EMAIL, TOKEN] {
                assert!(
                    !part.contains(secret),
                    "{secret} is in {}: {part}",
                    file.display()
                );
            }
        }
        assert!(!text.contains(EMAIL), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
    drop(openai);
    // The same question replays from the redacted cassettes (found by the request as
    // recorded), the secrets answered as `[REDACTED]`.
    let replayed = conversation(&redacting_client(&url, CacheMode::Replay, &dir), &question).await;
    assert!(
        replayed
            .0
            .contains("Write to [REDACTED] with header [REDACTED]"),
        "{}",
        replayed.0
    );
    assert!(!replayed.1.contains(EMAIL), "{}", replayed.1);
}
