//! Evaluators: typed metrics that score what an experiment's function produced.
//!
//! An evaluator is anything implementing [`Evaluator<I, O>`] for the experiment's input
//! type `I` and output type `O`. Users rarely implement it by hand: `#[evaluator]` on a
//! scoring function generates the implementation, and the built-ins of
//! [`evaluators`](mod@crate::evaluators) implement it generically. The trait's type parameters are
//! what makes a mismatched evaluator a compile error: an evaluator whose `output` parameter
//! is `&Answer` implements `Evaluator<I, Answer>` and nothing else.
//!
//! Ground truth stays JSON until an evaluator reads it: each evaluator deserialises it into
//! its own type, so two evaluators may read it differently, and
//! [`Evaluator::check_ground_truth`] lets the runner reject a dataset before any call.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

pub mod trace;

pub use self::trace::Trace;

/// The boxed future of one evaluator call.
pub type EvalFuture<'a> = Pin<Box<dyn Future<Output = Result<Score, String>> + Send + 'a>>;

/// What one evaluator call is given. Which of these an evaluator reads is in its
/// [`Params`]; the runner records those on the evaluator's span.
#[derive(Debug)]
pub struct EvalInput<'a, I, O> {
    /// The value the experiment's function returned (the `Ok` value of a `Result`).
    pub output: &'a O,
    /// The datapoint's inputs, as the function received them.
    pub inputs: &'a I,
    /// The datapoint's ground truth as JSON; `None` when the datapoint has none.
    pub ground_truth: Option<&'a Value>,
    /// The spans the datapoint's function made ([`Trace`]): given when the evaluator's
    /// [`Params::trace`] asks for it (the run then collects them), else `None`.
    pub trace: Option<&'a Trace>,
}

impl<I, O> Clone for EvalInput<'_, I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for EvalInput<'_, I, O> {}

/// Which values an evaluator reads (its parameters, for `#[evaluator]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params {
    /// Reads the function's output.
    pub output: bool,
    /// Reads the datapoint's inputs.
    pub inputs: bool,
    /// Reads the ground truth.
    pub ground_truth: bool,
    /// Reads the datapoint's trace: the run collects each datapoint's spans for it
    /// ([`EvalInput::trace`]). Only then: a run whose evaluators do not read the trace
    /// collects nothing.
    pub trace: bool,
}

/// How the scores of a repeated evaluator (`repeat = n`) become its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    /// The arithmetic mean.
    #[default]
    Mean,
    /// The median (the mean of the two middle scores for an even count).
    Median,
    /// The lowest score.
    Min,
    /// The highest score.
    Max,
}

impl Aggregate {
    /// The names accepted by `aggregate = "..."`.
    pub const NAMES: [&'static str; 4] = ["mean", "median", "min", "max"];

    /// The aggregate named `name` (one of [`Aggregate::NAMES`]).
    pub fn from_name(name: &str) -> Option<Aggregate> {
        match name {
            "mean" => Some(Aggregate::Mean),
            "median" => Some(Aggregate::Median),
            "min" => Some(Aggregate::Min),
            "max" => Some(Aggregate::Max),
            _ => None,
        }
    }

    /// Its name, as in `aggregate = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Median => "median",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }

    /// Applies the aggregate; `None` for no values.
    ///
    /// ```
    /// use honeyhive::Aggregate;
    /// assert_eq!(Aggregate::Median.apply(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    /// assert_eq!(Aggregate::Mean.apply(&[1.0, 2.0]), Some(1.5));
    /// assert_eq!(Aggregate::Max.apply(&[]), None);
    /// ```
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            Aggregate::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Median => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                if sorted.len().is_multiple_of(2) {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                } else {
                    sorted[mid]
                }
            }
        })
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an evaluator is run: `repeat`, `aggregate` and `timeout` of `#[evaluator]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluatorOptions {
    /// Calls per datapoint (at least 1); every score is kept on the evaluator's span.
    pub repeat: u32,
    /// How the repeated scores become the metric.
    pub aggregate: Aggregate,
    /// Longest one call may take; `None` uses the experiment's evaluator timeout.
    pub timeout: Option<Duration>,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        EvaluatorOptions {
            repeat: 1,
            aggregate: Aggregate::Mean,
            timeout: None,
        }
    }
}

/// A metric of an experiment with input type `I` and output type `O`.
///
/// `#[evaluator]` implements it for a scoring function (on a hidden struct of the same
/// name, which is what `#[experiment(evaluators = [..])]` and [`evaluators!`](crate::evaluators!)
/// refer to). Implement it by hand for evaluators built at run time.
///
/// # Example
/// ```
/// use honeyhive::{EvalFuture, EvalInput, Evaluator, Params, Score};
///
/// /// Scores 1 when the output mentions a configured word.
/// struct Mentions(String);
///
/// impl<I> Evaluator<I, String> for Mentions {
///     fn name(&self) -> std::borrow::Cow<'static, str> {
///         format!("mentions_{}", self.0).into()
///     }
///     fn params(&self) -> Params {
///         Params { output: true, ..Params::default() }
///     }
///     fn evaluate<'a>(&'a self, input: EvalInput<'a, I, String>) -> EvalFuture<'a> {
///         let hit = input.output.contains(&self.0);
///         Box::pin(async move { Ok(Score::from(hit)) })
///     }
/// }
///
/// let input = EvalInput { output: &"Paris".to_owned(), inputs: &(), ground_truth: None, trace: None };
/// let score = futures_executor::block_on(Mentions("Paris".into()).evaluate(input)).unwrap();
/// assert_eq!(score.score, Some(1.0));
/// ```
#[diagnostic::on_unimplemented(
    message = "evaluator `{Self}` cannot score this experiment: it does not take output `{O}` with inputs `{I}`",
    label = "this evaluator's `output` or `inputs` parameter does not match the experiment function",
    note = "an evaluator of this experiment takes `output: &{O}` (the function's return type, the `Ok` type of a `Result`) and, if it reads them, `inputs: &{I}` (the function's parameter type)"
)]
pub trait Evaluator<I, O>: Send + Sync {
    /// The metric's name (`honeyhive_metrics.<name>`).
    fn name(&self) -> Cow<'static, str>;

    /// Which values it reads; the runner records them as the span's inputs.
    fn params(&self) -> Params;

    /// `repeat`, `aggregate`, `timeout`.
    fn options(&self) -> EvaluatorOptions {
        EvaluatorOptions::default()
    }

    /// Whether a datapoint's ground truth suits this evaluator. The runner checks every
    /// datapoint before calling anything; the error says what is wrong.
    fn check_ground_truth(&self, ground_truth: Option<&Value>) -> Result<(), String> {
        let _ = ground_truth;
        Ok(())
    }

    /// Scores one output. An `Err` is this evaluator's error for the datapoint; it never
    /// stops the other evaluators or the run.
    fn evaluate<'a>(&'a self, input: EvalInput<'a, I, O>) -> EvalFuture<'a>;
}

impl<I, O, E: Evaluator<I, O> + ?Sized> Evaluator<I, O> for Box<E> {
    fn name(&self) -> Cow<'static, str> {
        (**self).name()
    }
    fn params(&self) -> Params {
        (**self).params()
    }
    fn options(&self) -> EvaluatorOptions {
        (**self).options()
    }
    fn check_ground_truth(&self, ground_truth: Option<&Value>) -> Result<(), String> {
        (**self).check_ground_truth(ground_truth)
    }
    fn evaluate<'a>(&'a self, input: EvalInput<'a, I, O>) -> EvalFuture<'a> {
        (**self).evaluate(input)
    }
}

/// The result of one evaluator call: a score, a label, or both; an optional explanation;
/// extra metrics (recorded as `<evaluator>_<key>`), numbers or labels.
///
/// A label is text that classifies the output (`"relevant"`, `"toxic"`), as the reference
/// SDK allows strings among an evaluator's results: it goes on the evaluator's span as
/// `gen_ai.evaluation.score.label` and is kept in the report, where the summary counts each
/// label. An evaluator that returns a `String` (or `&str`) gives a score that is only a
/// label; no threshold can be set on its metric.
///
/// ```
/// use honeyhive::Score;
///
/// let score = Score::new(0.8)
///     .label("relevant")
///     .explanation("close enough")
///     .extra("tokens", 120)
///     .extra("cached", true)
///     .extra_label("tone", "polite");
/// assert_eq!(score.score, Some(0.8));
/// assert_eq!(score.label.as_deref(), Some("relevant"));
/// assert_eq!(score.extra, vec![("tokens".to_owned(), 120.0), ("cached".to_owned(), 1.0)]);
/// assert_eq!(score.labels, vec![("tone".to_owned(), "polite".to_owned())]);
/// assert_eq!(Score::from(true).score, Some(1.0));
///
/// let label_only = Score::from("toxic");
/// assert_eq!((label_only.score, label_only.label.as_deref()), (None, Some("toxic")));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The metric value; `None` for a score that is only a label.
    pub score: Option<f64>,
    /// The score's label (`gen_ai.evaluation.score.label`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Why, when the evaluator says (`honeyhive_metrics.<evaluator>_explanation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Extra scalar metrics, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, f64)>,
    /// Extra labels (metrics whose value is text), in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
}

impl Score {
    /// A score with no label, explanation or extra metrics.
    pub fn new(score: impl ScoreValue) -> Score {
        Score::with(Some(score.to_score()), None)
    }

    /// A score that is only a label (what an evaluator returning a string gives).
    pub fn labelled(label: impl Into<String>) -> Score {
        Score::with(None, Some(label.into()))
    }

    fn with(score: Option<f64>, label: Option<String>) -> Score {
        Score {
            score,
            label,
            explanation: None,
            extra: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds (or replaces) the score's label.
    pub fn label(mut self, text: impl Into<String>) -> Score {
        self.label = Some(text.into());
        self
    }

    /// Adds an explanation.
    pub fn explanation(mut self, text: impl Into<String>) -> Score {
        self.explanation = Some(text.into());
        self
    }

    /// Adds an extra scalar metric, recorded as `<evaluator>_<key>`.
    pub fn extra(mut self, key: impl Into<String>, value: impl ScoreValue) -> Score {
        self.extra.push((key.into(), value.to_score()));
        self
    }

    /// Adds an extra label, recorded as `<evaluator>_<key>` with text as its value.
    pub fn extra_label(mut self, key: impl Into<String>, text: impl Into<String>) -> Score {
        self.labels.push((key.into(), text.into()));
        self
    }
}

impl<T: ScoreValue> From<T> for Score {
    fn from(value: T) -> Score {
        Score::new(value)
    }
}

impl From<String> for Score {
    fn from(label: String) -> Score {
        Score::labelled(label)
    }
}

impl From<&str> for Score {
    fn from(label: &str) -> Score {
        Score::labelled(label)
    }
}

/// A scalar that is a score: `bool` (true = 1.0) or any integer or float.
pub trait ScoreValue {
    /// The value as a score.
    fn to_score(self) -> f64;
}

impl ScoreValue for bool {
    fn to_score(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
}

macro_rules! numeric_scores {
    ($($t:ty),*) => {$(
        impl ScoreValue for $t {
            #[allow(clippy::cast_lossless, clippy::cast_precision_loss)]
            fn to_score(self) -> f64 {
                self as f64
            }
        }
        impl IntoEvaluation for $t {
            fn into_evaluation(self) -> Result<Score, String> {
                Ok(Score::new(self))
            }
        }
    )*};
}

numeric_scores!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

/// What an evaluator function may return: `bool`, any integer or float, a label (`String`
/// or `&str`), [`Score`], or a `Result` of one of these whose error implements `Display`.
#[diagnostic::on_unimplemented(
    message = "an evaluator cannot return `{Self}`",
    label = "unsupported evaluator return type",
    note = "return `bool` (true = 1.0), an integer or float, a label (`String` or `&str`), `honeyhive::Score`, or a `Result` of one of these whose error implements `Display`"
)]
pub trait IntoEvaluation {
    /// The score, or the error text.
    fn into_evaluation(self) -> Result<Score, String>;
}

impl IntoEvaluation for bool {
    fn into_evaluation(self) -> Result<Score, String> {
        Ok(Score::new(self))
    }
}

impl IntoEvaluation for Score {
    fn into_evaluation(self) -> Result<Score, String> {
        Ok(self)
    }
}

impl IntoEvaluation for String {
    fn into_evaluation(self) -> Result<Score, String> {
        Ok(Score::labelled(self))
    }
}

impl IntoEvaluation for &str {
    fn into_evaluation(self) -> Result<Score, String> {
        Ok(Score::labelled(self))
    }
}

impl<T: IntoScore, E: fmt::Display> IntoEvaluation for Result<T, E> {
    fn into_evaluation(self) -> Result<Score, String> {
        self.map(IntoScore::into_score).map_err(|e| e.to_string())
    }
}

/// The `Ok` types an evaluator's `Result` may carry: `bool`, numbers, labels, [`Score`].
#[diagnostic::on_unimplemented(
    message = "an evaluator cannot return `Result<{Self}, _>`",
    label = "unsupported evaluator return type",
    note = "the `Ok` value must be `bool`, an integer or float, a label (`String` or `&str`), or `honeyhive::Score`"
)]
pub trait IntoScore {
    /// The value as a [`Score`].
    fn into_score(self) -> Score;
}

impl<T: ScoreValue> IntoScore for T {
    fn into_score(self) -> Score {
        Score::new(self)
    }
}

impl IntoScore for Score {
    fn into_score(self) -> Score {
        self
    }
}

impl IntoScore for String {
    fn into_score(self) -> Score {
        Score::labelled(self)
    }
}

impl IntoScore for &str {
    fn into_score(self) -> Score {
        Score::labelled(self)
    }
}

/// Deserialises the ground truth an evaluator reads as `&G` (required) or `Option<&G>`.
/// Used by the code `#[evaluator]` generates.
#[doc(hidden)]
pub fn ground_truth<G: serde::de::DeserializeOwned>(
    value: Option<&Value>,
    required: bool,
) -> Result<Option<G>, String> {
    match value {
        None | Some(Value::Null) if required => Err(format!(
            "this evaluator needs ground truth (`ground_truth: &{}`) but the datapoint has none; \
             take `ground_truth: Option<&{0}>` to score datapoints without one",
            crate::trace::call::short_type_name(std::any::type_name::<G>())
        )),
        None | Some(Value::Null) => Ok(None),
        Some(v) => G::deserialize(v).map(Some).map_err(|e| {
            format!(
                "the ground truth does not fit `{}`: {e}",
                crate::trace::call::short_type_name(std::any::type_name::<G>())
            )
        }),
    }
}

/// A list of evaluators of one experiment, built by [`evaluators!`](crate::evaluators!) or
/// by hand.
pub type EvaluatorList<I, O> = Vec<Box<dyn Evaluator<I, O>>>;

/// Builds an [`EvaluatorList`] from `#[evaluator]` functions (by path) and evaluator values
/// (any other expression).
///
/// ```
/// use honeyhive::{EvaluatorList, evaluators};
/// use honeyhive::evaluators::{Contains, ExactMatch};
///
/// let list: EvaluatorList<String, String> = evaluators![ExactMatch, Contains::new("Paris")];
/// assert_eq!(list.len(), 2);
/// ```
#[macro_export]
macro_rules! evaluators {
    (@list [$($done:expr,)*]) => {
        ::std::vec![$($done),*]
    };
    // A path names the hidden struct `#[evaluator]` generates (or a unit struct): `path {}`.
    // Matched segment by segment (not as a `$p:path` fragment, whose parser fails hard on
    // `Contains::new(..)`, and whose expansion `$p {}` is not a struct literal), so that an
    // entry continuing past the path (a call, a method chain) falls through to `$value:expr`.
    (@list [$($done:expr,)*] $($segment:ident)::+ $(, $($rest:tt)*)?) => {
        $crate::evaluators!(@list [$($done,)* $crate::__macro_support::boxed_evaluator($($segment)::+ {}),] $($($rest)*)?)
    };
    (@list [$($done:expr,)*] :: $($segment:ident)::+ $(, $($rest:tt)*)?) => {
        $crate::evaluators!(@list [$($done,)* $crate::__macro_support::boxed_evaluator(:: $($segment)::+ {}),] $($($rest)*)?)
    };
    (@list [$($done:expr,)*] $value:expr $(, $($rest:tt)*)?) => {
        $crate::evaluators!(@list [$($done,)* $crate::__macro_support::boxed_evaluator($value),] $($($rest)*)?)
    };
    ($($entries:tt)*) => {
        $crate::evaluators!(@list [] $($entries)*)
    };
}
