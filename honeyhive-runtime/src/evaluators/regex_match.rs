//! [`RegexMatch`]: the output's text matches a regular expression.

use std::borrow::Cow;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use super::builtin::{Builtin, Settings, builtin_evaluator, config_methods};
use super::json::{quote, text};
use crate::evaluator::Score;

const NAME: &str = "regex_match";

/// Scores 1 when a regular expression matches the output's text, else 0; metric
/// `regex_match`.
///
/// Reads only the output: the output itself when it is a string, else the text field
/// selected with [`field`](Self::field). The pattern uses the
/// [`regex`](https://docs.rs/regex) crate's syntax and matches anywhere in the text:
/// anchor it (`^…$`) to match the whole text, and start it with `(?i)` to ignore case.
/// A hit's explanation quotes the matched text, a miss's the text searched.
///
/// [`RegexMatch::new`] panics on an invalid pattern, which suits a pattern written in the
/// code (like `Regex::new(..).unwrap()`, it fails when the evaluator list is built, before
/// any datapoint runs); [`RegexMatch::try_new`] returns the error, for patterns read at run
/// time.
///
/// # Example
/// ```
/// use futures_executor::block_on;
/// use honeyhive::evaluators::RegexMatch;
/// use honeyhive::{EvalInput, Evaluator};
///
/// let output = "Call us at 555-0142.".to_owned();
/// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
///
/// let phone = RegexMatch::new(r"\d{3}-\d{4}").named("has_phone_number");
/// let score = block_on(phone.evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(1.0));
/// assert_eq!(score.explanation.unwrap(), r#"matched "555-0142""#);
///
/// let whole = RegexMatch::new(r"^\d{3}-\d{4}$");
/// assert_eq!(block_on(whole.evaluate(input)).unwrap().score, Some(0.0));
/// ```
#[derive(Debug, Clone)]
pub struct RegexMatch {
    config: Settings,
    regex: Regex,
}

impl RegexMatch {
    /// Checks the output's text against `pattern`.
    ///
    /// # Panics
    /// When `pattern` is not a valid regular expression (or compiles too large); the
    /// message says why. Use [`try_new`](Self::try_new) for patterns not written in the
    /// code.
    ///
    /// ```
    /// use honeyhive::evaluators::RegexMatch;
    /// let evaluator = RegexMatch::new(r"(?i)\bparis\b");
    /// assert_eq!(evaluator.pattern(), r"(?i)\bparis\b");
    /// ```
    ///
    /// ```should_panic
    /// use honeyhive::evaluators::RegexMatch;
    /// let evaluator = RegexMatch::new(r"(unclosed");
    /// ```
    #[track_caller]
    pub fn new(pattern: &str) -> RegexMatch {
        match RegexMatch::try_new(pattern) {
            Ok(evaluator) => evaluator,
            Err(error) => panic!("{error} (use `RegexMatch::try_new` to handle this error)"),
        }
    }

    /// Checks the output's text against `pattern`, or says why `pattern` is not a valid
    /// regular expression.
    ///
    /// ```
    /// use honeyhive::evaluators::RegexMatch;
    ///
    /// assert!(RegexMatch::try_new(r"^\d+$").is_ok());
    /// let error = RegexMatch::try_new(r"(unclosed").unwrap_err();
    /// assert_eq!(error.pattern(), "(unclosed");
    /// assert!(error.to_string().starts_with("invalid regular expression `(unclosed`: "));
    /// ```
    pub fn try_new(pattern: &str) -> Result<RegexMatch, InvalidRegex> {
        let regex = Regex::new(pattern).map_err(|error| InvalidRegex {
            pattern: pattern.to_owned(),
            message: error.to_string(),
        })?;
        Ok(RegexMatch {
            config: Settings::default(),
            regex,
        })
    }

    /// The pattern, as given.
    ///
    /// ```
    /// use honeyhive::evaluators::RegexMatch;
    /// assert_eq!(RegexMatch::new("a+").pattern(), "a+");
    /// ```
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The metric name: the one given to [`named`](Self::named), else `regex_match`.
    ///
    /// ```
    /// use honeyhive::evaluators::RegexMatch;
    /// assert_eq!(RegexMatch::new("a+").name(), "regex_match");
    /// ```
    pub fn name(&self) -> Cow<'static, str> {
        self.metric_name()
    }
}

config_methods! {
    impl RegexMatch {
        /// Renames the metric (`honeyhive_metrics.<name>`).
        ///
        /// # Panics
        /// When `name` is empty.
        ///
        /// ```
        /// use honeyhive::evaluators::RegexMatch;
        /// assert_eq!(RegexMatch::new(r"\d").named("has_digit").name(), "has_digit");
        /// ```
        #[track_caller]
        fn named(name: impl Into<Cow<'static, str>>);

        /// Reads the text at `path` of the output: a dotted path (`answer.text`) or a JSON
        /// Pointer (`/answer/text`). A missing field or a value that is not text is an error
        /// of the datapoint.
        ///
        /// ```
        /// use futures_executor::block_on;
        /// use honeyhive::evaluators::RegexMatch;
        /// use honeyhive::{EvalInput, Evaluator};
        /// use serde_json::json;
        ///
        /// let output = json!({"reply": {"date": "2024-05-01"}});
        /// let input = EvalInput { output: &output, inputs: &(), ground_truth: None, trace: None };
        /// let iso_date = RegexMatch::new(r"^\d{4}-\d{2}-\d{2}$").field("reply.date");
        /// assert_eq!(block_on(iso_date.evaluate(input)).unwrap().score, Some(1.0));
        /// ```
        fn field(path: impl Into<String>);
    }
}

impl Builtin for RegexMatch {
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
        Ok(match self.regex.find(text) {
            Some(found) => {
                Score::new(true).explanation(format!("matched {}", quote(found.as_str())))
            }
            None => Score::new(false).explanation(format!(
                "`{}` does not match the output {}",
                self.regex.as_str(),
                quote(text)
            )),
        })
    }
}

builtin_evaluator!(RegexMatch);

/// A pattern given to [`RegexMatch::try_new`] that is not a valid regular expression.
///
/// ```
/// use honeyhive::evaluators::{InvalidRegex, RegexMatch};
///
/// let error: InvalidRegex = RegexMatch::try_new("[a-").unwrap_err();
/// assert_eq!(error.pattern(), "[a-");
/// let as_dyn: Box<dyn std::error::Error> = Box::new(error);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRegex {
    pattern: String,
    message: String,
}

impl InvalidRegex {
    /// The pattern that failed.
    ///
    /// ```
    /// use honeyhive::evaluators::RegexMatch;
    /// assert_eq!(RegexMatch::try_new("(").unwrap_err().pattern(), "(");
    /// ```
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Display for InvalidRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid regular expression `{}`: {}",
            self.pattern, self.message
        )
    }
}

impl std::error::Error for InvalidRegex {}

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
    fn matches_anywhere_unless_anchored() {
        let s = "order #1234 shipped".to_owned();
        let hit = run(&RegexMatch::new(r"#(\d+)"), &s).unwrap();
        assert_eq!(hit.score, Some(1.0));
        assert_eq!(hit.explanation.as_deref(), Some("matched \"#1234\""));
        let miss = run(&RegexMatch::new(r"^#\d+$"), &s).unwrap();
        assert_eq!(miss.score, Some(0.0));
        assert_eq!(
            miss.explanation.as_deref(),
            Some("`^#\\d+$` does not match the output \"order #1234 shipped\"")
        );
        assert_eq!(
            run(&RegexMatch::new("(?i)SHIPPED"), &s).unwrap().score,
            Some(1.0)
        );
    }

    #[test]
    fn invalid_patterns() {
        let error = RegexMatch::try_new("a{2").unwrap_err();
        assert_eq!(error.pattern(), "a{2");
        assert!(
            error
                .to_string()
                .starts_with("invalid regular expression `a{2`: ")
        );
        let panic = std::panic::catch_unwind(|| RegexMatch::new("(")).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("invalid regular expression `(`"));
        assert!(message.ends_with("(use `RegexMatch::try_new` to handle this error)"));
    }

    #[test]
    fn fields_and_errors() {
        let out = json!({"a": ["x", "2024"], "n": 5});
        assert_eq!(
            run(&RegexMatch::new(r"^\d+$").field("a.1"), &out)
                .unwrap()
                .score,
            Some(1.0)
        );
        assert_eq!(
            run(&RegexMatch::new(r"\d").field("n"), &out).unwrap_err(),
            "the output's field `n` is a number (5), not text"
        );
        assert!(
            run(&RegexMatch::new(r"\d"), &out)
                .unwrap_err()
                .starts_with("the output is an object with fields `a`, `n`, not text")
        );
        assert!(
            run(&RegexMatch::new(r"\d").field("a.7"), &out)
                .unwrap_err()
                .contains("so there is no index 7")
        );
    }

    #[test]
    fn names_params_and_ground_truth() {
        let e: &dyn Evaluator<(), String> = &RegexMatch::new("x");
        assert_eq!(e.name(), "regex_match");
        assert!(e.params().output && !e.params().ground_truth && !e.params().inputs);
        assert!(e.check_ground_truth(None).is_ok());
        let e: &dyn Evaluator<(), String> = &RegexMatch::new("x").named("y");
        assert_eq!(e.name(), "y");
    }
}
