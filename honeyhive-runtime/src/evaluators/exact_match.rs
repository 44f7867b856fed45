//! [`ExactMatch`]: the output equals the ground truth.

use std::borrow::Cow;

use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::{differences, join_listed, pick, quote, text};
use crate::evaluator::Score;

const NAME: &str = "exact_match";

/// Scores 1 when the output equals the ground truth, else 0; metric `exact_match`.
///
/// Reads the output and the ground truth. Both are compared as JSON: a `String` output
/// against a string ground truth, a struct output against an object ground truth. Numbers
/// compare by value (`1` equals `1.0`); object key order does not matter. A mismatch's
/// explanation names what differs, place by place.
///
/// `ExactMatch` takes no configuration, so a bare path names it in
/// `#[experiment(evaluators = [honeyhive::evaluators::ExactMatch])]`. Its builder methods
/// return an [`ExactMatchWith`]:
/// - [`field`](ExactMatch::field) compares one field (a dotted path such as `answer.city`)
///   of both; [`output_field`](ExactMatch::output_field) and
///   [`ground_truth_field`](ExactMatch::ground_truth_field) select on one side only;
/// - [`case_insensitive`](ExactMatch::case_insensitive) and
///   [`normalize_whitespace`](ExactMatch::normalize_whitespace) compare text instead of
///   JSON, so both sides must then be text;
/// - [`named`](ExactMatch::named) renames the metric.
///
/// Datapoints without ground truth are rejected before any call
/// ([`Evaluator::check_ground_truth`](crate::Evaluator::check_ground_truth)).
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ExactMatch;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// let truth = json!("Paris");
/// let output = "Paris".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
/// assert_eq!(block_on(ExactMatch.evaluate(input)).unwrap().score, Some(1.0));
///
/// let output = "paris".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
/// let score = block_on(ExactMatch.evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.explanation.unwrap(), r#"output "paris", ground truth "Paris""#);
/// assert_eq!(block_on(ExactMatch.case_insensitive().evaluate(input)).unwrap().score, Some(1.0));
///
/// // No ground truth: the datapoint is rejected before any call.
/// assert!(Evaluator::<(), String>::check_ground_truth(&ExactMatch, None).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExactMatch;

impl ExactMatch {
    /// The metric name: `exact_match`.
    ///
    /// ```
    /// assert_eq!(honeyhive::evaluators::ExactMatch.name(), "exact_match");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(NAME)
    }
}

/// [`ExactMatch`] with options, built by its builder methods.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ExactMatch;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// #[derive(serde::Serialize)]
/// struct Answer { city: String, confidence: f64 }
///
/// let output = Answer { city: "Paris ".into(), confidence: 0.4 };
/// let truth = json!({"city": "paris", "confidence": 0.9});
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
///
/// let city = ExactMatch.field("city").case_insensitive().normalize_whitespace().named("city");
/// assert_eq!(block_on(city.evaluate(input)).unwrap().score, Some(1.0));
///
/// let whole = block_on(ExactMatch.evaluate(input)).unwrap();
/// assert_eq!(whole.score, Some(0.0));
/// assert_eq!(
///     whole.explanation.unwrap(),
///     r#"`city`: output "Paris ", ground truth "paris"; `confidence`: output 0.4, ground truth 0.9"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ExactMatchWith {
    config: Settings,
}

impl ExactMatchWith {
    /// The metric name: the one given to [`named`](Self::named), else `exact_match`.
    ///
    /// ```
    /// use honeyhive::evaluators::ExactMatch;
    /// assert_eq!(ExactMatch.field("a").name(), "exact_match");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl ExactMatch => ExactMatchWith {
        /// Renames the metric (`honeyhive_metrics.<name>`), as two `ExactMatch` of one run
        /// need.
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::ExactMatch;
        /// let city = ExactMatch.field("city").named("city_exact");
        /// assert_eq!(city.name(), "city_exact");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Compares only the field at `path` of the output with the field at `path` of the
        /// ground truth. `path` is dotted (`answer.sources.0`: keys and array indexes) or a
        /// JSON Pointer (`/answer/sources/0`) for keys holding dots. A missing field is an
        /// error of the datapoint (for the ground truth, found before any call).
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ExactMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": {"city": "Paris"}, "latency_ms": 840});
        /// let truth = json!({"answer": {"city": "Paris"}});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(ExactMatch.field("answer.city").evaluate(input)).unwrap().score, Some(1.0));
        ///
        /// let error = block_on(ExactMatch.field("answer.country").evaluate(input)).unwrap_err();
        /// assert_eq!(
        ///     error,
        ///     "the ground truth has no field `answer.country`: `answer` has no field `country`; its fields are `city`"
        /// );
        /// ```
        fn field(path: impl Into<String>);

        /// Compares only the output's field at `path` (syntax as in [`field`](Self::field)),
        /// with the whole ground truth unless [`ground_truth_field`](Self::ground_truth_field)
        /// selects in it too.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ExactMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": "Paris", "sources": []});
        /// let truth = json!("Paris");
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(ExactMatch.output_field("answer").evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn output_field(path: impl Into<String>);

        /// Compares with the ground truth's field at `path` (syntax as in
        /// [`field`](Self::field)); datapoints whose ground truth lacks it are rejected before
        /// any call.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ExactMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = "Paris".to_owned();
        /// let truth = json!({"answer": "Paris", "difficulty": "easy"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = ExactMatch.ground_truth_field("answer");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// assert!(Evaluator::<(), String>::check_ground_truth(&evaluator, Some(&json!({}))).is_err());
        /// ```
        fn ground_truth_field(path: impl Into<String>);

        /// Compares text, ignoring case (Unicode lowercase). Both compared values must then be
        /// JSON strings; anything else is an error that says what was found.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ExactMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let truth = json!("Paris");
        /// let output = "PARIS".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(ExactMatch.case_insensitive().evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn case_insensitive();

        /// Compares text, ignoring whitespace differences: leading and trailing whitespace is
        /// dropped and every inner run becomes one space. Both compared values must then be
        /// JSON strings.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ExactMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let truth = json!("New York");
        /// let output = " New  York\n".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(ExactMatch.normalize_whitespace().evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn normalize_whitespace();
    }
}

impl Builtin for ExactMatchWith {
    const NAME: &'static str = NAME;
    const COMPARES: bool = true;
    type Truth<'v> = &'v Value;

    fn config(&self) -> &Settings {
        &self.config
    }

    /// The compared part of the ground truth, which text options need to be text.
    fn truth<'v>(&self, ground_truth: Option<&'v Value>) -> Result<&'v Value, String> {
        if !self.config.text.is_exact() {
            self.read_ground_truth(ground_truth, text)?;
        }
        self.read_ground_truth(ground_truth, pick)
    }

    fn score(&self, output: &Value, truth: &Value) -> Result<Score, String> {
        let options = self.config.text;
        if !options.is_exact() {
            let out_text = self.read_output(output, text)?;
            let truth_text = truth.as_str().unwrap_or_default();
            let equal = options.apply(out_text) == options.apply(truth_text);
            let mut score = Score::new(equal);
            if !equal {
                score = score.explanation(format!(
                    "output {}, ground truth {}{}",
                    quote(out_text),
                    quote(truth_text),
                    options.note()
                ));
            }
            return Ok(score);
        }
        let output = self.read_output(output, pick)?;
        let found = differences(output, truth);
        if found.is_empty() {
            return Ok(Score::new(true));
        }
        let mut explanation = join_listed(&found);
        if output.is_string() && truth.is_object() && self.config.ground_truth.is_none() {
            explanation.push_str(
                "; the output is text and the ground truth an object: compare with one of its \
                 fields with `.ground_truth_field(\"..\")`",
            );
        } else if output.is_object() && truth.is_string() && self.config.output.is_none() {
            explanation.push_str(
                "; the ground truth is text and the output an object: compare one of its \
                 fields with `.output_field(\"..\")`",
            );
        }
        Ok(Score::new(false).explanation(explanation))
    }
}

builtin_evaluator!(ExactMatchWith);
builtin_evaluator!(ExactMatch => ExactMatchWith);

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::evaluator::{Evaluator, Params};
    use crate::evaluators::builtin::run;

    #[derive(Serialize)]
    struct Answer {
        city: String,
        population: u64,
    }

    #[test]
    fn compares_strings_and_structs_as_json() {
        let s = "Paris".to_owned();
        assert_eq!(
            run(&ExactMatch, &s, Some(json!("Paris"))).unwrap().score,
            Some(1.0)
        );
        let miss = run(&ExactMatch, &s, Some(json!("Rome"))).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.as_deref(),
            Some(r#"output "Paris", ground truth "Rome""#)
        );

        let answer = Answer {
            city: "Paris".into(),
            population: 2_100_000,
        };
        let truth = json!({"population": 2.1e6, "city": "Paris"});
        assert_eq!(
            run(&ExactMatch, &answer, Some(truth)).unwrap().score,
            Some(1.0)
        );
        let miss = run(&ExactMatch, &answer, Some(json!({"city": "Lyon"}))).unwrap();
        assert_eq!(
            miss.explanation.as_deref(),
            Some(
                "`city`: output \"Paris\", ground truth \"Lyon\"; \
                 `population`: not in the ground truth (output 2100000)"
            )
        );
    }

    #[test]
    fn hints_at_field_selection_when_shapes_differ() {
        let s = "Paris".to_owned();
        let miss = run(&ExactMatch, &s, Some(json!({"answer": "Paris"}))).unwrap();
        assert!(
            miss.explanation
                .unwrap()
                .ends_with("with `.ground_truth_field(\"..\")`")
        );
        let hit = run(
            &ExactMatch.ground_truth_field("answer"),
            &s,
            Some(json!({"answer": "Paris"})),
        );
        assert_eq!(hit.unwrap().score, Some(1.0));
    }

    #[test]
    fn text_options() {
        let s = "  the  Eiffel Tower ".to_owned();
        let truth = || Some(json!("The Eiffel tower"));
        assert_eq!(
            run(&ExactMatch.case_insensitive(), &s, truth())
                .unwrap()
                .score,
            Some(0.0)
        );
        assert_eq!(
            run(&ExactMatch.normalize_whitespace(), &s, truth())
                .unwrap()
                .score,
            Some(0.0)
        );
        let both = ExactMatch.case_insensitive().normalize_whitespace();
        assert_eq!(run(&both, &s, truth()).unwrap().score, Some(1.0));
        let miss = run(&ExactMatch.case_insensitive(), &s, truth()).unwrap();
        assert!(miss.explanation.unwrap().ends_with("(ignoring case)"));
    }

    #[test]
    fn text_options_need_text() {
        let n = 42_u32;
        let error = run(&ExactMatch.case_insensitive(), &n, Some(json!("42"))).unwrap_err();
        assert_eq!(
            error,
            "the output is a number (42), not text; select a text field with `.output_field(\"..\")`, a dotted path such as `answer.text`"
        );
        let check = Evaluator::<(), u32>::check_ground_truth(
            &ExactMatch.case_insensitive(),
            Some(&json!(42)),
        );
        assert!(
            check
                .unwrap_err()
                .starts_with("the ground truth is a number (42), not text")
        );
    }

    #[test]
    fn fields() {
        let answer = Answer {
            city: "Paris".into(),
            population: 1,
        };
        let truth = || Some(json!({"city": "Paris", "population": 2}));
        assert_eq!(
            run(&ExactMatch.field("city"), &answer, truth())
                .unwrap()
                .score,
            Some(1.0)
        );
        assert_eq!(
            run(&ExactMatch.field("population"), &answer, truth())
                .unwrap()
                .score,
            Some(0.0)
        );
        let error = run(&ExactMatch.output_field("country"), &answer, truth()).unwrap_err();
        assert_eq!(
            error,
            "the output has no field `country`: it has no field `country`; its fields are `city`, `population`"
        );
    }

    #[test]
    fn ground_truth_is_checked_before_any_call() {
        let check =
            |e: &dyn Evaluator<(), String>, gt: Option<Value>| e.check_ground_truth(gt.as_ref());
        assert!(check(&ExactMatch, Some(json!("x"))).is_ok());
        assert!(check(&ExactMatch, Some(json!({"a": 1}))).is_ok());
        let none = check(&ExactMatch, None).unwrap_err();
        assert!(none.starts_with(
            "`exact_match` compares the output with the ground truth, but this datapoint has none"
        ));
        assert!(
            check(&ExactMatch.named("mine"), Some(Value::Null))
                .unwrap_err()
                .starts_with("`mine`")
        );
        assert!(check(&ExactMatch.field("a"), Some(json!({"b": 1}))).is_err());
        // Evaluating without the check says the same.
        assert_eq!(run(&ExactMatch, &"x".to_owned(), None).unwrap_err(), none);
    }

    #[test]
    fn names_and_params() {
        let e: &dyn Evaluator<(), String> = &ExactMatch;
        assert_eq!(e.name(), "exact_match");
        assert_eq!(
            e.params(),
            Params {
                output: true,
                inputs: false,
                ground_truth: true,
                trace: false
            }
        );
        let e: &dyn Evaluator<(), String> = &ExactMatch.named("renamed");
        assert_eq!(e.name(), "renamed");
    }

    #[test]
    #[should_panic(expected = "must not be empty")]
    fn empty_names_are_refused() {
        let _ = ExactMatch.named(" ");
    }

    #[test]
    fn unserialisable_outputs_are_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "x");
        let error = run(&ExactMatch, &map, Some(json!({}))).unwrap_err();
        assert!(error.starts_with("the output cannot be turned into JSON"));
    }
}
