//! The files a run leaves for people and CI: `report.html` opened and clicked in a real
//! headless Chromium, `junit.xml` validated against the JUnit schema CI systems read, and
//! the Markdown summary appended to `$GITHUB_STEP_SUMMARY`.

use std::path::{Path, PathBuf};
use std::process::Command;

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Experiment, ExperimentReport, Regression};
use honeyhive::{Environment, Score, evaluator, evaluators};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::temp_dir;
use crate::webdriver::{Browser, MANDATORY};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ask {
    pub k: u32,
    pub note: String,
}

/// Text a page must show as text, never run: it would add an `<img>` or run a script.
const HOSTILE: &str =
    "</script><img src=x onerror=\"document.title='pwned'\"><b>bold</b> & 'quotes' \u{2028}";

fn dataset() -> Dataset {
    let lines: Vec<String> = (0..12)
        .map(|k| {
            let note = if k == 5 {
                HOSTILE.to_owned()
            } else {
                format!("note {k}")
            };
            serde_json::json!({"inputs": {"k": k, "note": note}, "ground_truth": answer(k)})
                .to_string()
        })
        .collect();
    Dataset::from_json(&lines.join("\n")).unwrap()
}

/// The right answer to question `k` (the hostile datapoint's has the hostile text in it).
fn answer(k: u32) -> String {
    if k == 5 {
        format!("answer 5 {HOSTILE}")
    } else {
        format!("answer {k}")
    }
}

#[evaluator]
pub fn exact(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

/// A judge that explains itself, and errs on datapoint 4.
#[evaluator(name = "judge")]
pub fn judge(output: &String, inputs: &Ask) -> Result<Score, String> {
    if inputs.k == 4 {
        return Err("the judge is down".into());
    }
    Ok(Score::new(output.len() as f64 / 10.0).explanation(format!("{} characters", output.len())))
}

/// The baseline (all right), then a run where 1 and 2 answer wrong, 3 fails and the judge
/// errs on 4; the second run's report, in `dir`.
async fn two_runs(dir: &Path, environment: Environment) -> ExperimentReport {
    let named = dir.join("baseline.json").display().to_string();
    let experiment = |wrong: bool| {
        Experiment::<Ask, String>::new("report qa")
            .environment(environment.clone())
            .local_dir(dir)
            .dataset(dataset())
            .evaluators(evaluators![exact, judge])
            .allow_evaluator_errors(1)
            .baseline(&named)
            .update_baseline(!wrong)
            .regression(Regression::max_drop("exact", 0.05))
            .quiet()
            .try_run(move |a: Ask| async move {
                match a.k {
                    1 | 2 if wrong => Ok(format!("wrong answer {}", a.k)),
                    3 if wrong => Err("the model timed out".to_owned()),
                    k => Ok(answer(k)),
                }
            })
    };
    experiment(false).await.unwrap().check().unwrap();
    experiment(true).await.unwrap()
}

/// Where a test keeps what it leaves for people to look at: `target/tmp/<name>`.
fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_works_in_a_real_browser() {
    let Some(browser) = Browser::start("the_html_report_works_in_a_real_browser").await else {
        return;
    };
    let dir = temp_dir("report-browser");
    let report = two_runs(&dir, Environment::empty()).await;
    let page = report.report_dir.as_ref().unwrap().join("report.html");
    let url = format!("file://{}", page.display());
    browser.open(&url).await;

    // The metric names head the table; every datapoint is a row; the checks name the gate.
    let state = browser
        .eval(
            "return {
                title: document.title,
                verdict: document.getElementById('verdict').textContent,
                columns: Array.from(document.querySelectorAll('#rows thead th')).map(th => th.textContent.replace(/ [▲▼]$/, '')),
                rows: Array.from(document.querySelectorAll('#rows tbody tr.row')).map(tr => tr.dataset.id),
                cards: Array.from(document.querySelectorAll('.card h3')).map(h => h.textContent),
                charts: document.querySelectorAll('svg.histogram').length,
                gate: document.querySelector('#checks tr.gate').textContent,
                images: document.querySelectorAll('img').length,
             };",
        )
        .await;
    assert_eq!(state["verdict"], "FAIL", "{state}");
    assert_eq!(state["title"], "report qa · honeyhive report", "{state}");
    let columns: Vec<&str> = state["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["#", "datapoint", "status", "exact", "judge", "ms", "output"]
    );
    let ids: Vec<String> = dataset()
        .datapoints()
        .iter()
        .map(|d| d.id().to_owned())
        .collect();
    let rows: Vec<&str> = state["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rows, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(state["cards"], serde_json::json!(["exact", "judge"]));
    assert_eq!(state["charts"], 2);
    assert!(
        state["gate"]
            .as_str()
            .unwrap()
            .contains("regression(exact, max_drop = 0.05)"),
        "{state}"
    );
    // The hostile input added no element and ran nothing.
    assert_eq!(state["images"], 0, "{state}");

    // The "failed" filter, clicked: the datapoint whose function failed and the one the
    // judge erred on; the filter is in the URL, so the view can be linked to.
    browser.click("button[data-filter=failed]").await;
    let failed = browser
        .eval(
            "return {
                rows: Array.from(document.querySelectorAll('#rows tbody tr.row')).map(tr => tr.dataset.id),
                hash: location.hash,
                active: document.querySelector('.filters button.active').dataset.filter,
             };",
        )
        .await;
    assert_eq!(failed["hash"], "#filter=failed");
    assert_eq!(failed["active"], "failed");
    assert_eq!(failed["rows"], serde_json::json!([ids[3], ids[4]]));

    // The same view from the URL alone, then a changed datapoint opened: its output next
    // to the baseline's, the difference marked.
    browser.open(&format!("{url}#filter=changed")).await;
    let changed = browser
        .eval("return Array.from(document.querySelectorAll('#rows tbody tr.row')).map(tr => tr.dataset.id);")
        .await;
    assert_eq!(changed, serde_json::json!([ids[1], ids[2], ids[3]]));
    browser
        .click(&format!("#rows tbody tr.row[data-id='{}']", ids[1]))
        .await;
    let diff = browser
        .eval(
            "return {
                removed: Array.from(document.querySelectorAll('tr.details pre.old del')).map(e => e.textContent),
                added: Array.from(document.querySelectorAll('tr.details pre.new ins')).map(e => e.textContent),
                old: document.querySelector('tr.details pre.old').textContent,
                now: document.querySelector('tr.details pre.new').textContent,
                hash: location.hash,
                spans: document.querySelectorAll('tr.details .span').length,
             };",
        )
        .await;
    assert_eq!(diff["old"], "answer 1");
    assert_eq!(diff["now"], "wrong answer 1");
    assert_eq!(diff["added"], serde_json::json!(["wrong "]), "{diff}");
    assert!(diff["removed"].as_array().unwrap().is_empty(), "{diff}");
    assert_eq!(diff["hash"], "#filter=changed&open=1");
    // The datapoint's span tree: its root and the evaluators' spans.
    assert!(diff["spans"].as_u64().unwrap() >= 3, "{diff}");
    std::fs::write(artifact("report.png"), browser.screenshot().await).unwrap();

    // The hostile input, opened: shown as the text it is.
    browser.open(&format!("{url}#open=5")).await;
    let hostile = browser
        .eval(
            "return {
                text: document.querySelector('tr.details pre').textContent,
                images: document.querySelectorAll('img').length,
                title: document.title,
             };",
        )
        .await;
    let inputs: Value = serde_json::from_str(hostile["text"].as_str().unwrap()).unwrap();
    assert_eq!(inputs["note"], HOSTILE);
    assert_eq!(
        (hostile["images"].as_u64(), hostile["title"].as_str()),
        (Some(0), Some("report qa · honeyhive report"))
    );
    browser.quit().await;
    std::fs::copy(&page, artifact("report.html")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The Jenkins xUnit schema `junit-10.xsd` (from the pytest 8.3.4 sources on PyPI, MIT; see
/// tests/data/junit/README.md) with the one element it lacks and CI systems read:
/// `<properties>` in a `<testcase>`.
fn schema_with_case_properties(dir: &Path) -> PathBuf {
    let original = include_str!("../data/junit/junit-10.xsd");
    let anchor = "<xs:element ref=\"skipped\"/>";
    assert!(original.contains(anchor));
    let extended = original.replacen(
        anchor,
        &format!("<xs:element ref=\"properties\"/>\n                    {anchor}"),
        1,
    );
    let path = dir.join("junit-10-case-properties.xsd");
    std::fs::write(&path, extended).unwrap();
    path
}

fn xmllint() -> Option<()> {
    let found = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(());
    }
    if std::env::var_os(MANDATORY).is_some_and(|v| v != "0") {
        panic!(
            "{MANDATORY} is set but xmllint is missing: install Debian's libxml2-utils (.ci/run does)"
        );
    }
    eprintln!(
        "junit schema test: skipped: no xmllint on this machine (apt-get install libxml2-utils)"
    );
    None
}

fn validate(xml: &Path, schema: &Path) -> String {
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(schema)
        .arg(xml)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} does not validate against {}: {text}",
        xml.display(),
        schema.display()
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_xml_has_a_case_per_datapoint_and_validates_against_the_schema() {
    let dir = temp_dir("report-junit");
    let report = two_runs(&dir, Environment::empty()).await;
    let path = report.report_dir.as_ref().unwrap().join("junit.xml");
    let xml = std::fs::read_to_string(&path).unwrap();
    // A case per datapoint, named as messages name them; the failed one a <failure>, the
    // one an evaluator erred on an <error>, scores as properties.
    let cases = xml.matches("<testcase ").count();
    // The checks: the judge's allowance, the failed datapoints', the gate.
    assert_eq!(cases, 12 + 3, "12 datapoints and 3 checks: {xml}");
    let ids: Vec<String> = dataset()
        .datapoints()
        .iter()
        .map(|d| d.id().to_owned())
        .collect();
    assert!(
        xml.contains(&format!(
            "<testcase name=\"datapoint 4 ({})\" classname=\"report qa\"",
            ids[3]
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"the model timed out\" type=\"datapoint failed\">"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<error message=\"evaluator `judge`: the judge is down\" type=\"evaluator error\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"exact\" value=\"1\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"judge\" value=\"0.8\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<property name=\"datapoint_id\" value=\"{}\"/>",
            ids[0]
        )),
        "{xml}"
    );
    // The gate passes (2 worse, 0 better: p = 0.25, could be noise); the failed datapoint,
    // beyond the allowance, fails its check.
    assert!(
        xml.contains(
            "<testcase name=\"regression(exact, max_drop = 0.05)\" classname=\"report qa checks\"/>"
        ),
        "{xml}"
    );
    let check = xml.find("<testcase name=\"failed datapoints within allow_failures\" classname=\"report qa checks\">").expect(&xml);
    assert!(
        xml[check..]
            .trim_start_matches(|c| c != '\n')
            .trim_start()
            .starts_with("<failure message=\"1 datapoint(s) failed, 0 allowed\">"),
        "{xml}"
    );
    // The hostile output is escaped XML.
    assert!(xml.contains("&lt;/script&gt;&lt;img"), "{xml}");
    assert!(!xml.contains("<img"), "{xml}");
    std::fs::copy(&path, artifact("junit.xml")).unwrap();
    if xmllint().is_none() {
        return;
    }
    let schema = schema_with_case_properties(&dir);
    validate(&path, &schema);
    // Everything else is exactly the schema's: without the case properties, the file
    // validates against it unchanged.
    let without: String = {
        let mut out = String::new();
        let mut rest = xml.as_str();
        while let Some(start) = rest.find("<properties>") {
            let inside_case =
                rest[..start].rfind("<testcase ") > rest[..start].rfind("<testsuite ");
            let end = rest[start..].find("</properties>").unwrap() + start + "</properties>".len();
            out.push_str(&rest[..start]);
            if !inside_case {
                out.push_str(&rest[start..end]);
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    let stripped = dir.join("junit-stripped.xml");
    std::fs::write(&stripped, without).unwrap();
    let original = dir.join("junit-10.xsd");
    std::fs::write(&original, include_str!("../data/junit/junit-10.xsd")).unwrap();
    validate(&stripped, &original);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_markdown_summary_goes_to_the_run_and_to_the_step_summary() {
    let dir = temp_dir("report-markdown");
    let step = dir.join("step_summary");
    std::fs::write(&step, "earlier steps' summary\n").unwrap();
    let environment =
        Environment::from_pairs([("GITHUB_STEP_SUMMARY", step.display().to_string())]);
    let report = two_runs(&dir, environment).await;
    let written =
        std::fs::read_to_string(report.report_dir.as_ref().unwrap().join("summary.md")).unwrap();
    for expected in [
        "### ❌ experiment `report qa`: 12 datapoint(s), 1 failed",
        "| metric | mean | p50 | p90 | scored | threshold | verdict | change | improved | regressed | new | gone |",
        "| exact | 0.8182 |",
        // Datapoint 3 has no `exact` now (its function failed): gone, for that metric.
        " -0.1818 | 0 | 2 | 0 | 1 |",
        "- ✅ `regression(exact, max_drop = 0.05)`: 1 → 0.8182",
        "**Failed:**",
        "<details><summary>failed datapoints (1)</summary>",
        "the model timed out",
    ] {
        assert!(written.contains(expected), "{expected}\n{written}");
    }
    let appended = std::fs::read_to_string(&step).unwrap();
    // Both runs appended theirs, after what was there.
    assert!(
        appended.starts_with("earlier steps' summary\n### ✅ experiment `report qa`"),
        "{appended}"
    );
    assert!(appended.ends_with(&format!("{written}\n")), "{appended}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A judge that asks a model (its call recorded by hand): the evaluation cost.
#[evaluator(name = "priced_judge")]
pub fn priced_judge(output: &String) -> f64 {
    let mut call = honeyhive::model::ModelCall::chat("openai", "gpt-4o-mini").start();
    call.usage(honeyhive::model::Usage::new(10, 1));
    call.end();
    output.len() as f64
}

/// A run that made model calls: the report's metadata has its tokens and cost, and the
/// model metrics are columns of the table (their values in each row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_shows_the_tokens_and_cost_of_model_calls() {
    use honeyhive::model::{ModelCall, Usage};
    let dir = temp_dir("report-model");
    let report = Experiment::<Ask, String>::new("priced")
        .environment(Environment::empty())
        .local_dir(&dir)
        .dataset(dataset())
        .evaluators(evaluators![exact, priced_judge])
        .quiet()
        .run(|a: Ask| async move {
            let mut call = ModelCall::chat("openai", "gpt-4o-mini").start();
            call.usage(Usage::new(100, 20));
            call.end();
            answer(a.k)
        })
        .await
        .unwrap();
    let model = report.model.as_ref().expect("model totals");
    assert_eq!(
        (model.calls, model.input_tokens, model.output_tokens),
        (12, 1200, 240)
    );
    let page =
        std::fs::read_to_string(report.report_dir.as_ref().unwrap().join("report.html")).unwrap();
    assert!(
        page.contains("<dt>model calls</dt><dd>12, tokens: 1200 in / 240 out, cost: $"),
        "{page}"
    );
    // The judge's calls: the evaluation cost, on a line of its own.
    let judges = report.evaluation_model.as_ref().expect("judges' totals");
    assert_eq!((judges.calls, judges.input_tokens), (12, 120));
    assert!(
        page.contains("<dt>evaluators' model calls</dt><dd>12, tokens: 120 in / 12 out, cost: $"),
        "{page}"
    );
    for metric in ["cost_usd", "input_tokens", "output_tokens"] {
        assert!(page.contains(&format!("\"name\":\"{metric}\"")), "{metric}");
        assert!(page.contains(&format!("<h3>{metric}</h3>")), "{metric}");
    }
    assert!(page.contains("\"input_tokens\":100.0"), "per row");
    std::fs::remove_dir_all(&dir).ok();
}
