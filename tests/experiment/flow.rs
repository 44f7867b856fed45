//! The exact call sequence of a run (`docs/honeyhive-api.md`) against the test server, and the span
//! attributes of experiment spans (`docs/span-attributes.md`).

use honeyhive::dataset::Dataset;
use honeyhive::evaluators;
use honeyhive::experiment::Comparison;
use honeyhive_runtime::testing::{AttrValue, TestServer};
use http::Method;
use serde_json::{Value, json};

use crate::support::{
    attr, by_session, connected_experiment, dataset_json, exact_match, indices, judged, pipeline,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_follow_the_experiment_flow_in_order() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(3)).unwrap();
    let report = connected_experiment("qa", &server)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, judged])
        .max_concurrency(2)
        .threshold("exact_match", Comparison::AtLeast, 0.5)
        .quiet()
        .run(pipeline)
        .await
        .unwrap();

    let requests = server.requests();
    let calls: Vec<(Method, String)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let run_id = report.run_id.clone();
    // 1. The run is created first.
    assert_eq!(calls[0], (Method::POST, "/v1/runs".to_owned()));
    let create = requests[0].json().unwrap();
    assert_eq!(create["run_id"], run_id.as_str());
    assert_eq!(create["name"], "qa");
    assert_eq!(create["status"], "pending");
    assert_eq!(create["event_ids"], json!([]));
    let ids: Vec<&str> = dataset.datapoints().iter().map(|d| d.id()).collect();
    assert_eq!(create["datapoint_ids"], json!(ids));
    assert_eq!(create["configuration"]["function"], "qa");
    assert_eq!(
        create["configuration"]["evaluators"],
        json!(["exact_match", "judge"])
    );
    assert_eq!(create["configuration"]["max_workers"], 2);
    // An external dataset id never goes in `dataset_id`.
    assert_eq!(create["metadata"]["offline_dataset_id"], dataset.id());
    assert!(create.get("dataset_id").is_none(), "{create}");
    // In a git checkout (CI runs a clean clone) the run records the commit under test.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(head) = head {
        assert_eq!(
            create["metadata"]["git"]["commit_hash"],
            head.as_str(),
            "{create}"
        );
    }

    // 2. One session per datapoint, with the evaluation ids, before any of its spans.
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 3);
    let mut session_of = std::collections::BTreeMap::new();
    for s in &sessions {
        assert_eq!(s["source"], "evaluation");
        assert_eq!(s["project"], crate::common::PROJECT);
        assert_eq!(s["session_name"], "qa");
        assert_eq!(s["metadata"]["run_id"], run_id.as_str());
        assert_eq!(s["metadata"]["dataset_id"], dataset.id());
        let datapoint_id = s["metadata"]["datapoint_id"].as_str().unwrap();
        let index = ids.iter().position(|i| *i == datapoint_id).unwrap();
        assert_eq!(s["inputs"], dataset.datapoints()[index].inputs().clone());
        session_of.insert(
            datapoint_id.to_owned(),
            s["session_id"].as_str().unwrap().to_owned(),
        );
    }

    // 3. Session enrichment: outputs, ground truth and metrics per session.
    let updates = server.event_updates();
    assert_eq!(updates.len(), 3);
    for (index, datapoint) in dataset.datapoints().iter().enumerate() {
        let session = &session_of[datapoint.id()];
        let update = updates
            .iter()
            .find(|u| u["event_id"] == session.as_str())
            .unwrap();
        assert_eq!(
            update["outputs"],
            json!({"k": index, "text": format!("answer {index}")})
        );
        assert_eq!(
            update["feedback"]["ground_truth"],
            datapoint.ground_truth().unwrap().clone()
        );
        let exact = if index == 2 { 0.0 } else { 1.0 };
        assert_eq!(
            update["metrics"],
            json!({"exact_match": exact, "judge": 0.9, "judge_tokens": 12.0})
        );
    }

    // 4. The run is finished after every span and update, with every session in dataset
    // order; 5. then its results are fetched.
    let finish = calls
        .iter()
        .position(|c| *c == (Method::PUT, format!("/v1/runs/{run_id}")))
        .expect("the run is finished");
    let last_export = calls
        .iter()
        .rposition(|c| c.1 == "/opentelemetry/v1/traces")
        .unwrap();
    let last_update = calls.iter().rposition(|c| c.1 == "/events").unwrap();
    let last_session = calls.iter().rposition(|c| c.1 == "/session/start").unwrap();
    assert!(
        last_export < finish && last_update < finish && last_session < finish,
        "{calls:?}"
    );
    let body = requests[finish].json().unwrap();
    assert_eq!(body["status"], "completed");
    let expected: Vec<&str> = ids.iter().map(|i| session_of[*i].as_str()).collect();
    assert_eq!(body["event_ids"], json!(expected));
    assert_eq!(body["metadata"]["offline_dataset_id"], dataset.id());
    assert_eq!(calls[finish + 1].1, format!("/v1/runs/{run_id}/result"));
    assert_eq!(
        calls.len(),
        finish + 2,
        "nothing after the results: {calls:?}"
    );
    let server_view = report.server_view().expect("the server's results");
    assert_eq!(server_view.run_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(server_view.datapoints.len(), 3);
    assert!(
        server_view.metric("exact_match").is_some(),
        "{:?}",
        report.server_result
    );

    // The report: dataset order, metrics, threshold.
    assert_eq!(indices(&report), [0, 1, 2]);
    let exact = report.metric("exact_match").unwrap();
    assert_eq!((exact.count, exact.passed), (3, Some(true)));
    assert!((exact.mean.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        report.url.as_deref(),
        Some(format!("{}/v1/runs/{run_id}", server.url()).as_str())
    );
    report.check().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn root_and_evaluator_spans_carry_section_3_attributes() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(2)).unwrap();
    let report = connected_experiment("qa", &server)
        .dataset(dataset.clone())
        .evaluators(evaluators![exact_match, judged])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    let spans = server.spans();
    // Per datapoint: root, pipeline, retrieve, generate, polish, 2 evaluators, judge_step.
    assert_eq!(
        spans.len(),
        2 * 8,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let datapoints = report.datapoints().unwrap();
    for (session, spans) in by_session(&spans) {
        let result = datapoints.iter().find(|d| d.session_id == session).unwrap();
        let datapoint = &dataset.datapoints()[result.index];
        for s in &spans {
            assert_eq!(attr(s, "honeyhive_metadata.run_id"), report.run_id);
            assert_eq!(attr(s, "honeyhive_metadata.dataset_id"), dataset.id());
            assert_eq!(attr(s, "honeyhive_metadata.datapoint_id"), datapoint.id());
            assert_eq!(attr(s, "honeyhive.source"), "evaluation");
        }
        let root = spans.iter().find(|s| s.name == "qa").unwrap();
        assert_eq!(root.parent_span_id, None);
        assert_eq!(attr(root, "honeyhive_event_type"), "chain");
        assert_eq!(attr(root, "honeyhive_event_name"), "qa");
        let k = result.index as i64;
        assert_eq!(root.attr("honeyhive_inputs.k"), Some(&AttrValue::Int(k)));
        assert_eq!(
            root.attr("honeyhive_outputs.result.k"),
            Some(&AttrValue::Int(k))
        );
        // Both datapoints of `dataset_json(2)` have the right ground truth.
        assert_eq!(
            root.attr("honeyhive_metrics.exact_match"),
            Some(&AttrValue::Double(1.0))
        );
        assert_eq!(
            root.attr("honeyhive_metrics.judge"),
            Some(&AttrValue::Double(0.9))
        );
        assert_eq!(
            root.attr("honeyhive_metrics.judge_tokens"),
            Some(&AttrValue::Double(12.0))
        );
        assert_eq!(
            attr(root, "honeyhive_metrics.judge_explanation"),
            format!("k {k} vs {k}")
        );

        let pipeline = spans.iter().find(|s| s.name == "pipeline").unwrap();
        assert_eq!(pipeline.parent_span_id.as_ref(), Some(&root.span_id));
        for name in ["exact_match", "judge"] {
            let e = spans.iter().find(|s| s.name == name).unwrap();
            assert_eq!(e.parent_span_id.as_ref(), Some(&root.span_id), "{name}");
            assert_eq!(attr(e, "honeyhive_event_type"), "chain");
            assert_eq!(attr(e, "honeyhive_event_name"), name);
            assert_eq!(attr(e, "gen_ai.evaluation.name"), name);
            let score = e.attr("honeyhive_outputs.score").cloned();
            assert_eq!(e.attr(&format!("honeyhive_metrics.{name}")).cloned(), score);
            assert_eq!(e.attr("gen_ai.evaluation.score.value").cloned(), score);
            assert_eq!(
                e.attr("honeyhive_inputs.output.k"),
                Some(&AttrValue::Int(k))
            );
        }
        let exact_span = spans.iter().find(|s| s.name == "exact_match").unwrap();
        assert_eq!(
            exact_span.attr("honeyhive_inputs.ground_truth.k"),
            Some(&AttrValue::Int(k))
        );
        assert!(
            exact_span.attr("honeyhive_inputs.inputs.k").is_none(),
            "exact_match does not read inputs"
        );
        let judge = spans.iter().find(|s| s.name == "judge").unwrap();
        assert_eq!(
            judge.attr("honeyhive_inputs.inputs.k"),
            Some(&AttrValue::Int(k))
        );
        let step = spans.iter().find(|s| s.name == "judge_step").unwrap();
        assert_eq!(step.parent_span_id.as_ref(), Some(&judge.span_id));
    }
    let _: Value = serde_json::to_value(&report).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_dataset_runs_with_its_managed_ids() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let datapoints: Vec<Value> = (0..3)
        .map(|k| json!({"id": format!("dp-{k}"), "inputs": {"k": k, "text": format!("question {k}")}, "ground_truth": {"k": k, "text": format!("answer {k}")}}))
        .collect();
    server.add_dataset("ds-managed", "qa", datapoints);
    let report = connected_experiment("hosted", &server)
        .hosted_dataset("ds-managed")
        .evaluators(evaluators![exact_match])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(report.dataset_id, "ds-managed");
    let ids: Vec<String> = report
        .datapoints()
        .unwrap()
        .into_iter()
        .map(|d| d.datapoint_id)
        .collect();
    assert_eq!(ids, ["dp-0", "dp-1", "dp-2"]);
    assert_eq!(report.metric("exact_match").unwrap().mean, Some(1.0));
    let create = server.requests_to("/v1/runs").remove(0);
    let body = create.json().unwrap();
    // A managed dataset id goes in `dataset_id`, not in the offline metadata.
    assert_eq!(body["dataset_id"], "ds-managed");
    assert!(
        body["metadata"].get("offline_dataset_id").is_none(),
        "{body}"
    );
    assert!(
        server
            .sessions()
            .iter()
            .all(|s| s["metadata"]["dataset_id"] == "ds-managed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hh_run_id_joins_the_run_instead_of_creating_one() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    // The run to join exists: another shard created it.
    let first = connected_experiment("joined", &server)
        .dataset(Dataset::from_json(&dataset_json(1)).unwrap())
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    let existing = first.run_id.clone();
    server.clear();
    let config = honeyhive::Config::builder()
        .environment(honeyhive::Environment::from_pairs([(
            "HH_RUN_ID",
            existing.as_str(),
        )]))
        .api_key(crate::common::API_KEY)
        .project(crate::common::PROJECT)
        .base_url(server.url())
        .build()
        .unwrap();
    let report = honeyhive::experiment::Experiment::new("joined")
        .config(config)
        .environment(honeyhive::Environment::empty())
        .dataset(Dataset::from_json(&dataset_json(2)).unwrap())
        .quiet()
        .run(pipeline)
        .await
        .unwrap();
    assert_eq!(report.run_id, existing);
    let runs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/runs"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    // No POST: only the finish and the results of the joined run.
    assert_eq!(
        runs,
        [
            (Method::PUT, format!("/v1/runs/{existing}")),
            (Method::GET, format!("/v1/runs/{existing}/result")),
        ]
    );
    assert!(
        server
            .sessions()
            .iter()
            .all(|s| s["metadata"]["run_id"] == existing.as_str())
    );
}
