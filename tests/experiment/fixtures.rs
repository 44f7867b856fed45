//! `#[experiment]` tests that `macro_tests` runs in a subprocess (with a controlled
//! environment) to check what the generated test does, including failing on purpose.
//! They are ignored in normal runs for that reason.

use honeyhive::{evaluator, experiment};

use crate::support::{Answer, Question, exact_match, judged, pipeline};

#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, judged, honeyhive::evaluators::Contains::new("answer").field("text")],
    // Metrics as the table prints them: `judged` records `judge`; the `Contains` value's
    // metric, `contains`, is checked when the run starts.
    threshold(exact_match >= 0.5, judge >= 0.5, contains >= 1),
    max_concurrency = 4,
    aggregate = "max",
)]
#[ignore = "run by macro_tests in a subprocess"]
async fn passing(question: Question) -> Answer {
    pipeline(question).await
}

#[experiment(
    name = "strict qa",
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match],
    threshold(exact_match >= 0.9),
)]
#[ignore = "run by macro_tests in a subprocess: fails on purpose"]
async fn missed_threshold(question: Question) -> Answer {
    pipeline(question).await
}

/// A threshold on a metric only known at run time (an evaluator value's) that names none:
/// the run stops before any datapoint.
#[experiment(
    dataset = "tests/data/qa.jsonl",
    evaluators = [exact_match, honeyhive::evaluators::Contains::new("answer").field("text")],
    threshold(contain >= 1),
)]
#[ignore = "run by macro_tests in a subprocess: fails on purpose"]
async fn unknown_metric(question: Question) -> Answer {
    panic!("no datapoint runs, but this one did: {}", question.k)
}

#[experiment(dataset = "tests/data/qa.jsonl", evaluators = [exact_match])]
#[ignore = "run by macro_tests in a subprocess: fails on purpose"]
fn failing_function(question: Question) -> Result<Answer, String> {
    failing_function_body(question)
}

#[experiment(dataset = "tests/data/qa.jsonl", evaluators = [exact_match], allow_failures = 1, timeout = "5s")]
#[ignore = "run by macro_tests in a subprocess"]
fn tolerated_failure(question: Question) -> Result<Answer, String> {
    failing_function_body(question)
}

fn failing_function_body(question: Question) -> Result<Answer, String> {
    if question.k == 4 {
        return Err("no answer for 4".into());
    }
    Ok(Answer {
        k: question.k,
        text: format!("answer {}", question.k),
    })
}

/// A judge that cannot score 6 of the 8 datapoints of `qa_8.jsonl`: it errs on four,
/// panics on one and times out on one; it gives the other two 1.0, so the mean of what it
/// scored meets any threshold.
#[evaluator(timeout = "200ms")]
async fn picky(output: &Answer) -> Result<f64, String> {
    match output.k {
        0 | 7 => Ok(1.0),
        5 => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            Ok(1.0)
        }
        6 => panic!("picky crashed on 6"),
        k => Err(format!("cannot judge {k}")),
    }
}

#[experiment(dataset = "tests/data/qa_8.jsonl", evaluators = [picky], threshold(picky >= 0.9))]
#[ignore = "run by macro_tests in a subprocess: fails on purpose"]
async fn picky_judge(question: Question) -> Answer {
    pipeline(question).await
}

#[experiment(
    dataset = "tests/data/qa_8.jsonl",
    evaluators = [picky],
    threshold(picky >= 0.9),
    allow_evaluator_errors = 6,
)]
#[ignore = "run by macro_tests in a subprocess"]
async fn tolerated_picky_judge(question: Question) -> Answer {
    pipeline(question).await
}

/// The quickstart experiment (`examples/quickstart.rs`) as a test.
#[path = "../../examples/qa/pipeline.rs"]
mod qa;

#[experiment(
    dataset = "examples/data/qa.jsonl",
    evaluators = [qa::correct, qa::concise],
    threshold(correct >= 0.6, answer_words <= 20.0),
)]
#[ignore = "run by macro_tests in a subprocess"]
async fn quickstart(question: qa::Question) -> qa::Answer {
    qa::answer(question).await
}

/// Gated against the baseline `HH_BASELINE` names; `HH_TEST_DEGRADE=1` breaks every
/// answer.
#[experiment(
    dataset = "tests/data/qa_8.jsonl",
    evaluators = [exact_match],
    regression(exact_match, max_drop = 0.05),
)]
#[ignore = "run by macro_tests in a subprocess: fails on purpose when degraded"]
async fn gated(question: Question) -> Answer {
    let mut answer = pipeline(question).await;
    if std::env::var_os("HH_TEST_DEGRADE").is_some() {
        answer.text = "no idea".into();
    }
    answer
}
