//! Evaluators that read the datapoint's trace: `trace: &honeyhive::Trace` (or `&Trace`
//! imported), sync and async, alone or with the other parameters in any order, and the
//! trace built-ins in `#[experiment(evaluators = [..])]` with thresholds on their metrics.
//! Every warning is an error: the expansion adds none.
#![deny(
    warnings,
    missing_docs,
    unused_variables,
    unused_mut,
    unused_qualifications
)]

use honeyhive::evaluators::{MaxCost, MaxTokens, MaxToolCalls, ToolCalled, ToolOrder};
use honeyhive::{Score, Trace, evaluator, experiment};
use serde::{Deserialize, Serialize};

/// Inputs.
#[derive(Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub text: String,
}

/// Output and ground truth.
#[derive(PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer.
    pub answer: String,
}

/// The trace named by its full path.
pub mod full_path {
    use honeyhive::evaluator;

    /// The trace alone, sync.
    #[evaluator]
    pub fn few_tools(trace: &honeyhive::Trace) -> bool {
        trace.tool_calls().len() <= 3
    }
}

/// Async, with every other parameter, the trace in the middle.
#[evaluator(name = "grounded")]
pub async fn searched_before_answering(
    output: &Answer,
    trace: &Trace,
    inputs: &Question,
    ground_truth: Option<&Answer>,
) -> Result<Score, String> {
    let searched = trace.tool_calls().iter().any(|call| {
        call.argument("query")
            .is_some_and(|q| q == inputs.text.as_str())
    });
    let right = ground_truth.is_none_or(|truth| truth == output);
    Ok(Score::new(searched && right).extra("model_calls", trace.model_calls().len()))
}

/// The span tree.
#[evaluator]
pub fn shallow(trace: &Trace) -> u32 {
    trace
        .spans()
        .map(|span| span.depth() as u32)
        .max()
        .unwrap_or(0)
}

/// Trace evaluators and the trace built-ins, with thresholds on their metrics.
#[experiment(
    dataset = "tests/data/qa.csv",
    ground_truth = Answer,
    evaluators = [
        full_path::few_tools,
        searched_before_answering,
        shallow,
        ToolCalled::new("search"),
        ToolOrder::new(["search", "answer"]),
        MaxToolCalls::new(4),
        MaxTokens::new(2_000),
        MaxCost::new(0.01),
    ],
    threshold(
        few_tools >= 1,
        grounded >= 0.9,
        grounded_model_calls <= 2,
        tool_called >= 1,
        tool_order >= 1,
        max_tool_calls >= 1,
        max_tokens >= 1,
        max_cost >= 1,
    ),
)]
async fn agent(input: Question) -> Answer {
    Answer { answer: input.text }
}

fn main() {}
