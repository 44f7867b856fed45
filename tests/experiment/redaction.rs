//! Redaction of what a run writes for people and tools: `datapoints.jsonl` (inputs, ground
//! truth, outputs, errors), `summary.json` and the stored results, with the run's
//! configuration's rules and the defaults.

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Config, Environment, evaluator, evaluators, trace};

use crate::common::{files_under, temp_dir};
use crate::support::{Answer, Question};

const EMAIL: &str = "grace@example.org";
const KEY: &str = "sk-live-Q2w3E4r5T6y7U8i9O0pA1s";

#[trace]
async fn leaky(question: Question) -> Answer {
    if question.k == 1 {
        panic!("the model refused key {KEY}");
    }
    Answer {
        k: question.k,
        text: format!("mail sent to {EMAIL}"),
    }
}

#[evaluator]
fn labelled(output: &Answer) -> Result<String, String> {
    match output.k {
        2 => Err(format!("could not reach {EMAIL}")),
        _ => Ok(format!("{} ok", output.text)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_files_show_nothing_redacted() {
    let dir = temp_dir("redaction-run");
    let lines: Vec<String> = (0..4)
        .map(|k| {
            serde_json::json!({
                "inputs": {"k": k, "text": format!("from {EMAIL}, key {KEY}")},
                "ground_truth": {"k": k, "text": format!("reply to {EMAIL}")},
            })
            .to_string()
        })
        .collect();
    let config = Config::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .redact_emails()
        .build()
        .unwrap();
    let report = Experiment::<Question, Answer>::new("redacted")
        .config(config)
        .environment(Environment::empty())
        .dataset(Dataset::from_json(&lines.join("\n")).unwrap())
        .evaluators(evaluators![labelled])
        .allow_failures(4)
        .allow_evaluator_errors(4)
        .quiet()
        .run(leaky)
        .await
        .unwrap();
    let run_dir = report.report_dir.clone().unwrap();
    let datapoints = std::fs::read_to_string(run_dir.join("datapoints.jsonl")).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(datapoints.lines().next().unwrap()).unwrap();
    assert_eq!(first["inputs"]["text"], "from [REDACTED], key [REDACTED]");
    assert_eq!(first["ground_truth"]["text"], "reply to [REDACTED]");
    assert_eq!(first["output"]["text"], "mail sent to [REDACTED]");
    let second: serde_json::Value =
        serde_json::from_str(datapoints.lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        second["error"],
        "panicked: the model refused key [REDACTED]"
    );
    // Every file the run and its tracing wrote: the report, the results, the spans.
    let files = files_under(&dir);
    for written in ["report.html", "junit.xml", "summary.md", "spans.jsonl"] {
        assert!(
            files.contains(&run_dir.join(written)),
            "{written} is not in the run's folder: {files:?}"
        );
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for secret in [EMAIL, KEY] {
            assert!(
                !text.contains(secret),
                "{} shows {secret}: {text}",
                file.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
    // The results reports are made from (`summary.json`, a report page, JUnit).
    let text = format!(
        "{:?} {:?}",
        report.datapoints().unwrap(),
        report.failures().unwrap()
    );
    assert!(!text.contains(EMAIL) && !text.contains(KEY), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}
