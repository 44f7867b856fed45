//! [`ToolCalled`], [`ToolOrder`], [`MaxToolCalls`]: checks of the tool calls of a
//! datapoint's [`Trace`] (an agent's trajectory).

use std::borrow::Cow;

use super::on_trace::trace_evaluator;
use crate::evaluator::{Score, Trace};

/// The tools called, as the explanations list them.
fn called(trace: &Trace) -> String {
    let names = trace.tool_names();
    if names.is_empty() {
        "no tool was called".to_owned()
    } else {
        format!("tools called, in order: {}", names.join(", "))
    }
}

/// Scores 1 when the datapoint's function called the tool `name` at least once, else 0;
/// metric `tool_called` (+ `tool_called_count`, the calls of that tool). Reads the trace
/// (what a tool call is: [`Trace`]).
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ToolCalled;
/// use honeyhive::{EvalInput, Evaluator, Trace};
/// use serde_json::json;
///
/// let trace = Trace::builder().tool("search", json!({"query": "rust"}), json!([])).build();
/// let input = EvalInput { output: &(), inputs: &(), ground_truth: None, trace: Some(&trace) };
///
/// let score = block_on(ToolCalled::new("search").evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(1.0));
/// let score = block_on(ToolCalled::new("calculator").evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.explanation.unwrap(), "`calculator` was not called; tools called, in order: search");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToolCalled {
    tool: String,
    name: Cow<'static, str>,
}

impl ToolCalled {
    /// Checks that the tool named `tool` was called.
    ///
    /// # Panics
    /// When `tool` is empty.
    #[track_caller]
    pub fn new(tool: impl Into<String>) -> ToolCalled {
        let tool = tool.into();
        assert!(
            !tool.is_empty(),
            "ToolCalled::new needs the name of a tool (the tool span's name)"
        );
        ToolCalled {
            tool,
            name: Cow::Borrowed("tool_called"),
        }
    }

    fn check(&self, trace: &Trace) -> Result<Score, String> {
        let count = trace
            .tool_names()
            .iter()
            .filter(|n| **n == self.tool)
            .count();
        let score = Score::new(count > 0).extra("count", count);
        Ok(if count > 0 {
            score
        } else {
            score.explanation(format!("`{}` was not called; {}", self.tool, called(trace)))
        })
    }
}

/// Scores 1 when the tools listed were called in that order, else 0; metric `tool_order`.
///
/// By default other calls may come before, between and after them (the list is a
/// subsequence of the calls); [`exact`](Self::exact) asks for exactly these calls. Calls
/// are ordered by when they started. Reads the trace.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ToolOrder;
/// use honeyhive::{EvalInput, Evaluator, Trace};
/// use serde_json::json;
///
/// let trace = Trace::builder()
///     .tool("search", json!({}), json!([]))
///     .tool("fetch", json!({}), json!(""))
///     .tool("answer", json!({}), json!(""))
///     .build();
/// let input = EvalInput { output: &(), inputs: &(), ground_truth: None, trace: Some(&trace) };
///
/// let score = |e: ToolOrder| block_on(e.evaluate(input)).unwrap().score;
/// assert_eq!(score(ToolOrder::new(["search", "answer"])), Some(1.0));
/// assert_eq!(score(ToolOrder::new(["answer", "search"])), Some(0.0));
/// assert_eq!(score(ToolOrder::new(["search", "answer"]).exact()), Some(0.0));
/// assert_eq!(score(ToolOrder::new(["search", "fetch", "answer"]).exact()), Some(1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToolOrder {
    tools: Vec<String>,
    exact: bool,
    name: Cow<'static, str>,
}

impl ToolOrder {
    /// Checks that `tools` were called in this order.
    ///
    /// # Panics
    /// When `tools` is empty or names an empty tool.
    #[track_caller]
    pub fn new<S: Into<String>>(tools: impl IntoIterator<Item = S>) -> ToolOrder {
        let tools: Vec<String> = tools.into_iter().map(Into::into).collect();
        assert!(
            !tools.is_empty() && tools.iter().all(|t| !t.is_empty()),
            "ToolOrder::new needs the names of the tools, in the order they must be called"
        );
        ToolOrder {
            tools,
            exact: false,
            name: Cow::Borrowed("tool_order"),
        }
    }

    /// Asks for exactly these tool calls, no other before, between or after them.
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    fn check(&self, trace: &Trace) -> Result<Score, String> {
        let calls = trace.tool_names();
        let wanted: Vec<&str> = self.tools.iter().map(String::as_str).collect();
        let ok = if self.exact {
            calls == wanted
        } else {
            let mut calls = calls.iter();
            wanted.iter().all(|w| calls.any(|c| c == w))
        };
        let score = Score::new(ok);
        if ok {
            return Ok(score);
        }
        let how = if self.exact {
            "exactly"
        } else {
            "in this order"
        };
        Ok(score.explanation(format!(
            "expected {how}: {}; {}",
            wanted.join(", "),
            called(trace)
        )))
    }
}

/// Scores 1 when the function made at most `max` tool calls (of one tool, with
/// [`tool`](Self::tool)), else 0; metric `max_tool_calls` (+ `max_tool_calls_count`).
/// Reads the trace.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::MaxToolCalls;
/// use honeyhive::{EvalInput, Evaluator, Trace};
/// use serde_json::json;
///
/// let trace = Trace::builder()
///     .tool("search", json!({"query": "a"}), json!([]))
///     .tool("search", json!({"query": "b"}), json!([]))
///     .tool("answer", json!({}), json!(""))
///     .build();
/// let input = EvalInput { output: &(), inputs: &(), ground_truth: None, trace: Some(&trace) };
///
/// let score = block_on(MaxToolCalls::new(2).evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.extra, vec![("count".to_owned(), 3.0)]);
/// assert_eq!(block_on(MaxToolCalls::new(2).tool("search").evaluate(input)).unwrap().score, Some(1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxToolCalls {
    max: usize,
    tool: Option<String>,
    name: Cow<'static, str>,
}

impl MaxToolCalls {
    /// Checks that at most `max` tool calls were made.
    pub fn new(max: usize) -> MaxToolCalls {
        MaxToolCalls {
            max,
            tool: None,
            name: Cow::Borrowed("max_tool_calls"),
        }
    }

    /// Counts only the calls of the tool named `tool`.
    pub fn tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    fn check(&self, trace: &Trace) -> Result<Score, String> {
        let count = trace
            .tool_names()
            .iter()
            .filter(|n| self.tool.as_deref().is_none_or(|t| t == **n))
            .count();
        let score = Score::new(count <= self.max).extra("count", count);
        if count <= self.max {
            return Ok(score);
        }
        let what = match &self.tool {
            Some(tool) => format!("calls of `{tool}`"),
            None => "tool calls".to_owned(),
        };
        Ok(score.explanation(format!(
            "{count} {what}, more than {}; {}",
            self.max,
            called(trace)
        )))
    }
}

trace_evaluator! {
    ToolCalled = ToolCalled::new("search");
    ToolOrder = ToolOrder::new(["search", "answer"]);
    MaxToolCalls = MaxToolCalls::new(3);
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use serde_json::json;

    use super::*;
    use crate::evaluator::{EvalInput, Evaluator};
    use crate::evaluators::on_trace::run;

    fn trajectory() -> Trace {
        Trace::builder()
            .tool("search", json!({"query": "a"}), json!([]))
            .model_call("gpt-4o-mini", 10, 2, Some(0.001))
            .tool("fetch", json!({"url": "u"}), json!("page"))
            .tool("search", json!({"query": "b"}), json!([]))
            .tool("answer", json!({}), json!("done"))
            .build()
    }

    #[test]
    fn tool_called_passes_and_fails() {
        let t = trajectory();
        let hit = run(&ToolCalled::new("search"), &t).unwrap();
        assert_eq!(
            (hit.score, hit.extra),
            (Some(1.0), vec![("count".into(), 2.0)])
        );
        assert_eq!(hit.explanation, None);
        let miss = run(&ToolCalled::new("calculator"), &t).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.unwrap(),
            "`calculator` was not called; tools called, in order: search, fetch, search, answer"
        );
        // The model call is not a tool call.
        assert_eq!(
            run(&ToolCalled::new("chat gpt-4o-mini"), &t).unwrap().score,
            Some(0.0)
        );
        let empty = run(&ToolCalled::new("search"), &Trace::default()).unwrap();
        assert_eq!(
            empty.explanation.unwrap(),
            "`search` was not called; no tool was called"
        );
    }

    #[test]
    fn tool_order_passes_and_fails() {
        let t = trajectory();
        let score = |e: ToolOrder| run(&e, &t).unwrap();
        assert_eq!(score(ToolOrder::new(["search", "answer"])).score, Some(1.0));
        assert_eq!(score(ToolOrder::new(["fetch", "search"])).score, Some(1.0));
        assert_eq!(
            score(ToolOrder::new(["search", "search", "answer"])).score,
            Some(1.0)
        );
        assert_eq!(
            score(ToolOrder::new(["search", "search", "search"])).score,
            Some(0.0)
        );
        let wrong = score(ToolOrder::new(["answer", "fetch"]));
        assert_eq!(wrong.score, Some(0.0));
        assert_eq!(
            wrong.explanation.unwrap(),
            "expected in this order: answer, fetch; tools called, in order: search, fetch, search, answer"
        );
        assert_eq!(
            score(ToolOrder::new(["search", "fetch", "answer"]).exact()).score,
            Some(0.0)
        );
        assert_eq!(
            score(ToolOrder::new(["search", "fetch", "search", "answer"]).exact()).score,
            Some(1.0)
        );
        assert!(
            score(ToolOrder::new(["search"]).exact())
                .explanation
                .unwrap()
                .starts_with("expected exactly: search;")
        );
    }

    #[test]
    fn max_tool_calls_passes_and_fails() {
        let t = trajectory();
        assert_eq!(run(&MaxToolCalls::new(4), &t).unwrap().score, Some(1.0));
        let over = run(&MaxToolCalls::new(3), &t).unwrap();
        assert_eq!(
            (over.score, over.extra),
            (Some(0.0), vec![("count".into(), 4.0)])
        );
        assert!(
            over.explanation
                .unwrap()
                .starts_with("4 tool calls, more than 3;")
        );
        assert_eq!(
            run(&MaxToolCalls::new(2).tool("search"), &t).unwrap().score,
            Some(1.0)
        );
        let once = run(&MaxToolCalls::new(1).tool("search"), &t).unwrap();
        assert_eq!(once.score, Some(0.0));
        assert!(
            once.explanation
                .unwrap()
                .starts_with("2 calls of `search`, more than 1;")
        );
        assert_eq!(
            run(&MaxToolCalls::new(0), &Trace::default()).unwrap().score,
            Some(1.0)
        );
    }

    #[test]
    fn without_a_trace_they_err_and_never_score() {
        let e: &dyn Evaluator<(), ()> = &ToolCalled::new("search");
        assert!(e.params().trace && !e.params().output);
        let error = block_on(e.evaluate(EvalInput {
            output: &(),
            inputs: &(),
            ground_truth: None,
            trace: None,
        }))
        .unwrap_err();
        assert!(
            error.starts_with("`tool_called` reads the datapoint's trace, but was given none"),
            "{error}"
        );
    }

    #[test]
    #[should_panic(expected = "ToolOrder::new needs the names of the tools")]
    fn an_empty_order_is_a_mistake_in_the_code() {
        let _ = ToolOrder::new(Vec::<String>::new());
    }
}
