//! [`NumericCloseness`]: the output's number is within a tolerance of the ground truth's.

use std::borrow::Cow;

use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::number;
use crate::evaluator::Score;

const NAME: &str = "numeric_closeness";

/// Scores 1 when the output's number is within a tolerance of the ground truth's, else 0;
/// metric `numeric_closeness`, with `|output - ground truth|` as the extra metric
/// `numeric_closeness_distance`.
///
/// [`new`](Self::new) takes an absolute tolerance (`|output - truth| <= tolerance`),
/// [`relative`](Self::relative) a fraction of the ground truth
/// (`|output - truth| <= tolerance * |truth|`, so a ground truth of 0 takes exactly 0).
///
/// Reads the output and the ground truth. Each number is a JSON number, or a string
/// holding one (`"42"`, `" 3.5e2 "`, as a model may answer); selected, when they are not
/// the value itself, with [`field`](Self::field) (both sides),
/// [`output_field`](Self::output_field) or [`ground_truth_field`](Self::ground_truth_field).
/// An output that is no number is an error of the datapoint; datapoints whose ground truth
/// is missing or no number are rejected before any call.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::NumericCloseness;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// let truth = json!(100);
/// let output = 99.5_f64;
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
///
/// let score = block_on(NumericCloseness::new(1.0).evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(1.0));
/// assert_eq!(score.extra, vec![("distance".to_owned(), 0.5)]);
///
/// let score = block_on(NumericCloseness::relative(0.001).evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.explanation.unwrap(), "|99.5 - 100| = 0.5 is more than the tolerance 0.1 (0.1% of 100)");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NumericCloseness {
    config: Settings,
    tolerance: f64,
    relative: bool,
}

impl NumericCloseness {
    /// Passes outputs within `tolerance` of the ground truth: `|output - truth| <=
    /// tolerance` (0 asks for equal numbers).
    ///
    /// # Panics
    /// When `tolerance` is negative or not finite.
    ///
    /// ```
    /// use honeyhive::evaluators::NumericCloseness;
    /// let evaluator = NumericCloseness::new(0.01);
    /// assert_eq!(evaluator.name(), "numeric_closeness");
    /// ```
    #[track_caller]
    pub fn new(tolerance: f64) -> NumericCloseness {
        NumericCloseness::with(tolerance, false)
    }

    /// Passes outputs within `tolerance` times the ground truth: `|output - truth| <=
    /// tolerance * |truth|` (`0.05` is 5%).
    ///
    /// # Panics
    /// When `tolerance` is negative or not finite.
    ///
    /// ```
    /// use futures_executor::block_on;
    /// use honeyhive::evaluators::NumericCloseness;
    /// use honeyhive::{EvalInput, Evaluator};
    /// use serde_json::json;
    ///
    /// let truth = json!(2000);
    /// let output = 2080_u32;
    /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
    /// assert_eq!(block_on(NumericCloseness::relative(0.05).evaluate(input)).unwrap().score, Some(1.0));
    /// assert_eq!(block_on(NumericCloseness::relative(0.01).evaluate(input)).unwrap().score, Some(0.0));
    /// ```
    #[track_caller]
    pub fn relative(tolerance: f64) -> NumericCloseness {
        NumericCloseness::with(tolerance, true)
    }

    #[track_caller]
    fn with(tolerance: f64, relative: bool) -> NumericCloseness {
        assert!(
            tolerance.is_finite() && tolerance >= 0.0,
            "the tolerance of NumericCloseness must be a finite number >= 0, not {tolerance}"
        );
        NumericCloseness {
            config: Settings::default(),
            tolerance,
            relative,
        }
    }

    /// The metric name: the one given to [`named`](Self::named), else
    /// `numeric_closeness`.
    ///
    /// ```
    /// use honeyhive::evaluators::NumericCloseness;
    /// assert_eq!(NumericCloseness::relative(0.1).name(), "numeric_closeness");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl NumericCloseness {
        /// Renames the metric (`honeyhive_metrics.<name>`; the distance is then
        /// `<name>_distance`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::NumericCloseness;
        /// assert_eq!(NumericCloseness::new(0.5).named("price_close").name(), "price_close");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Compares the number at `path` of the output with the number at `path` of the
        /// ground truth: a dotted path (`invoice.total`, `items.0.price`) or a JSON Pointer
        /// (`/invoice/total`).
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::NumericCloseness;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// #[derive(serde::Serialize)]
        /// struct Invoice { vendor: String, total: f64 }
        ///
        /// let output = Invoice { vendor: "ACME".into(), total: 10.004 };
        /// let truth = json!({"total": 10});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = NumericCloseness::new(0.01).field("total");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn field(path: impl Into<String>);

        /// Reads the output's number at `path` only.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::NumericCloseness;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"estimate": "41"});
        /// let truth = json!(42);
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = NumericCloseness::new(1.0).output_field("estimate");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn output_field(path: impl Into<String>);

        /// Reads the ground truth's number at `path` only; datapoints whose ground truth lacks
        /// it are rejected before any call.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::NumericCloseness;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = 3.14_f64;
        /// let truth = json!({"value": 3.14159, "unit": "rad"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = NumericCloseness::new(0.01).ground_truth_field("value");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn ground_truth_field(path: impl Into<String>);
    }
}

impl Builtin for NumericCloseness {
    const NAME: &'static str = NAME;
    const COMPARES: bool = true;
    type Truth<'v> = f64;

    fn config(&self) -> &Settings {
        &self.config
    }

    fn truth(&self, ground_truth: Option<&Value>) -> Result<f64, String> {
        self.read_ground_truth(ground_truth, number)
    }

    fn score(&self, output: &Value, truth: f64) -> Result<Score, String> {
        let output = self.read_output(output, number)?;
        let distance = (output - truth).abs();
        if !distance.is_finite() {
            return Err(format!(
                "the distance between the output {output} and the ground truth {truth} \
                 is too large for a 64-bit float"
            ));
        }
        let allowed = if self.relative {
            self.tolerance * truth.abs()
        } else {
            self.tolerance
        };
        let close = distance <= allowed;
        let mut score = Score::new(close).extra("distance", distance);
        if !close {
            let tolerance = if self.relative {
                format!(
                    "{} ({}% of {truth})",
                    round_for_display(allowed),
                    round_for_display(self.tolerance * 100.0)
                )
            } else {
                allowed.to_string()
            };
            score = score.explanation(format!(
                "|{output} - {truth}| = {} is more than the tolerance {tolerance}",
                round_for_display(distance)
            ));
        }
        Ok(score)
    }
}

builtin_evaluator!(NumericCloseness);

/// `x` with float noise cleared (`0.30000000000000004` shows as `0.3`), for messages only.
fn round_for_display(x: f64) -> f64 {
    let rounded = format!("{x:.12}").parse::<f64>().unwrap_or(x);
    if rounded == 0.0 { x } else { rounded }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evaluator::Evaluator;
    use crate::evaluators::builtin::run;

    #[test]
    fn absolute_tolerance() {
        let e = NumericCloseness::new(0.5);
        let hit = run(&e, &10.5_f64, Some(json!(10))).unwrap();
        assert_eq!((hit.score, hit.explanation), (Some(1.0), None));
        assert_eq!(hit.extra, vec![("distance".to_owned(), 0.5)]);
        let miss = run(&e, &9_i32, Some(json!(10))).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.as_deref(),
            Some("|9 - 10| = 1 is more than the tolerance 0.5")
        );
        let exact = NumericCloseness::new(0.0);
        assert_eq!(
            run(&exact, &3_u8, Some(json!(3.0))).unwrap().score,
            Some(1.0)
        );
        assert_eq!(
            run(&exact, &3.000_001_f64, Some(json!(3))).unwrap().score,
            Some(0.0)
        );
    }

    #[test]
    fn relative_tolerance() {
        let e = NumericCloseness::relative(0.1);
        assert_eq!(
            run(&e, &-109_i64, Some(json!(-100))).unwrap().score,
            Some(1.0)
        );
        let miss = run(&e, &-111_i64, Some(json!(-100))).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.as_deref(),
            Some("|-111 - -100| = 11 is more than the tolerance 10 (10% of -100)")
        );
        assert_eq!(run(&e, &0_i64, Some(json!(0))).unwrap().score, Some(1.0));
        assert_eq!(
            run(&e, &0.001_f64, Some(json!(0))).unwrap().score,
            Some(0.0)
        );
    }

    #[test]
    fn numbers_in_strings_and_fields() {
        let e = NumericCloseness::new(0.1);
        assert_eq!(
            run(&e, &" 42\n".to_owned(), Some(json!("42.05")))
                .unwrap()
                .score,
            Some(1.0)
        );
        assert_eq!(
            run(&e, &"about 42".to_owned(), Some(json!(42))).unwrap_err(),
            "the output is a string (\"about 42\"), which does not read as a number"
        );
        assert_eq!(
            run(&e, &"NaN".to_owned(), Some(json!(42))).unwrap_err(),
            "the output is a string (\"NaN\"), which does not read as a number"
        );
        let out = json!({"p": {"x": 1.05}, "s": "no"});
        assert_eq!(
            run(&e.clone().field("p.x"), &out, Some(json!({"p": {"x": 1}})))
                .unwrap()
                .score,
            Some(1.0)
        );
        assert_eq!(
            run(&e.clone().output_field("s"), &out, Some(json!(1))).unwrap_err(),
            "the output's field `s` is a string (\"no\"), which does not read as a number"
        );
        assert!(
            run(&e, &out, Some(json!(1)))
                .unwrap_err()
                .starts_with("the output is an object with fields `p`, `s`, not a number; select a numeric field with `.output_field(")
        );
        // A NaN output serialises as null.
        assert_eq!(
            run(&e, &f64::NAN, Some(json!(1))).unwrap_err(),
            "the output is null, not a number; select a numeric field with `.output_field(\"..\")`, \
             a dotted path such as `invoice.total`"
        );
        assert!(
            run(&e, &f64::MAX, Some(json!(-f64::MAX)))
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn ground_truth_checks() {
        let e: &dyn Evaluator<(), f64> = &NumericCloseness::new(1.0);
        assert!(e.check_ground_truth(Some(&json!(1))).is_ok());
        assert!(e.check_ground_truth(Some(&json!("1.5"))).is_ok());
        assert!(
            e.check_ground_truth(None)
                .unwrap_err()
                .starts_with("`numeric_closeness` compares the output with the ground truth")
        );
        assert!(
            e.check_ground_truth(Some(&json!(true)))
                .unwrap_err()
                .starts_with("the ground truth is a boolean (true), not a number")
        );
        let e: &dyn Evaluator<(), f64> = &NumericCloseness::new(1.0).ground_truth_field("v");
        assert!(e.check_ground_truth(Some(&json!({"v": 2}))).is_ok());
        assert!(
            e.check_ground_truth(Some(&json!({"w": 2})))
                .unwrap_err()
                .starts_with("the ground truth has no field `v`")
        );
    }

    #[test]
    fn invalid_tolerances_are_refused() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let panic = std::panic::catch_unwind(|| NumericCloseness::relative(bad)).unwrap_err();
            let message = panic.downcast_ref::<String>().unwrap();
            assert!(
                message
                    .starts_with("the tolerance of NumericCloseness must be a finite number >= 0")
            );
        }
    }

    #[test]
    fn names_and_params() {
        let e: &dyn Evaluator<(), f64> = &NumericCloseness::new(1.0);
        assert_eq!(e.name(), "numeric_closeness");
        assert!(e.params().output && e.params().ground_truth && !e.params().inputs);
        let e: &dyn Evaluator<(), f64> = &NumericCloseness::new(1.0).named("close");
        assert_eq!(e.name(), "close");
    }
}
