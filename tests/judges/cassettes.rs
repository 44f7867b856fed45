//! Judges through the record/replay cassettes: a run recorded against a server without
//! JSON schema support (so every call climbs down the ladder) replays call for call with
//! the server gone, at concurrency, with the same verdicts, free.

use honeyhive::evaluators::judge::Factuality;
use honeyhive::experiment::{Experiment, ExperimentReport};
use honeyhive::model::CacheMode;
use honeyhive::{Aggregate, Environment, evaluators};
use honeyhive_runtime::testing::openai::{OpenAiTestServer, Reply};
use serde_json::json;

use crate::common::temp_dir;
use crate::support::{
    Answer, JUDGE_KEY, Question, answer, cached_judge, chats, dataset, prompt_in, tagged,
};

async fn run(
    url: &str,
    mode: CacheMode,
    cassettes: &std::path::Path,
    dir: &std::path::Path,
) -> ExperimentReport {
    Experiment::<Question, Answer>::new("recorded_judge")
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(dataset(12))
        .max_concurrency(8)
        .evaluators(evaluators![
            Factuality::new()
                .output_field("answer")
                .expected_field("answer")
                .input_field("question")
                .repeat(2, Aggregate::Mean)
                .judge(cached_judge(url, mode, cassettes))
        ])
        .quiet()
        .run(answer)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_judged_run_replays_from_its_cassettes_with_the_server_gone() {
    let dir = temp_dir("judge-cassettes");
    let cassettes = dir.join("cassettes");
    // A judge that is right on even questions: A when the answer holds the expected city.
    let server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_json_schema()
        .respond(|body| {
            let prompt = prompt_in(body);
            let right =
                tagged(&prompt, "answer").contains(&format!("{}.", tagged(&prompt, "expert")));
            Reply::structured(
                json!({"reasoning": "compared", "choice": if right { "A" } else { "D" }}),
            )
        })
        .start();
    let url = server.url();
    let recorded = run(&url, CacheMode::Record, &cassettes, &dir).await;
    recorded.check().unwrap();
    // Every call asked with a JSON schema first, then with a tool call: 12 x 2 x 2.
    assert_eq!(chats(&server).len(), 48);
    drop(server);

    let replayed = run(&url, CacheMode::Replay, &cassettes, &dir).await;
    replayed.check().unwrap();
    assert_eq!(replayed.metric("factuality").unwrap().mean, Some(0.5));
    let scores = |r: &ExperimentReport| -> Vec<Option<f64>> {
        r.datapoints()
            .unwrap()
            .iter()
            .map(|d| d.evaluations[0].score)
            .collect()
    };
    assert_eq!(scores(&replayed), scores(&recorded));
    let judges = replayed.evaluation_model.as_ref().unwrap();
    // The replayed rejections are calls too (recorded as the server refused them).
    assert_eq!((judges.calls, judges.cached_calls), (48, 48));
    assert!(replayed.model.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
