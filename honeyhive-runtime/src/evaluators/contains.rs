//! [`Contains`] and [`ContainsGroundTruth`]: the output's text contains a given text.

use std::borrow::Cow;

use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::{TextOptions, quote, text};
use crate::evaluator::Score;

const NAME: &str = "contains";
const GROUND_TRUTH_NAME: &str = "contains_ground_truth";

/// Scores 1 when the output's text contains a fixed text (the needle), else 0; metric
/// `contains`.
///
/// Reads only the output. Its text is the output itself when it is a string (a `String`
/// output), else the text field selected with [`field`](Self::field); any other value is
/// an error of the datapoint saying what was found. An empty needle is contained in every
/// text. [`Contains::ground_truth`] checks for the ground truth's text instead.
///
/// Two `Contains` of one run need different metric names: give them with
/// [`named`](Self::named).
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::Contains;
/// use honeyhive::{EvalInput, Evaluator};
///
/// let output = "The capital of France is Paris.".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
/// assert_eq!(block_on(Contains::new("Paris").evaluate(input)).unwrap().score, Some(1.0));
///
/// let score = block_on(Contains::new("paris").evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(0.0));
/// assert_eq!(score.explanation.unwrap(), r#"the output does not contain "paris""#);
///
/// let lenient = Contains::new("paris").case_insensitive().named("mentions_paris");
/// assert_eq!(lenient.name(), "mentions_paris");
/// assert_eq!(block_on(lenient.evaluate(input)).unwrap().score, Some(1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Contains {
    config: Settings,
    needle: String,
}

impl Contains {
    /// Checks that the output contains `needle`.
    ///
    /// ```
    /// use honeyhive::evaluators::Contains;
    /// let evaluator = Contains::new("Paris");
    /// assert_eq!(evaluator.name(), "contains");
    /// ```
    pub fn new(needle: impl Into<String>) -> Contains {
        Contains {
            config: Settings::default(),
            needle: needle.into(),
        }
    }

    /// Checks that the output contains the ground truth's text; see
    /// [`ContainsGroundTruth`].
    ///
    /// ```
    /// use honeyhive::evaluators::Contains;
    /// assert_eq!(Contains::ground_truth().name(), "contains_ground_truth");
    /// ```
    pub fn ground_truth() -> ContainsGroundTruth {
        ContainsGroundTruth::default()
    }

    /// The metric name: the one given to [`named`](Self::named), else `contains`.
    ///
    /// ```
    /// use honeyhive::evaluators::Contains;
    /// assert_eq!(Contains::new("x").name(), "contains");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl Contains {
        /// Renames the metric (`honeyhive_metrics.<name>`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::Contains;
        /// assert_eq!(Contains::new("Paris").named("mentions_paris").name(), "mentions_paris");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Reads the text at `path` of the output: a dotted path (`answer.text`,
        /// `choices.0.message`) or a JSON Pointer (`/answer/text`). A missing field or a value
        /// that is not text is an error of the datapoint.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        ///
        /// #[derive(serde::Serialize)]
        /// struct Reply { answer: String, tokens: u32 }
        ///
        /// let output = Reply { answer: "It is Paris.".into(), tokens: 4 };
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
        /// assert_eq!(block_on(Contains::new("Paris").field("answer").evaluate(input)).unwrap().score, Some(1.0));
        /// let error = block_on(Contains::new("Paris").evaluate(input)).unwrap_err();
        /// assert!(error.starts_with("the output is an object with fields `answer`, `tokens`, not text"));
        /// ```
        fn field(path: impl Into<String>);

        /// Ignores case (Unicode lowercase of both texts).
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        ///
        /// let output = "PARIS".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
        /// assert_eq!(block_on(Contains::new("Paris").case_insensitive().evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn case_insensitive();

        /// Ignores whitespace differences: in both texts, leading and trailing whitespace is
        /// dropped and every inner run (line breaks included) becomes one space.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        ///
        /// let output = "Visit New\nYork".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
        /// let evaluator = Contains::new("New York").normalize_whitespace();
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn normalize_whitespace();
    }
}

impl Builtin for Contains {
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
        let haystack = self.read_output(output, text)?;
        Ok(contains(haystack, &self.needle, self.config.text, None))
    }
}

/// Scores 1 when the output's text contains the ground truth's text, else 0; metric
/// `contains_ground_truth`. Built by [`Contains::ground_truth`].
///
/// Reads the output and the ground truth. Each text is the value itself when it is a
/// string, else the text field selected with [`field`](Self::field) (both sides),
/// [`output_field`](Self::output_field) or [`ground_truth_field`](Self::ground_truth_field).
/// Datapoints whose ground truth is missing or not text are rejected before any call.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::Contains;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// let output = "The capital of France is Paris.".to_owned();
/// let truth = json!({"city": "paris"});
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
///
/// let evaluator = Contains::ground_truth().ground_truth_field("city").case_insensitive();
/// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
///
/// // The ground truth is an object, not text: rejected before any call.
/// let error = Evaluator::<(), String>::check_ground_truth(&Contains::ground_truth(), Some(&truth));
/// assert!(error.unwrap_err().starts_with("the ground truth is an object with fields `city`, not text"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ContainsGroundTruth {
    config: Settings,
}

impl ContainsGroundTruth {
    /// The metric name: the one given to [`named`](Self::named), else
    /// `contains_ground_truth`.
    ///
    /// ```
    /// use honeyhive::evaluators::Contains;
    /// assert_eq!(Contains::ground_truth().name(), "contains_ground_truth");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl ContainsGroundTruth {
        /// Renames the metric (`honeyhive_metrics.<name>`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::Contains;
        /// assert_eq!(Contains::ground_truth().named("cites_answer").name(), "cites_answer");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Reads the text at `path` of both the output and the ground truth (a dotted path or
        /// a JSON Pointer, as in [`Contains::field`]).
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": "It is Paris, France."});
        /// let truth = json!({"answer": "Paris"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = Contains::ground_truth().field("answer");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn field(path: impl Into<String>);

        /// Reads the text at `path` of the output only.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": "It is Paris."});
        /// let truth = json!("Paris");
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = Contains::ground_truth().output_field("answer");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn output_field(path: impl Into<String>);

        /// Reads the text at `path` of the ground truth only.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Contains;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = "It is Paris.".to_owned();
        /// let truth = json!({"answer": "Paris"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let evaluator = Contains::ground_truth().ground_truth_field("answer");
        /// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn ground_truth_field(path: impl Into<String>);

        /// Ignores case (Unicode lowercase of both texts).
        ///
        /// ```
        /// use honeyhive::evaluators::Contains;
        /// let evaluator = Contains::ground_truth().case_insensitive();
        /// ```
        fn case_insensitive();

        /// Ignores whitespace differences (as [`Contains::normalize_whitespace`]).
        ///
        /// ```
        /// use honeyhive::evaluators::Contains;
        /// let evaluator = Contains::ground_truth().normalize_whitespace();
        /// ```
        fn normalize_whitespace();
    }
}

impl Builtin for ContainsGroundTruth {
    const NAME: &'static str = GROUND_TRUTH_NAME;
    const COMPARES: bool = true;
    type Truth<'v> = &'v str;

    fn config(&self) -> &Settings {
        &self.config
    }

    fn truth<'v>(&self, ground_truth: Option<&'v Value>) -> Result<&'v str, String> {
        self.read_ground_truth(ground_truth, text)
    }

    fn score(&self, output: &Value, needle: &str) -> Result<Score, String> {
        let haystack = self.read_output(output, text)?;
        let options = self.config.text;
        Ok(contains(
            haystack,
            needle,
            options,
            Some("the ground truth"),
        ))
    }
}

builtin_evaluator!(Contains);
builtin_evaluator!(ContainsGroundTruth);

/// The score of the output's text `haystack` containing `needle`, explained when it does
/// not.
fn contains(
    haystack: &str,
    needle: &str,
    options: TextOptions,
    needle_name: Option<&str>,
) -> Score {
    let found = options.apply(haystack).contains(&*options.apply(needle));
    if found {
        return Score::new(true);
    }
    let needle = match needle_name {
        Some(name) => format!("{name} {}", quote(needle)),
        None => quote(needle),
    };
    Score::new(false).explanation(format!(
        "the output does not contain {needle}{}",
        options.note()
    ))
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::evaluator::Evaluator;
    use crate::evaluators::builtin::run;

    #[test]
    fn fixed_needle() {
        let s = "Hello, World".to_owned();
        assert_eq!(
            run(&Contains::new("World"), &s, None).unwrap().score,
            Some(1.0)
        );
        assert_eq!(run(&Contains::new(""), &s, None).unwrap().score, Some(1.0));
        let miss = run(&Contains::new("world"), &s, None).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.as_deref(),
            Some("the output does not contain \"world\"")
        );
        let miss = run(&Contains::new("moon").case_insensitive(), &s, None).unwrap();
        assert_eq!(
            miss.explanation.as_deref(),
            Some("the output does not contain \"moon\" (ignoring case)")
        );
        assert_eq!(
            run(&Contains::new("WORLD").case_insensitive(), &s, None)
                .unwrap()
                .score,
            Some(1.0)
        );
        // The ground truth is not read, even when present.
        assert_eq!(
            run(&Contains::new("World"), &s, Some(json!(5)))
                .unwrap()
                .score,
            Some(1.0)
        );
    }

    #[test]
    fn fields_and_errors() {
        #[derive(Serialize)]
        struct Reply {
            answer: Option<String>,
            tokens: u32,
        }
        let reply = Reply {
            answer: Some("Paris".into()),
            tokens: 3,
        };
        let e = Contains::new("Par").field("answer");
        assert_eq!(run(&e, &reply, None).unwrap().score, Some(1.0));
        let error = run(&Contains::new("3").field("tokens"), &reply, None).unwrap_err();
        assert_eq!(
            error,
            "the output's field `tokens` is a number (3), not text"
        );
        let error = run(&Contains::new("x").field("missing"), &reply, None).unwrap_err();
        assert!(error.starts_with("the output has no field `missing`"));
        let none = Reply {
            answer: None,
            tokens: 0,
        };
        let error = run(&e, &none, None).unwrap_err();
        assert_eq!(error, "the output's field `answer` is null, not text");
        let error = run(&Contains::new("1"), &1_u8, None).unwrap_err();
        assert!(error.starts_with(
            "the output is a number (1), not text; select a text field with `.field(\"..\")`"
        ));
    }

    #[test]
    fn ground_truth_needle() {
        let s = "The answer is Paris.".to_owned();
        let e = Contains::ground_truth();
        assert_eq!(run(&e, &s, Some(json!("Paris"))).unwrap().score, Some(1.0));
        let miss = run(&e, &s, Some(json!("Rome"))).unwrap();
        assert_eq!(
            miss.explanation.as_deref(),
            Some("the output does not contain the ground truth \"Rome\"")
        );
        let e = Contains::ground_truth()
            .output_field("a")
            .ground_truth_field("b.0")
            .case_insensitive()
            .normalize_whitespace();
        let out = json!({"a": "x  PARIS y"});
        assert_eq!(
            run(&e, &out, Some(json!({"b": [" paris "]})))
                .unwrap()
                .score,
            Some(1.0)
        );
    }

    #[test]
    fn ground_truth_checks() {
        let e: &dyn Evaluator<(), String> = &Contains::ground_truth();
        assert!(e.check_ground_truth(Some(&json!("x"))).is_ok());
        assert!(
            e.check_ground_truth(None)
                .unwrap_err()
                .starts_with("`contains_ground_truth` compares the output with the ground truth")
        );
        assert!(
            e.check_ground_truth(Some(&json!(4)))
                .unwrap_err()
                .starts_with("the ground truth is a number (4), not text; select a text field with `.ground_truth_field(")
        );
        let plain: &dyn Evaluator<(), String> = &Contains::new("x");
        assert!(plain.check_ground_truth(None).is_ok());
    }

    #[test]
    fn names_and_params() {
        let a: &dyn Evaluator<(), String> = &Contains::new("a");
        let b: &dyn Evaluator<(), String> = &Contains::ground_truth().named("b");
        assert_eq!((a.name(), b.name()), ("contains".into(), "b".into()));
        assert!(a.params().output && !a.params().ground_truth && !a.params().inputs);
        assert!(b.params().output && b.params().ground_truth && !b.params().inputs);
    }
}
