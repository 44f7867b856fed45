//! The OpenAI test server over real HTTP on loopback.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{OpenAiRoute, OpenAiTestServer};
use crate::testing::{Fault, FaultKind};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn post(url: &str, key: Option<&str>, body: Value) -> (u16, reqwest::header::HeaderMap, String) {
    runtime().block_on(async {
        let mut request = reqwest::Client::new().post(url).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_else(|e| format!("<{e}>"));
                (status, headers, text)
            }
            Err(e) => (0, Default::default(), format!("<{e}>")),
        }
    })
}

fn chat(content: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": content}
    ]})
}

/// The `data:` payloads of a server-sent event body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn chat_completion_echoes_the_last_user_message_with_word_usage() {
    let server = OpenAiTestServer::builder().api_key("sk-test").start();
    let url = format!("{}/chat/completions", server.url());
    let (status, _, body) = post(&url, Some("sk-test"), chat("What is the capital?"));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "What is the capital?"
    );
    assert_eq!(answer["model"], "gpt-4o-mini");
    assert_eq!(answer["usage"]["prompt_tokens"], 6);
    assert_eq!(answer["usage"]["completion_tokens"], 4);
    // Without `/v1` too; and a wrong key is refused as OpenAI does, and still recorded.
    let bare = format!("http://{}/chat/completions", server.addr());
    assert_eq!(post(&bare, Some("sk-test"), chat("x")).0, 200);
    let (status, _, body) = post(&url, Some("wrong"), chat("x"));
    assert_eq!(status, 401);
    assert!(body.contains("invalid_api_key"), "{body}");
    let recorded = server.requests_on(OpenAiRoute::ChatCompletions);
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].json().unwrap(), &chat("What is the capital?"));
    assert_eq!(recorded[2].response_status, 401);
}

#[test]
fn streamed_chat_sends_chunks_then_usage_then_done() {
    let server = OpenAiTestServer::builder()
        .reply(|_| "Paris, of course.".to_owned())
        .start();
    let mut request = chat("capital?");
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let (status, headers, body) =
        post(&format!("{}/chat/completions", server.url()), None, request);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let events = events(&body);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(text, "Paris, of course.");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(3), Some(3))
    );
}

#[test]
fn embeddings_answer_one_vector_per_input() {
    let server = OpenAiTestServer::start();
    let (status, _, body) = post(
        &format!("{}/embeddings", server.url()),
        None,
        json!({"model": "text-embedding-3-small", "input": ["one", "two words"]}),
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["data"].as_array().unwrap().len(), 2);
    assert_eq!(answer["data"][1]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
}

#[test]
fn faults_rate_limit_fail_and_drop_in_order() {
    let server = OpenAiTestServer::start();
    server.inject(
        OpenAiRoute::ChatCompletions,
        Fault::status(429).retry_after("2"),
    );
    server.inject(OpenAiRoute::ChatCompletions, Fault::status(503));
    server.inject(OpenAiRoute::Embeddings, Fault::drop_connection());
    let url = format!("{}/chat/completions", server.url());
    let (status, headers, body) = post(&url, None, chat("a"));
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "2");
    assert!(body.contains("rate_limit_exceeded"), "{body}");
    let (status, _, body) = post(&url, None, chat("a"));
    assert_eq!(status, 503);
    assert!(body.contains("server_error"), "{body}");
    assert_eq!(post(&url, None, chat("a")).0, 200);
    let (status, _, _) = post(
        &format!("{}/embeddings", server.url()),
        None,
        json!({"model": "e", "input": "x"}),
    );
    assert_eq!(status, 0, "the connection was dropped without an answer");
    let recorded = server.wait_for_requests(OpenAiRoute::Any, 4, Duration::from_secs(5));
    assert_eq!(recorded[3].fault, Some(FaultKind::DropConnection));
}

#[test]
fn a_broken_stream_stops_midway_and_events_are_paced() {
    let server = OpenAiTestServer::builder()
        .reply(|_| "one two three four".to_owned())
        .event_interval(Duration::from_millis(30))
        .start();
    server.inject(OpenAiRoute::ChatCompletions, Fault::break_stream_after(2));
    let mut request = chat("go");
    request["stream"] = json!(true);
    let url = format!("{}/chat/completions", server.url());
    let body = runtime().block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut stream = response.bytes_stream();
        let mut got = Vec::new();
        let mut failed = false;
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            match chunk {
                Ok(bytes) => got.extend_from_slice(&bytes),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "the body must end in an error, not cleanly");
        String::from_utf8(got).unwrap()
    });
    assert_eq!(events(&body).len(), 2, "{body}");
    // Unbroken, the same stream arrives paced: 7 events 30 ms apart.
    let started = Instant::now();
    let (_, _, body) = post(&url, None, request);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(events(&body).last().unwrap(), "[DONE]");
}

#[test]
fn unknown_paths_and_bad_bodies_say_what_is_wrong() {
    let server = OpenAiTestServer::start();
    let (status, _, body) = post(&format!("{}/responses", server.url()), None, json!({}));
    assert_eq!(status, 404);
    assert!(body.contains("no route for POST /v1/responses"), "{body}");
    let (status, _, body) = post(
        &format!("{}/chat/completions", server.url()),
        None,
        json!({"model": "m"}),
    );
    assert_eq!(status, 400);
    assert!(body.contains("`messages`"), "{body}");
}
