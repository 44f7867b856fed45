//! The built-in judges in one experiment: what each reads into its prompt, how its verdict
//! becomes the score, the label and the explanation; and judges in `#[evaluator]`s of
//! one's own, async and sync.

use honeyhive::evaluators::judge::{
    Choices, Classifier, ClosedQa, Factuality, Faithfulness, Judge, JudgeError, Rubric, Scale,
    StructuredOutput,
};
use honeyhive::experiment::Experiment;
use honeyhive::{Environment, Score, evaluator, evaluators};
use honeyhive_runtime::testing::openai::{OpenAiTestServer, Reply};
use serde_json::{Value, json};

use crate::common::temp_dir;
use crate::support::{Answer, Question, answer, chats, dataset, judge, prompt_of, server, tagged};

fn replying(value: Value) -> OpenAiTestServer {
    server(move |_| Reply::structured(value.clone()))
}

/// The judge of `#[evaluator]`s below: built in them from this process's environment
/// would reach nothing, so they read the URL the test set for them.
static OWN_JUDGE: std::sync::OnceLock<Judge> = std::sync::OnceLock::new();

#[evaluator]
async fn polite(output: &Answer) -> Result<Score, JudgeError> {
    let choices = Choices::new([("Y", 1.0), ("N", 0.0)]);
    let prompt = format!("Is this polite? Y or N.\n{}", output.answer);
    Ok(OWN_JUDGE
        .get()
        .unwrap()
        .classify(prompt, &choices)
        .await?
        .into())
}

#[evaluator(name = "concise")]
fn concise_sync(output: &Answer) -> Result<Score, JudgeError> {
    let rating = OWN_JUDGE.get().unwrap().blocking().rate(
        format!("How concise, 1 to 3?\n{}", output.answer),
        Scale::new(1.0, 3.0),
    )?;
    Ok(rating.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_built_in_reads_its_values_and_scores_its_verdict() {
    let dir = temp_dir("judge-builtins");
    let factual = replying(json!({"reasoning": "a subset", "choice": "B"}));
    let closed = replying(json!({"reasoning": "names a city", "choice": "Y"}));
    let faithful = replying(json!({"reasons": ["the source names another city"], "pass": false}));
    let rubric = replying(json!({"reasoning": "plain", "score": 7}));
    let grounded = replying(json!({"reasoning": "in the doc", "choice": "partly"}));
    let own = server(|body| {
        if body
            .pointer("/response_format/json_schema/schema/properties/score")
            .is_some()
        {
            Reply::structured(json!({"reasoning": "short", "score": 3}))
        } else {
            Reply::structured(json!({"reasoning": "kind", "choice": "Y"}))
        }
    });
    OWN_JUDGE
        .set(judge(&own, StructuredOutput::JsonSchema))
        .unwrap();
    let with = |s: &OpenAiTestServer| judge(s, StructuredOutput::Auto);
    let report = Experiment::<Question, Answer>::new("builtins")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset(2))
        .evaluators(evaluators![
            Factuality::new()
                .output_field("answer")
                .expected_field("answer")
                .input_field("question")
                .judge(with(&factual)),
            ClosedQa::new("The answer names a city.")
                .output_field("answer")
                .input_field("question")
                .judge(with(&closed)),
            Faithfulness::new()
                .output_field("answer")
                .context_field("sources")
                .judge(with(&faithful)),
            Rubric::new("Plain words.")
                .scale(0.0, 10.0)
                .output_field("answer")
                .judge(with(&rubric)),
            Classifier::new(
                "grounded",
                "Sources:\n{{ context }}\nAnswer: {{ output }}\n{{ criteria }}",
                Choices::new([("fully", 1.0), ("partly", 0.5), ("not", 0.0)]),
            )
            .unwrap()
            .criteria("How much of the answer do the sources back?")
            .output_field("answer")
            .context_field("sources")
            .judge(with(&grounded)),
            polite,
            concise_sync,
        ])
        .quiet()
        .run(answer)
        .await
        .unwrap();
    let mean = |name: &str| report.metric(name).unwrap().mean;
    assert_eq!(mean("factuality"), Some(0.4));
    assert_eq!(mean("closed_qa"), Some(1.0));
    assert_eq!(mean("faithfulness"), Some(0.0));
    assert_eq!(mean("rubric"), Some(0.7));
    assert_eq!(mean("rubric_rating"), Some(7.0));
    assert_eq!(mean("grounded"), Some(0.5));
    assert_eq!(mean("polite"), Some(1.0));
    assert_eq!(mean("concise"), Some(1.0));
    assert_eq!(
        report.metric("factuality_label").unwrap().labels,
        [("B".to_owned(), 2)]
    );

    // What each read into its prompt (datapoint 1: question 1, a wrong answer).
    let second = |s: &OpenAiTestServer| {
        chats(s)
            .iter()
            .map(prompt_of)
            .find(|p| p.contains("city 101"))
            .unwrap()
    };
    let p = second(&factual);
    assert_eq!(
        (
            tagged(&p, "question"),
            tagged(&p, "expert"),
            tagged(&p, "answer")
        ),
        ("question 1", "city 1", "It is city 101.")
    );
    assert!(p.contains("(E) It differs from the expert's answer"));
    let p = second(&closed);
    assert_eq!(tagged(&p, "criterion"), "The answer names a city.");
    let p = second(&faithful);
    assert_eq!(
        tagged(&p, "sources"),
        "Doc: the answer to question 1 is city 1."
    );
    assert!(
        tagged(&p, "question").contains("\"question\": \"question 1\""),
        "{p}"
    );
    let p = second(&rubric);
    assert_eq!(tagged(&p, "rubric"), "Plain words.");
    assert!(
        tagged(&p, "reference").contains("city 1"),
        "the reference answer: {p}"
    );
    assert!(p.ends_with("a number from 0 to 10."), "{p}");
    let p = second(&grounded);
    assert!(
        p.starts_with(
            "Sources:\nDoc: the answer to question 1 is city 1.\nAnswer: It is city 101.\nHow much"
        ),
        "{p}"
    );
    assert!(
        p.contains("one of fully, partly, not") || p.contains("your choice in `choice`"),
        "{p}"
    );

    // Explanations: the reasoning, or the reasons.
    let jsonl =
        std::fs::read_to_string(report.report_dir.as_ref().unwrap().join("datapoints.jsonl"))
            .unwrap();
    let line: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(line["explanations"]["factuality"], "a subset");
    assert_eq!(
        line["explanations"]["faithfulness"],
        "the source names another city"
    );
    assert_eq!(line["explanations"]["concise"], "short");
    report.check().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_judge_that_compares_with_the_ground_truth_rejects_a_dataset_without_it() {
    let dir = temp_dir("judge-no-truth");
    let server = replying(json!({"reasoning": "r", "choice": "A"}));
    let dataset =
        honeyhive::dataset::Dataset::from_json(r#"{"inputs": {"question": "q"}}"#).unwrap();
    let error = Experiment::<Question, Answer>::new("no_truth")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset)
        .evaluators(evaluators![
            Factuality::new().judge(judge(&server, StructuredOutput::Auto))
        ])
        .quiet()
        .run(answer)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`factuality` compares the output with the ground truth"),
        "{error}"
    );
    assert!(chats(&server).is_empty());
    // A template with a typo is an error before any datapoint too.
    let typo = Factuality::new()
        .try_template("{{ expceted }}")
        .unwrap_err();
    assert!(typo.to_string().contains("uses `expceted`"), "{typo}");
    let _ = std::fs::remove_dir_all(&dir);
}
