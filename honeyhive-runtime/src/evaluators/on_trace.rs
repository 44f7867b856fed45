//! What the built-ins on the trace ([`ToolCalled`](super::ToolCalled) and the others) are
//! made of: a metric name that `.named(..)` changes, and the [`Evaluator`] implementation
//! that gives their check the datapoint's trace (`trace_evaluator!`).

use std::borrow::Cow;

use crate::evaluator::Params;

/// What every built-in on the trace reads: the trace, nothing else.
pub(super) fn params() -> Params {
    Params {
        trace: true,
        ..Params::default()
    }
}

#[track_caller]
pub(super) fn checked_name(name: Cow<'static, str>) -> Cow<'static, str> {
    assert!(
        !name.trim().is_empty(),
        "an evaluator's name must not be empty: it names the metric `honeyhive_metrics.<name>`"
    );
    name
}

/// Gives each type (a struct with a `name: Cow<'static, str>` field and a
/// `fn check(&self, &Trace) -> Result<Score, String>`) its `named` and `name` methods,
/// documented with `$example` (an expression building one), and its
/// [`Evaluator`](crate::Evaluator) implementation for every input and output type.
macro_rules! trace_evaluator {
    ($($ty:ident = $example:expr;)*) => {$(
        impl $ty {
            /// Renames the metric (`honeyhive_metrics.<name>`), as two of one kind in one
            /// run need.
            ///
            /// # Panics
            /// When `name` is empty.
            ///
            #[doc = concat!(
                "```\nuse honeyhive::evaluators::", stringify!($ty), ";\n",
                "assert_eq!(", stringify!($example), ".named(\"renamed\").name(), \"renamed\");\n```"
            )]
            #[track_caller]
            pub fn named(mut self, name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
                self.name = super::on_trace::checked_name(name.into());
                self
            }

            /// The metric name.
            pub fn name(&self) -> ::std::borrow::Cow<'static, str> {
                self.name.clone()
            }
        }

        impl<I, O> $crate::evaluator::Evaluator<I, O> for $ty {
            fn name(&self) -> ::std::borrow::Cow<'static, str> {
                self.name.clone()
            }
            fn params(&self) -> $crate::evaluator::Params {
                super::on_trace::params()
            }
            fn evaluate<'a>(
                &'a self,
                input: $crate::evaluator::EvalInput<'a, I, O>,
            ) -> $crate::evaluator::EvalFuture<'a> {
                let result = $crate::evaluator::trace::given(input.trace, &self.name)
                    .and_then(|trace| self.check(trace));
                ::std::boxed::Box::pin(::std::future::ready(result))
            }
        }
    )*};
}
pub(super) use trace_evaluator;

/// Runs `evaluator` on `trace`, as the tests of the built-ins on the trace do.
#[cfg(test)]
pub(super) fn run(
    evaluator: &dyn crate::evaluator::Evaluator<(), ()>,
    trace: &crate::evaluator::Trace,
) -> Result<crate::evaluator::Score, String> {
    futures_executor::block_on(evaluator.evaluate(crate::evaluator::EvalInput {
        output: &(),
        inputs: &(),
        ground_truth: None,
        trace: Some(trace),
    }))
}
