//! The model span of each kind of call made through `async-openai`: plain, streamed,
//! failed, rate limited, dropped and broken streams, embeddings, content capture off.

use std::time::Duration;

use futures_util::StreamExt as _;
use honeyhive::{HoneyHiveTracer, trace};
use honeyhive_runtime::async_openai::error::OpenAIError;
use honeyhive_runtime::async_openai::types::chat::CreateChatCompletionStreamResponse;
use honeyhive_runtime::async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use honeyhive_runtime::testing::openai::{OpenAiRoute, OpenAiTestServer};
use honeyhive_runtime::testing::{
    AttrValue, Fault, RecordedSpan, SpanKind, StatusCode, TestServer,
};

use crate::common::{WAIT, connected, str_attr};
use crate::support::{
    Client, chat_request, float, int, live, mini_cost, model_spans, openai_server, stream_request,
    strings,
};

/// Runs `body` in the scope of a connected tracer, flushes, and returns every span.
async fn traced<F, Fut>(
    server: &TestServer,
    capture: bool,
    body: F,
) -> (HoneyHiveTracer, Vec<RecordedSpan>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let tracer = connected(server)
        .session_name("model-calls")
        .datapoint_id("dp-7")
        .capture_content(capture)
        .start()
        .await
        .unwrap();
    tracer.instrument(body()).await;
    tracer.flush_async().await.unwrap();
    let spans = server.spans();
    (tracer, spans)
}

#[trace(skip(client))]
async fn answer(client: &Client, question: &str) -> String {
    let response = client.chat().create(chat_request(question)).await.unwrap();
    response.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_chat_call_is_a_model_span_under_the_current_span() {
    let server = TestServer::start();
    let openai = openai_server();
    let client = live(&openai);
    let (tracer, spans) = traced(&server, true, || async {
        assert_eq!(
            answer(&client, "What is the capital of France?").await,
            "What is the capital of France?"
        );
    })
    .await;
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 1, "{spans:#?}");
    let span = chat[0];
    let parent = spans.iter().find(|s| s.name == "answer").unwrap();
    assert_eq!(
        span.parent_span_id.as_deref(),
        Some(parent.span_id.as_str())
    );
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.status.code, StatusCode::Unset);
    // The session and its evaluation ids, as on every span.
    assert_eq!(str_attr(span, "honeyhive.session_id"), tracer.session_id());
    assert_eq!(str_attr(span, "honeyhive_metadata.datapoint_id"), "dp-7");
    // GenAI conventions.
    for (key, value) in [
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.response.model", "gpt-4o-mini"),
        ("server.address", "127.0.0.1"),
    ] {
        assert_eq!(str_attr(span, key), value, "{key}");
    }
    assert!(str_attr(span, "gen_ai.response.id").starts_with("chatcmpl-test-"));
    assert_eq!(float(span, "gen_ai.request.temperature"), 0.2);
    assert_eq!(int(span, "gen_ai.request.max_tokens"), 50);
    // Words: 4 of the system message, 6 of the question; 6 of the echoed answer.
    assert_eq!(int(span, "gen_ai.usage.input_tokens"), 10);
    assert_eq!(int(span, "gen_ai.usage.output_tokens"), 6);
    assert_eq!(strings(span, "gen_ai.response.finish_reasons"), ["stop"]);
    assert!(span.attr("gen_ai.request.stream").is_none());
    // The HoneyHive model event.
    assert_eq!(str_attr(span, "honeyhive_event_type"), "model");
    assert_eq!(str_attr(span, "honeyhive_event_name"), "chat gpt-4o-mini");
    assert_eq!(
        str_attr(span, "honeyhive_inputs.chat_history.0.role"),
        "system"
    );
    assert_eq!(
        str_attr(span, "honeyhive_inputs.chat_history.1.content"),
        "What is the capital of France?"
    );
    assert_eq!(str_attr(span, "honeyhive_outputs.role"), "assistant");
    assert_eq!(
        str_attr(span, "honeyhive_outputs.content"),
        "What is the capital of France?"
    );
    assert_eq!(str_attr(span, "honeyhive_config.model"), "gpt-4o-mini");
    assert_eq!(float(span, "honeyhive_config.temperature"), 0.2);
    assert_eq!(int(span, "honeyhive_metrics.input_tokens"), 10);
    assert_eq!(int(span, "honeyhive_metrics.output_tokens"), 6);
    assert_eq!(int(span, "honeyhive_metrics.total_tokens"), 16);
    let cost = float(span, "honeyhive_metrics.cost_usd");
    assert!((cost - mini_cost(10, 6)).abs() < 1e-15, "{cost}");
    assert!(float(span, "honeyhive_duration_ms") > 0.0);
    // The request went out with the client's key, once.
    let requests = openai.requests_on(OpenAiRoute::ChatCompletions);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].response_status, 200);
}

/// A traced step that hands the model's stream on: its span ends with the stream, the
/// chat deltas concatenated as its output; the model span is its child.
#[trace(skip(client))]
async fn streamed_answer(
    client: &Client,
    question: &str,
) -> impl futures_util::Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> {
    client
        .chat()
        .create_stream(stream_request(question))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_fn_returning_the_models_stream_folds_the_deltas() {
    let server = TestServer::start();
    let openai = OpenAiTestServer::builder()
        .api_key(crate::support::OPENAI_KEY)
        .reply(|_| "Streams end when they end.".to_owned())
        .event_interval(Duration::from_millis(5))
        .start();
    let client = live(&openai);
    let (_, spans) = traced(&server, true, || async {
        let chunks: Vec<_> = streamed_answer(&client, "When?").await.collect().await;
        assert!(chunks.iter().all(Result::is_ok));
    })
    .await;
    let step = spans.iter().find(|s| s.name == "streamed_answer").unwrap();
    assert_eq!(
        str_attr(step, "honeyhive_outputs.result"),
        "Streams end when they end."
    );
    assert!(float(step, "honeyhive_metrics.time_to_first_token_ms") > 0.0);
    let model = model_spans(&spans, "chat")[0];
    assert_eq!(model.parent_span_id.as_deref(), Some(step.span_id.as_str()));
    // The step's span closes with its stream, after the model's.
    assert!(step.end_time_unix_nano >= model.end_time_unix_nano);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_call_folds_its_chunks_and_times_the_first_token() {
    let server = TestServer::start();
    let openai = OpenAiTestServer::builder()
        .api_key(crate::support::OPENAI_KEY)
        .reply(|_| "Paris is the capital of France.".to_owned())
        .event_interval(Duration::from_millis(5))
        .start();
    let client = live(&openai);
    let (_, spans) = traced(&server, true, || async {
        let mut stream = client
            .chat()
            .create_stream(stream_request("Capital?"))
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            if let Some(delta) = chunk.choices.first().and_then(|c| c.delta.content.clone()) {
                text.push_str(&delta);
            }
        }
        assert_eq!(text, "Paris is the capital of France.");
    })
    .await;
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 1, "{spans:#?}");
    let span = chat[0];
    assert_eq!(span.status.code, StatusCode::Unset, "{:?}", span.status);
    assert_eq!(
        span.attr("gen_ai.request.stream"),
        Some(&AttrValue::Bool(true))
    );
    assert_eq!(
        str_attr(span, "honeyhive_outputs.content"),
        "Paris is the capital of France."
    );
    assert_eq!(int(span, "gen_ai.usage.input_tokens"), 5);
    assert_eq!(int(span, "gen_ai.usage.output_tokens"), 6);
    assert_eq!(strings(span, "gen_ai.response.finish_reasons"), ["stop"]);
    let first = float(span, "gen_ai.response.time_to_first_chunk");
    let duration = float(span, "honeyhive_duration_ms");
    // The first chunk comes before the last: at least 6 more events 5 ms apart follow it.
    assert!(
        first > 0.0 && first * 1000.0 + 25.0 < duration,
        "{first} s of {duration} ms"
    );
    assert_eq!(
        float(span, "honeyhive_metrics.time_to_first_token_ms"),
        first * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_an_error_span_and_a_rate_limited_one_is_retried_inside_one_span() {
    let server = TestServer::start();
    let openai = openai_server();
    let client = live(&openai);
    // Every attempt of the first call fails (1 + 3 retries); the second call is rate
    // limited once, then answered.
    openai.inject(OpenAiRoute::ChatCompletions, Fault::status(503).times(4));
    openai.inject(
        OpenAiRoute::ChatCompletions,
        Fault::status(429).retry_after("0"),
    );
    let (_, spans) = traced(&server, true, || async {
        let error = client.chat().create(chat_request("a")).await.unwrap_err();
        assert!(
            error.to_string().contains("injected fault: status 503"),
            "{error}"
        );
        client.chat().create(chat_request("b")).await.unwrap();
    })
    .await;
    let chat = model_spans(&spans, "chat");
    assert_eq!(
        chat.len(),
        2,
        "one span per call, retries included: {spans:#?}"
    );
    let failed = chat
        .iter()
        .find(|s| s.status.code == StatusCode::Error)
        .unwrap();
    assert_eq!(str_attr(failed, "error.type"), "503");
    assert_eq!(
        str_attr(failed, "honeyhive_error"),
        "HTTP 503: injected fault: status 503"
    );
    assert_eq!(
        failed.status.message,
        "HTTP 503: injected fault: status 503"
    );
    assert_eq!(failed.events.len(), 1);
    assert_eq!(failed.events[0].name, "exception");
    assert!(failed.attr("honeyhive_outputs.content").is_none());
    let retried = chat
        .iter()
        .find(|s| s.status.code != StatusCode::Error)
        .unwrap();
    assert_eq!(str_attr(retried, "honeyhive_outputs.content"), "b");
    assert_eq!(openai.requests_on(OpenAiRoute::ChatCompletions).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_ends_its_span_cancelled_with_the_partial_output() {
    let server = TestServer::start();
    let openai = OpenAiTestServer::builder()
        .api_key(crate::support::OPENAI_KEY)
        .reply(|_| "one two three four five six seven eight".to_owned())
        .event_interval(Duration::from_millis(40))
        .start();
    let client = live(&openai);
    let (_, spans) = traced(&server, true, || async {
        let mut stream = client
            .chat()
            .create_stream(stream_request("count"))
            .await
            .unwrap();
        // The role chunk, then the first word: then the caller stops listening.
        let mut seen = String::new();
        while seen.is_empty() {
            let chunk = stream.next().await.unwrap().unwrap();
            if let Some(delta) = chunk.choices.first().and_then(|c| c.delta.content.clone()) {
                seen.push_str(&delta);
            }
        }
        assert_eq!(seen, "one");
        drop(stream);
        // The client's reader task lets go of the answer when it sees the drop.
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 1, "{spans:#?}");
    let span = chat[0];
    assert_eq!(span.status.code, StatusCode::Error);
    assert_eq!(span.status.message, "cancelled");
    assert_eq!(str_attr(span, "error.type"), "cancelled");
    assert_eq!(str_attr(span, "honeyhive_error"), "cancelled");
    assert!(span.events.is_empty(), "a cancellation is not an exception");
    let partial = str_attr(span, "honeyhive_outputs.content");
    assert!(partial.starts_with("one"), "{partial}");
    assert!(!partial.contains("eight"), "{partial}");
    assert!(span.attr("gen_ai.usage.input_tokens").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_breaks_off_fails_its_span_with_the_partial_output() {
    let server = TestServer::start();
    // Paced, so the answer's head is out before the break (a break before it is a failed
    // attempt, which the transport retries).
    let openai = OpenAiTestServer::builder()
        .reply(|_| "alpha beta gamma delta".to_owned())
        .event_interval(Duration::from_millis(10))
        .start();
    openai.inject(OpenAiRoute::ChatCompletions, Fault::break_stream_after(3));
    let client = live(&openai);
    let (_, spans) = traced(&server, true, || async {
        let mut stream = client
            .chat()
            .create_stream(stream_request("go"))
            .await
            .unwrap();
        let mut failed = false;
        while let Some(chunk) = stream.next().await {
            failed |= chunk.is_err();
        }
        assert!(failed, "the client sees the broken stream");
    })
    .await;
    let span = model_spans(&spans, "chat")[0];
    assert_eq!(span.status.code, StatusCode::Error);
    assert_eq!(str_attr(span, "error.type"), "stream");
    assert!(
        str_attr(span, "honeyhive_error").starts_with("the streamed answer broke off"),
        "{:?}",
        span.attributes
    );
    // The role chunk and two words came through.
    assert_eq!(str_attr(span, "honeyhive_outputs.content"), "alpha beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_are_model_spans_with_their_input_tokens() {
    let server = TestServer::start();
    let openai = openai_server();
    let client = live(&openai);
    let (_, spans) = traced(&server, true, || async {
        let request = CreateEmbeddingRequestArgs::default()
            .model("text-embedding-3-small")
            .input(vec!["first text", "second longer text"])
            .build()
            .unwrap();
        let response = client.embeddings().create(request).await.unwrap();
        assert_eq!(response.data.len(), 2);
    })
    .await;
    let spans = model_spans(&spans, "embeddings");
    assert_eq!(spans.len(), 1);
    let span = spans[0];
    assert_eq!(span.name, "embeddings text-embedding-3-small");
    assert_eq!(str_attr(span, "honeyhive_event_type"), "model");
    assert_eq!(int(span, "gen_ai.usage.input_tokens"), 5);
    assert_eq!(
        str_attr(span, "honeyhive_inputs.input.1"),
        "second longer text"
    );
    assert_eq!(int(span, "honeyhive_outputs.embeddings"), 2);
    assert_eq!(int(span, "honeyhive_outputs.dimensions"), 8);
    let cost = float(span, "honeyhive_metrics.cost_usd");
    assert!((cost - 5.0 * 0.02 / 1e6).abs() < 1e-18, "{cost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_capture_off_keeps_tokens_and_cost_but_no_text() {
    let server = TestServer::start();
    let openai = openai_server();
    let client = live(&openai);
    let (_, spans) = traced(&server, false, || async {
        client
            .chat()
            .create(chat_request("my private question"))
            .await
            .unwrap();
        let mut stream = client
            .chat()
            .create_stream(stream_request("another private one"))
            .await
            .unwrap();
        while stream.next().await.is_some() {}
    })
    .await;
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 2);
    for span in chat {
        let leaked: Vec<&String> = span
            .attributes
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.contains("private")))
            .map(|(k, _)| k)
            .collect();
        assert!(leaked.is_empty(), "content in {leaked:?}");
        assert!(span.attr("honeyhive_outputs.content").is_none());
        assert!(
            span.attr("honeyhive_inputs.chat_history.1.content")
                .is_none()
        );
        assert!(int(span, "gen_ai.usage.input_tokens") > 0);
        assert!(float(span, "honeyhive_metrics.cost_usd") > 0.0);
        assert_eq!(str_attr(span, "gen_ai.request.model"), "gpt-4o-mini");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_every_tracer_a_call_records_nothing_and_still_answers() {
    let openai = openai_server();
    let client = live(&openai);
    let answer = client.chat().create(chat_request("plain")).await.unwrap();
    assert_eq!(answer.choices[0].message.content.as_deref(), Some("plain"));
    let _ = WAIT;
}
