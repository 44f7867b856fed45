//! [`Levenshtein`]: how close the output's text is to the ground truth's.

use std::borrow::Cow;

use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::{count, quote, text};
use crate::evaluator::Score;

const NAME: &str = "levenshtein";

/// Scores the normalised Levenshtein similarity of the output's text and the ground
/// truth's, from 0 (nothing in common) to 1 (equal); metric `levenshtein`, with the edit
/// distance as the extra metric `levenshtein_distance`.
///
/// The similarity is `1 - distance / length of the longer text`, counted in characters
/// (Unicode scalar values), as [`strsim::normalized_levenshtein`](https://docs.rs/strsim)
/// computes it; two empty texts are equal.
///
/// Reads the output and the ground truth. Each text is the value itself when it is a
/// string, else the text field selected with [`field`](Self::field) (both sides),
/// [`output_field`](Self::output_field) or [`ground_truth_field`](Self::ground_truth_field).
/// Datapoints whose ground truth is missing or not text are rejected before any call.
///
/// `Levenshtein` takes no configuration, so a bare path names it in
/// `#[experiment(evaluators = [honeyhive::evaluators::Levenshtein])]`; its builder methods
/// return a [`LevenshteinWith`].
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::Levenshtein;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// let truth = json!("kitten");
/// let output = "sitting".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
/// let score = block_on(Levenshtein.evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(1.0 - 3.0 / 7.0));
/// assert_eq!(score.extra, vec![("distance".to_owned(), 3.0)]);
/// assert_eq!(score.explanation.unwrap(), r#"3 edits from the ground truth "kitten" to the output "sitting""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Levenshtein;

impl Levenshtein {
    /// The metric name: `levenshtein`.
    ///
    /// ```
    /// assert_eq!(honeyhive::evaluators::Levenshtein.name(), "levenshtein");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(NAME)
    }
}

/// [`Levenshtein`] with options, built by its builder methods.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::Levenshtein;
/// use honeyhive::{EvalInput, Evaluator};
/// use serde_json::json;
///
/// #[derive(serde::Serialize)]
/// struct Summary { text: String, words: usize }
///
/// let output = Summary { text: "The  Cat sat.".into(), words: 3 };
/// let truth = json!({"text": "the cat sat."});
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
/// let evaluator = Levenshtein.field("text").case_insensitive().normalize_whitespace();
/// assert_eq!(block_on(evaluator.evaluate(input)).unwrap().score, Some(1.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LevenshteinWith {
    config: Settings,
}

impl LevenshteinWith {
    /// The metric name: the one given to [`named`](Self::named), else `levenshtein`.
    ///
    /// ```
    /// use honeyhive::evaluators::Levenshtein;
    /// assert_eq!(Levenshtein.field("a").name(), "levenshtein");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl Levenshtein => LevenshteinWith {
        /// Renames the metric (`honeyhive_metrics.<name>`; the distance is then
        /// `<name>_distance`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::Levenshtein;
        /// assert_eq!(Levenshtein.field("a").named("answer_similarity").name(), "answer_similarity");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Compares the text at `path` of the output with the text at `path` of the ground
        /// truth: a dotted path (`answer.text`, `choices.0`) or a JSON Pointer
        /// (`/answer/text`).
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Levenshtein;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": "Pariss"});
        /// let truth = json!({"answer": "Paris"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// let score = block_on(Levenshtein.field("answer").evaluate(input)).unwrap();
        /// assert_eq!(score.score, Some(1.0 - 1.0 / 6.0));
        /// ```
        fn field(path: impl Into<String>);

        /// Reads the output's text at `path` only.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Levenshtein;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"answer": "Paris"});
        /// let truth = json!("Paris");
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(Levenshtein.output_field("answer").evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn output_field(path: impl Into<String>);

        /// Reads the ground truth's text at `path` only; datapoints whose ground truth lacks
        /// it are rejected before any call.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Levenshtein;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = "Paris".to_owned();
        /// let truth = json!({"answer": "Paris"});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(Levenshtein.ground_truth_field("answer").evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn ground_truth_field(path: impl Into<String>);

        /// Ignores case: both texts are lowercased (Unicode) before comparing.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Levenshtein;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let truth = json!("PARIS");
        /// let output = "paris".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(Levenshtein.case_insensitive().evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn case_insensitive();

        /// Ignores whitespace differences: in both texts, leading and trailing whitespace is
        /// dropped and every inner run becomes one space before comparing.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::Levenshtein;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let truth = json!("New York");
        /// let output = "New\n  York ".to_owned();
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: Some(&truth), trace: None };
        /// assert_eq!(block_on(Levenshtein.normalize_whitespace().evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn normalize_whitespace();
    }
}

impl Builtin for LevenshteinWith {
    const NAME: &'static str = NAME;
    const COMPARES: bool = true;
    type Truth<'v> = &'v str;

    fn config(&self) -> &Settings {
        &self.config
    }

    fn truth<'v>(&self, ground_truth: Option<&'v Value>) -> Result<&'v str, String> {
        self.read_ground_truth(ground_truth, text)
    }

    fn score(&self, output: &Value, truth: &str) -> Result<Score, String> {
        let output = self.read_output(output, text)?;
        let options = self.config.text;
        let (a, b) = (options.apply(output), options.apply(truth));
        // The distance once, normalised as `strsim::normalized_levenshtein` does (it
        // would compute the distance a second time).
        let distance = strsim::levenshtein(&a, &b);
        let longest = a.chars().count().max(b.chars().count());
        #[allow(clippy::cast_precision_loss)]
        let similarity = if longest == 0 {
            1.0
        } else {
            1.0 - distance as f64 / longest as f64
        };
        let mut score = Score::new(similarity).extra("distance", distance);
        if distance > 0 {
            score = score.explanation(format!(
                "{} from the ground truth {} to the output {}{}",
                count(distance, "edit"),
                quote(truth),
                quote(output),
                options.note()
            ));
        }
        Ok(score)
    }
}

builtin_evaluator!(LevenshteinWith);
builtin_evaluator!(Levenshtein => LevenshteinWith);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evaluator::Evaluator;
    use crate::evaluators::builtin::run;

    #[test]
    fn similarity_and_distance() {
        let s = |t: &str| t.to_owned();
        let same = run(&Levenshtein, &s("héllo"), Some(json!("héllo"))).unwrap();
        assert_eq!(same.score, Some(1.0));
        assert_eq!(same.explanation, None);
        assert_eq!(same.extra, vec![("distance".to_owned(), 0.0)]);
        let empty = run(&Levenshtein, &s(""), Some(json!(""))).unwrap();
        assert_eq!(empty.score, Some(1.0));
        let none = run(&Levenshtein, &s("abc"), Some(json!("xyz"))).unwrap();
        assert_eq!(none.score, Some(0.0));
        // Counted in characters, not bytes.
        let one = run(&Levenshtein, &s("héllo"), Some(json!("hello"))).unwrap();
        assert_eq!(one.score, Some(0.8));
        assert_eq!(
            one.explanation.as_deref(),
            Some("1 edit from the ground truth \"hello\" to the output \"héllo\"")
        );
    }

    #[test]
    fn text_options() {
        let out = "  HELLO   world ".to_owned();
        let truth = || Some(json!("hello world"));
        assert!(run(&Levenshtein, &out, truth()).unwrap().score.unwrap() < 0.5);
        let both = Levenshtein.case_insensitive().normalize_whitespace();
        assert_eq!(run(&both, &out, truth()).unwrap().score, Some(1.0));
        let case = run(&Levenshtein.case_insensitive(), &out, truth()).unwrap();
        assert!(case.explanation.unwrap().ends_with("(ignoring case)"));
    }

    #[test]
    fn fields_and_errors() {
        let out = json!({"a": "abc", "n": 1});
        let truth = || Some(json!({"a": "abd"}));
        let score = run(&Levenshtein.field("a"), &out, truth()).unwrap();
        assert!((score.score.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            run(
                &Levenshtein.output_field("n").ground_truth_field("a"),
                &out,
                truth()
            )
            .unwrap_err(),
            "the output's field `n` is a number (1), not text"
        );
        assert!(
            run(&Levenshtein, &out, Some(json!("abc")))
                .unwrap_err()
                .starts_with("the output is an object with fields `a`, `n`, not text; select a field with `.output_field(\"a\")`")
        );
    }

    #[test]
    fn ground_truth_checks() {
        let e: &dyn Evaluator<(), String> = &Levenshtein;
        assert!(e.check_ground_truth(Some(&json!("x"))).is_ok());
        assert!(
            e.check_ground_truth(None)
                .unwrap_err()
                .starts_with("`levenshtein` compares the output with the ground truth")
        );
        assert!(
            e.check_ground_truth(Some(&json!(["x"])))
                .unwrap_err()
                .starts_with("the ground truth is an array of 1 item, not text")
        );
        let e: &dyn Evaluator<(), String> = &Levenshtein.ground_truth_field("a");
        assert!(e.check_ground_truth(Some(&json!({"a": "x"}))).is_ok());
        assert!(e.check_ground_truth(Some(&json!({"b": "x"}))).is_err());
    }

    #[test]
    fn names_and_params() {
        let e: &dyn Evaluator<(), String> = &Levenshtein;
        assert_eq!(e.name(), "levenshtein");
        assert!(e.params().output && e.params().ground_truth && !e.params().inputs);
        let e: &dyn Evaluator<(), String> = &Levenshtein.named("sim");
        assert_eq!(e.name(), "sim");
    }
}
