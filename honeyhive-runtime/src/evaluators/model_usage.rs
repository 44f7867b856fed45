//! [`MaxTokens`] and [`MaxCost`]: budgets on the model calls of a datapoint's [`Trace`].
//!
//! A call that does not say what the budget counts (a call without token counts, a model
//! without a price) makes the check an error of the datapoint, never a pass: a budget
//! that cannot be counted is not kept.

use std::borrow::Cow;

use super::on_trace::trace_evaluator;
use crate::evaluator::{Score, Trace};

/// Scores 1 when the model calls of the datapoint's function used at most `max` tokens
/// (input and output, over every call), else 0; metric `max_tokens` (+
/// `max_tokens_tokens`, the tokens used). A model call that reported no token counts is
/// an error of the datapoint. Reads the trace.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::MaxTokens;
/// use honeyhive::{EvalInput, Evaluator, Trace};
///
/// let trace = Trace::builder()
///     .model_call("gpt-4o-mini", 300, 50, Some(0.000_075))
///     .model_call("gpt-4o-mini", 400, 80, Some(0.000_108))
///     .build();
/// let input = EvalInput { output: &(), inputs: &(), ground_truth: None, trace: Some(&trace) };
///
/// assert_eq!(block_on(MaxTokens::new(1000).evaluate(input)).unwrap().score, Some(1.0));
/// let over = block_on(MaxTokens::new(500).evaluate(input)).unwrap();
/// assert_eq!(over.score, Some(0.0));
/// assert_eq!(over.explanation.unwrap(), "830 tokens in 2 model calls, more than 500");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxTokens {
    max: u64,
    name: Cow<'static, str>,
}

impl MaxTokens {
    /// Checks that the model calls used at most `max` tokens in all.
    pub fn new(max: u64) -> MaxTokens {
        MaxTokens {
            max,
            name: Cow::Borrowed("max_tokens"),
        }
    }

    fn check(&self, trace: &Trace) -> Result<Score, String> {
        let calls = trace.model_calls();
        if let Some(call) = calls.iter().find(|c| c.total_tokens().is_none()) {
            return Err(format!(
                "model call `{}` reported no token counts, so the tokens used are not known \
                 (a stream reports them only with `stream_options.include_usage`)",
                call.span().name()
            ));
        }
        let tokens = trace.total_tokens();
        let score = Score::new(tokens <= self.max).extra("tokens", tokens);
        Ok(if tokens <= self.max {
            score
        } else {
            score.explanation(format!(
                "{tokens} tokens in {} model calls, more than {}",
                calls.len(),
                self.max
            ))
        })
    }
}

/// Scores 1 when the model calls of the datapoint's function cost at most `max_usd`
/// dollars in all, else 0; metric `max_cost` (+ `max_cost_usd`, the cost). A call with
/// no cost (no token counts, or a model without a price: see `docs/model-calls.md`) is an
/// error of the datapoint. Reads the trace.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::MaxCost;
/// use honeyhive::{EvalInput, Evaluator, Trace};
///
/// let trace = Trace::builder()
///     .model_call("gpt-4o-mini", 300, 50, Some(0.000_075))
///     .model_call("my-finetune", 400, 80, None)
///     .build();
/// let input = EvalInput { output: &(), inputs: &(), ground_truth: None, trace: Some(&trace) };
///
/// let error = block_on(MaxCost::new(0.01).evaluate(input)).unwrap_err();
/// assert!(error.starts_with("model call `chat my-finetune` has no cost"));
/// ```
///
/// # Panics
/// [`new`](Self::new) panics on a negative or non-finite budget.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxCost {
    max_usd: f64,
    name: Cow<'static, str>,
}

impl MaxCost {
    /// Checks that the model calls cost at most `max_usd` dollars in all.
    #[track_caller]
    pub fn new(max_usd: f64) -> MaxCost {
        assert!(
            max_usd.is_finite() && max_usd >= 0.0,
            "MaxCost::new takes a budget in dollars, 0 or more (got {max_usd})"
        );
        MaxCost {
            max_usd,
            name: Cow::Borrowed("max_cost"),
        }
    }

    fn check(&self, trace: &Trace) -> Result<Score, String> {
        let calls = trace.model_calls();
        if let Some(call) = calls.iter().find(|c| c.cost_usd().is_none()) {
            let why = if call.total_tokens().is_none() {
                "it reported no token counts".to_owned()
            } else {
                format!(
                    "its model `{}` has no price; add one with `HH_PRICES` or \
                     `Config::builder().price(..)`",
                    call.model().unwrap_or("?")
                )
            };
            return Err(format!(
                "model call `{}` has no cost, so the total is not known: {why}",
                call.span().name()
            ));
        }
        let cost = trace.cost_usd();
        let score = Score::new(cost <= self.max_usd).extra("usd", cost);
        Ok(if cost <= self.max_usd {
            score
        } else {
            score.explanation(format!(
                "${cost:.6} in {} model calls, more than ${:.6}",
                calls.len(),
                self.max_usd
            ))
        })
    }
}

trace_evaluator! {
    MaxTokens = MaxTokens::new(1000);
    MaxCost = MaxCost::new(0.01);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evaluators::on_trace::run;

    fn two_calls() -> Trace {
        Trace::builder()
            .model_call("gpt-4o-mini", 100, 20, Some(0.002))
            .tool("search", json!({}), json!([]))
            .model_call("gpt-4o", 200, 30, Some(0.003))
            .build()
    }

    #[test]
    fn max_tokens_passes_and_fails() {
        let t = two_calls();
        let at = run(&MaxTokens::new(350), &t).unwrap();
        assert_eq!(
            (at.score, at.extra),
            (Some(1.0), vec![("tokens".into(), 350.0)])
        );
        let over = run(&MaxTokens::new(349), &t).unwrap();
        assert_eq!(over.score, Some(0.0));
        assert_eq!(
            over.explanation.unwrap(),
            "350 tokens in 2 model calls, more than 349"
        );
        assert_eq!(
            run(&MaxTokens::new(0), &Trace::default()).unwrap().score,
            Some(1.0)
        );
    }

    #[test]
    fn max_cost_passes_and_fails() {
        let t = two_calls();
        let at = run(&MaxCost::new(0.005), &t).unwrap();
        assert_eq!(at.score, Some(1.0));
        assert!((at.extra[0].1 - 0.005).abs() < 1e-12);
        let over = run(&MaxCost::new(0.004), &t).unwrap();
        assert_eq!(over.score, Some(0.0));
        assert_eq!(
            over.explanation.unwrap(),
            "$0.005000 in 2 model calls, more than $0.004000"
        );
    }

    #[test]
    fn an_uncountable_budget_is_an_error_not_a_pass() {
        let unpriced = Trace::builder()
            .model_call("gpt-4o-mini", 100, 20, Some(0.002))
            .model_call("my-finetune", 1, 1, None)
            .build();
        let error = run(&MaxCost::new(100.0), &unpriced).unwrap_err();
        assert!(
            error.contains("its model `my-finetune` has no price"),
            "{error}"
        );
        // Tokens are still known.
        assert_eq!(
            run(&MaxTokens::new(200), &unpriced).unwrap().score,
            Some(1.0)
        );

        // A call without token counts (a span made by hand, a stream without usage).
        let mut span = crate::export::test_span(vec![
            opentelemetry::KeyValue::new(crate::attributes::EVENT_TYPE, "model"),
            opentelemetry::KeyValue::new(crate::attributes::GEN_AI_REQUEST_MODEL, "m"),
        ]);
        span.name = "chat m".into();
        let no_usage = Trace::from_spans([span]);
        assert!(
            run(&MaxTokens::new(100), &no_usage)
                .unwrap_err()
                .starts_with("model call `chat m` reported no token counts")
        );
        assert!(
            run(&MaxCost::new(100.0), &no_usage)
                .unwrap_err()
                .ends_with("it reported no token counts")
        );
    }

    #[test]
    #[should_panic(expected = "a budget in dollars, 0 or more")]
    fn a_negative_budget_is_a_mistake_in_the_code() {
        let _ = MaxCost::new(-1.0);
    }
}
