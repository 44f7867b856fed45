//! The judge figure of BENCHMARKS.md, in release mode:
//!
//! * `judge_wall_time`: 500 datapoints, each scored by 2 judge evaluators (`Factuality` and
//!   a `Classifier`) whose judge is the in-repo OpenAI-compatible test server answering in
//!   200 ms and serving 50 calls at once (more wait for a slot, as a provider's concurrency
//!   limit queues them), with `evaluator_concurrency(50)`, exporting to the in-repo
//!   HoneyHive test server over loopback. The judge-bound floor is 500 x 2 x 200 ms / 50 =
//!   4 s. The same 1,000 chat completion requests sent by a plain `reqwest` client, 50 at
//!   a time, to the same server, are timed in the same run as the toolkit-free baseline.
//!
//! `cargo bench --bench judge_run` runs it; `-- --smoke`, or `cargo test` (which runs this
//! target without `--bench`), runs a tiny size, so the program cannot rot.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use honeyhive::dataset::Dataset;
use honeyhive::evaluators::judge::{Choices, Classifier, Factuality, Judge};
use honeyhive::experiment::Experiment;
use honeyhive::{Config, Environment, ExportSettings, WarningHandler, trace};
use honeyhive_runtime::testing::TestServer;
use honeyhive_runtime::testing::openai::{OpenAiTestServer, Reply};
use serde::{Deserialize, Serialize};
use serde_json::json;

const KEY: &str = "sk-bench-judge";

#[derive(Serialize, Deserialize)]
struct Question {
    question: String,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    answer: String,
    sources: Vec<String>,
}

/// The application: answers at once (the judges are what this measures).
#[trace(event_type = "chain")]
async fn answer(question: Question) -> Answer {
    Answer {
        answer: format!("The answer to {} is 42.", question.question),
        sources: vec![format!("Doc: {} is 42.", question.question)],
    }
}

fn dataset(n: usize) -> Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| {
            json!({"inputs": {"question": format!("question {k}")},
                "ground_truth": {"answer": "42"}})
            .to_string()
        })
        .collect();
    Dataset::from_json(&lines.join("\n")).expect("a generated dataset")
}

/// One run: `n` datapoints, two judges each, `concurrency` judge calls at once.
async fn experiment(n: usize, concurrency: usize, judge: &Judge, config: Config) -> Duration {
    let factuality = Factuality::new()
        .input_field("question")
        .output_field("answer")
        .expected_field("answer")
        .judge(judge.clone());
    let grounded = Classifier::new(
        "grounded",
        "Is the answer backed by the documents?\n<documents>\n{{ context }}\n</documents>\n\
         <answer>\n{{ output }}\n</answer>\n(A) yes (B) no",
        Choices::new([("A", 1.0), ("B", 0.0)]),
    )
    .expect("a valid template")
    .output_field("answer")
    .context_field("sources")
    .judge(judge.clone());
    let started = Instant::now();
    let report = Experiment::<Question, Answer>::new("bench_judges")
        .config(config)
        .environment(Environment::empty())
        .dataset(dataset(n))
        .evaluator(factuality)
        .evaluator(grounded)
        .max_concurrency(concurrency * 2)
        .evaluator_concurrency(concurrency)
        .quiet()
        .run(answer)
        .await
        .expect("the bench experiment runs");
    let elapsed = started.elapsed();
    assert_eq!(report.failed_count, 0);
    for metric in ["factuality", "grounded"] {
        assert_eq!(report.metric(metric).and_then(|m| m.mean), Some(1.0));
    }
    let judged = report.evaluation_model.as_ref().expect("judge calls");
    assert_eq!(judged.calls, 2 * n as u64);
    elapsed
}

/// The same number of chat completion requests, `concurrency` at a time, by a plain client.
async fn baseline(n: usize, concurrency: usize, url: &str) -> Duration {
    let client = reqwest::Client::new();
    let url = format!("{url}/chat/completions");
    let started = Instant::now();
    futures_util::stream::iter(0..2 * n)
        .map(|k| {
            let request = client.post(&url).bearer_auth(KEY).json(&json!({
                "model": "gpt-4o-mini",
                "temperature": 0.0,
                "messages": [{"role": "user", "content": format!("Judge answer {k}.")}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "verdict",
                    "schema": {"type": "object", "properties": {"choice": {"type": "string",
                    "enum": ["A", "B"]}}, "required": ["choice"]}}},
            }));
            async move {
                let response = request.send().await.expect("the judge server answers");
                assert!(response.status().is_success());
                response.bytes().await.expect("a body");
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    started.elapsed()
}

fn wall_time(smoke: bool) {
    let (n, concurrency, latency) = if smoke {
        (20, 10, Duration::from_millis(20))
    } else {
        (500, 50, Duration::from_millis(200))
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let judge_server = OpenAiTestServer::builder()
        .api_key(KEY)
        .latency(latency)
        .max_concurrency(concurrency)
        .respond(|_| Reply::structured(json!({"reasoning": "It says so.", "choice": "A"})))
        .start();
    let backend = TestServer::builder().api_key("bench-key").start();
    let config = Config::builder()
        .environment(Environment::empty())
        .api_key("bench-key")
        .project("bench")
        .base_url(backend.url())
        .export_settings(ExportSettings::default())
        .build()
        .expect("a config");
    let judge = Judge::builder()
        .environment(Environment::empty())
        .base_url(judge_server.url())
        .api_key(KEY)
        .on_warning(WarningHandler::new(|w| panic!("unexpected warning: {w}")))
        .build()
        .expect("a judge");
    // Warm up (the process, both servers, the connections), then measure: the median of
    // three runs.
    let runs = if smoke { 1 } else { 3 };
    runtime.block_on(experiment(n.min(50), concurrency, &judge, config.clone()));
    let base = runtime.block_on(baseline(n, concurrency, &judge_server.url()));
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| runtime.block_on(experiment(n, concurrency, &judge, config.clone())))
        .collect();
    assert!(
        judge_server.max_in_flight() <= concurrency,
        "the judge server's limit held"
    );
    times.sort();
    let ours = times[times.len() / 2];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let floor = ms(latency) * (2 * n) as f64 / concurrency as f64;
    println!(
        "bench judge_wall_time {:.0} ms (target <= {:.0} ms = 1.25 x the judge-bound floor of {floor:.0} ms; {:.3}x the floor, {:.3}x the toolkit-free baseline of {:.0} ms, {:.3}x the floor; median, {:.0}-{:.0} ms over {runs} runs; {n} datapoints x 2 judges, {concurrency} calls at once, {:.0} ms each)",
        ms(ours),
        floor * 1.25,
        ms(ours) / floor,
        ms(ours) / ms(base),
        ms(base),
        ms(base) / floor,
        ms(times[0]),
        ms(times[times.len() - 1]),
        ms(latency),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // A test runner listing tests (`cargo nextest`): this program has none to list, it
    // runs as one smoke check under `cargo test`.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` (which runs this target, see Cargo.toml)
    // does not, and gets the smoke run.
    let smoke = !args.iter().any(|a| a == "--bench")
        || args.iter().any(|a| a == "--smoke")
        || std::env::var_os("HH_BENCH_SMOKE").is_some();
    wall_time(smoke);
}
