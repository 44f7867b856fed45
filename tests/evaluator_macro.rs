//! `#[evaluator]` at run time: the generated `Evaluator` implementations, called through
//! the trait as the experiment runner calls them, and the functions still callable as
//! written.

use std::time::Duration;

use honeyhive::{
    Aggregate, EvalInput, Evaluator, EvaluatorList, EvaluatorOptions, Params, Score, evaluator,
    evaluators,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Question {
    text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Answer {
    answer: String,
}

fn answer(text: &str) -> Answer {
    Answer {
        answer: text.to_owned(),
    }
}

fn question(text: &str) -> Question {
    Question {
        text: text.to_owned(),
    }
}

/// Scores one output through the trait.
async fn score<I, O>(
    evaluator: &dyn Evaluator<I, O>,
    output: &O,
    inputs: &I,
    ground_truth: Option<&Value>,
) -> Result<Score, String> {
    evaluator
        .evaluate(EvalInput {
            output,
            inputs,
            ground_truth,
            trace: None,
        })
        .await
}

#[evaluator]
fn exact_match(output: &Answer, ground_truth: &Answer) -> bool {
    output == ground_truth
}

#[evaluator(name = "answer_length")]
fn length(output: &Answer) -> usize {
    output.answer.len()
}

#[derive(Debug)]
struct JudgeError(&'static str);

impl std::fmt::Display for JudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "judge failed: {}", self.0)
    }
}

/// Async, every parameter in an unusual order, optional ground truth, a `Result<Score>`.
#[evaluator]
async fn judged(
    inputs: &Question,
    ground_truth: Option<&Answer>,
    output: &Answer,
) -> Result<Score, JudgeError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if output.answer.is_empty() {
        return Err(JudgeError("empty answer"));
    }
    let matches = ground_truth.map(|g| g == output);
    Ok(Score::new(match matches {
        Some(true) => 1.0,
        Some(false) => 0.0,
        None => 0.5,
    })
    .explanation(format!("asked {:?}", inputs.text))
    .extra("has_ground_truth", ground_truth.is_some())
    .extra("chars", output.answer.len()))
}

#[evaluator(repeat = 5, aggregate = "median", timeout = "1500ms")]
fn repeated(output: &Answer) -> f32 {
    output.answer.len() as f32 / 2.0
}

#[evaluator(repeat = 3)]
fn repeated_default_aggregate(output: &String) -> i64 {
    output.len() as i64
}

#[evaluator(timeout = "2m")]
fn timed(output: &String) -> Result<u8, String> {
    output
        .parse::<u8>()
        .map_err(|e| format!("not a number: {e}"))
}

/// Reads only the inputs: generic over the output.
#[evaluator]
fn question_length(inputs: &Question) -> u32 {
    inputs.text.len() as u32
}

/// Reads nothing at all.
#[evaluator]
fn constant() -> f64 {
    0.25
}

/// Reads only the ground truth.
#[evaluator]
fn has_reference(ground_truth: Option<&String>) -> bool {
    ground_truth.is_some()
}

/// Generic in the output type.
#[evaluator]
fn non_empty<T: AsRef<str>>(output: &T) -> bool {
    !output.as_ref().is_empty()
}

mod nested {
    use honeyhive::evaluator;

    /// Public in a module.
    #[evaluator]
    pub async fn shouts(output: &String) -> bool {
        output.chars().any(char::is_uppercase) && !output.chars().any(char::is_lowercase)
    }
}

#[tokio::test]
async fn scores_through_the_trait() {
    let gt = json!({ "answer": "Paris" });
    let q = question("capital of France?");
    let e: &dyn Evaluator<Question, Answer> = &exact_match {};
    assert_eq!(e.name(), "exact_match");
    assert_eq!(
        e.params(),
        Params {
            output: true,
            inputs: false,
            ground_truth: true,
            trace: false
        }
    );
    assert_eq!(e.options(), EvaluatorOptions::default());
    let hit = score(e, &answer("Paris"), &q, Some(&gt)).await.unwrap();
    assert_eq!(hit, Score::new(1.0));
    let miss = score(e, &answer("Lyon"), &q, Some(&gt)).await.unwrap();
    assert_eq!(miss.score, Some(0.0));

    // Any input type: `length` does not read the inputs.
    let e: &dyn Evaluator<u64, Answer> = &length {};
    assert_eq!(e.name(), "answer_length");
    assert_eq!(
        score(e, &answer("Paris"), &7, None).await.unwrap().score,
        Some(5.0)
    );
    assert_eq!(
        e.params(),
        Params {
            output: true,
            ..Params::default()
        }
    );
}

#[tokio::test]
async fn required_ground_truth_missing_or_mistyped_is_the_evaluators_error() {
    let e: &dyn Evaluator<Question, Answer> = &exact_match {};
    let q = question("?");
    let missing = score(e, &answer("Paris"), &q, None).await.unwrap_err();
    assert!(
        missing.contains("needs ground truth (`ground_truth: &Answer`)")
            && missing.contains("Option<&Answer>"),
        "{missing}"
    );
    assert_eq!(e.check_ground_truth(None).unwrap_err(), missing);
    assert_eq!(
        score(e, &answer("Paris"), &q, Some(&Value::Null))
            .await
            .unwrap_err(),
        missing
    );
    let wrong = json!({ "text": "Paris" });
    let mistyped = score(e, &answer("Paris"), &q, Some(&wrong))
        .await
        .unwrap_err();
    assert!(
        mistyped.starts_with("the ground truth does not fit `Answer`: missing field `answer`"),
        "{mistyped}"
    );
    assert_eq!(e.check_ground_truth(Some(&wrong)).unwrap_err(), mistyped);
    assert_eq!(
        e.check_ground_truth(Some(&json!({ "answer": "x" }))),
        Ok(())
    );
}

#[tokio::test]
async fn async_evaluators_are_awaited_with_optional_ground_truth() {
    let e: &dyn Evaluator<Question, Answer> = &judged {};
    assert_eq!(
        e.params(),
        Params {
            output: true,
            inputs: true,
            ground_truth: true,
            trace: false
        }
    );
    let q = question("capital?");
    let gt = json!({ "answer": "Paris" });

    let with = score(e, &answer("Paris"), &q, Some(&gt)).await.unwrap();
    assert_eq!(with.score, Some(1.0));
    assert_eq!(with.explanation.as_deref(), Some("asked \"capital?\""));
    assert_eq!(
        with.extra,
        [
            ("has_ground_truth".to_owned(), 1.0),
            ("chars".to_owned(), 5.0)
        ]
    );

    // `Option<&G>`: no ground truth is `None`, not an error.
    assert_eq!(e.check_ground_truth(None), Ok(()));
    let without = score(e, &answer("Lyon"), &q, None).await.unwrap();
    assert_eq!(without.score, Some(0.5));
    assert_eq!(without.extra[0], ("has_ground_truth".to_owned(), 0.0));
    // A ground truth of the wrong shape is still an error.
    let bad = json!(3);
    assert!(
        e.check_ground_truth(Some(&bad))
            .unwrap_err()
            .contains("does not fit `Answer`")
    );

    // `Err` becomes the error text (its `Display`).
    let err = score(e, &answer(""), &q, Some(&gt)).await.unwrap_err();
    assert_eq!(err, "judge failed: empty answer");

    let e: &dyn Evaluator<(), String> = &nested::shouts {};
    assert_eq!(
        score(e, &"HI".to_owned(), &(), None).await.unwrap().score,
        Some(1.0)
    );
}

#[tokio::test]
async fn options_reflect_repeat_aggregate_and_timeout() {
    let e: &dyn Evaluator<(), Answer> = &repeated {};
    assert_eq!(
        e.options(),
        EvaluatorOptions {
            repeat: 5,
            aggregate: Aggregate::Median,
            timeout: Some(Duration::from_millis(1500)),
        }
    );
    assert_eq!(
        score(e, &answer("abc"), &(), None).await.unwrap().score,
        Some(1.5)
    );

    let e: &dyn Evaluator<(), String> = &repeated_default_aggregate {};
    assert_eq!(
        e.options(),
        EvaluatorOptions {
            repeat: 3,
            aggregate: Aggregate::Mean,
            timeout: None,
        }
    );

    let e: &dyn Evaluator<(), String> = &timed {};
    assert_eq!(e.options().timeout, Some(Duration::from_secs(120)));
    assert_eq!(e.options().repeat, 1);
    assert_eq!(
        score(e, &"42".to_owned(), &(), None).await.unwrap().score,
        Some(42.0)
    );
    let err = score(e, &"x".to_owned(), &(), None).await.unwrap_err();
    assert_eq!(err, "not a number: invalid digit found in string");
}

#[tokio::test]
async fn partial_parameter_sets() {
    let q = question("four");
    let e: &dyn Evaluator<Question, Vec<u8>> = &question_length {};
    assert_eq!(score(e, &vec![], &q, None).await.unwrap().score, Some(4.0));
    assert_eq!(
        e.params(),
        Params {
            inputs: true,
            ..Params::default()
        }
    );

    let e: &dyn Evaluator<bool, char> = &constant {};
    assert_eq!(score(e, &'x', &true, None).await.unwrap().score, Some(0.25));
    assert_eq!(e.params(), Params::default());
    assert_eq!(e.check_ground_truth(Some(&json!("anything"))), Ok(()));

    let e: &dyn Evaluator<(), ()> = &has_reference {};
    let gt = json!("ref");
    assert_eq!(
        score(e, &(), &(), Some(&gt)).await.unwrap().score,
        Some(1.0)
    );
    assert_eq!(score(e, &(), &(), None).await.unwrap().score, Some(0.0));

    let e: &dyn Evaluator<(), String> = &non_empty {};
    assert_eq!(
        score(e, &"x".to_owned(), &(), None).await.unwrap().score,
        Some(1.0)
    );
    let e: &dyn Evaluator<(), &'static str> = &non_empty {};
    assert_eq!(score(e, &"", &(), None).await.unwrap().score, Some(0.0));
}

#[tokio::test]
async fn in_an_evaluator_list() {
    let list: EvaluatorList<Question, Answer> =
        evaluators![exact_match, length, judged, question_length, constant];
    let names: Vec<_> = list.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "exact_match",
            "answer_length",
            "judged",
            "question_length",
            "constant"
        ]
    );
    let gt = json!({ "answer": "Paris" });
    let q = question("capital?");
    let mut scores = Vec::new();
    for e in &list {
        scores.push(
            score(&**e, &answer("Paris"), &q, Some(&gt))
                .await
                .unwrap()
                .score,
        );
    }
    assert_eq!(scores, [1.0, 5.0, 1.0, 8.0, 0.25].map(Some));
}

#[test]
fn the_functions_stay_callable() {
    assert!(exact_match(&answer("a"), &answer("a")));
    assert_eq!(length(&answer("abcd")), 4);
    assert_eq!(repeated(&answer("ab")), 1.0);
    assert_eq!(timed(&"7".to_owned()), Ok(7));
    assert_eq!(constant(), 0.25);
    assert!(non_empty(&"x"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let s = rt
        .block_on(judged(&question("q"), None, &answer("a")))
        .unwrap();
    assert_eq!(s.score, Some(0.5));
    assert!(rt.block_on(nested::shouts(&"OK".to_owned())));
}
