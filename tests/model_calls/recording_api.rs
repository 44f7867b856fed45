//! The recording API used directly, as a client other than `async-openai` would: the
//! attributes it writes, the cost arithmetic with a user's prices, unpriced models.

use honeyhive::model::{ModelCall, Operation, Price, Usage};
use honeyhive::{Warning, trace};
use honeyhive_runtime::testing::{StatusCode, TestServer};
use serde_json::json;

use crate::common::{Warnings, connected, str_attr};
use crate::support::{float, int, model_spans, strings};

#[trace]
fn by_hand(question: &str) -> String {
    let messages = json!([{"role": "user", "content": question}]);
    let mut call = ModelCall::chat("anthropic", "house-model")
        .messages(&messages)
        .temperature(0.0)
        .max_tokens(100)
        .top_p(0.9)
        .stop_sequences(&["\n\n"])
        .seed(7)
        .parameter("response_format", &json!({"type": "text"}))
        .server("models.internal", 8443)
        .start();
    call.response_model("house-model-2025-01-01");
    call.response_id("msg_1");
    call.completion("forty-two");
    call.finish_reason("end_turn");
    call.usage(
        Usage::new(1_000, 500)
            .cached_input_tokens(200)
            .reasoning_output_tokens(100),
    );
    call.end();
    "forty-two".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_recorded_by_hand_carries_every_attribute_and_its_exact_cost() {
    let server = TestServer::start();
    let warnings = Warnings::default();
    let tracer = connected(&server)
        .price("house-model", Price::new(2.0, 8.0).with_cached_input(0.5))
        .on_warning(warnings.handler())
        .start()
        .await
        .unwrap();
    tracer.in_scope(|| by_hand("What is six times seven?"));
    // A model without a price: no cost, and one warning however many calls.
    tracer.in_scope(|| {
        for _ in 0..3 {
            let mut call =
                ModelCall::builder(Operation::Other("rerank".into()), "cohere", "unknown-model")
                    .start();
            call.usage(Usage::new(10, 0));
            call.end();
        }
        let call = ModelCall::chat("openai", "gpt-4o").start();
        call.fail("timeout", "the model took too long");
    });
    tracer.flush_async().await.unwrap();
    let spans = server.spans();
    let span = model_spans(&spans, "chat")
        .into_iter()
        .find(|s| s.name == "chat house-model")
        .unwrap();
    let parent = spans.iter().find(|s| s.name == "by_hand").unwrap();
    assert_eq!(
        span.parent_span_id.as_deref(),
        Some(parent.span_id.as_str())
    );
    for (key, value) in [
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.request.model", "house-model"),
        ("gen_ai.response.model", "house-model-2025-01-01"),
        ("gen_ai.response.id", "msg_1"),
        ("server.address", "models.internal"),
        ("honeyhive_event_type", "model"),
        (
            "honeyhive_inputs.chat_history.0.content",
            "What is six times seven?",
        ),
        ("honeyhive_outputs.content", "forty-two"),
        ("honeyhive_config.response_format.type", "text"),
        ("honeyhive_config.provider", "anthropic"),
    ] {
        assert_eq!(str_attr(span, key), value, "{key}");
    }
    assert_eq!(int(span, "server.port"), 8443);
    assert_eq!(int(span, "gen_ai.request.seed"), 7);
    assert_eq!(float(span, "gen_ai.request.top_p"), 0.9);
    assert_eq!(strings(span, "gen_ai.request.stop_sequences"), ["\n\n"]);
    assert_eq!(
        strings(span, "gen_ai.response.finish_reasons"),
        ["end_turn"]
    );
    assert_eq!(int(span, "gen_ai.usage.cache_read.input_tokens"), 200);
    assert_eq!(int(span, "gen_ai.usage.reasoning.output_tokens"), 100);
    // Priced as the answering model's longest listed prefix: 800 fresh input tokens at
    // $2/M, 200 cached at $0.5/M, 500 output at $8/M.
    let expected = (800.0 * 2.0 + 200.0 * 0.5 + 500.0 * 8.0) / 1e6;
    assert_eq!(float(span, "honeyhive_metrics.cost_usd"), expected);

    let reranks = model_spans(&spans, "rerank");
    assert_eq!(reranks.len(), 3);
    for span in reranks {
        assert_eq!(str_attr(span, "honeyhive_event_type"), "model");
        assert!(span.attr("honeyhive_metrics.cost_usd").is_none());
        assert_eq!(int(span, "honeyhive_metrics.input_tokens"), 10);
    }
    let unpriced: Vec<Warning> = warnings
        .all()
        .into_iter()
        .filter(|w| matches!(w, Warning::UnpricedModel { .. }))
        .collect();
    assert_eq!(
        unpriced,
        [Warning::UnpricedModel {
            model: "unknown-model".into()
        }]
    );
    let failed = spans.iter().find(|s| s.name == "chat gpt-4o").unwrap();
    assert_eq!(failed.status.code, StatusCode::Error);
    assert_eq!(str_attr(failed, "error.type"), "timeout");
    assert_eq!(
        str_attr(failed, "honeyhive_error"),
        "the model took too long"
    );
}

#[test]
fn without_a_tracer_the_api_is_inert() {
    let mut call = ModelCall::chat("openai", "gpt-4o-mini")
        .messages(&json!([{"role": "user", "content": "x"}]))
        .start();
    assert!(!call.is_recording());
    call.chunk("ignored");
    call.end();
}
