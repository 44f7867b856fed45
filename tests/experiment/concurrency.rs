//! 100 datapoints at concurrency 16, each with nested `#[trace]` spans on spawned tasks
//! and threads and two evaluators: every span carries its own datapoint's session and
//! evaluation ids.

use std::collections::{BTreeMap, BTreeSet};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Environment, evaluators};
use honeyhive_runtime::testing::{AttrValue, TestServer};

use crate::support::{
    Answer, Question, attr, connected_experiment, dataset_json, exact_match, judged, pipeline,
};

const DATAPOINTS: u32 = 100;
/// Root, pipeline, retrieve, generate, polish, two evaluators, judge_step.
const SPANS_PER_DATAPOINT: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn every_span_of_every_datapoint_carries_its_own_ids() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(DATAPOINTS)).unwrap();
    let report = connected_experiment("qa", &server)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, judged])
        .max_concurrency(16)
        .quiet()
        .run(pipeline)
        .await
        .unwrap();

    assert_eq!(report.failed_count, 0);
    assert!(report.failures().unwrap().is_empty());
    let spans = server.spans();
    assert_eq!(spans.len(), DATAPOINTS as usize * SPANS_PER_DATAPOINT);

    // Which datapoint each session belongs to, by the session starts the server saw.
    let sessions = server.sessions();
    assert_eq!(sessions.len(), DATAPOINTS as usize);
    let datapoint_of: BTreeMap<&str, &str> = sessions
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap(),
                s["metadata"]["datapoint_id"].as_str().unwrap(),
            )
        })
        .collect();
    let k_of: BTreeMap<&str, i64> = dataset
        .datapoints()
        .iter()
        .map(|d| (d.id(), d.inputs()["k"].as_i64().unwrap()))
        .collect();

    let mut mismatches = Vec::new();
    let mut per_session: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &spans {
        let session = attr(s, "honeyhive.session_id");
        *per_session.entry(session).or_default() += 1;
        let Some(datapoint) = datapoint_of.get(session) else {
            mismatches.push(format!("{}: unknown session {session}", s.name));
            continue;
        };
        if attr(s, "honeyhive_metadata.datapoint_id") != *datapoint {
            mismatches.push(format!("{}: datapoint id of another session", s.name));
        }
        if attr(s, "honeyhive_metadata.run_id") != report.run_id {
            mismatches.push(format!("{}: run id", s.name));
        }
        if attr(s, "honeyhive_metadata.dataset_id") != dataset.id() {
            mismatches.push(format!("{}: dataset id", s.name));
        }
        // Every traced step captured its datapoint's `k`: it must be this session's.
        let k = [
            "honeyhive_inputs.k",
            "honeyhive_inputs.question.k",
            "honeyhive_inputs.expected",
            "honeyhive_inputs.output.k",
        ]
        .iter()
        .find_map(|key| match s.attr(key) {
            Some(AttrValue::Int(k)) => Some(*k),
            _ => None,
        });
        if let Some(k) = k
            && k != k_of[datapoint]
        {
            mismatches.push(format!(
                "{}: k {k} in the session of k {}",
                s.name, k_of[datapoint]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches: {mismatches:#?}",
        mismatches.len()
    );
    assert!(
        per_session.values().all(|n| *n == SPANS_PER_DATAPOINT),
        "{per_session:?}"
    );

    // The run's event ids are exactly the sessions created, in dataset order.
    let finish = server
        .requests_to(&format!("/v1/runs/{}", report.run_id))
        .into_iter()
        .find(|r| r.method == http::Method::PUT)
        .unwrap();
    let event_ids: Vec<String> = finish.json().unwrap()["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let created: BTreeSet<&str> = datapoint_of.keys().copied().collect();
    assert_eq!(
        event_ids
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        created
    );
    let in_order: Vec<&str> = dataset
        .datapoints()
        .iter()
        .map(|d| {
            *datapoint_of
                .iter()
                .find(|(_, dp)| **dp == d.id())
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(event_ids, in_order);
}

/// Two evaluators that record how many evaluator calls are inside at once.
mod overlap {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use honeyhive::evaluator;

    use crate::support::Answer;

    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    pub static MOST: AtomicUsize = AtomicUsize::new(0);

    async fn visit() -> bool {
        let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
        MOST.fetch_max(now, Ordering::SeqCst);
        // Long enough for the other evaluator to come in, if it may.
        tokio::time::sleep(Duration::from_millis(100)).await;
        INSIDE.fetch_sub(1, Ordering::SeqCst);
        true
    }

    #[evaluator]
    pub async fn left(output: &Answer) -> bool {
        let _ = output;
        visit().await
    }

    #[evaluator]
    pub async fn right(output: &Answer) -> bool {
        let _ = output;
        visit().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluators_of_a_datapoint_run_concurrently_within_their_own_bound() {
    use std::sync::atomic::Ordering;

    let dir = crate::common::temp_dir("evaluator-concurrency");
    let run = |permits: usize| {
        overlap::MOST.store(0, Ordering::SeqCst);
        Experiment::<Question, Answer>::new("overlap")
            .environment(Environment::empty())
            .local_dir(&dir)
            .dataset(Dataset::from_json(&dataset_json(1)).unwrap())
            .evaluators(evaluators![overlap::left, overlap::right])
            // Datapoints one at a time: only the evaluators can overlap.
            .max_concurrency(1)
            .evaluator_concurrency(permits)
            .quiet()
            .run(pipeline)
    };
    let report = run(2).await.unwrap();
    assert_eq!(report.metric("left").unwrap().mean, Some(1.0));
    assert_eq!(
        overlap::MOST.load(Ordering::SeqCst),
        2,
        "both evaluators at once"
    );
    // With one evaluator permit they take turns: the bound is the run's evaluator bound.
    let report = run(1).await.unwrap();
    assert_eq!(report.metric("right").unwrap().mean, Some(1.0));
    assert_eq!(
        overlap::MOST.load(Ordering::SeqCst),
        1,
        "one evaluator at a time"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// How many experiment functions run at once.
mod running {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::support::{Answer, Question};

    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    pub static MOST: AtomicUsize = AtomicUsize::new(0);

    pub async fn counted(question: Question) -> Answer {
        let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
        MOST.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        INSIDE.fetch_sub(1, Ordering::SeqCst);
        Answer {
            k: question.k,
            text: question.text,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_concurrency_bounds_the_functions_running_at_once() {
    // Sessions start ahead of the running datapoints; the functions must not.
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let report = connected_experiment("bounded", &server)
        .dataset(Dataset::from_json(&dataset_json(24)).unwrap())
        .max_concurrency(3)
        .quiet()
        .run(running::counted)
        .await
        .unwrap();
    assert_eq!(report.datapoint_count, 24);
    assert_eq!(report.datapoints().unwrap().len(), 24);
    assert_eq!(running::MOST.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_start_ahead_of_the_running_datapoints() {
    // One datapoint runs at a time; the first waits until the second's session has been
    // started, which only happens if sessions start ahead.
    let server = std::sync::Arc::new(
        TestServer::builder()
            .api_key(crate::common::API_KEY)
            .start(),
    );
    let watcher = server.clone();
    let report = connected_experiment("ahead", &server)
        .dataset(Dataset::from_json(&dataset_json(3)).unwrap())
        .max_concurrency(1)
        .quiet()
        .try_run(move |question: Question| {
            let server = watcher.clone();
            async move {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while question.k == 0 && server.sessions().len() < 2 {
                    if std::time::Instant::now() > deadline {
                        return Err("the next session never started");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Ok(Answer {
                    k: question.k,
                    text: question.text,
                })
            }
        })
        .await
        .unwrap();
    assert_eq!(report.failed_count, 0, "{:?}", report.failure_sample());
    assert!(report.failures().unwrap().is_empty());
}

/// A datapoint's evaluator waits for the next datapoint's function.
mod handover {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use honeyhive::evaluator;

    use crate::support::{Answer, Question};

    pub static SECOND_STARTED: AtomicBool = AtomicBool::new(false);

    pub async fn answer(question: Question) -> Answer {
        if question.k == 1 {
            SECOND_STARTED.store(true, Ordering::SeqCst);
        }
        Answer {
            k: question.k,
            text: question.text,
        }
    }

    /// Passes on the first datapoint only once the second one's function has started,
    /// which happens only if the first gave its function slot back before its evaluators.
    #[evaluator]
    pub async fn overlapped(output: &Answer) -> bool {
        if output.k != 0 {
            return true;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !SECOND_STARTED.load(Ordering::SeqCst) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluators_overlap_the_next_datapoints_function() {
    let dir = crate::common::temp_dir("handover");
    let report = Experiment::<Question, Answer>::new("handover")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(Dataset::from_json(&dataset_json(2)).unwrap())
        .evaluators(evaluators![handover::overlapped])
        // One function at a time: the second datapoint's must wait for the first's.
        .max_concurrency(1)
        .quiet()
        .run(handover::answer)
        .await
        .unwrap();
    assert_eq!(
        report.metric("overlapped").unwrap().mean,
        Some(1.0),
        "the first datapoint's evaluator ran while the second's function did"
    );
    std::fs::remove_dir_all(&dir).ok();
}
