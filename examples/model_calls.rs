//! Model calls: a small RAG answer through `async-openai`, one plain and one streamed chat
//! completion per question, run as an experiment with tokens, cost and model latency in
//! its summary.
//!
//! ```sh
//! cargo run --example model_calls --features async-openai
//! ```
//!
//! - With `OPENAI_BASE_URL` (and `OPENAI_API_KEY`, as the official SDKs name them) it
//!   talks to that server: OpenAI, or any OpenAI-compatible one (Ollama, vLLM, LiteLLM,
//!   ...); `HH_LLM_MODEL` names the model (default `gpt-4o-mini`).
//! - Without `OPENAI_BASE_URL` it starts the in-repo OpenAI-compatible test server, whose
//!   stand-in model answers from the retrieved context: offline, no key.
//! - `HH_LLM_CACHE=record` writes every call to a cassette under `tests/cassettes/`
//!   (`HH_LLM_CACHE_DIR` to move them); `HH_LLM_CACHE=replay` answers every call from them
//!   with no server at all (the repository's cassettes were recorded against the stand-in);
//!   `auto` replays what is recorded and records the rest.
//!
//! Each datapoint's calls are model spans under its `#[trace]` steps, in its own session;
//! the summary adds `cost_usd`, `input_tokens`, `output_tokens` and `model_latency_ms`, and
//! `threshold(cost_usd <= ..)` fails the run when it costs too much.

// The quickstart's pipeline, for its questions and retrieval.
#[path = "rag/pipeline.rs"]
mod pipeline;
#[path = "qa/pipeline.rs"]
#[allow(dead_code)]
mod qa;

use honeyhive::integrations::openai::async_openai::config::OpenAIConfig;
use honeyhive::model::{CacheMode, CacheMode::Replay, Cassettes};
use honeyhive::testing::openai::OpenAiTestServer;

use pipeline::{Question, Rag, answer, experiment};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mode = Cassettes::from_env(&honeyhive::Environment::process())?.mode();
    let base_url = var("OPENAI_BASE_URL");
    // No server named and calls may reach one: the in-repo stand-in model serves them.
    let stand_in = (base_url.is_none() && mode != Replay).then(|| {
        OpenAiTestServer::builder()
            .reply(pipeline::stand_in_reply)
            .start()
    });
    let mut config = OpenAIConfig::new();
    if let Some(server) = &stand_in {
        config = config.with_api_base(server.url()).with_api_key("stand-in");
    }
    let rag = Rag {
        // The one change to a program's code: the client is built through the integration.
        client: honeyhive::integrations::openai::client(config)?,
        model: var("HH_LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_owned()),
    };
    eprintln!(
        "{}",
        describe(mode, base_url.as_deref(), stand_in.is_some())
    );

    let report = experiment()
        .max_concurrency(4)
        .try_run(move |question: Question| {
            let rag = rag.clone();
            async move { answer(&rag, question).await }
        })
        .await?;
    if let Some(model) = &report.model {
        println!(
            "{} model calls, {} replayed, {} input and {} output tokens, ${:.6}",
            model.calls,
            model.cached_calls,
            model.input_tokens,
            model.output_tokens,
            model.cost_usd
        );
    }
    report.check()?;
    Ok(())
}

fn describe(mode: CacheMode, base_url: Option<&str>, stand_in: bool) -> String {
    let server = match (base_url, stand_in) {
        _ if mode == Replay => "no server (HH_LLM_CACHE=replay)".to_owned(),
        (Some(url), _) => url.to_owned(),
        (None, _) => "the in-repo stand-in model".to_owned(),
    };
    format!("model calls go to {server}; cassettes: {mode}")
}
