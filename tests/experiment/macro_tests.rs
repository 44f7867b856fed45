//! What a `#[experiment]` test does when `cargo test` runs it: each fixture of
//! `fixtures.rs` runs in a subprocess (this test binary, filtered to it), in local mode or
//! connected to the test server, and its exit status and output are checked.

use std::process::{Command, Output};

use honeyhive_runtime::testing::TestServer;

use crate::common::{API_KEY, PROJECT, temp_dir, unreachable_url};

/// Runs one fixture of this binary; returns its output with stdout and stderr joined.
fn run_fixture(name: &str, env: &[(&str, String)]) -> (Output, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            &format!("fixtures::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("HH_API_KEY")
        .env_remove("HONEYHIVE_API_KEY")
        .env_remove("HH_API_URL")
        .env_remove("HH_BASELINE")
        .env_remove("HH_UPDATE_BASELINE")
        .env_remove("HH_LIMIT")
        .env_remove("HH_SAMPLE")
        .env_remove("HH_RERUN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("HH_RUN_ID")
        .env_remove("HH_SHARD")
        .env_remove("HH_DISABLED")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

#[test]
fn a_passing_experiment_passes_and_prints_its_summary() {
    let dir = temp_dir("fixture-pass");
    let (output, text) = run_fixture("passing", &[("HH_LOCAL_DIR", dir.display().to_string())]);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("experiment `passing`: 6 datapoint(s) of tests/data/qa.jsonl, 0 failed"),
        "{text}"
    );
    for column in ["metric", "mean", "p90", "pass rate", "verdict"] {
        assert!(text.contains(column), "{column}: {text}");
    }
    assert!(
        text.contains("\n  pass rate: share of the datapoints"),
        "a legend: {text}"
    );
    assert!(text.contains("(local: no API key)"), "{text}");
    // stderr is a pipe here, so progress comes as plain lines.
    assert!(
        text.contains("passing: 6/6 datapoints done, 0 failed"),
        "{text}"
    );
    assert!(
        dir.join("runs").read_dir().unwrap().count() == 1,
        "one run report"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missed_threshold_fails_the_test_naming_metric_threshold_and_value() {
    let dir = temp_dir("fixture-threshold");
    let (output, text) = run_fixture(
        "missed_threshold",
        &[("HH_LOCAL_DIR", dir.display().to_string())],
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("experiment `strict qa` (run ")
            && text.contains("metric `exact_match`: mean 0.6667 misses the threshold >= 0.9 (6 of 6 datapoints scored)"),
        "{text}"
    );
    assert!(text.contains("FAIL"), "the table marks the metric: {text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failed_experiment_panics_at_its_function_not_in_the_runtime() {
    // Where `fn failing_function` is named in fixtures.rs: the panic's location.
    let fixtures = include_str!("fixtures.rs");
    let (line, text) = fixtures
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("fn failing_function("))
        .unwrap();
    let location = format!(
        "panicked at tests/experiment/fixtures.rs:{}:{}:",
        line + 1,
        text.find("failing_function").unwrap() + 1
    );
    let dir = temp_dir("fixture-location");
    let (output, text) = run_fixture(
        "failing_function",
        &[
            ("HH_LOCAL_DIR", dir.display().to_string()),
            // No backtrace: the runtime's frames are in it.
            ("RUST_BACKTRACE", "0".to_owned()),
        ],
    );
    assert!(!output.status.success(), "{text}");
    assert!(text.contains(&location), "{location} in {text}");
    assert!(!text.contains("harness.rs"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_threshold_on_no_metric_known_only_at_run_time_stops_the_run_before_any_datapoint() {
    let dir = temp_dir("fixture-unknown-metric");
    let (output, text) = run_fixture(
        "unknown_metric",
        &[("HH_LOCAL_DIR", dir.display().to_string())],
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(
            "the experiment could not run: honeyhive configuration: threshold `contain` names \
             no metric of this experiment (did you mean `contains`?); its metrics: \
             `exact_match`, `contains`;"
        ),
        "{text}"
    );
    assert!(
        !text.contains("no datapoint runs, but this one did"),
        "{text}"
    );
    assert!(!dir.join("runs").exists(), "no run was started");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failing_function_fails_the_test_unless_allowed() {
    let dir = temp_dir("fixture-failure");
    let env = [("HH_LOCAL_DIR", dir.display().to_string())];
    let (output, text) = run_fixture("failing_function", &env);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(
            "1 datapoint(s) of tests/data/qa.jsonl failed, 0 allowed (raise `allow_failures` to \
             tolerate them)"
        ),
        "{text}"
    );
    // k = 4 is on line 5 of the file: named by its line, as progress counts, not `#4`.
    assert!(
        text.contains("\n    line 5 (EXT-") && text.contains("no answer for 4"),
        "{text}"
    );
    assert!(text.contains("\n  line 5 (EXT-"), "the summary too: {text}");
    let (output, text) = run_fixture("tolerated_failure", &env);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("failed datapoints (1, 1 allowed)"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The case: `picky` errs, panics or times out on 6 of 8 datapoints and scores the
/// other two 1.0, with `threshold(picky >= 0.9)`: the test fails, naming the evaluator and
/// how many datapoints it could not score, and the table marks the metric FAIL; allowed,
/// it passes.
#[test]
fn an_evaluator_that_cannot_score_fails_the_test_unless_allowed() {
    let dir = temp_dir("fixture-picky");
    let env = [("HH_LOCAL_DIR", dir.display().to_string())];
    let (output, text) = run_fixture("picky_judge", &env);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(
            "evaluator `picky` could not score 6 of 8 datapoints of tests/data/qa_8.jsonl (it \
             erred, panicked or timed out on them), 0 allowed (raise `allow_evaluator_errors` \
             to tolerate them)"
        ),
        "{text}"
    );
    for error in [
        "cannot judge 1",
        "panicked: picky crashed on 6",
        "timed out after 200ms",
    ] {
        assert!(text.contains(error), "{error}: {text}");
    }
    let row = text
        .lines()
        .find(|l| l.contains("│ picky"))
        .unwrap_or_else(|| panic!("no table row for picky: {text}"));
    assert!(row.contains("FAIL"), "{row}");
    let (output, text) = run_fixture("tolerated_picky_judge", &env);
    assert!(output.status.success(), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn with_an_api_key_the_generated_test_reports_to_honeyhive() {
    let server = TestServer::builder().api_key(API_KEY).start();
    let dir = temp_dir("fixture-connected");
    let (output, text) = run_fixture(
        "passing",
        &[
            ("HH_API_KEY", API_KEY.to_owned()),
            ("HH_PROJECT", PROJECT.to_owned()),
            ("HH_API_URL", server.url()),
            ("HH_LOCAL_DIR", dir.display().to_string()),
        ],
    );
    assert!(output.status.success(), "{text}");
    let runs = server.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[0]["event_ids"].as_array().unwrap().len(), 6);
    assert_eq!(server.sessions().len(), 6);
    let run_id = runs[0]["run_id"].as_str().unwrap();
    // `aggregate = "max"` goes with the run and with the request for its results.
    assert_eq!(runs[0]["configuration"]["aggregate_function"], "max");
    let result = &server.requests_to(&format!("/v1/runs/{run_id}/result"))[0];
    assert_eq!(result.query.as_deref(), Some("aggregate_function=max"));
    assert!(
        text.contains(&format!(
            "run {run_id}: {}/v1/runs/{run_id} (the run's API path: no HoneyHive app is known \
             for this API URL)",
            server.url()
        )),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The newcomer's case: an API key, and nothing listening at `HH_API_URL`. The generated
/// test runs, scores and passes on its metrics within 30 s (the default retry budget), and
/// the backend being down costs exactly one warning, naming the URL, what was not sent and
/// the run's folder. With `HH_REQUIRE_UPLOAD=1` the same test fails, saying so.
#[test]
fn with_the_backend_down_the_generated_test_passes_on_its_metrics_with_one_warning() {
    let url = unreachable_url();
    let dir = temp_dir("fixture-unreachable");
    let mut env = vec![
        ("HH_API_KEY", API_KEY.to_owned()),
        ("HH_PROJECT", PROJECT.to_owned()),
        ("HH_API_URL", url.clone()),
        ("HH_LOCAL_DIR", dir.display().to_string()),
    ];
    let started = std::time::Instant::now();
    let (output, text) = run_fixture("passing", &env);
    let took = started.elapsed();
    assert!(output.status.success(), "{text}");
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("honeyhive: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "exactly one warning: {text}");
    let runs = dir.join("runs");
    assert!(
        warnings[0].contains(&format!("HoneyHive at {url}"))
            && warnings[0].contains("the run's creation, 6 session starts")
            && warnings[0].contains(&format!("the complete run is kept in {}", runs.display())),
        "{}",
        warnings[0]
    );
    assert_eq!(runs.read_dir().unwrap().count(), 1, "one run folder");

    env.push(("HH_REQUIRE_UPLOAD", "1".to_owned()));
    let (output, text) = run_fixture("passing", &env);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("HH_REQUIRE_UPLOAD is set and HoneyHive did not receive the whole run"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_quickstart_experiment_runs_as_a_test() {
    let dir = temp_dir("fixture-quickstart");
    let (output, text) = run_fixture("quickstart", &[("HH_LOCAL_DIR", dir.display().to_string())]);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(
            "experiment `quickstart`: 5 datapoint(s) of examples/data/qa.jsonl, 0 failed"
        ),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `HH_BASELINE` (with `{name}`) and `HH_UPDATE_BASELINE` for a `#[experiment]` test with a
/// `regression(..)` gate: the first run writes the baseline; a degraded run fails the test
/// naming the gate, its table shows the change and the datapoints that moved, and its
/// Markdown summary goes to `$GITHUB_STEP_SUMMARY`; an unchanged run passes.
#[test]
fn a_regression_gate_fails_the_test_against_the_baseline() {
    let dir = temp_dir("fixture-gated");
    let baseline = dir.join("baselines/gated.json");
    let step = dir.join("step_summary");
    let env = |extra: &[(&'static str, String)]| {
        let mut env: Vec<(&'static str, String)> = vec![
            ("HH_LOCAL_DIR", dir.display().to_string()),
            (
                "HH_BASELINE",
                dir.join("baselines/{name}.json").display().to_string(),
            ),
            ("GITHUB_STEP_SUMMARY", step.display().to_string()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    // No baseline yet: an error naming the file, unless the run is to write it.
    let (output, text) = run_fixture("gated", &env(&[]));
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "the experiment could not run: honeyhive baseline: baseline `{}` not found: no file at {}",
            baseline.display(),
            baseline.display()
        )),
        "{text}"
    );
    let (output, text) = run_fixture("gated", &env(&[("HH_UPDATE_BASELINE", "1".into())]));
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("baseline written to {}", baseline.display())),
        "{text}"
    );
    assert!(baseline.is_file());

    let (output, text) = run_fixture("gated", &env(&[("HH_TEST_DEGRADE", "1".into())]));
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "regression gate on `exact_match` (against baseline `{}`, run ",
            baseline.display()
        )) && text.contains(
            "the mean fell from 1 to 0 (-1 over the 8 datapoint(s) both runs scored; max_drop 0.05)"
        ) && text
            .contains("8 got worse and 0 better: exact sign test p = 0.0039 (< 0.05: not noise)")
            && text.contains("\n    line 1 (EXT-"),
        "{text}"
    );
    let header = text.lines().find(|l| l.contains("│ metric")).unwrap();
    assert!(
        header.contains("change") && header.contains("improved/regressed/new/gone"),
        "{header}"
    );
    let row = text.lines().find(|l| l.contains("│ exact_match")).unwrap();
    for cell in ["FAIL", "-1 from 1", "0/8/0/0"] {
        assert!(row.contains(cell), "{cell}: {row}");
    }
    let summary = std::fs::read_to_string(&step).unwrap();
    assert!(
        summary.contains("### ✅ experiment `gated`: 8 datapoint(s), 0 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("### ❌ experiment `gated`: 8 datapoint(s), 0 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("- ❌ `regression(exact_match, max_drop = 0.05)`: 1 → 0"),
        "{summary}"
    );

    let (output, text) = run_fixture("gated", &env(&[]));
    assert!(output.status.success(), "{text}");
    let row = text.lines().find(|l| l.contains("│ exact_match")).unwrap();
    assert!(row.contains("0/0/0/0") && !row.contains("FAIL"), "{row}");
    std::fs::remove_dir_all(&dir).ok();
}
