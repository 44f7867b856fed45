//! The pipeline of `examples/model_calls.rs`, replayed from the cassettes committed under
//! `tests/cassettes/` with no server at all: what `HH_LLM_CACHE=replay cargo run --example
//! model_calls --features async-openai` does, kept working by every test run.

#[path = "../../examples/qa/pipeline.rs"]
#[allow(dead_code)]
mod qa;
// The stand-in model's reply is the example's own (it serves it when no server is named).
#[path = "../../examples/rag/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

use honeyhive::Environment;
use honeyhive::integrations::openai::async_openai;

use pipeline::{Question, Rag, answer, experiment};

use crate::common::{committed_cassettes, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_replays_from_the_committed_cassettes_with_no_server() {
    let dir = temp_dir("example-replay");
    // Port 9 (discard): nothing may reach it; replay never tries.
    let config = async_openai::config::OpenAIConfig::new()
        .with_api_base("http://127.0.0.1:9/v1")
        .with_api_key("unused");
    let rag = Rag {
        client: honeyhive::integrations::openai::instrument(
            async_openai::Client::with_config(config),
            committed_cassettes(),
        ),
        model: "gpt-4o-mini".to_owned(),
    };
    let report = experiment()
        .environment(Environment::empty())
        .local_dir(&dir)
        .quiet()
        .try_run(move |question: Question| {
            let rag = rag.clone();
            async move { answer(&rag, question).await }
        })
        .await
        .unwrap();
    let failures: Vec<String> = report
        .failure_sample()
        .iter()
        .map(|d| d.error.clone().unwrap_or_default())
        .collect();
    assert_eq!(report.failed_count, 0, "{failures:#?}");
    let model = report.model.as_ref().unwrap();
    assert_eq!((model.calls, model.cached_calls), (10, 10));
    assert!(model.cost_usd > 0.0);
    report.check().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
