//! Judges in experiments: an answer that holds no verdict is an evaluator error with the
//! raw text (on every answer form), never a score; 429 and 5xx cost no verdict;
//! `evaluator_concurrency` bounds the calls; `repeat` with a median and the spread in the
//! report; judge calls as model spans under the evaluator's span with the datapoint's
//! ids, their cost apart from the application's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use honeyhive::evaluators::judge::{Choices, Classifier, Factuality, StructuredOutput};
use honeyhive::experiment::{Experiment, ExperimentReport};
use honeyhive::model::ModelTransport;
use honeyhive::{Aggregate, Environment, EvaluatorList, evaluators, trace};
use honeyhive_runtime::testing::Fault;
use honeyhive_runtime::testing::TestServer;
use honeyhive_runtime::testing::openai::{OpenAiRoute, OpenAiTestServer, Reply};
use serde_json::{Value, json};

use crate::common::{connected_config, str_attr, temp_dir};
use crate::support::{
    Answer, JUDGE_KEY, Question, answer, chats, dataset, fast_retry, judge, prompt_in, server,
    tagged,
};

/// Runs `evaluators` over `n` datapoints of [`answer`] in local mode.
async fn run(
    n: usize,
    evaluators: EvaluatorList<Question, Answer>,
    dir: &std::path::Path,
    tune: impl FnOnce(Experiment<Question, Answer>) -> Experiment<Question, Answer>,
) -> ExperimentReport {
    let experiment = Experiment::new("judged")
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(dataset(n))
        .evaluators(evaluators)
        .quiet();
    tune(experiment).run(answer).await.unwrap()
}

/// One datapoint scored by `Factuality` with a judge of `server`.
async fn factuality_of_one(server: &OpenAiTestServer, dir: &std::path::Path) -> ExperimentReport {
    let evaluators = evaluators![
        Factuality::new()
            .output_field("answer")
            .expected_field("answer")
            .judge(judge(server, StructuredOutput::Auto))
    ];
    run(1, evaluators, dir, |e| e).await
}

/// Every error of evaluator `name`, in dataset order.
fn errors_of(report: &ExperimentReport, name: &str) -> Vec<String> {
    report
        .datapoints()
        .unwrap()
        .iter()
        .flat_map(|d| d.evaluations.iter().filter(|e| e.name == name))
        .flat_map(|e| e.errors.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_answer_is_an_evaluator_error_with_the_raw_text_on_every_path() {
    let dir = temp_dir("judge-unparsable");
    let choices = || Choices::new([("A", 1.0), ("B", 0.0)]);
    let template = "Is {{ output }} right? (A) yes (B) no";
    // The JSON schema path answers a choice that is not one.
    let schema_server = server(|_| Reply::structured(json!({"reasoning": "hm", "choice": "Z"})));
    // The tool call path: arguments that are not JSON.
    let tool_server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_json_schema()
        .respond(|_| Reply::tool_call("choice=A, I think"))
        .start();
    // The text path: no choice on the last line.
    let text_server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .reject_json_schema()
        .reject_tools()
        .respond(|_| Reply::text("It could be A.\nOr maybe B, hard to say."))
        .start();
    let classifier = |name: &'static str, server: &OpenAiTestServer| {
        Classifier::new(name, template, choices())
            .unwrap()
            .output_field("answer")
            .judge(judge(server, StructuredOutput::Auto))
    };
    let report = run(
        3,
        evaluators![
            classifier("schema", &schema_server),
            classifier("tool", &tool_server),
            classifier("text", &text_server),
        ],
        &dir,
        |e| e,
    )
    .await;
    for (name, raw, reason) in [
        (
            "schema",
            r#"the judge answered: "{\"choice\":\"Z\",\"reasoning\":\"hm\"}""#,
            "\"Z\" is not one of the choices A, B",
        ),
        (
            "tool",
            r#"the judge answered: "choice=A, I think""#,
            "the tool call's arguments are not JSON",
        ),
        (
            "text",
            r#"the judge answered: "It could be A.\nOr maybe B, hard to say.""#,
            "its last line names none of the choices A, B",
        ),
    ] {
        let metric = report.metric(name).unwrap();
        assert_eq!(
            (metric.count, metric.errors, metric.mean),
            (0, 3, None),
            "{name}"
        );
        let errors = errors_of(&report, name);
        assert_eq!(errors.len(), 3, "{name}: {errors:?}");
        for e in &errors {
            assert!(e.contains(raw) && e.contains(reason), "{name}: {e}");
        }
    }
    // The stored report and the check carry the raw text too.
    let jsonl =
        std::fs::read_to_string(report.report_dir.as_ref().unwrap().join("datapoints.jsonl"))
            .unwrap();
    assert!(jsonl.contains("choice=A, I think"), "{jsonl}");
    let failure = report.check().unwrap_err().to_string();
    assert!(
        failure.contains("evaluator `text` could not score 3 of 3"),
        "{failure}"
    );
    assert!(failure.contains("Or maybe B, hard to say."), "{failure}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_or_failing_judge_costs_no_verdict() {
    let dir = temp_dir("judge-429");
    let server = server(|_| Reply::structured(json!({"reasoning": "ok", "choice": "A"})));
    server.inject(
        OpenAiRoute::ChatCompletions,
        Fault::status(429).retry_after("0").times(2),
    );
    server.inject(OpenAiRoute::ChatCompletions, Fault::status(503));
    let report = factuality_of_one(&server, &dir).await;
    report.check().unwrap();
    assert_eq!(report.metric("factuality").unwrap().mean, Some(1.0));
    let statuses: Vec<u16> = chats(&server).iter().map(|r| r.response_status).collect();
    assert_eq!(statuses, [429, 429, 503, 200]);
    // Each attempt asked the same thing.
    let requests = chats(&server);
    let bodies: Vec<&Value> = requests.iter().map(|r| r.json().unwrap()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_judge_waits_as_long_as_retry_after_asks() {
    let dir = temp_dir("judge-retry-after");
    let server = server(|_| Reply::structured(json!({"reasoning": "ok", "choice": "A"})));
    server.inject(
        OpenAiRoute::ChatCompletions,
        Fault::status(429).retry_after("1"),
    );
    let started = Instant::now();
    let report = factuality_of_one(&server, &dir).await;
    // The judge's own backoff is at most 20 ms here: only the server's Retry-After
    // explains a wait of a second (a lower bound, so a slow machine cannot make this fail).
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        started.elapsed()
    );
    report.check().unwrap();
    assert_eq!(report.metric("factuality").unwrap().mean, Some(1.0));
    let statuses: Vec<u16> = chats(&server).iter().map(|r| r.response_status).collect();
    assert_eq!(statuses, [429, 200]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn evaluator_concurrency_bounds_the_judge_calls_in_flight() {
    let dir = temp_dir("judge-concurrency");
    let server = OpenAiTestServer::builder()
        .api_key(JUDGE_KEY)
        .latency(Duration::from_millis(30))
        .respond(|_| Reply::structured(json!({"reasoning": "ok", "choice": "A"})))
        .start();
    let judge = judge(&server, StructuredOutput::JsonSchema);
    let factuality = |name: &'static str| {
        Factuality::new()
            .named(name)
            .output_field("answer")
            .expected_field("answer")
            .judge(judge.clone())
    };
    let report = run(
        40,
        evaluators![factuality("f1"), factuality("f2")],
        &dir,
        |e| e.max_concurrency(20).evaluator_concurrency(4),
    )
    .await;
    report.check().unwrap();
    assert_eq!(chats(&server).len(), 80);
    let most = server.max_in_flight();
    assert!(
        (2..=4).contains(&most),
        "{most} judge calls were in flight at once"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_judges_take_the_median_and_the_report_shows_the_spread() {
    let dir = temp_dir("judge-repeat");
    // Each question's five identical requests get A, D, A, B, A in turn (1, 0, 1, 0.4, 1),
    // but question 0's get A every time.
    let asked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let server = server(move |body| {
        let prompt = prompt_in(body);
        let question = tagged(&prompt, "question").to_owned();
        let mut asked = asked.lock().unwrap();
        let n = asked.entry(question.clone()).or_default();
        let letter = if question == "question 0" {
            "A"
        } else {
            ["A", "D", "A", "B", "A"][*n % 5]
        };
        *n += 1;
        Reply::structured(json!({"reasoning": format!("call {n}"), "choice": letter}))
    });
    let report = run(
        3,
        evaluators![
            Factuality::new()
                .output_field("answer")
                .expected_field("answer")
                .input_field("question")
                .repeat(5, Aggregate::Median)
                .judge(judge(&server, StructuredOutput::JsonSchema))
        ],
        &dir,
        |e| e,
    )
    .await;
    report.check().unwrap();
    assert_eq!(chats(&server).len(), 15);
    for d in report.datapoints().unwrap() {
        let e = &d.evaluations[0];
        let mut scores = e.scores.clone();
        scores.sort_by(f64::total_cmp);
        let expected: &[f64] = if d.index == 0 {
            &[1.0; 5]
        } else {
            &[0.0, 0.4, 1.0, 1.0, 1.0]
        };
        assert_eq!(scores, expected, "datapoint {}", d.index);
        assert_eq!(e.score, Some(1.0), "the median");
        // Labels settle on the most frequent.
        assert_eq!(e.label.as_deref(), Some("A"));
    }
    let spread = report.metric("factuality").unwrap().spread.clone().unwrap();
    assert_eq!(
        (spread.datapoints, spread.calls, spread.disagreed),
        (3, 5, 2)
    );
    assert_eq!(spread.max_range, 1.0);
    assert!((spread.mean_range - 2.0 / 3.0).abs() < 1e-12);
    let summary =
        std::fs::read_to_string(report.report_dir.as_ref().unwrap().join("summary.json")).unwrap();
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["metrics"][0]["spread"]["disagreed"], 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The application's own model call: one chat completion through the model seam.
#[trace(skip(transport, url))]
async fn ask_model(transport: &ModelTransport, url: &str, question: &str) -> String {
    let request = reqwest::Client::new()
        .post(format!("{url}/chat/completions"))
        .bearer_auth(JUDGE_KEY)
        .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}))
        .build()
        .unwrap();
    let answer: Value = transport.send(request).await.unwrap().json().await.unwrap();
    answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn judge_calls_are_model_spans_of_their_evaluator_with_the_datapoints_ids_and_cost_apart() {
    const N: usize = 30;
    let backend = TestServer::start();
    let dir = temp_dir("judge-spans");
    // One model server for the application (echo) and the judge (a verdict).
    let models = server(|body| {
        if body.get("response_format").is_some() {
            Reply::structured(json!({"reasoning": "ok", "choice": "A"}))
        } else {
            Reply::text("city")
        }
    });
    let url = models.url();
    let transport = ModelTransport::builder()
        .environment(Environment::empty())
        .retry(fast_retry())
        .build()
        .unwrap();
    let app_transport = transport.clone();
    let judge = honeyhive::evaluators::judge::Judge::builder()
        .environment(Environment::empty())
        .base_url(&url)
        .api_key(JUDGE_KEY)
        .model("gpt-4o") // priced differently from the application's model
        .structured_output(StructuredOutput::JsonSchema)
        .build()
        .unwrap();
    let report = Experiment::<Question, Answer>::new("judged")
        .config(connected_config(&backend))
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset(N))
        .max_concurrency(10)
        .evaluators(evaluators![
            Factuality::new()
                .output_field("answer")
                .expected_field("answer")
                .input_field("question")
                .judge(judge)
        ])
        .quiet()
        .run(move |q: Question| {
            let transport = app_transport.clone();
            let url = url.clone();
            async move {
                let word = ask_model(&transport, &url, &q.question).await;
                let mut a = answer(q).await;
                a.answer.push_str(&format!(" ({word})"));
                a
            }
        })
        .await
        .unwrap();
    report.check().unwrap();

    let spans = backend.spans();
    let by_id: HashMap<&str, &honeyhive_runtime::testing::RecordedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let judge_spans: Vec<_> = spans
        .iter()
        .filter(|s| s.str_attr("gen_ai.request.model") == Some("gpt-4o"))
        .collect();
    assert_eq!(judge_spans.len(), N);
    for span in &judge_spans {
        assert_eq!(str_attr(span, "honeyhive_event_type"), "model");
        let parent = by_id[span.parent_span_id.as_deref().unwrap()];
        assert_eq!(
            parent.name, "factuality",
            "a judge span's parent is its evaluator"
        );
        assert_eq!(
            str_attr(parent, "honeyhive_metadata.judge_structured_output"),
            "json_schema"
        );
        for key in [
            "honeyhive.session_id",
            "honeyhive_metadata.datapoint_id",
            "honeyhive_metadata.run_id",
        ] {
            assert_eq!(str_attr(span, key), str_attr(parent, key), "{key}");
        }
        // The question the judge saw is its own datapoint's.
        let root = by_id[parent.parent_span_id.as_deref().unwrap()];
        assert!(root.parent_span_id.is_none());
        let question = str_attr(root, "honeyhive_inputs.question");
        let prompt = str_attr(span, "honeyhive_inputs.chat_history.0.content");
        assert_eq!(tagged(prompt, "question"), question);
        assert!(span.attr("honeyhive_metrics.cost_usd").is_some());
    }

    // Cost: the application's calls in `model`, the judge's in `evaluation_model`.
    let app = report.model.as_ref().unwrap();
    let judges = report.evaluation_model.as_ref().unwrap();
    assert_eq!((app.calls, judges.calls), (N as u64, N as u64));
    let app_spans: Vec<_> = spans
        .iter()
        .filter(|s| s.str_attr("gen_ai.request.model") == Some("gpt-4o-mini"))
        .collect();
    let tokens = |spans: &[&honeyhive_runtime::testing::RecordedSpan], key: &str| -> u64 {
        spans
            .iter()
            .map(|s| s.attr(key).and_then(|v| v.as_i64()).unwrap() as u64)
            .sum()
    };
    assert_eq!(
        app.input_tokens,
        tokens(&app_spans, "gen_ai.usage.input_tokens")
    );
    assert_eq!(
        judges.input_tokens,
        tokens(&judge_spans, "gen_ai.usage.input_tokens")
    );
    assert!(judges.cost_usd > 0.0 && app.cost_usd > 0.0);
    let cost = report.metric("cost_usd").unwrap();
    assert!(
        (cost.mean.unwrap() * N as f64 - app.cost_usd).abs() < 1e-12,
        "cost_usd is the application's only"
    );
    for d in report.datapoints().unwrap() {
        assert_eq!(d.model.as_ref().unwrap().calls, 1);
        assert_eq!(d.evaluation_model.as_ref().unwrap().calls, 1);
    }
    // The sessions carry both, apart.
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    assert!(root.attr("honeyhive_metrics.evaluation_cost_usd").is_some());
    assert!(root.attr("honeyhive_metrics.cost_usd").is_some());
    let _ = std::fs::remove_dir_all(&dir);
}
