//! The documented bridge for crates that emit GenAI `tracing` spans (`rig`, `genai`):
//! `tracing-opentelemetry` on a HoneyHive pipeline's tracer. Their spans join the session
//! of the tracer current where they start, with its evaluation ids, at concurrency.

use std::collections::HashMap;

use honeyhive::experiment::Experiment;
use honeyhive::{Environment, trace};
use honeyhive_runtime::testing::TestServer;
use serde::{Deserialize, Serialize};
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::common::{connected, connected_config, str_attr, temp_dir};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Prompt {
    k: u32,
}

/// What a GenAI-instrumented crate does around its model call: a `tracing` span with the
/// conventions' fields.
async fn third_party_chat(k: u32) -> String {
    let span = tracing::info_span!(
        "chat gpt-4o-mini",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = "gpt-4o-mini",
        gen_ai.usage.input_tokens = tracing::field::Empty,
        prompt = k,
    );
    let _entered = span.enter();
    span.record("gen_ai.usage.input_tokens", 12);
    format!("answer {k}")
}

#[trace]
async fn agent(prompt: Prompt) -> String {
    tokio::task::yield_now().await;
    third_party_chat(prompt.k).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn genai_tracing_spans_join_the_current_session_with_its_ids() {
    const N: u32 = 60;
    let server = TestServer::start();
    let dir = temp_dir("bridge");
    // The bridge: a subscriber whose OpenTelemetry layer uses the pipeline's tracer (one
    // pipeline per destination: any tracer of it gives the same).
    let tracer = connected(&server).start().await.unwrap();
    let otel = tracer.otel_tracer().unwrap().clone();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(otel));
    let dispatch = tracing::Dispatch::new(subscriber);

    let dataset = honeyhive::dataset::Dataset::from_json(
        &(0..N)
            .map(|k| serde_json::json!({"inputs": {"k": k}}).to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let config = connected_config(&server);
    let report = Experiment::new("bridge")
        .config(config)
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset)
        .max_concurrency(20)
        .quiet()
        .run(move |prompt: Prompt| agent(prompt).with_subscriber(dispatch.clone()))
        .await
        .unwrap();
    assert_eq!(report.failed_count, 0);

    let spans = server.spans();
    let roots: HashMap<&str, &str> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .map(|s| {
            (
                str_attr(s, "honeyhive.session_id"),
                str_attr(s, "honeyhive_metadata.datapoint_id"),
            )
        })
        .collect();
    let agents: HashMap<&str, &str> = spans
        .iter()
        .filter(|s| s.name == "agent")
        .map(|s| (s.span_id.as_str(), str_attr(s, "honeyhive.session_id")))
        .collect();
    let bridged: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(bridged.len(), N as usize);
    for span in bridged {
        let session = str_attr(span, "honeyhive.session_id");
        // A child of the #[trace] span that made it, in that span's session.
        let parent = span.parent_span_id.as_deref().unwrap();
        assert_eq!(agents[parent], session);
        assert_eq!(
            str_attr(span, "honeyhive_metadata.datapoint_id"),
            roots[session]
        );
        assert_eq!(str_attr(span, "honeyhive_metadata.run_id"), report.run_id);
        assert_eq!(str_attr(span, "honeyhive_event_type"), "model");
        assert_eq!(str_attr(span, "gen_ai.request.model"), "gpt-4o-mini");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
