//! `Judge::from_env()`: the process environment's judge is made once and shared by every
//! caller (an evaluator calling it per datapoint, the built-ins given no judge), so what it
//! learns about its server holds for the whole run. A test binary of its own: it sets the
//! process environment, which no other test may read meanwhile.

#[path = "runtime/common.rs"]
#[allow(dead_code)]
mod common;

use honeyhive::evaluators::judge::{Choices, Factuality, Judge, JudgeError, Prompt};
use honeyhive::experiment::Experiment;
use honeyhive::{Environment, Score, evaluator, evaluators};
use honeyhive_runtime::testing::openai::{OpenAiRoute, OpenAiTestServer, Reply};
use serde::{Deserialize, Serialize};
use serde_json::json;

const KEY: &str = "sk-judge-env-0123456789";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Question {
    question: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Answer {
    answer: String,
}

/// A judge asked per datapoint through `Judge::from_env()`.
#[evaluator]
async fn polite(output: &Answer) -> Result<Score, JudgeError> {
    let judge = Judge::from_env()?;
    let prompt = Prompt::user(format!("Is this reply polite?\n{}", output.answer));
    Ok(judge
        .classify(prompt, &Choices::new([("Y", 1.0), ("N", 0.0)]))
        .await?
        .into())
}

#[test]
fn the_environments_judge_is_made_once_and_shared_by_every_caller() {
    // A server without JSON schema support: the first call learns that, every later one
    // starts at the forced tool call.
    let server = OpenAiTestServer::builder()
        .api_key(KEY)
        .reject_json_schema()
        .respond(|body| {
            let choice = if body.to_string().contains("polite") {
                "Y"
            } else {
                "A"
            };
            Reply::structured(json!({"reasoning": "ok", "choice": choice}))
        })
        .start();
    // SAFETY: the only test of this binary, before any thread of its own starts.
    unsafe {
        for name in [
            "HH_JUDGE_BASE_URL",
            "HH_JUDGE_API_KEY",
            "HH_JUDGE_STRUCTURED_OUTPUT",
            "HH_LLM_CACHE",
        ] {
            std::env::remove_var(name);
        }
        std::env::set_var("OPENAI_BASE_URL", server.url());
        std::env::set_var("OPENAI_API_KEY", KEY);
        std::env::set_var("HH_JUDGE_MODEL", "judge-model");
    }
    let dir = common::temp_dir("judge-from-env");
    let lines: Vec<String> = (0..6)
        .map(|k| {
            json!({"inputs": {"question": format!("q{k}")}, "ground_truth": {"answer": "yes"}})
                .to_string()
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(
        Experiment::<Question, Answer>::new("env_judge")
            .environment(Environment::empty())
            .local_dir(&dir)
            .dataset(honeyhive::dataset::Dataset::from_json(&lines.join("\n")).unwrap())
            .evaluators(evaluators![
                polite,
                Factuality::new().expected_field("answer")
            ])
            // One call at a time, so every call after the first could have learnt.
            .max_concurrency(1)
            .evaluator_concurrency(1)
            .quiet()
            .run(|_q: Question| async move {
                Answer {
                    answer: "yes, thank you".into(),
                }
            }),
    );
    let report = report.unwrap();
    report.check().unwrap();
    assert_eq!(report.metric("polite").unwrap().mean, Some(1.0));
    assert_eq!(report.metric("factuality").unwrap().mean, Some(1.0));
    let requests = server.requests_on(OpenAiRoute::ChatCompletions);
    let rejected = requests.iter().filter(|r| r.response_status == 400).count();
    assert_eq!(
        (requests.len(), rejected),
        (13, 1),
        "one rejected request in the whole run, then 12 verdicts"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {KEY}")))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
