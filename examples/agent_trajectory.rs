//! Agent trajectories: evaluators that read each datapoint's trace (which tools the agent
//! called, in what order, what its model calls cost), not only its answer.
//!
//! ```sh
//! cargo run --example agent_trajectory
//! ```
//!
//! A small agent answers two kinds of questions: arithmetic with a `calculator` tool,
//! the rest with a `search` tool, then writes its answer with a model call. The "model"
//! here is a stand-in function (offline, no key) recorded as a model call with
//! [`ModelCall`](honeyhive::model::ModelCall), exactly as a real client's calls are, so the
//! trace has model calls with tokens and cost. Run it with an API key (`HH_API_KEY`) and
//! the sessions, with every tool and model span, are on HoneyHive; without one, nothing
//! leaves the machine.
//!
//! The evaluators: `right_tool` (the tool the question needs was called, with the
//! question's words), `looked_before_answering` (the span tree and times: the model was
//! asked from `write_answer`, after every tool call ended), and the built-ins
//! `MaxToolCalls`, `MaxTokens` and `MaxCost`.

use honeyhive::evaluators::{MaxCost, MaxTokens, MaxToolCalls};
use honeyhive::experiment::{Comparison, Experiment};
use honeyhive::model::{ModelCall, Usage};
use honeyhive::{Score, Trace, evaluator, evaluators, trace};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Question {
    question: String,
}

/// Looks up documents about `query` (a stand-in index).
#[trace(event_type = "tool")]
async fn search(query: &str) -> Vec<String> {
    let index = [
        (
            "hamlet",
            "Hamlet is a tragedy written by William Shakespeare.",
        ),
        ("france", "Paris is the capital of France."),
        ("water", "Water boils at 100 degrees Celsius at sea level."),
    ];
    let query = query.to_lowercase();
    index
        .iter()
        .filter(|(key, _)| query.contains(key))
        .map(|(_, document)| (*document).to_owned())
        .collect()
}

/// Multiplies two numbers.
#[trace(event_type = "tool")]
fn calculator(a: i64, b: i64) -> i64 {
    a * b
}

/// The model: answers from what the tools gave. A stand-in, recorded as a model call
/// with its tokens (words, here) so the run has tokens and a cost.
#[trace(event_type = "chain")]
fn write_answer(question: &str, context: &str) -> String {
    let messages = serde_json::json!([
        {"role": "system", "content": format!("Answer from this context: {context}")},
        {"role": "user", "content": question},
    ]);
    let mut call = ModelCall::chat("openai", "gpt-4o-mini")
        .messages(&messages)
        .temperature(0.0)
        .start();
    let answer = if context.is_empty() {
        "I don't know.".to_owned()
    } else {
        context.to_owned()
    };
    call.completion(&answer);
    let words = |s: &str| s.split_whitespace().count() as u64;
    call.usage(Usage::new(
        words(question) + words(context) + 4,
        words(&answer),
    ));
    call.end();
    answer
}

/// The agent: picks a tool, then writes its answer.
#[trace(event_type = "chain")]
async fn agent(question: Question) -> String {
    let numbers: Vec<i64> = question
        .question
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let context = match numbers[..] {
        [a, b] => calculator(a, b).to_string(),
        _ => search(&question.question).await.join(" "),
    };
    write_answer(&question.question, &context)
}

/// The tool the question needs was called: the calculator for arithmetic (with its two
/// numbers), the search otherwise (with the question).
#[evaluator]
fn right_tool(inputs: &Question, trace: &Trace) -> Score {
    let arithmetic = inputs.question.chars().any(|c| c.is_ascii_digit());
    let wanted = if arithmetic { "calculator" } else { "search" };
    let calls = trace.tool_calls();
    let right = calls.iter().any(|call| {
        call.name() == wanted
            && match wanted {
                "search" => call
                    .argument("query")
                    .is_some_and(|q| q == inputs.question.as_str()),
                _ => call
                    .arguments()
                    .as_object()
                    .is_some_and(|args| args.len() == 2),
            }
    });
    Score::new(right).explanation(format!(
        "wanted `{wanted}`, called {:?}",
        trace.tool_names()
    ))
}

/// Every model call was made by `write_answer`, after every tool call had ended.
#[evaluator]
fn looked_before_answering(trace: &Trace) -> bool {
    let tools = trace.tool_calls();
    let models = trace.model_calls();
    !models.is_empty()
        && models.iter().all(|model| {
            let span = model.span();
            span.parent().is_some_and(|p| p.name() == "write_answer")
                && tools
                    .iter()
                    .all(|tool| tool.span().end_time() <= span.start_time())
        })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dataset = honeyhive::dataset::Dataset::from_json(
        r#"{"inputs": {"question": "Who wrote Hamlet?"}}
           {"inputs": {"question": "What is the capital of France?"}}
           {"inputs": {"question": "What is 17 times 23?"}}
           {"inputs": {"question": "At what temperature does water boil?"}}"#,
    )?;
    let report = Experiment::new("agent_trajectory")
        .dataset(dataset)
        .evaluators(evaluators![
            right_tool,
            looked_before_answering,
            MaxToolCalls::new(1),
            MaxTokens::new(200),
            MaxCost::new(0.001),
        ])
        .threshold("right_tool", Comparison::AtLeast, 1.0)
        .threshold("looked_before_answering", Comparison::AtLeast, 1.0)
        .threshold("max_tool_calls", Comparison::AtLeast, 1.0)
        .threshold("max_cost", Comparison::AtLeast, 1.0)
        .run(agent)
        .await?;
    report.check()?;
    Ok(())
}
