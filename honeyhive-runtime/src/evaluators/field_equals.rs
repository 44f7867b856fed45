//! [`FieldEquals`]: the share of listed fields equal in the output and the ground truth.

use std::borrow::Cow;

use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::{FieldPath, join_listed, json_eq, pick, select, short_json};
use crate::evaluator::Score;

const NAME: &str = "field_equals";

/// Scores the share of listed fields that are equal in the output and in the ground
/// truth, from 0 to 1; metric `field_equals`.
///
/// Reads the output and the ground truth, both as JSON (no schema: a struct output and an
/// object ground truth, or two `serde_json::Value`s). Each field is a dotted path
/// (`answer.city`, `sources.0`) or a JSON Pointer (`/answer/city`); values compare as
/// JSON, numbers by value (`1` equals `1.0`). A field missing from the output counts as
/// unequal. The explanation lists the unequal fields with both values.
///
/// Every listed field must be in the ground truth: datapoints whose ground truth is
/// missing or lacks one are rejected before any call.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::FieldEquals;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// #[derive(serde::Serialize)]
/// struct Invoice { vendor: String, total: f64, lines: Vec<String> }
///
/// let output = Invoice { vendor: "ACME".into(), total: 99.0, lines: vec!["bolts".into()] };
/// let truth = json!({"vendor": "ACME", "total": 99, "lines": ["nuts"]});
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
///
/// let score = block_on(FieldEquals::new(["vendor", "total", "lines.0"]).evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(2.0 / 3.0));
/// assert_eq!(
///     score.explanation.unwrap(),
///     r#"2 of 3 fields equal; `lines.0`: output "bolts", ground truth "nuts""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldEquals {
    config: Settings,
    fields: Vec<FieldPath>,
}

impl FieldEquals {
    /// Compares the fields at `paths` (dotted paths or JSON Pointers).
    ///
    /// # Panics
    /// When `paths` is empty: there would be nothing to score.
    ///
    /// ```
    /// use honeyhive::evaluators::FieldEquals;
    /// let evaluator = FieldEquals::new(["answer.city", "answer.country"]);
    /// assert_eq!(evaluator.fields().collect::<Vec<_>>(), ["answer.city", "answer.country"]);
    /// ```
    #[track_caller]
    pub fn new<P: Into<String>>(paths: impl IntoIterator<Item = P>) -> FieldEquals {
        let fields: Vec<FieldPath> = paths.into_iter().map(FieldPath::parse).collect();
        assert!(
            !fields.is_empty(),
            "FieldEquals::new needs at least one field to compare"
        );
        FieldEquals {
            config: Settings::default(),
            fields,
        }
    }

    /// The compared fields, as given.
    ///
    /// ```
    /// use honeyhive::evaluators::FieldEquals;
    /// assert_eq!(FieldEquals::new(["a"]).fields().count(), 1);
    /// ```
    pub fn fields(&self) -> impl Iterator<Item = &str> + '_ {
        self.fields.iter().map(|f| f.as_str())
    }

    /// The metric name: the one given to [`named`](Self::named), else `field_equals`.
    ///
    /// ```
    /// use honeyhive::evaluators::FieldEquals;
    /// assert_eq!(FieldEquals::new(["a"]).name(), "field_equals");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl FieldEquals {
        /// Renames the metric (`honeyhive_metrics.<name>`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::FieldEquals;
        /// assert_eq!(FieldEquals::new(["a"]).named("extraction").name(), "extraction");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);
    }
}

impl Builtin for FieldEquals {
    const NAME: &'static str = NAME;
    const COMPARES: bool = true;
    /// The ground truth's value of each field, in order.
    type Truth<'v> = Vec<&'v Value>;

    fn config(&self) -> &Settings {
        &self.config
    }

    fn truth<'v>(&self, ground_truth: Option<&'v Value>) -> Result<Vec<&'v Value>, String> {
        let truth = self.read_ground_truth(ground_truth, pick)?;
        let mut expected = Vec::with_capacity(self.fields.len());
        let mut missing = Vec::new();
        for field in &self.fields {
            match select(truth, field) {
                Ok(value) => expected.push(value),
                Err(reason) => missing.push(format!("`{field}` ({reason})")),
            }
        }
        if missing.is_empty() {
            return Ok(expected);
        }
        Err(format!(
            "the ground truth lacks {} that `{}` compares: {}",
            if missing.len() == 1 {
                "a field"
            } else {
                "fields"
            },
            self.name(),
            join_listed(&missing)
        ))
    }

    fn score(&self, output: &Value, truth: Vec<&Value>) -> Result<Score, String> {
        let mut unequal = Vec::new();
        for (field, expected) in self.fields.iter().zip(truth) {
            match select(output, field) {
                Ok(actual) if json_eq(actual, expected) => {}
                Ok(actual) => unequal.push(format!(
                    "`{field}`: output {}, ground truth {}",
                    short_json(actual),
                    short_json(expected)
                )),
                Err(reason) => unequal.push(format!(
                    "`{field}`: missing from the output ({reason}), ground truth {}",
                    short_json(expected)
                )),
            }
        }
        let total = self.fields.len();
        let equal = total - unequal.len();
        #[allow(clippy::cast_precision_loss)]
        let mut score = Score::new(equal as f64 / total as f64);
        if !unequal.is_empty() {
            score = score.explanation(format!(
                "{equal} of {total} fields equal; {}",
                join_listed(&unequal)
            ));
        }
        Ok(score)
    }
}

builtin_evaluator!(FieldEquals);

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::evaluator::Evaluator;
    use crate::evaluators::builtin::run;

    #[test]
    fn fraction_of_equal_fields() {
        let out = json!({"a": {"b": 1}, "c": "x", "d": [1, 2]});
        let truth = || Some(json!({"a": {"b": 1.0}, "c": "y", "d": [1, 2], "e": 0}));
        let all = run(&FieldEquals::new(["a.b", "d"]), &out, truth()).unwrap();
        assert_eq!((all.score, all.explanation), (Some(1.0), None));
        let half = run(&FieldEquals::new(["a.b", "c"]), &out, truth()).unwrap();
        assert_eq!(half.score, Some(0.5));
        assert_eq!(
            half.explanation.as_deref(),
            Some("1 of 2 fields equal; `c`: output \"x\", ground truth \"y\"")
        );
        let missing = run(&FieldEquals::new(["e", "/a/b"]), &out, truth()).unwrap();
        assert_eq!(missing.score, Some(0.5));
        assert_eq!(
            missing.explanation.as_deref(),
            Some(
                "1 of 2 fields equal; `e`: missing from the output (it has no field `e`; \
                 its fields are `a`, `c`, `d`), ground truth 0"
            )
        );
    }

    #[test]
    fn struct_outputs() {
        #[derive(Serialize)]
        struct Out {
            name: String,
            age: Option<u32>,
        }
        let out = Out {
            name: "Ada".into(),
            age: None,
        };
        let truth = Some(json!({"name": "Ada", "age": null}));
        assert_eq!(
            run(&FieldEquals::new(["name", "age"]), &out, truth)
                .unwrap()
                .score,
            Some(1.0)
        );
    }

    #[test]
    fn ground_truth_must_have_every_field() {
        let e: &dyn Evaluator<(), Value> = &FieldEquals::new(["a", "b.c", "d"]);
        assert!(
            e.check_ground_truth(Some(&json!({"a": 1, "b": {"c": 2}, "d": null})))
                .is_ok()
        );
        assert_eq!(
            e.check_ground_truth(Some(&json!({"a": 1, "b": 2})))
                .unwrap_err(),
            "the ground truth lacks fields that `field_equals` compares: \
             `b.c` (`b` is a number (2), which has no fields); \
             `d` (it has no field `d`; its fields are `a`, `b`)"
        );
        assert!(
            e.check_ground_truth(None)
                .unwrap_err()
                .starts_with("`field_equals` compares the output with the ground truth")
        );
        // Evaluating without the check says the same.
        let error = run(&FieldEquals::new(["z"]), &json!({"z": 1}), Some(json!({}))).unwrap_err();
        assert_eq!(
            error,
            "the ground truth lacks a field that `field_equals` compares: `z` (it is an empty object)"
        );
    }

    #[test]
    #[should_panic(expected = "FieldEquals::new needs at least one field")]
    fn no_fields_is_refused() {
        let _ = FieldEquals::new(Vec::<String>::new());
    }

    #[test]
    fn names_and_params() {
        let e: &dyn Evaluator<(), Value> = &FieldEquals::new(["a"]);
        assert_eq!(e.name(), "field_equals");
        assert!(e.params().output && e.params().ground_truth && !e.params().inputs);
        let e: &dyn Evaluator<(), Value> = &FieldEquals::new(["a"]).named("x");
        assert_eq!(e.name(), "x");
    }
}
