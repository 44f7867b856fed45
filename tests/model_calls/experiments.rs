//! Experiments over model calls: every model span carries its own datapoint's ids at
//! concurrency 50, tokens and cost add up per datapoint and in the report, thresholds name
//! them, replayed calls stay out of latency.

use std::collections::HashMap;

use futures_util::StreamExt as _;
use honeyhive::experiment::{Comparison, Experiment, ExperimentReport};
use honeyhive::model::CacheMode;
use honeyhive::{Environment, trace};
use honeyhive_runtime::testing::TestServer;
use serde::{Deserialize, Serialize};

use crate::common::{connected_config, str_attr, temp_dir};
use crate::support::{
    Client, chat_request, client, mini_cost, model_spans, openai_server, stream_request,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Question {
    k: u32,
}

#[trace]
async fn retrieve(k: u32) -> String {
    tokio::task::yield_now().await;
    format!("context {k}")
}

/// A small RAG step: retrieve, one plain and one streamed call, on a spawned task too.
#[trace(event_type = "chain", skip(client))]
async fn rag(client: Client, question: Question) -> String {
    let k = question.k;
    let context = retrieve(k).await;
    let plain = client
        .chat()
        .create(chat_request(&format!("question {k} with {context}")))
        .await
        .unwrap();
    let streamed = honeyhive::spawn(async move {
        let mut stream = client
            .chat()
            .create_stream(stream_request(&format!("again {k}")))
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            if let Some(t) = chunk
                .unwrap()
                .choices
                .first()
                .and_then(|c| c.delta.content.clone())
            {
                text.push_str(&t);
            }
        }
        text
    })
    .await
    .unwrap();
    format!(
        "{} / {streamed}",
        plain.choices[0].message.content.clone().unwrap_or_default()
    )
}

fn dataset(n: u32) -> honeyhive::dataset::Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| serde_json::json!({"inputs": {"k": k}}).to_string())
        .collect();
    honeyhive::dataset::Dataset::from_json(&lines.join("\n")).unwrap()
}

async fn run(
    server: &TestServer,
    client: Client,
    n: u32,
    dir: &std::path::Path,
    thresholds: &[(&str, Comparison, f64)],
) -> ExperimentReport {
    let config = connected_config(server);
    let mut experiment = Experiment::new("rag")
        .config(config)
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(dataset(n))
        .max_concurrency(50)
        .quiet();
    for (metric, comparison, value) in thresholds {
        experiment = experiment.threshold(*metric, *comparison, *value);
    }
    experiment
        .run(move |q: Question| rag(client.clone(), q))
        .await
        .unwrap()
}

/// Words of the plain request for datapoint `k` and of its streamed one, as the test
/// server counts them (system message, question; the reply echoes the question).
fn tokens(k: u32) -> (u64, u64) {
    let plain = format!("question {k} with context {k}")
        .split_whitespace()
        .count() as u64;
    let streamed = format!("again {k}").split_whitespace().count() as u64;
    let system = 4;
    (system * 2 + plain + streamed, plain + streamed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_model_span_carries_its_own_datapoints_ids_at_concurrency_50() {
    const N: u32 = 200;
    let server = TestServer::start();
    let openai = openai_server();
    let dir = temp_dir("model-experiment");
    let client = client(&openai.url(), CacheMode::Off, &dir.join("cassettes"));
    let report = run(
        &server,
        client,
        N,
        &dir,
        &[
            ("cost_usd", Comparison::AtMost, 0.02),
            ("output_tokens", Comparison::Below, 1.0),
        ],
    )
    .await;
    assert_eq!(
        (report.datapoint_count, report.failed_count),
        (N as usize, 0)
    );

    let spans = server.spans();
    // Each datapoint's session, by the datapoint id its root span carries.
    let roots: HashMap<&str, &str> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .map(|s| {
            (
                str_attr(s, "honeyhive_metadata.datapoint_id"),
                str_attr(s, "honeyhive.session_id"),
            )
        })
        .collect();
    assert_eq!(roots.len(), N as usize);
    let inputs: HashMap<&str, u32> = report
        .datapoints()
        .unwrap()
        .iter()
        .map(|d| (roots[d.datapoint_id.as_str()], d.index as u32))
        .collect();
    let chat = model_spans(&spans, "chat");
    assert_eq!(chat.len(), 2 * N as usize);
    for span in chat {
        let datapoint = str_attr(span, "honeyhive_metadata.datapoint_id");
        let session = str_attr(span, "honeyhive.session_id");
        assert_eq!(
            roots[datapoint], session,
            "a model span with another datapoint's ids"
        );
        assert_eq!(str_attr(span, "honeyhive_metadata.run_id"), report.run_id);
        // The span's own question is its datapoint's.
        let k = inputs[session];
        let question = str_attr(span, "honeyhive_inputs.chat_history.1.content");
        assert!(
            question == format!("question {k} with context {k}")
                || question == format!("again {k}"),
            "datapoint {k} asked {question:?}"
        );
    }

    // Tokens and cost, per datapoint and in the report.
    let datapoints = report.datapoints().unwrap();
    let mut total_cost = 0.0;
    for d in &datapoints {
        let model = d.model.as_ref().unwrap();
        let (input, output) = tokens(d.index as u32);
        assert_eq!(
            (model.calls, model.input_tokens, model.output_tokens),
            (2, input, output)
        );
        let expected = mini_cost(input, output);
        assert!(
            (model.cost_usd - expected).abs() < 1e-15,
            "{} vs {expected}",
            model.cost_usd
        );
        assert_eq!(model.latencies_ms.len(), 2);
        total_cost += model.cost_usd;
    }
    let totals = report.model.as_ref().unwrap();
    assert_eq!((totals.calls, totals.cached_calls), (2 * N as u64, 0));
    assert!((totals.cost_usd - total_cost).abs() < 1e-12);
    let cost = report.metric("cost_usd").unwrap();
    assert_eq!(cost.count, N as usize);
    assert!((cost.mean.unwrap() - total_cost / N as f64).abs() < 1e-15);
    assert_eq!(cost.passed, Some(true));
    let latency = report.metric("model_latency_ms").unwrap();
    assert_eq!(latency.count, 2 * N as usize);
    assert!(latency.p50.unwrap() > 0.0 && latency.p90.unwrap() >= latency.p50.unwrap());
    // A missed threshold on a model metric fails the run, naming it.
    let failure = report.check().unwrap_err().to_string();
    assert!(
        failure.contains("metric `output_tokens`: mean"),
        "{failure}"
    );
    assert!(!failure.contains("cost_usd"), "{failure}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_replayed_from_cassettes_needs_no_server_and_leaves_latency_out() {
    let server = TestServer::start();
    let dir = temp_dir("model-experiment-replay");
    let cassettes = dir.join("cassettes");
    let openai = openai_server();
    let url = openai.url();
    let recorded = run(
        &server,
        client(&url, CacheMode::Record, &cassettes),
        6,
        &dir,
        &[],
    )
    .await;
    drop(openai);
    let replayed = run(
        &server,
        client(&url, CacheMode::Replay, &cassettes),
        6,
        &dir,
        &[],
    )
    .await;
    assert_eq!(replayed.failed_count, 0);
    let totals = replayed.model.as_ref().unwrap();
    assert_eq!((totals.calls, totals.cached_calls), (12, 12));
    assert_eq!(
        replayed.metric("cost_usd").unwrap().mean,
        recorded.metric("cost_usd").unwrap().mean
    );
    assert_eq!(replayed.metric("model_latency_ms").unwrap().count, 0);
    let outputs = |r: &ExperimentReport| -> Vec<String> {
        let text = std::fs::read_to_string(r.report_dir.as_ref().unwrap().join("datapoints.jsonl"))
            .unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["output"].to_string())
            .collect()
    };
    assert_eq!(outputs(&replayed), outputs(&recorded));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(replayed.report_dir.as_ref().unwrap().join("summary.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["model"]["cached_calls"], 12);
    assert!(
        summary["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "cost_usd")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
