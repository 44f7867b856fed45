//! Replay figure of BENCHMARKS.md, in release mode:
//!
//! * `replay_vs_stub_model`: an experiment of 1,000 datapoints, each making one chat
//!   completion through `async-openai` inside a `#[trace]` step, concurrency 50, local
//!   mode; answered from cassettes (the integration in `HH_LLM_CACHE=replay` mode: every
//!   call a model span, its tokens and cost added up), against the same experiment whose
//!   client answers from an in-process stub model (no HTTP, no cassette) that records the
//!   same model span through `ModelCall`, so that the figure is what answering from
//!   cassettes costs. (`replay_vs_untraced_stub_model` is against the stub without the
//!   model span: what the span costs too.)
//!   The cassettes are recorded first, against the in-repo OpenAI test server (not timed).
//!   Runs alternate, and the figure is the ratio of the medians. The process keeps the
//!   cassette files it has read (as a test binary running several experiments does), so
//!   after the warm-up the files are not read again.
//! * `replay_first_read_vs_stub_model`: the same, each replayed run reading its cassettes
//!   for the first time in the process (a fresh copy of the directory per run, copied
//!   before the run is timed): what the first experiment over a set of cassettes costs.
//!
//! `cargo bench --bench model_replay` runs it; `-- --smoke`, or `cargo test` (which runs this
//! target without `--bench`), runs a tiny size, so the program cannot rot.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::integrations::openai::async_openai;
use honeyhive::model::{CacheMode, ModelCall, ModelTransport, Usage};
use honeyhive::{Environment, trace};
use honeyhive_runtime::testing::openai::OpenAiTestServer;
use serde::{Deserialize, Serialize};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};

type Client = async_openai::Client<OpenAIConfig>;

#[derive(Serialize, Deserialize)]
struct Input {
    k: u64,
    text: String,
}

#[trace(skip(client))]
async fn answer(client: &Client, text: &str) -> Result<String, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .temperature(0.0)
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content(text)
            .build()?
            .into()])
        .build()?;
    let response = client.chat().create(request).await?;
    Ok(response.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default())
}

#[trace(event_type = "chain", skip(client))]
async fn pipeline(client: &Client, input: Input) -> Result<String, OpenAIError> {
    answer(client, &input.text).await
}

/// The stub model: answers every chat completion in process, with the answer the test
/// server would give (the question back), never touching the network; `traced`, it
/// records the call as the integration does (a model span with the messages, parameters,
/// completion, usage and finish reason).
#[derive(Clone)]
struct Stub {
    traced: bool,
}

type StubFuture =
    Pin<Box<dyn std::future::Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower_service::Service<HttpRequestFactory> for Stub {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = StubFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> StubFuture {
        let traced = self.traced;
        Box::pin(async move {
            let request = factory.build().await?;
            let body: serde_json::Value = request
                .body()
                .and_then(|b| b.as_bytes())
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            let text = body["messages"][0]["content"].as_str().unwrap_or_default();
            let words = text.split_whitespace().count();
            if traced {
                let model = body["model"].as_str().unwrap_or_default();
                let mut call = ModelCall::chat("openai", model)
                    .messages(&body["messages"])
                    .temperature(0.0)
                    .start();
                call.completion(text);
                call.usage(Usage::new(words as u64, words as u64));
                call.finish_reason("stop");
                call.response_id("chatcmpl-stub");
                call.response_model(model);
                call.end();
            }
            let answer = serde_json::json!({
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": words, "completion_tokens": words,
                          "total_tokens": 2 * words}
            });
            let response = http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(reqwest::Body::from(answer.to_string()))
                .expect("a response");
            Ok(reqwest::Response::from(response))
        })
    }
}

fn dataset(n: u64) -> Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| format!(r#"{{"inputs": {{"k": {k}, "text": "question number {k}"}}}}"#))
        .collect();
    Dataset::from_json(&lines.join("\n")).expect("a generated dataset")
}

fn openai_config(base_url: &str) -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key("bench-key")
}

/// A client through the integration, cassettes in `dir` used as `mode`.
fn integrated(base_url: &str, mode: CacheMode, dir: &Path) -> Client {
    let transport = ModelTransport::builder()
        .environment(Environment::empty())
        .cache(mode)
        .cache_dir(dir)
        .build()
        .expect("a transport");
    honeyhive::integrations::openai::instrument(
        Client::with_config(openai_config(base_url)),
        transport,
    )
}

async fn experiment(n: u64, client: Client, local: &Path) -> Duration {
    let started = Instant::now();
    let report = Experiment::<Input, String>::new("replay")
        .environment(Environment::empty())
        .local_dir(local)
        .dataset(dataset(n))
        .max_concurrency(50)
        .quiet()
        .try_run(move |input: Input| {
            let client = client.clone();
            async move { pipeline(&client, input).await }
        })
        .await
        .expect("the bench experiment runs");
    let elapsed = started.elapsed();
    assert_eq!(report.failed_count, 0);
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let smoke = !args.iter().any(|a| a == "--bench")
        || args.iter().any(|a| a == "--smoke")
        || std::env::var_os("HH_BENCH_SMOKE").is_some();
    let (n, runs) = if smoke { (20, 1) } else { (1_000, 7) };
    let dir = std::env::temp_dir().join(format!("honeyhive-bench-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cassettes = dir.join("cassettes");
    let local = dir.join("local");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    // Record every datapoint's call once, against the test server.
    let server = OpenAiTestServer::start();
    let url = server.url();
    runtime.block_on(experiment(
        n,
        integrated(&url, CacheMode::Record, &cassettes),
        &local,
    ));
    drop(server);
    let recorded = std::fs::read_dir(&cassettes).map_or(0, |d| d.count());
    assert_eq!(recorded as u64, n, "one cassette per datapoint");

    // Warm up both, then alternate.
    let stub = || Client::with_config(openai_config(&url)).with_http_service(Stub { traced: true });
    let untraced =
        || Client::with_config(openai_config(&url)).with_http_service(Stub { traced: false });
    runtime.block_on(experiment(n, stub(), &local));
    runtime.block_on(experiment(n, untraced(), &local));
    runtime.block_on(experiment(
        n,
        integrated(&url, CacheMode::Replay, &cassettes),
        &local,
    ));
    let mut stubbed = Vec::new();
    let mut replayed = Vec::new();
    let mut first_read = Vec::new();
    let mut bare = Vec::new();
    let copy = |round: usize| {
        let fresh = dir.join(format!("fresh-{round}"));
        std::fs::create_dir_all(&fresh).expect("a fresh directory");
        for entry in std::fs::read_dir(&cassettes).expect("the cassettes") {
            let path = entry.expect("a cassette").path();
            std::fs::copy(&path, fresh.join(path.file_name().expect("a name"))).expect("a copy");
        }
        fresh
    };
    for round in 0..runs {
        let fresh = copy(round);
        bare.push(runtime.block_on(experiment(n, untraced(), &local)));
        first_read.push(runtime.block_on(experiment(
            n,
            integrated(&url, CacheMode::Replay, &fresh),
            &local,
        )));
        let stub_run = || runtime.block_on(experiment(n, stub(), &local));
        let replay_run = || {
            runtime.block_on(experiment(
                n,
                integrated(&url, CacheMode::Replay, &cassettes),
                &local,
            ))
        };
        if round % 2 == 0 {
            stubbed.push(stub_run());
            replayed.push(replay_run());
        } else {
            replayed.push(replay_run());
            stubbed.push(stub_run());
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (stub, replay) = (median(stubbed.clone()), median(replayed.clone()));
    let first = median(first_read.clone());
    let untraced_stub = median(bare.clone());
    let range = |v: &[Duration]| {
        let lo = v.iter().min().copied().unwrap_or_default();
        let hi = v.iter().max().copied().unwrap_or_default();
        format!("{:.0}-{:.0} ms", ms(lo), ms(hi))
    };
    println!(
        "bench replay_vs_stub_model {:.2} x (target <= 1.25; {n} datapoints, concurrency 50: \
         replayed from cassettes {:.0} ms ({}), in-process stub model {:.0} ms ({}); medians \
         of {runs} alternating runs)",
        ms(replay) / ms(stub),
        ms(replay),
        range(&replayed),
        ms(stub),
        range(&stubbed)
    );
    println!(
        "bench replay_vs_untraced_stub_model {:.2} x (no target: against the stub without the \
         model span: {:.0} ms ({}))",
        ms(replay) / ms(untraced_stub),
        ms(untraced_stub),
        range(&bare)
    );
    println!(
        "bench replay_first_read_vs_stub_model {:.2} x (no target: the same, each replayed \
         run reading its {n} cassette files for the first time in the process: {:.0} ms ({}))",
        ms(first) / ms(stub),
        ms(first),
        range(&first_read)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
