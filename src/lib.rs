//! # honeyhive
//!
//! Trace and evaluate LLM applications on [HoneyHive](https://honeyhive.ai) from Rust.
//!
//! A [`HoneyHiveTracer`] is one session. Every OpenTelemetry span started while a tracer's
//! context is current (directly, in a task spawned with [`spawn`], on a thread started with
//! [`thread::spawn`], or in another process that received the context through
//! [`baggage::inject`]) carries the session and its evaluation ids (`run_id`, `dataset_id`,
//! `datapoint_id`).
//!
//! With an API key (`HH_API_KEY`), sessions and spans go to HoneyHive over HTTP. Without
//! one, they are written under `target/honeyhive/` as JSON lines: no account is needed to
//! start.
//!
//! ```
//! use honeyhive::{Enrichment, Environment, HoneyHiveTracer};
//! use honeyhive::opentelemetry::trace::Tracer as _;
//!
//! let dir = std::env::temp_dir().join("honeyhive-doc-facade");
//! let tracer = HoneyHiveTracer::builder()
//!     .environment(Environment::empty()) // no API key: local store
//!     .local_dir(&dir)
//!     .session_name("support-bot")
//!     .build()?;
//! tracer.in_scope(|| {
//!     tracer.otel_tracer().unwrap().in_span("retrieve", |_cx| {
//!         honeyhive::enrich_span(Enrichment::new().metadata("k", &3));
//!     });
//! });
//! tracer.flush()?;
//! let spans = honeyhive::local_store::read_spans(&dir)?;
//! assert!(spans.iter().any(|s| s.attributes["honeyhive.session_id"] == tracer.session_id()));
//! # Ok::<(), honeyhive::Error>(())
//! ```

pub use honeyhive_runtime::*;

/// Records every call of a function as a HoneyHive span: inputs, output, errors, panics,
/// duration, nested under the calling span. See the macro's documentation for its options
/// (`name`, `event_type`, `skip`, `skip_all`, `skip_output`, `metadata`, `config`,
/// `crate`).
pub use honeyhive_macros::trace;

/// Makes a scoring function an evaluator of experiments: `output`, `inputs` and
/// `ground_truth` parameters bound by name, any score-like return type. See the macro's
/// documentation for its options (`name`, `repeat`, `aggregate`, `timeout`, `crate`).
pub use honeyhive_macros::evaluator;

/// Makes a test that runs a function over a dataset, scores it with evaluators and fails
/// on a missed threshold. See the macro's documentation for its options.
pub use honeyhive_macros::experiment;

/// Items used by the code the macros generate. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    // `#[trace]`.
    pub use honeyhive_runtime::__attribute_prefix as attribute_prefix;
    pub use honeyhive_runtime::call::{
        Call, CaptureInput, CaptureOutput, CaptureValue, ErrorRef, ErrorTextDebug,
        ErrorTextDisplay, ErrorTextName, Name, Recorder, Traced,
    };

    // `#[evaluator]`.
    /// The ground truth as the runtime gives it to evaluators.
    pub use honeyhive_runtime::JsonValue;
    pub use honeyhive_runtime::evaluator::{
        self, Aggregate, EvalFuture, EvalInput, Evaluator, EvaluatorOptions, IntoEvaluation, Params,
    };

    /// The ground truth of an evaluator that takes `ground_truth: &G`, from
    /// `evaluator::ground_truth::<G>(value, true)`, which errs when there is none.
    pub fn required_ground_truth<G>(
        parsed: ::core::result::Result<Option<G>, String>,
    ) -> ::core::result::Result<G, String> {
        parsed?.ok_or_else(|| {
            "this evaluator needs ground truth but the datapoint has none".to_owned()
        })
    }

    /// Compiles only when `evaluator` scores an experiment with inputs `I` and output `O`;
    /// otherwise the error is `Evaluator`'s, naming the evaluator.
    pub fn assert_evaluator<I, O, E: Evaluator<I, O>>(_: &E) {}

    /// The `Ok` types of an evaluator's `Result`, listed one by one (a blanket impl over
    /// `ScoreValue` would report a missing `ScoreValue` instead of this message).
    #[diagnostic::on_unimplemented(
        message = "an evaluator cannot return `Result<{Self}, _>`",
        label = "unsupported `Ok` type of an evaluator",
        note = "the `Ok` value must be `bool` (true = 1.0), an integer or float, or `honeyhive::Score`"
    )]
    pub trait OkScore {
        /// The value as a score.
        fn ok_score(self) -> honeyhive_runtime::Score;
    }

    impl OkScore for honeyhive_runtime::Score {
        fn ok_score(self) -> honeyhive_runtime::Score {
            self
        }
    }

    macro_rules! ok_scores {
        ($($t:ty),*) => {$(
            impl OkScore for $t {
                fn ok_score(self) -> honeyhive_runtime::Score {
                    honeyhive_runtime::Score::new(self)
                }
            }
        )*};
    }

    ok_scores!(
        bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
    );

    /// The evaluation of an evaluator returning `Result<T, E>`: the score, or the error's
    /// `Display` text (what `IntoEvaluation` does, with errors that name `T`).
    pub fn result_evaluation<T: OkScore, E: ::core::fmt::Display>(
        result: ::core::result::Result<T, E>,
    ) -> ::core::result::Result<honeyhive_runtime::Score, String> {
        match result {
            Ok(value) => Ok(value.ok_score()),
            Err(e) => Err(e.to_string()),
        }
    }

    // `#[experiment]`.
    pub use honeyhive_runtime::experiment::{Comparison, Experiment, blocking, run_test};
}

/// The README's examples, compiled and run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
