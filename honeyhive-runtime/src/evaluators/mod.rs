//! Built-in evaluators: ready-made [`Evaluator`](crate::Evaluator)s for common checks.
//!
//! | evaluator | metric | reads | scores |
//! | --- | --- | --- | --- |
//! | [`ExactMatch`] | `exact_match` | output, ground truth | 1 when equal as JSON (or as text, ignoring case or whitespace) |
//! | [`Contains::new`]`(needle)` | `contains` | output | 1 when the output's text contains `needle` |
//! | [`Contains::ground_truth`]`()` | `contains_ground_truth` | output, ground truth | 1 when the output's text contains the ground truth's |
//! | [`RegexMatch::new`]`(pattern)` | `regex_match` | output | 1 when `pattern` matches the output's text |
//! | [`ValidJson`] | `valid_json` | output | 1 when the output's text parses as JSON |
//! | [`FieldEquals::new`]`([paths])` | `field_equals` | output, ground truth | the share of the listed fields that are equal |
//! | [`Levenshtein`] | `levenshtein` (+ `_distance`) | output, ground truth | normalised edit similarity of the texts, 0 to 1 |
//! | [`NumericCloseness::new`]`(tolerance)` | `numeric_closeness` (+ `_distance`) | output, ground truth | 1 when the numbers are within the tolerance (or [`relative`](NumericCloseness::relative) one) |
//! | [`ToolCalled::new`]`(tool)` | `tool_called` (+ `_count`) | trace | 1 when the tool was called |
//! | [`ToolOrder::new`]`([tools])` | `tool_order` | trace | 1 when the tools were called in this order (or [`exact`](ToolOrder::exact)ly these calls) |
//! | [`MaxToolCalls::new`]`(max)` | `max_tool_calls` (+ `_count`) | trace | 1 when at most `max` tool calls were made |
//! | [`MaxTokens::new`]`(max)` | `max_tokens` (+ `_tokens`) | trace | 1 when the model calls used at most `max` tokens |
//! | [`MaxCost::new`]`(max_usd)` | `max_cost` (+ `_usd`) | trace | 1 when the model calls cost at most `max_usd` dollars |
//!
//! Every built-in scores any experiment whose output type implements `serde::Serialize`,
//! whatever its input type: it reads the output through its JSON form, so the same
//! evaluator works on a `String` output and on a struct. None reads the inputs. The last
//! five read the datapoint's [`Trace`](crate::Trace) (its tool calls and model calls)
//! instead of the output, and score any experiment.
//!
//! **Text.** An evaluator of text reads the output itself when it is a JSON string (a
//! `String` output), else the field chosen with `.field("answer")`. A field is a dotted
//! path into the JSON (`answer.text`, `choices.0.message`: object keys and array indexes)
//! or, starting with `/`, a JSON Pointer (`/answer/text`) for keys holding dots. The
//! ground truth is read the same way, and `.field(..)` selects in both; where the two
//! differ, `.output_field(..)` and `.ground_truth_field(..)` select in one only.
//!
//! **Errors.** A missing field, or a value of the wrong kind (a number where text is
//! read), is that evaluator's error for the datapoint, never a panic: the message says
//! what was found and how to select something else. Evaluators that compare with the
//! ground truth check it in
//! [`Evaluator::check_ground_truth`](crate::Evaluator::check_ground_truth), so a datapoint
//! without one (or without the selected field) is rejected before any call. Invalid
//! configuration written in the code (an invalid regular expression, a negative tolerance,
//! an empty field list or name) panics when the evaluator is built, before any datapoint
//! runs; [`RegexMatch::try_new`] returns the error instead.
//!
//! **Names.** Each metric has a stable name, recorded as `honeyhive_metrics.<name>`;
//! `.named("...")` renames it, as two evaluators of one kind in one run need.
//!
//! **Naming by path.** [`ExactMatch`], [`ValidJson`] and [`Levenshtein`] take no
//! configuration, so a bare path names them in `#[experiment(evaluators = [..])]` and in
//! [`evaluators!`](crate::evaluators!). Their builder methods return a configured value of
//! another type ([`ExactMatchWith`], [`ValidJsonWith`], [`LevenshteinWith`]); the others
//! are built by their constructors.
//!
//! # Example
//! ```
//! use futures_executor::block_on;
//! use honeyhive::evaluators::{Contains, ExactMatch, Levenshtein, RegexMatch, ValidJson};
//! use honeyhive::{EvalInput, EvaluatorList, evaluators};
//! use serde_json::json;
//!
//! let list: EvaluatorList<(), String> = evaluators![
//!     ExactMatch,
//!     ExactMatch.case_insensitive().named("exact_match_any_case"),
//!     Contains::new("Paris"),
//!     Contains::ground_truth(),
//!     RegexMatch::new(r"^[A-Z]"),
//!     ValidJson,
//!     Levenshtein,
//! ];
//!
//! let output = "PARIS".to_owned();
//! let truth = json!("Paris");
//! let scores: Vec<(String, Result<Option<f64>, String>)> = list
//!     .iter()
//!     .map(|evaluator| {
//!         let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
//!         let score = block_on(evaluator.evaluate(input)).map(|score| score.score);
//!         (evaluator.name().into_owned(), score)
//!     })
//!     .collect();
//! assert_eq!(scores[0], ("exact_match".to_owned(), Ok(Some(0.0))));
//! assert_eq!(scores[1], ("exact_match_any_case".to_owned(), Ok(Some(1.0))));
//! assert_eq!(scores[2], ("contains".to_owned(), Ok(Some(0.0))));
//! assert_eq!(scores[3], ("contains_ground_truth".to_owned(), Ok(Some(0.0))));
//! assert_eq!(scores[4], ("regex_match".to_owned(), Ok(Some(1.0))));
//! assert_eq!(scores[5], ("valid_json".to_owned(), Ok(Some(0.0))));
//! assert_eq!(scores[6].0, "levenshtein");
//! assert!((scores[6].1.clone().unwrap().unwrap() - 0.2).abs() < 1e-9); // 4 edits over 5 characters
//! ```

mod builtin;
mod contains;
mod exact_match;
mod field_equals;
pub(crate) mod json;
pub mod judge;
mod levenshtein;
mod model_usage;
mod numeric;
mod on_trace;
mod regex_match;
mod tool_calls;
mod valid_json;

pub use contains::{Contains, ContainsGroundTruth};
pub use exact_match::{ExactMatch, ExactMatchWith};
pub use field_equals::FieldEquals;
pub use levenshtein::{Levenshtein, LevenshteinWith};
pub use model_usage::{MaxCost, MaxTokens};
pub use numeric::NumericCloseness;
pub use regex_match::{InvalidRegex, RegexMatch};
pub use tool_calls::{MaxToolCalls, ToolCalled, ToolOrder};
pub use valid_json::{ValidJson, ValidJsonWith};

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use serde_json::{Value, json};

    use super::*;
    use crate::evaluator::{EvalInput, EvaluatorList};

    /// Every built-in in one list, for `String` outputs and for struct outputs.
    #[test]
    fn all_built_ins_fit_one_list_and_keep_their_names() {
        #[derive(serde::Serialize)]
        struct Reply {
            answer: String,
            raw: String,
            price: f64,
        }

        let list: EvaluatorList<u32, Reply> = crate::evaluators![
            ExactMatch.field("answer"),
            Contains::new("Par").field("answer"),
            Contains::ground_truth().field("answer"),
            RegexMatch::new("^P").field("answer"),
            ValidJson.field("raw"),
            FieldEquals::new(["answer", "price"]),
            Levenshtein.field("answer"),
            NumericCloseness::new(0.5).field("price"),
        ];
        let names: Vec<String> = list.iter().map(|e| e.name().into_owned()).collect();
        assert_eq!(
            names,
            [
                "exact_match",
                "contains",
                "contains_ground_truth",
                "regex_match",
                "valid_json",
                "field_equals",
                "levenshtein",
                "numeric_closeness"
            ]
        );

        let output = Reply {
            answer: "Paris".into(),
            raw: "{}".into(),
            price: 10.25,
        };
        let truth = json!({"answer": "Paris", "price": 10});
        for evaluator in &list {
            evaluator.check_ground_truth(Some(&truth)).unwrap();
            let input = EvalInput {
                output: &output,
                inputs: &7,
                ground_truth: Some(&truth),
                trace: None,
            };
            let score = block_on(evaluator.evaluate(input)).unwrap();
            let expected = if evaluator.name() == "field_equals" {
                0.5
            } else {
                1.0
            };
            assert_eq!(score.score, Some(expected), "{}", evaluator.name());
            assert!(!evaluator.params().inputs);
        }

        let reads_truth: Vec<bool> = list.iter().map(|e| e.params().ground_truth).collect();
        assert_eq!(
            reads_truth,
            [true, false, true, false, false, true, true, true]
        );
        let without: Vec<bool> = list
            .iter()
            .map(|e| e.check_ground_truth(None).is_ok())
            .collect();
        assert_eq!(
            without,
            [false, true, false, true, true, false, false, false]
        );
        let null: Vec<bool> = list
            .iter()
            .map(|e| e.check_ground_truth(Some(&Value::Null)).is_ok())
            .collect();
        assert_eq!(null, without);
    }

    #[test]
    fn bare_paths_build_the_zero_config_evaluators() {
        // What `#[experiment(evaluators = [P])]` and `evaluators![P]` expand a path to.
        let list: EvaluatorList<(), String> = vec![
            crate::__macro_support::boxed_evaluator(ExactMatch {}),
            crate::__macro_support::boxed_evaluator(ValidJson {}),
            crate::__macro_support::boxed_evaluator(Levenshtein {}),
        ];
        assert_eq!(list.len(), 3);
        let list: EvaluatorList<(), String> =
            crate::evaluators![ExactMatch, ValidJson, Levenshtein];
        assert_eq!(list[2].name(), "levenshtein");
    }

    #[test]
    fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let output = std::rc::Rc::new(5);
        // The output type itself need not be Send: scoring is done before the future.
        struct NotSend(std::rc::Rc<u8>);
        impl serde::Serialize for NotSend {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(*self.0)
            }
        }
        let not_send = NotSend(std::rc::Rc::new(*output));
        let truth = json!(5);
        let input = EvalInput {
            output: &not_send,
            inputs: &(),
            ground_truth: Some(&truth),
            trace: None,
        };
        let evaluator = NumericCloseness::new(0.0);
        let future = crate::Evaluator::evaluate(&evaluator, input);
        assert_send(&future);
        assert_eq!(block_on(future).unwrap().score, Some(1.0));
    }
}
