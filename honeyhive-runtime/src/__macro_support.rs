//! Items used by the code the macros generate (`#[trace]`, `#[evaluator]`, `#[experiment]`,
//! `evaluators!`), reached through the facade's hidden `honeyhive::__private` path. Not a
//! public API: it changes without notice.

// `#[trace]`.
pub use crate::__attribute_prefix as attribute_prefix;
/// What `#[trace(redact(arg))]` records for `arg`.
pub use crate::redact::REDACTED;
pub use crate::trace::call::{
    Call, CaptureInput, CaptureOutput, CaptureValue, ErrorRef, ErrorTextDebug, ErrorTextDisplay,
    ErrorTextName, Name, Recorder, Traced,
};
pub use crate::trace::stream::{
    CaptureItem, Folded, ItemError, TracedStream, fold_nothing, fold_result, fold_value,
};

// `#[evaluator]`.
/// The ground truth as the runtime gives it to evaluators.
pub use crate::JsonValue;
use crate::Score;
pub use crate::evaluator::{
    self, Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorOptions, IntoEvaluation, Params,
};

/// The ground truth of an evaluator that takes `ground_truth: &G`, from
/// `evaluator::ground_truth::<G>(value, true)`, which errs when there is none.
pub fn required_ground_truth<G>(
    parsed: ::core::result::Result<Option<G>, String>,
) -> ::core::result::Result<G, String> {
    parsed?.ok_or_else(|| "this evaluator needs ground truth but the datapoint has none".to_owned())
}

/// What an evaluator's `trace` parameter may refer to: [`Trace`](crate::Trace) only. The
/// `#[evaluator]` code passes the trace through it at the parameter's type, so another
/// type is reported there, with the fix.
#[diagnostic::on_unimplemented(
    message = "an evaluator's `trace` parameter is `&honeyhive::Trace`, not `&{Self}`",
    label = "write `trace: &honeyhive::Trace` here",
    note = "`trace` is bound by name to the spans the datapoint's function made; read tool calls, model calls and the span tree from it"
)]
pub trait TraceParameter {
    /// The trace as the parameter's type.
    fn from_trace(trace: &crate::Trace) -> &Self;
}

impl TraceParameter for crate::Trace {
    fn from_trace(trace: &crate::Trace) -> &Self {
        trace
    }
}

/// The trace given to an evaluator named `evaluator` that takes `trace: &T`, or its
/// error for the datapoint when the caller gave none.
pub fn trace_argument<'a, T: TraceParameter + ?Sized>(
    trace: Option<&'a crate::Trace>,
    evaluator: &str,
) -> Result<&'a T, String> {
    crate::evaluator::trace::given(trace, evaluator).map(T::from_trace)
}

/// Compiles only when `evaluator` scores an experiment with inputs `I` and output `O`;
/// otherwise the error is `Evaluator`'s, naming the evaluator.
pub fn assert_evaluator<I, O, E: Evaluator<I, O>>(_: &E) {}

/// The `Ok` types of an evaluator's `Result`, listed one by one (a blanket impl over
/// `ScoreValue` would report a missing `ScoreValue` instead of this message).
#[diagnostic::on_unimplemented(
    message = "an evaluator cannot return `Result<{Self}, _>`",
    label = "unsupported `Ok` type of an evaluator",
    note = "the `Ok` value must be `bool` (true = 1.0), an integer or float, a label (`String` or `&str`), or `honeyhive::Score`"
)]
pub trait OkScore {
    /// The value as a score.
    fn ok_score(self) -> Score;
}

impl OkScore for Score {
    fn ok_score(self) -> Score {
        self
    }
}

macro_rules! ok_scores {
    ($($t:ty),*) => {$(
        impl OkScore for $t {
            fn ok_score(self) -> Score {
                Score::new(self)
            }
        }
    )*};
}

ok_scores!(
    bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

impl OkScore for String {
    fn ok_score(self) -> Score {
        Score::labelled(self)
    }
}

impl OkScore for &str {
    fn ok_score(self) -> Score {
        Score::labelled(self)
    }
}

/// The evaluation of an evaluator returning `Result<T, E>`: the score, or the error's
/// `Display` text (what `IntoEvaluation` does, with errors that name `T`).
pub fn result_evaluation<T: OkScore, E: ::core::fmt::Display>(
    result: ::core::result::Result<T, E>,
) -> ::core::result::Result<Score, String> {
    match result {
        Ok(value) => Ok(value.ok_score()),
        Err(e) => Err(e.to_string()),
    }
}

// `evaluators!`.
/// Boxes one evaluator of [`evaluators!`](crate::evaluators!), keeping its types for
/// inference.
pub fn boxed_evaluator<I, O, E: Evaluator<I, O> + 'static>(
    evaluator: E,
) -> Box<dyn Evaluator<I, O>> {
    Box::new(evaluator)
}

// `#[experiment]`.
pub use crate::experiment::metric_names::{
    KnownMetric, Listed, Probe, ProbeKnown, ProbeNotKnown, metric, metric_error, metric_error_len,
    utf8,
};
pub use crate::experiment::{Comparison, Experiment, Regression, blocking, run_test};
pub use crate::runs::AggregateFunction;
