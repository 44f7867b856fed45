//! LLM judges: evaluators that ask a model for a verdict, over any OpenAI-compatible chat
//! completions endpoint (OpenAI, Azure, Ollama, vLLM, LiteLLM, ...), that never turn an
//! answer they cannot read into a score.
//!
//! - [`Judge`]: the model to ask, configured from `OPENAI_BASE_URL`, `OPENAI_API_KEY` and
//!   `HH_JUDGE_MODEL` (`HH_JUDGE_BASE_URL` and `HH_JUDGE_API_KEY` when the judge is not
//!   the application's provider) or a builder. Usable in any `#[evaluator]`: `.await` its
//!   methods in an `async fn`, or call them through [`Judge::blocking`] in a sync one.
//! - Verdicts ([`VerdictSpec`]): a choice from a list with a score per choice
//!   ([`Choices`]), a number on a stated scale ([`Scale`]), pass or fail with reasons
//!   ([`PassFail`]), or your own `serde` type ([`Typed`], [`Judge::verdict`]). Each
//!   converts into a [`Score`](crate::Score) with the judge's reasoning as its explanation.
//! - Ready-made evaluators for `evaluators = [...]`: [`Factuality`], [`ClosedQa`],
//!   [`Faithfulness`], [`Rubric`], [`Classifier`]. Their prompts are readable templates
//!   (`Factuality::TEMPLATE`, ...) that `.template(..)` replaces.
//!
//! # Structured output, degrading in order, never silently
//!
//! A judge asks for its verdict's structure in the strongest form its server takes:
//!
//! 1. a JSON schema response format (`response_format: {"type": "json_schema"}`), which the
//!    server enforces;
//! 2. else a forced call of one tool whose parameters are the verdict's schema;
//! 3. else text: the prompt says how to write the verdict (a choice letter on the last
//!    line, `Answer: B`, as autoevals' classifiers ask; `Score: 4`; `PASS`), and the
//!    answer is read tolerantly: a JSON object (the whole answer, a fenced block, the last
//!    object in it), else that answer line.
//!
//! How "the server takes it" is known: declared (`HH_JUDGE_STRUCTURED_OUTPUT=json_schema`,
//! `tool_call` or `text`, or [`JudgeBuilder::structured_output`]: the judge then asks in
//! that form only), or, by default (`auto`), from the server's answer: a request rejected
//! with HTTP 400, 422 or 501 whose error message names the form (`response_format`,
//! `json_schema`, `schema` or `structured` for the first; `tool` or `function` for the
//! second) is asked again one step down, and the judge (with its clones) remembers the step
//! its server accepted, so later calls start there. Each rejected form is one warning
//! ([`Warning::JudgeFormRejected`](crate::Warning::JudgeFormRejected)) naming the judge,
//! the form and the server's message, and the form a verdict was read in is on the
//! evaluator's span (`honeyhive_metadata.judge_structured_output`: `json_schema`,
//! `tool_call`, `text`, with `+text` when a structured request was answered in text). Under
//! `HH_LLM_CACHE` (record, replay, auto) the judge does not remember: every call walks the
//! ladder from the top, so what is recorded does not depend on which datapoint asked first.
//!
//! An answer that holds no verdict is a [`JudgeError::Unparsable`] carrying the raw answer:
//! the evaluator's error for that datapoint (in the report, with the raw text), never a
//! score.
//!
//! # Cost, noise, rate limits
//!
//! Judge calls go through the crate's one model seam, [`ModelTransport`](crate::model::ModelTransport):
//! each is a model span under the evaluator's span, with the datapoint's session and ids,
//! tokens and cost; in an experiment their totals are the run's evaluation cost, shown
//! apart from the application's. They go through the record/replay cassettes
//! (`HH_LLM_CACHE`), so a recorded judge reruns free and deterministic. Temperature is 0
//! unless set. 429 (honouring `Retry-After`), 5xx and connection failures are retried
//! with the crate's [`RetryPolicy`](crate::RetryPolicy) (more patient for judges: 8
//! retries within 60 s); the experiment's `evaluator_concurrency` bounds how many judge
//! calls are in flight. `repeat = n` with an aggregate (`Factuality::new().repeat(3,
//! Aggregate::Median)`, or `#[evaluator(repeat = 3, aggregate = "median")]`) asks `n`
//! times; the report shows the spread of the repeated scores.
//!
//! # Example
//! ```no_run
//! use honeyhive::evaluators::judge::{Choices, Factuality, Judge, Prompt};
//! use honeyhive::{Score, evaluator, evaluators};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Answer { answer: String }
//!
//! // A judge inside your own evaluator, async ...
//! #[evaluator]
//! async fn polite(output: &Answer) -> Result<Score, honeyhive::evaluators::judge::JudgeError> {
//!     let judge = Judge::from_env()?;
//!     let choices = Choices::new([("Y", 1.0), ("N", 0.0)]);
//!     let prompt = Prompt::user(format!("Is this reply polite? Y or N.\n{}", output.answer));
//!     Ok(judge.classify(prompt, &choices).await?.into())
//! }
//!
//! // ... or sync.
//! #[evaluator]
//! fn short(output: &Answer) -> Result<Score, honeyhive::evaluators::judge::JudgeError> {
//!     let judge = Judge::from_env()?;
//!     let rating = judge.blocking().rate(
//!         format!("How concise is this, 1 to 5?\n{}", output.answer),
//!         honeyhive::evaluators::judge::Scale::new(1.0, 5.0),
//!     )?;
//!     Ok(rating.into())
//! }
//!
//! // And the ready-made ones.
//! let list: honeyhive::EvaluatorList<(), Answer> = evaluators![
//!     polite,
//!     short,
//!     Factuality::new().output_field("answer").expected_field("answer"),
//! ];
//! ```

mod builtins;
mod client;
mod core;
mod error;
mod parse;
mod prompt;
mod verdict;

pub use self::builtins::{Classifier, ClosedQa, Factuality, Faithfulness, Rubric};
pub use self::client::{
    BlockingJudge, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_TIMEOUT, Judge, JudgeBuilder, Judged,
    STRUCTURED_OUTPUT_ATTRIBUTE, StructuredOutput,
};
pub use self::error::JudgeError;
pub use self::prompt::{Prompt, Template};
pub use self::verdict::{Choice, Choices, Judgement, PassFail, Rating, Scale, Typed, VerdictSpec};

/// The `schemars` crate [`Typed`] verdicts take their JSON schema from, for deriving
/// `JsonSchema` without a separately versioned dependency:
/// `#[derive(JsonSchema)] #[schemars(crate = "honeyhive::evaluators::judge::schemars")]`.
pub use schemars;
