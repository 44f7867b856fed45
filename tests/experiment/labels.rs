//! Evaluators that return labels (text) as the reference SDK allows: on the evaluator span
//! as `gen_ai.evaluation.score.label`, as text metrics on the root span and the session,
//! counted in the summary and kept in the stored results.

use honeyhive::dataset::Dataset;
use honeyhive::{Score, evaluator, evaluators};
use honeyhive_runtime::testing::{AttrValue, TestServer};

use crate::support::{Answer, attr, connected_experiment, dataset_json, pipeline};

/// A label only: the metric is the text.
#[evaluator]
fn tone(output: &Answer) -> String {
    if output.k.is_multiple_of(2) {
        "even"
    } else {
        "odd"
    }
    .to_owned()
}

/// A number with a label and an extra label.
#[evaluator]
fn graded(output: &Answer) -> Score {
    Score::new(output.k)
        .label(if output.k == 0 { "zero" } else { "positive" })
        .extra_label("size", "small")
}

/// A `Result` of a `&str` label.
#[evaluator]
fn verdict(output: &Answer) -> Result<&'static str, String> {
    match output.k {
        2 => Err("no verdict for 2".into()),
        _ => Ok("fine"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn labels_reach_the_spans_the_session_the_summary_and_the_stored_results() {
    let server = TestServer::builder()
        .api_key(crate::common::API_KEY)
        .start();
    let dataset = Dataset::from_json(&dataset_json(3)).unwrap();
    let report = connected_experiment("labels", &server)
        .dataset(dataset)
        .evaluators(evaluators![tone, graded, verdict])
        .quiet()
        .run(pipeline)
        .await
        .unwrap();

    // Evaluator spans: the label as the GenAI attribute; a label-only score has no value.
    let spans = server.spans();
    let tone_spans: Vec<_> = spans.iter().filter(|s| s.name == "tone").collect();
    assert_eq!(tone_spans.len(), 3);
    for s in &tone_spans {
        let label = attr(s, "gen_ai.evaluation.score.label");
        assert!(label == "even" || label == "odd", "{label}");
        assert_eq!(attr(s, "honeyhive_metrics.tone"), label);
        assert!(s.attr("gen_ai.evaluation.score.value").is_none());
        assert_eq!(s.status.code, honeyhive_runtime::testing::StatusCode::Unset);
    }
    let graded_span = spans.iter().find(|s| s.name == "graded").unwrap();
    assert!(graded_span.attr("gen_ai.evaluation.score.value").is_some());
    assert!(graded_span.attr("gen_ai.evaluation.score.label").is_some());
    assert_eq!(attr(graded_span, "honeyhive_metrics.graded_size"), "small");

    // The root span and the session carry the labels as text metrics.
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "labels").collect();
    for root in &roots {
        let k = match root.attr("honeyhive_inputs.k") {
            Some(AttrValue::Int(k)) => *k,
            other => panic!("{other:?}"),
        };
        let parity = if k.rem_euclid(2) == 0 { "even" } else { "odd" };
        assert_eq!(attr(root, "honeyhive_metrics.tone"), parity);
        let grade = if k == 0 { "zero" } else { "positive" };
        assert_eq!(attr(root, "honeyhive_metrics.graded_label"), grade);
        assert_eq!(attr(root, "honeyhive_metrics.graded_size"), "small");
    }
    let updates = server.event_updates();
    assert_eq!(updates.len(), 3);
    for update in &updates {
        let tone = update["metrics"]["tone"].as_str().unwrap();
        assert!(tone == "even" || tone == "odd", "{update}");
        assert!(update["metrics"]["graded"].is_number(), "{update}");
    }

    // The summary counts the labels; a label-only metric has no errors.
    let tone = report.metric("tone").unwrap();
    assert_eq!(tone.labels, [("even".to_owned(), 2), ("odd".to_owned(), 1)]);
    assert_eq!((tone.count, tone.errors, tone.mean), (0, 0, None));
    let graded = report.metric("graded_label").unwrap();
    assert_eq!(
        graded.labels,
        [("zero".to_owned(), 1), ("positive".to_owned(), 2)]
    );
    assert_eq!(report.metric("graded").unwrap().count, 3);
    let verdict = report.metric("verdict").unwrap();
    assert_eq!(verdict.labels, [("fine".to_owned(), 2)]);
    assert_eq!(verdict.errors, 1);

    // The stored results keep every label.
    let datapoints = report.datapoints().unwrap();
    let first = &datapoints[0].evaluations;
    assert_eq!(first[0].label.as_deref(), Some("even"));
    assert_eq!(first[0].score, None);
    assert_eq!(first[1].label.as_deref(), Some("zero"));
    assert_eq!(first[1].labels, [("size".to_owned(), "small".to_owned())]);
    let dir = report.report_dir.unwrap();
    let first_line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("datapoints.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first_line["evaluations"][0]["label"], "even",
        "{first_line}"
    );
    assert_eq!(
        first_line["evaluations"][1]["labels"],
        serde_json::json!([["size", "small"]])
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["metrics"][0]["labels"],
        serde_json::json!([["even", 2], ["odd", 1]]),
        "{summary}"
    );
}
