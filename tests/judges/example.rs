//! The judges of `examples/judge.rs`, replayed from the cassettes committed under
//! `tests/cassettes/` with no server at all: what `HH_LLM_CACHE=replay cargo run --example
//! judge` does, kept working by every test run (a changed prompt template or request is a
//! replay miss here, until the cassettes are recorded again).

// The quickstart's pipeline (declared in main.rs), which `judges` reads as `super::qa`.
use crate::qa;
// The stand-in judge's rule is the example's (it serves the example when no server is
// named); only the experiment is replayed here.
#[path = "../../examples/judging/judges.rs"]
#[allow(dead_code)]
mod judges;

use honeyhive::Environment;
use honeyhive::evaluators::judge::Judge;

use crate::common::{committed_cassettes, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_replays_from_the_committed_cassettes_with_no_server() {
    let dir = temp_dir("judge-example-replay");
    // Port 9 (discard): nothing may reach it; replay never tries.
    let judge = Judge::builder()
        .environment(Environment::empty())
        .base_url("http://127.0.0.1:9/v1")
        .api_key("unused")
        .transport(committed_cassettes())
        .build()
        .unwrap();
    assert_eq!(judge.model(), "gpt-4o-mini", "the model the cassettes hold");
    let report = judges::experiment(&judge)
        .environment(Environment::empty())
        .local_dir(&dir)
        .quiet()
        .run(judges::answer)
        .await
        .unwrap();
    let errors: Vec<String> = report
        .datapoints()
        .unwrap()
        .iter()
        .flat_map(|d| d.evaluations.iter().flat_map(|e| e.errors.clone()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Every judge call answered from a cassette, counted as evaluation cost; the
    // pipeline's stand-in model makes no model call of its own.
    let judges = report.evaluation_model.as_ref().unwrap();
    assert_eq!((judges.calls, judges.cached_calls), (10, 10));
    assert!(judges.cost_usd > 0.0);
    assert!(report.model.is_none());
    // The quickstart's ocean answer is wrong (its only document is about another ocean):
    // factual for four questions of five; every answer is its document's text, so grounded.
    let letters = |name: &str| -> Vec<String> {
        report
            .datapoints()
            .unwrap()
            .iter()
            .map(|d| {
                let e = d.evaluations.iter().find(|e| e.name == name).unwrap();
                e.label.clone().unwrap()
            })
            .collect()
    };
    assert_eq!(letters("factuality"), ["A", "A", "A", "A", "D"]);
    assert_eq!(letters("grounded"), ["A"; 5]);
    assert_eq!(report.metric("factuality").unwrap().mean, Some(0.8));
    assert_eq!(report.metric("grounded").unwrap().mean, Some(1.0));
    report.check().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
