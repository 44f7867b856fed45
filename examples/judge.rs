//! LLM judges: the quickstart's QA pipeline scored by `Factuality` and a classifier of our
//! own, both asking a model for a choice letter (`A`, `B`, ...), so any OpenAI-compatible
//! server can drive them.
//!
//! ```sh
//! cargo run --example judge                          # offline: the stand-in judge
//! OPENAI_BASE_URL=http://127.0.0.1:11434/v1 HH_JUDGE_MODEL=llama3.1 \
//!     cargo run --example judge                      # a real model (here Ollama)
//! HH_LLM_CACHE=replay cargo run --example judge      # from the committed cassettes
//! ```
//!
//! - With `OPENAI_BASE_URL` (and `OPENAI_API_KEY`) the judge is that server's model named
//!   in `HH_JUDGE_MODEL` (default `gpt-4o-mini`): OpenAI, or any OpenAI-compatible server
//!   (Ollama, vLLM, LiteLLM, ...). `HH_JUDGE_BASE_URL` and `HH_JUDGE_API_KEY` point the
//!   judge elsewhere than the application.
//! - Without either it starts the in-repo OpenAI-compatible test server as a stand-in
//!   judge, whose verdicts come from a plain rule (`stand_in_judge` in
//!   `examples/judging/judges.rs`): offline, no key.
//! - `HH_LLM_CACHE=replay` answers every judge call from the cassettes committed under
//!   `tests/cassettes/` (recorded against the stand-in with `HH_LLM_CACHE=record`), with
//!   no server at all.
//!
//! The summary shows each judge's metric and the letters it chose, and the evaluation cost
//! (the judges' calls, tokens and dollars) on a line of its own, apart from the
//! application's. Each datapoint's judge calls are model spans under its evaluators'
//! spans; each judge's reasoning is its score's explanation, in the report's
//! `datapoints.jsonl`.

#[path = "judging/judges.rs"]
mod judges;
#[path = "qa/pipeline.rs"]
#[allow(dead_code)]
mod qa;

use honeyhive::evaluators::judge::Judge;
use honeyhive::model::{CacheMode, Cassettes};
use honeyhive::testing::openai::OpenAiTestServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = honeyhive::Environment::process();
    let mode = Cassettes::from_env(&env)?.mode();
    let named = ["HH_JUDGE_BASE_URL", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|url| !url.trim().is_empty()));
    // No server named and calls may reach one: the stand-in judge serves them.
    let stand_in = (!named && mode != CacheMode::Replay).then(|| {
        OpenAiTestServer::builder()
            .respond(judges::stand_in_judge)
            .start()
    });
    let mut judge = Judge::builder();
    if let Some(server) = &stand_in {
        judge = judge.base_url(server.url()).api_key("stand-in");
    }
    let judge = judge.build()?;
    let server = match (&stand_in, mode) {
        (_, CacheMode::Replay) => "no server (HH_LLM_CACHE=replay)".to_owned(),
        (Some(_), _) => "the in-repo stand-in judge".to_owned(),
        (None, _) => judge.url().to_owned(),
    };
    eprintln!("judge: {} at {server}; cassettes: {mode}", judge.model());

    let report = judges::experiment(&judge)
        .max_concurrency(4)
        .run(judges::answer)
        .await?;

    // Each datapoint's verdicts: the letter each judge chose and its score (the judges'
    // reasoning is in the report's datapoints.jsonl, as each score's explanation).
    for datapoint in report.read_datapoints()? {
        let datapoint = datapoint?;
        let verdicts: Vec<String> = datapoint
            .evaluations
            .iter()
            .map(|e| match (&e.label, e.score) {
                (Some(letter), Some(score)) => format!("{} {letter} ({score})", e.name),
                _ => format!("{} unscored: {}", e.name, e.errors.join("; ")),
            })
            .collect();
        println!("{}: {}", datapoint.label(), verdicts.join(", "));
    }
    report.check()?;
    Ok(())
}
