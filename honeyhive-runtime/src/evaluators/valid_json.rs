//! [`ValidJson`]: the output's text parses as JSON.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::text;
use crate::evaluator::Score;

const NAME: &str = "valid_json";

/// Scores 1 when the output's text parses as JSON, else 0 with the parse error as the
/// explanation; metric `valid_json`.
///
/// Reads only the output: the output itself when it is a string (a model's raw reply),
/// else the text field selected with [`field`](Self::field). An output that is already
/// structured (an object, a number) is an error of the datapoint rather than a 1: there is
/// no text to check. Any JSON value counts, surrounding whitespace included; nothing may
/// follow it.
///
/// `ValidJson` takes no configuration, so a bare path names it in
/// `#[experiment(evaluators = [honeyhive::evaluators::ValidJson])]`; its builder methods
/// return a [`ValidJsonWith`].
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ValidJson;
/// use honeyhive::{EvalInput, Evaluator};
///
/// let output = r#"{"city": "Paris"}"#.to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
/// assert_eq!(block_on(ValidJson.evaluate(input)).unwrap().score, Some(1.0));
///
/// let output = "{'city': 'Paris'}".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
/// let score = block_on(ValidJson.evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.explanation.unwrap(), "not JSON: key must be a string at line 1 column 2");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ValidJson;

impl ValidJson {
    /// The metric name: `valid_json`.
    ///
    /// ```
    /// assert_eq!(honeyhive::evaluators::ValidJson.name(), "valid_json");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(NAME)
    }
}

/// [`ValidJson`] with options, built by its builder methods.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::ValidJson;
/// use honeyhive::{EvalInput, Evaluator};
///
/// #[derive(serde::Serialize)]
/// struct Reply { raw: String, model: String }
///
/// let output = Reply { raw: "[1, 2, 3]".into(), model: "small".into() };
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
/// let evaluator = ValidJson.field("raw").named("raw_is_json");
/// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ValidJsonWith {
    config: Settings,
}

impl ValidJsonWith {
    /// The metric name: the one given to [`named`](Self::named), else `valid_json`.
    ///
    /// ```
    /// use honeyhive::evaluators::ValidJson;
    /// assert_eq!(ValidJson.field("raw").name(), "valid_json");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl ValidJson => ValidJsonWith {
        /// Renames the metric (`honeyhive_metrics.<name>`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::ValidJson;
        /// assert_eq!(ValidJson.field("raw").named("raw_is_json").name(), "raw_is_json");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Checks the text at `path` of the output: a dotted path (`reply.raw`) or a JSON
        /// Pointer (`/reply/raw`). A missing field or a value that is not text is an error of
        /// the datapoint.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::ValidJson;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"reply": {"raw": "not json"}});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
        /// assert_eq!(block_on(ValidJson.field("reply.raw").evaluate(input)).unwrap().score, Some(0.0));
        /// ```
        fn field(path: impl Into<String>);
    }
}

impl Builtin for ValidJsonWith {
    const NAME: &'static str = NAME;
    const COMPARES: bool = false;
    type Truth<'v> = ();

    fn config(&self) -> &Settings {
        &self.config
    }

    fn truth(&self, _: Option<&Value>) -> Result<(), String> {
        Ok(())
    }

    fn score(&self, output: &Value, (): ()) -> Result<Score, String> {
        let text = self.read_output(output, text)?;
        Ok(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Score::new(true),
            Err(error) => Score::new(false).explanation(format!("not JSON: {error}")),
        })
    }
}

builtin_evaluator!(ValidJsonWith);
builtin_evaluator!(ValidJson => ValidJsonWith);

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::evaluator::Evaluator;

    fn run<O: Serialize>(evaluator: &impl Evaluator<(), O>, output: &O) -> Result<Score, String> {
        crate::evaluators::builtin::run(evaluator, output, None)
    }

    #[test]
    fn parses_text() {
        for ok in [r#"{"a": [1, null]}"#, " 42 ", "\"s\"", "null", "[]"] {
            assert_eq!(
                run(&ValidJson, &ok.to_owned()).unwrap().score,
                Some(1.0),
                "{ok}"
            );
        }
        for bad in ["", "{a: 1}", "[1, 2", "{} {}", "```json\n{}\n```"] {
            let score = run(&ValidJson, &bad.to_owned()).unwrap();
            assert_eq!(score.score, Some(0.0), "{bad}");
            assert!(score.explanation.unwrap().starts_with("not JSON: "));
        }
        let score = run(&ValidJson, &"{} {}".to_owned()).unwrap();
        assert_eq!(
            score.explanation.as_deref(),
            Some("not JSON: trailing characters at line 1 column 4")
        );
    }

    #[test]
    fn structured_outputs_need_a_field() {
        let out = json!({"n": 1, "raw": "{}"});
        assert_eq!(run(&ValidJson.field("raw"), &out).unwrap().score, Some(1.0));
        assert_eq!(
            run(&ValidJson, &out).unwrap_err(),
            "the output is an object with fields `n`, `raw`, not text; \
             select a field with `.field(\"raw\")` (its text fields: `raw`)"
        );
        assert_eq!(
            run(&ValidJson.field("n"), &out).unwrap_err(),
            "the output's field `n` is a number (1), not text"
        );
        assert!(run(&ValidJson.field("x"), &out).is_err());
        assert!(
            run(&ValidJson, &Option::<String>::None)
                .unwrap_err()
                .starts_with("the output is null, not text")
        );
    }

    #[test]
    fn names_and_params() {
        let e: &dyn Evaluator<(), String> = &ValidJson;
        assert_eq!(e.name(), "valid_json");
        assert!(e.params().output && !e.params().ground_truth && !e.params().inputs);
        assert!(e.check_ground_truth(None).is_ok());
        let e: &dyn Evaluator<(), String> = &ValidJson.named("ok_json");
        assert_eq!(e.name(), "ok_json");
    }
}
