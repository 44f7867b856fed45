//! Every signature shape `#[evaluator]` accepts: sync and async, each subset and order of
//! `output` / `inputs` / `ground_truth`, `&G` and `Option<&G>`, every return type,
//! generics, visibility, modules, kept attributes. The crate depends only on `honeyhive`
//! and `serde`, and every warning (missing docs included) is an error: the expansion adds
//! none.
#![deny(
    warnings,
    missing_docs,
    unused_braces,
    unused_variables,
    unused_mut,
    unused_parens,
    unused_qualifications
)]

use std::fmt;

use honeyhive::{EvaluatorList, Score, evaluator, evaluators};
use serde::{Deserialize, Serialize};

/// An experiment's input.
#[derive(Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub text: String,
}

/// An experiment's output, also its ground truth.
#[derive(PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer.
    pub answer: String,
}

/// An error with `Display`.
#[derive(Debug)]
pub struct JudgeError;

impl fmt::Display for JudgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the judge failed")
    }
}

// Each parameter subset and order.

/// Output only.
#[evaluator]
pub fn o(output: &Answer) -> bool {
    !output.answer.is_empty()
}

/// Inputs only.
#[evaluator]
pub fn i(inputs: &Question) -> bool {
    !inputs.text.is_empty()
}

/// Ground truth only, required.
#[evaluator]
pub fn g(ground_truth: &Answer) -> bool {
    !ground_truth.answer.is_empty()
}

/// Ground truth only, optional.
#[evaluator]
pub fn g_opt(ground_truth: Option<&Answer>) -> bool {
    ground_truth.is_some()
}

/// Nothing at all.
#[evaluator]
pub fn nothing() -> f64 {
    1.0
}

/// Output and ground truth: the example.
#[evaluator]
pub fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
    output == ground_truth
}

/// Ground truth before output.
#[evaluator]
pub fn g_o(ground_truth: &Answer, output: &Answer) -> bool {
    output == ground_truth
}

/// Inputs and output.
#[evaluator]
pub fn i_o(inputs: &Question, output: &Answer) -> usize {
    inputs.text.len() + output.answer.len()
}

/// Output and inputs.
#[evaluator]
pub fn o_i(output: &Answer, inputs: &Question) -> usize {
    inputs.text.len() + output.answer.len()
}

/// Inputs and optional ground truth.
#[evaluator]
pub fn i_g(inputs: &Question, ground_truth: Option<&Answer>) -> bool {
    ground_truth.is_some_and(|g| g.answer == inputs.text)
}

/// All three, in every position.
#[evaluator]
pub fn o_i_g(output: &Answer, inputs: &Question, ground_truth: &Answer) -> bool {
    output == ground_truth && !inputs.text.is_empty()
}

/// All three, reversed, with a fully qualified `Option` (and the attribute that allows it).
#[allow(unused_qualifications)]
#[evaluator]
pub fn g_i_o(
    ground_truth: std::option::Option<&Answer>,
    inputs: &Question,
    output: &Answer,
) -> bool {
    ground_truth == Some(output) && !inputs.text.is_empty()
}

/// `mut` bindings and lifetimes in the references.
#[evaluator]
pub fn bindings<'a>(mut output: &'a Answer, ground_truth: Option<&'a Answer>) -> bool {
    if let Some(g) = ground_truth {
        output = g;
    }
    !output.answer.is_empty()
}

// Every return type.

/// Integers.
#[evaluator]
pub fn int_u8(output: &Answer) -> u8 {
    output.answer.len() as u8
}

/// Signed integers.
#[evaluator]
pub fn int_i128(output: &Answer) -> i128 {
    -(output.answer.len() as i128)
}

/// `f32`.
#[evaluator]
pub fn float32(output: &Answer) -> f32 {
    output.answer.len() as f32
}

/// `Score` with an explanation and extras.
#[evaluator]
pub fn score(output: &Answer, inputs: &Question) -> Score {
    Score::new(0.5)
        .explanation(format!("{} / {}", output.answer, inputs.text))
        .extra("length", output.answer.len())
}

/// `Result<bool, String>`.
#[evaluator]
pub fn result_bool(output: &Answer) -> Result<bool, String> {
    Ok(!output.answer.is_empty())
}

/// `Result<u64, JudgeError>`.
#[evaluator]
pub fn result_int(output: &Answer) -> Result<u64, JudgeError> {
    Err::<u64, _>(JudgeError).or(Ok(output.answer.len() as u64))
}

/// `Result<f64, std::fmt::Error>`.
#[evaluator]
pub fn result_float(output: &Answer) -> Result<f64, fmt::Error> {
    Ok(output.answer.len() as f64)
}

/// `honeyhive::Result<Score>`, and `?` inside.
#[evaluator]
pub fn result_score(output: &Answer) -> honeyhive::Result<Score> {
    let n: usize = "3"
        .parse()
        .map_err(|e: std::num::ParseIntError| honeyhive::Error::Config(e.to_string()))?;
    Ok(Score::new(n as f64 + output.answer.len() as f64))
}

// `async fn`.

/// The async example.
#[evaluator]
pub async fn judged(
    output: &Answer,
    inputs: &Question,
    ground_truth: Option<&Answer>,
) -> honeyhive::Result<Score> {
    let _ = (inputs, ground_truth);
    Ok(Score::new(output.answer.len()))
}

/// Async, required ground truth first, an error type of its own.
#[evaluator]
pub async fn judged_strict(ground_truth: &Answer, output: &Answer) -> Result<bool, JudgeError> {
    let same = async { output == ground_truth }.await;
    if same { Ok(true) } else { Err(JudgeError) }
}

/// Async with nothing to read.
#[evaluator]
pub async fn async_nothing() -> u32 {
    3
}

/// Async returning a float.
#[evaluator]
pub async fn async_float(inputs: &Question) -> f64 {
    inputs.text.len() as f64
}

// Options.

/// Every option.
#[evaluator(
    name = "answer_length",
    repeat = 3,
    aggregate = "median",
    timeout = "30s"
)]
pub fn length(output: &Answer) -> usize {
    output.answer.len()
}

/// `repeat` alone; each aggregate.
#[evaluator(repeat = 2)]
pub fn twice(output: &Answer) -> bool {
    !output.answer.is_empty()
}

/// `aggregate = "min"`.
#[evaluator(repeat = 4, aggregate = "min", timeout = "250ms")]
pub async fn worst(output: &Answer) -> f64 {
    output.answer.len() as f64
}

/// `aggregate = "max"`, `timeout` in minutes.
#[evaluator(timeout = "2m", aggregate = "max", repeat = 10)]
pub fn best(output: &Answer) -> f64 {
    output.answer.len() as f64
}

/// `aggregate = "mean"`, `crate = path`, a trailing comma.
#[evaluator(repeat = 2, aggregate = "mean", crate = honeyhive,)]
pub fn mean(output: &Answer) -> f64 {
    output.answer.len() as f64
}

// Generics: decided by the experiment's output and input types.

/// Generic output.
#[evaluator]
pub fn non_empty<T: AsRef<str>>(output: &T) -> bool {
    !output.as_ref().is_empty()
}

/// Generic output and inputs, a `where` clause, a const generic.
#[evaluator]
pub fn same_len<T, U, const N: usize>(output: &[T; N], inputs: &Vec<U>) -> bool
where
    T: Clone,
{
    inputs.len() == N && output.to_vec().len() == N
}

/// Generic in a ground truth that is also the output.
#[evaluator]
pub async fn generic_match<T>(output: &T, ground_truth: Option<&T>) -> bool
where
    T: PartialEq + serde::de::DeserializeOwned + Send + Sync,
{
    ground_truth == Some(output)
}

// Visibility, modules, attributes.

/// Private evaluators, used only through their struct.
mod private {
    use honeyhive::evaluator;

    #[evaluator]
    fn hidden(output: &String) -> bool {
        output.is_empty()
    }

    #[evaluator]
    pub(crate) fn crate_visible(output: &String) -> bool {
        !output.is_empty()
    }

    pub(crate) fn list() -> honeyhive::EvaluatorList<(), String> {
        honeyhive::evaluators![hidden, crate_visible]
    }
}

/// A public module.
pub mod metrics {
    use honeyhive::{Score, evaluator};

    /// Kept attributes: a doc comment (missing docs is denied), `#[inline]`,
    /// `#[must_use]`, a lint attribute.
    #[inline]
    #[must_use]
    #[allow(clippy::needless_pass_by_value)]
    #[evaluator(name = "polite")]
    pub fn politeness(output: &String) -> Score {
        Score::new(output.contains("please"))
    }

    /// A label, as text: an owned one, a static one, and one in a `Result`.
    #[evaluator]
    pub fn tone(output: &String) -> String {
        if output.contains("please") {
            "polite"
        } else {
            "plain"
        }
        .to_owned()
    }

    /// A static label.
    #[evaluator]
    pub fn size(output: &String) -> &'static str {
        if output.len() > 10 { "long" } else { "short" }
    }

    /// A label or an error.
    #[evaluator]
    pub fn verdict(output: &String) -> Result<&'static str, String> {
        if output.is_empty() {
            Err("nothing to judge".into())
        } else {
            Ok("fine")
        }
    }

    /// Only in tests: the struct follows the `cfg` of the function.
    #[cfg(test)]
    #[evaluator]
    pub fn test_only(output: &String) -> bool {
        output.is_empty()
    }

    /// The attribute first, then the others.
    #[evaluator]
    #[deprecated(note = "use `politeness`")]
    pub fn old_politeness(output: &String) -> bool {
        output.contains("please")
    }
}

/// A renamed dependency: `crate = path`.
mod renamed {
    extern crate honeyhive as hh;

    #[hh::evaluator(crate = hh, name = "renamed_exact")]
    pub(crate) async fn exact(output: &String, ground_truth: Option<&String>) -> hh::Result<bool> {
        Ok(ground_truth == Some(output))
    }
}

fn main() {
    // The functions are still ordinary functions.
    let a = Answer {
        answer: "Paris".into(),
    };
    let q = Question {
        text: "capital?".into(),
    };
    assert!(exact_match(&a, &a));
    assert_eq!(o_i(&a, &q), 13);
    assert!(!i_g(&q, None));
    assert!(non_empty(&"x"));
    assert!(metrics::politeness(&"hi".to_owned()).score.is_some());
    assert_eq!(metrics::tone(&"hi".to_owned()), "plain");
    assert_eq!(metrics::size(&"hi".to_owned()), "short");
    assert_eq!(metrics::verdict(&"hi".to_owned()), Ok("fine"));
    let _future = judged(&a, &q, None);

    // And evaluators of experiments with matching types.
    let list: EvaluatorList<Question, Answer> = evaluators![
        o,
        i,
        g,
        g_opt,
        nothing,
        exact_match,
        g_o,
        i_o,
        o_i,
        i_g,
        o_i_g,
        g_i_o,
        bindings,
        int_u8,
        int_i128,
        float32,
        score,
        result_bool,
        result_int,
        result_float,
        result_score,
        judged,
        judged_strict,
        async_nothing,
        async_float,
        length,
        twice,
        worst,
        best,
        mean,
        generic_match,
    ];
    assert_eq!(list.len(), 31);
    let strings: EvaluatorList<(), String> = evaluators![
        non_empty,
        metrics::politeness,
        private::crate_visible,
        generic_match
    ];
    assert_eq!(strings.len() + private::list().len(), 6);
    #[allow(deprecated)]
    let old: EvaluatorList<u8, String> = evaluators![metrics::old_politeness];
    assert_eq!(old.len(), 1);
    let arrays: EvaluatorList<Vec<char>, [u8; 2]> = evaluators![same_len];
    assert_eq!(arrays.len(), 1);
    honeyhive::__private::assert_evaluator::<Question, Answer, _>(&exact_match {});
}
