//! What every built-in is made of: its [`Settings`] (metric name, selected fields, text
//! options), the builder methods that set it (`config_methods!`), the [`Builtin`] trait
//! its scoring implements, and the [`Evaluator`](crate::Evaluator) implementation on top
//! of that (`builtin_evaluator!`).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::json::{COMPARED_OUTPUT, FieldPath, GROUND_TRUTH, OUTPUT, Side, TextOptions};
use crate::evaluator::{EvalFuture, Params, Score};

/// What the builder methods of the built-ins set. Each built-in offers the methods that
/// suit it and reads the settings it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    /// The name given to `.named(..)`.
    name: Option<Cow<'static, str>>,
    /// Where the output is read; `None` reads all of it.
    pub(crate) output: Option<FieldPath>,
    /// Where the ground truth is read; `None` reads all of it.
    pub(crate) ground_truth: Option<FieldPath>,
    /// Case and whitespace handling of text.
    pub(crate) text: TextOptions,
}

impl Settings {
    #[track_caller]
    pub(crate) fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        assert!(
            !name.trim().is_empty(),
            "an evaluator's name must not be empty: it names the metric `honeyhive_metrics.<name>`"
        );
        self.name = Some(name);
        self
    }

    /// The same path in the output and in the ground truth (which a built-in that reads
    /// only the output never reads).
    pub(crate) fn field(self, path: impl Into<String>) -> Self {
        let path = FieldPath::parse(path);
        Settings {
            output: Some(path.clone()),
            ground_truth: Some(path),
            ..self
        }
    }

    pub(crate) fn output_field(mut self, path: impl Into<String>) -> Self {
        self.output = Some(FieldPath::parse(path));
        self
    }

    pub(crate) fn ground_truth_field(mut self, path: impl Into<String>) -> Self {
        self.ground_truth = Some(FieldPath::parse(path));
        self
    }

    pub(crate) fn case_insensitive(mut self) -> Self {
        self.text.case_insensitive = true;
        self
    }

    pub(crate) fn normalize_whitespace(mut self) -> Self {
        self.text.normalize_whitespace = true;
        self
    }
}

/// Defines builder methods that set the [`Settings`] of a built-in, each given once with its
/// docs and parameter.
///
/// `impl Configured { .. }` sets the type's `config` field. `impl Unit => Configured { .. }`
/// does that and gives the unit type (which a bare path names, as in `ExactMatch.field(..)`)
/// the same methods, with the same docs: each starts from `Configured::default()` and
/// returns it.
macro_rules! config_methods {
    (impl $ty:ty { $($(#[$attr:meta])* fn $method:ident($($arg:ident: $arg_ty:ty)?);)* }) => {
        impl $ty {$(
            $(#[$attr])*
            pub fn $method(mut self $(, $arg: $arg_ty)?) -> Self {
                self.config = self.config.$method($($arg)?);
                self
            }
        )*}
    };
    (impl $unit:ty => $with:ty { $($(#[$attr:meta])* fn $method:ident($($arg:ident: $arg_ty:ty)?);)* }) => {
        config_methods! { impl $with { $($(#[$attr])* fn $method($($arg: $arg_ty)?);)* } }
        impl $unit {$(
            $(#[$attr])*
            pub fn $method(self $(, $arg: $arg_ty)?) -> $with {
                <$with>::default().$method($($arg)?)
            }
        )*}
    };
}
pub(crate) use config_methods;

/// The scoring logic of a built-in, on JSON. `builtin_evaluator!` turns it into an
/// [`Evaluator`](crate::Evaluator) for every input type and every `Serialize` output.
pub(crate) trait Builtin: Send + Sync + 'static {
    /// The metric name, unless `.named(..)` gives another.
    const NAME: &'static str;
    /// Whether it compares the output with the ground truth, which it then needs.
    const COMPARES: bool;
    /// What it reads of the ground truth (`()` when it does not compare).
    type Truth<'v>;

    fn config(&self) -> &Settings;

    /// Reads the ground truth, or says why this datapoint's does not suit (the runner
    /// asks before any call).
    fn truth<'v>(&self, ground_truth: Option<&'v Value>) -> Result<Self::Truth<'v>, String>;

    /// Scores the output, as JSON, against what [`truth`](Builtin::truth) read.
    fn score(&self, output: &Value, truth: Self::Truth<'_>) -> Result<Score, String>;

    fn metric_name(&self) -> Cow<'static, str> {
        let custom = self.config().name.clone();
        custom.unwrap_or(Cow::Borrowed(Self::NAME))
    }

    fn params(&self) -> Params {
        Params {
            output: true,
            inputs: false,
            ground_truth: Self::COMPARES,
            trace: false,
        }
    }

    /// Reads the selected part of the output with `read` (`pick`, `text` or `number`).
    fn read_output<'v, T>(
        &self,
        output: &'v Value,
        read: impl FnOnce(&'v Value, Option<&FieldPath>, Side) -> Result<T, String>,
    ) -> Result<T, String> {
        let side = if Self::COMPARES {
            COMPARED_OUTPUT
        } else {
            OUTPUT
        };
        read(output, self.config().output.as_ref(), side)
    }

    /// Reads the selected part of the ground truth with `read`; a datapoint without one
    /// (JSON `null` counts as none) is an error.
    fn read_ground_truth<'v, T>(
        &self,
        ground_truth: Option<&'v Value>,
        read: impl FnOnce(&'v Value, Option<&FieldPath>, Side) -> Result<T, String>,
    ) -> Result<T, String> {
        match ground_truth {
            None | Some(Value::Null) => Err(format!(
                "`{}` compares the output with the ground truth, but this datapoint has none; \
                 give every datapoint a `ground_truth`, or leave this evaluator out",
                self.metric_name()
            )),
            Some(truth) => read(truth, self.config().ground_truth.as_ref(), GROUND_TRUTH),
        }
    }
}

/// Implements `Evaluator<I, O>` for `O: Serialize` through a [`Builtin`]: the type's own
/// (`builtin_evaluator!(Configured)`), or for a unit type, the default of its configured
/// type (`builtin_evaluator!(Unit => Configured)`), which a bare path names, so its metric
/// name is also a constant there.
macro_rules! builtin_evaluator {
    (@impl $ty:ty, |$this:ident| $builtin:expr) => {
        impl<I, O: ::serde::Serialize> $crate::evaluator::Evaluator<I, O> for $ty {
            fn name(&self) -> ::std::borrow::Cow<'static, str> {
                let $this = self;
                $crate::evaluators::builtin::Builtin::metric_name($builtin)
            }
            fn params(&self) -> $crate::evaluator::Params {
                let $this = self;
                $crate::evaluators::builtin::Builtin::params($builtin)
            }
            fn check_ground_truth(
                &self,
                ground_truth: ::std::option::Option<&::serde_json::Value>,
            ) -> ::std::result::Result<(), ::std::string::String> {
                let $this = self;
                $crate::evaluators::builtin::Builtin::truth($builtin, ground_truth).map(drop)
            }
            fn evaluate<'a>(
                &'a self,
                input: $crate::evaluator::EvalInput<'a, I, O>,
            ) -> $crate::evaluator::EvalFuture<'a> {
                let $this = self;
                $crate::evaluators::builtin::evaluate($builtin, input.output, input.ground_truth)
            }
        }
    };
    ($ty:ty) => {
        $crate::evaluators::builtin::builtin_evaluator!(@impl $ty, |this| this);
    };
    ($unit:ty => $with:ty) => {
        $crate::evaluators::builtin::builtin_evaluator!(@impl $unit, |_unit| &<$with>::default());

        impl $crate::experiment::metric_names::KnownMetric for $unit {
            const METRIC: &'static str = <$with as $crate::evaluators::builtin::Builtin>::NAME;
        }
    };
}
pub(crate) use builtin_evaluator;

/// Scores synchronously (nothing of `I` or `O` is held across an await) and boxes the result.
pub(crate) fn evaluate<'a, O: Serialize>(
    builtin: &impl Builtin,
    output: &O,
    ground_truth: Option<&Value>,
) -> EvalFuture<'a> {
    let result = serde_json::to_value(output)
        .map_err(|e| format!("the output cannot be turned into JSON: {e}"))
        .and_then(|output| builtin.score(&output, builtin.truth(ground_truth)?));
    Box::pin(std::future::ready(result))
}

/// Runs an evaluator on one output with `()` inputs, as the tests of the built-ins do.
#[cfg(test)]
pub(crate) fn run<O: Serialize>(
    evaluator: &impl crate::evaluator::Evaluator<(), O>,
    output: &O,
    truth: Option<Value>,
) -> Result<Score, String> {
    let input = crate::evaluator::EvalInput {
        output,
        inputs: &(),
        ground_truth: truth.as_ref(),
        trace: None,
    };
    futures_executor::block_on(evaluator.evaluate(input))
}
