//! Evaluators that read the trace: each datapoint's evaluators see exactly the spans its
//! own function made (two tools, two model calls through `async-openai` against the
//! OpenAI test server), at concurrency 50, and the trace built-ins pass and fail on known
//! trajectories in a real run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use honeyhive::evaluators::{MaxCost, MaxTokens, MaxToolCalls, ToolCalled, ToolOrder};
use honeyhive::experiment::{Experiment, ExperimentReport};
use honeyhive::model::CacheMode;
use honeyhive::{
    Environment, EvalFuture, EvalInput, Evaluator, Params, Score, Trace, evaluator, trace,
};
use honeyhive_runtime::testing::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::{connected_config, str_attr, temp_dir};
use crate::support::{Client, chat_request, client, int, mini_cost, openai_server};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Question {
    k: u32,
}

#[trace(event_type = "tool")]
async fn search(query: String) -> Vec<String> {
    tokio::task::yield_now().await;
    vec![format!("doc about {query}")]
}

#[trace(event_type = "tool")]
fn calculator(a: u32, b: u32) -> u32 {
    a + b
}

/// Two tools (one on a spawned task, one on a blocking thread) and two model calls.
#[trace(event_type = "chain", skip(client))]
async fn agent(client: Client, question: Question) -> String {
    let k = question.k;
    let docs = honeyhive::spawn(search(format!("topic {k}")))
        .await
        .unwrap();
    let first = client
        .chat()
        .create(chat_request(&format!("plan {k} with {}", docs[0])))
        .await
        .unwrap();
    let sum = honeyhive::spawn_blocking(move || calculator(k, 1))
        .await
        .unwrap();
    let second = client
        .chat()
        .create(chat_request(&format!("answer {k} sum {sum}")))
        .await
        .unwrap();
    format!(
        "{} / {}",
        first.choices[0].message.content.clone().unwrap_or_default(),
        second.choices[0]
            .message
            .content
            .clone()
            .unwrap_or_default()
    )
}

/// What one datapoint's evaluator saw.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    roots: Vec<String>,
    agent_children: Vec<String>,
    tools: Vec<String>,
    arguments: Vec<serde_json::Value>,
    results: Vec<Option<serde_json::Value>>,
    models: Vec<Option<String>>,
    user_messages: Vec<Option<String>>,
    tokens: Vec<(Option<u64>, Option<u64>)>,
    cost_usd: f64,
    spans: usize,
}

static SEEN: Mutex<BTreeMap<u32, Seen>> = Mutex::new(BTreeMap::new());

/// Records what it was given (checked by the test after the run); async, reading the
/// inputs too.
#[evaluator]
async fn records_the_trace(trace: &Trace, inputs: &Question) -> bool {
    tokio::task::yield_now().await;
    let agent = trace.find("agent").expect("the agent span");
    let calls = trace.model_calls();
    let seen = Seen {
        roots: trace.roots().map(|s| s.name().to_owned()).collect(),
        agent_children: agent.children().map(|s| s.name().to_owned()).collect(),
        tools: trace.tool_names().iter().map(|s| s.to_string()).collect(),
        arguments: trace.tool_calls().iter().map(|c| c.arguments()).collect(),
        results: trace.tool_calls().iter().map(|c| c.result()).collect(),
        models: calls.iter().map(|c| c.model().map(str::to_owned)).collect(),
        user_messages: calls
            .iter()
            .map(|c| {
                c.messages()
                    .into_iter()
                    .find(|m| m.role == "user")
                    .and_then(|m| m.content)
            })
            .collect(),
        tokens: calls
            .iter()
            .map(|c| (c.input_tokens(), c.output_tokens()))
            .collect(),
        cost_usd: trace.cost_usd(),
        spans: trace.len(),
    };
    SEEN.lock().unwrap().insert(inputs.k, seen);
    true
}

/// A sync evaluator on the trace: the model calls are below the agent span.
#[evaluator]
fn models_under_agent(trace: &Trace) -> bool {
    trace
        .model_calls()
        .iter()
        .all(|c| c.span().parent().map(|p| p.name()) == Some("agent"))
}

/// An evaluator written by hand that does not ask for the trace: it is not given one.
struct NoTrace;

impl<I: Sync, O: Sync> Evaluator<I, O> for NoTrace {
    fn name(&self) -> std::borrow::Cow<'static, str> {
        "no_trace".into()
    }
    fn params(&self) -> Params {
        Params {
            output: true,
            ..Params::default()
        }
    }
    fn evaluate<'a>(&'a self, input: EvalInput<'a, I, O>) -> EvalFuture<'a> {
        let given = input.trace.is_some();
        Box::pin(async move { Ok(Score::from(!given)) })
    }
}

fn dataset(n: u32) -> honeyhive::dataset::Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| json!({"inputs": {"k": k}}).to_string())
        .collect();
    honeyhive::dataset::Dataset::from_json(&lines.join("\n")).unwrap()
}

/// Words the test server counts in the request for `question` (system message, then
/// the question) and in its answer (which echoes the question).
fn tokens(question: &str) -> (u64, u64) {
    let words = question.split_whitespace().count() as u64;
    (4 + words, words)
}

async fn run(
    server: &TestServer,
    n: u32,
    client: Client,
    dir: &std::path::Path,
) -> ExperimentReport {
    Experiment::new("agent")
        .config(connected_config(server))
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(dataset(n))
        .max_concurrency(50)
        .evaluator_concurrency(50)
        .quiet()
        .evaluator(records_the_trace {})
        .evaluator(models_under_agent {})
        .evaluator(NoTrace)
        .evaluator(ToolCalled::new("search"))
        .evaluator(ToolOrder::new(["search", "calculator"]))
        .evaluator(MaxToolCalls::new(2))
        .evaluator(MaxTokens::new(1_000))
        .evaluator(MaxCost::new(0.01))
        .evaluator(ToolCalled::new("delete_everything").named("deleted"))
        .evaluator(ToolOrder::new(["calculator", "search"]).named("reversed"))
        .evaluator(MaxToolCalls::new(1).named("one_tool"))
        .evaluator(MaxTokens::new(10).named("ten_tokens"))
        .evaluator(MaxCost::new(0.0).named("free"))
        .run(move |q: Question| agent(client.clone(), q))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_evaluator_reads_its_own_datapoints_trace_at_concurrency_50() {
    const N: u32 = 100;
    let openai = openai_server();
    let dir = temp_dir("trace-evaluators");
    let client = client(&openai.url(), CacheMode::Off, &dir.join("cassettes"));
    let server = TestServer::start();
    let report = run(&server, N, client, &dir).await;
    assert_eq!(
        (report.datapoint_count, report.failed_count),
        (N as usize, 0)
    );

    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), N as usize);
    for (k, seen) in seen {
        let plan = format!("plan {k} with doc about topic {k}");
        let answer = format!("answer {k} sum {}", k + 1);
        let (plan_in, plan_out) = tokens(&plan);
        let (answer_in, answer_out) = tokens(&answer);
        let mini = Some("gpt-4o-mini".to_owned());
        let expected = Seen {
            // The function's spans only: not the datapoint's root, not the evaluators'.
            roots: vec!["agent".into()],
            agent_children: vec![
                "search".into(),
                "chat gpt-4o-mini".into(),
                "calculator".into(),
                "chat gpt-4o-mini".into(),
            ],
            tools: vec!["search".into(), "calculator".into()],
            arguments: vec![
                json!({"query": format!("topic {k}")}),
                json!({"a": k, "b": 1}),
            ],
            results: vec![
                Some(json!([format!("doc about topic {k}")])),
                Some(json!(k + 1)),
            ],
            models: vec![mini.clone(), mini],
            user_messages: vec![Some(plan), Some(answer)],
            tokens: vec![
                (Some(plan_in), Some(plan_out)),
                (Some(answer_in), Some(answer_out)),
            ],
            cost_usd: seen.cost_usd,
            spans: 5,
        };
        assert_eq!(seen, expected, "datapoint {k}");
        let cost = mini_cost(plan_in, plan_out) + mini_cost(answer_in, answer_out);
        assert!(
            (seen.cost_usd - cost).abs() < 1e-15,
            "datapoint {k}: {} vs {cost}",
            seen.cost_usd
        );
    }

    // Every built-in passes on its passing case and fails on its failing one, for every
    // datapoint; the hand-written evaluator that did not ask was given no trace.
    for (metric, want) in [
        ("records_the_trace", 1.0),
        ("models_under_agent", 1.0),
        ("no_trace", 1.0),
        ("tool_called", 1.0),
        ("tool_order", 1.0),
        ("max_tool_calls", 1.0),
        ("max_tokens", 1.0),
        ("max_cost", 1.0),
        ("deleted", 0.0),
        ("reversed", 0.0),
        ("one_tool", 0.0),
        ("ten_tokens", 0.0),
        ("free", 0.0),
    ] {
        let summary = report
            .metric(metric)
            .unwrap_or_else(|| panic!("no metric {metric}"));
        assert_eq!(
            (summary.count, summary.mean),
            (N as usize, Some(want)),
            "{metric}"
        );
    }

    // The span of an evaluator that reads the trace says what it held; the others' do not.
    let spans = server.spans();
    let evaluator_spans = |name: &str| -> Vec<_> {
        spans
            .iter()
            .filter(|s| s.str_attr("gen_ai.evaluation.name") == Some(name))
            .collect()
    };
    let tool_called = evaluator_spans("tool_called");
    assert_eq!(tool_called.len(), N as usize);
    for span in tool_called {
        assert_eq!(
            str_attr(span, "honeyhive_inputs.trace.tool_calls.0"),
            "search"
        );
        assert_eq!(
            str_attr(span, "honeyhive_inputs.trace.tool_calls.1"),
            "calculator"
        );
        assert_eq!(int(span, "honeyhive_inputs.trace.model_calls"), 2);
        assert_eq!(int(span, "honeyhive_inputs.trace.spans"), 5);
    }
    for span in evaluator_spans("no_trace") {
        assert!(span.attr("honeyhive_inputs.trace.spans").is_none());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluator_outside_an_experiment_without_a_trace_errs() {
    let e = records_the_trace {};
    let error = Evaluator::<Question, String>::evaluate(
        &e,
        EvalInput {
            output: &String::new(),
            inputs: &Question { k: 0 },
            ground_truth: None,
            trace: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        error.starts_with("`records_the_trace` reads the datapoint's trace, but was given none"),
        "{error}"
    );
    let params = Evaluator::<Question, String>::params(&e);
    assert!(params.trace && params.inputs && !params.output);
}
