//! Baselines and regression gates, end to end in local mode: a run written as the
//! baseline, then runs compared with it (a real drop fails the gate, noise does not), the
//! deltas, `last`, a missing baseline, and runs of part of the dataset.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::{Experiment, ExperimentReport, Regression, Subset};
use honeyhive::{Environment, evaluator, evaluators};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::temp_dir;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    pub k: u32,
}

/// 20 questions whose right answer is `answer <k>`.
pub fn questions(n: u32) -> Dataset {
    let lines: Vec<String> = (0..n)
        .map(|k| format!(r#"{{"inputs": {{"k": {k}}}, "ground_truth": "answer {k}"}}"#))
        .collect();
    Dataset::from_json(&lines.join("\n")).unwrap()
}

#[evaluator]
pub fn correct(output: &String, ground_truth: &String) -> bool {
    output == ground_truth
}

/// An experiment over `questions(20)` whose answer is wrong for the datapoints in `wrong`.
pub fn run_with_wrong(
    dir: &Path,
    wrong: &[u32],
    configure: impl FnOnce(Experiment<Question, String>) -> Experiment<Question, String>,
) -> ExperimentReport {
    let wrong: Arc<HashSet<u32>> = Arc::new(wrong.iter().copied().collect());
    let experiment = Experiment::<Question, String>::new("gate")
        .environment(Environment::empty())
        .local_dir(dir)
        .dataset(questions(20))
        .evaluators(evaluators![correct])
        .regression(Regression::max_drop("correct", 0.05))
        .quiet();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(configure(experiment).run(move |q: Question| {
            let wrong = wrong.clone();
            async move {
                if wrong.contains(&q.k) {
                    format!("wrong {}", q.k)
                } else {
                    format!("answer {}", q.k)
                }
            }
        }))
        .unwrap()
}

/// The issue's case: a run written as the baseline, a degraded second run that fails the
/// gate (naming metric, old and new means, the interval, the datapoints that got worse with
/// their old and new outputs), and noisy-but-equal runs that pass it, one of them with a
/// drop of the mean beyond `max_drop` that the sign test calls noise.
#[test]
fn a_degraded_run_fails_the_gate_and_a_noisy_equal_one_passes() {
    let dir = temp_dir("gate");
    let baseline = dir.join("evals/baselines/gate.json");
    let named = baseline.display().to_string();
    // The baseline: 3 of 20 wrong (datapoints 0, 1, 2). The file does not exist yet:
    // HH_UPDATE_BASELINE writes it.
    let first = run_with_wrong(&dir, &[0, 1, 2], |e| {
        e.baseline(&named).update_baseline(true)
    });
    first.check().unwrap();
    assert!(first.comparison.is_none());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(file["run_id"], first.run_id.as_str());
    assert_eq!(file["honeyhive_baseline"], 1);
    let records = file["datapoints"].as_array().unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(records[0]["output"], "wrong 0");
    assert_eq!(records[5]["evaluations"][0]["score"], 1.0);
    // Small: no inputs, ground truth, sessions or timings.
    let text = std::fs::read_to_string(&baseline).unwrap();
    for absent in [
        "\"inputs\"",
        "\"ground_truth\"",
        "\"session_id\"",
        "\"server_result\"",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("{\"datapoint_id\""))
            .count()
            == 20,
        "one line per datapoint: {text}"
    );

    // Degraded: 8 more wrong (3..11), none fixed: 11 of 20 wrong.
    let degraded = run_with_wrong(&dir, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], |e| {
        e.baseline(&named)
    });
    let comparison = degraded.comparison.as_ref().unwrap();
    assert_eq!(
        (comparison.paired, comparison.new, comparison.gone),
        (20, 0, 0)
    );
    let change = comparison.metric("correct").unwrap();
    assert_eq!(
        (change.improved, change.regressed, change.unchanged),
        (0, 8, 12)
    );
    let gate = &comparison.regressions[0];
    assert!(gate.failed, "{gate:?}");
    assert_eq!((gate.worse, gate.better), (8, 0));
    assert!((gate.p_value - 1.0 / 256.0).abs() < 1e-12);
    let failure = degraded.check().unwrap_err();
    let reason = failure.reasons.last().unwrap();
    for expected in [
        "regression gate on `correct` (against baseline `",
        "the mean fell from 0.85 to 0.45 (-0.4 over the 20 datapoint(s) both runs scored; max_drop 0.05), 95% interval of the change [",
        "8 got worse and 0 better: exact sign test p = 0.0039 (< 0.05: not noise). Worse most:",
        "datapoint 4 (",
        "): 1 -> 0; output was \"answer 3\", now \"wrong 3\"",
    ] {
        assert!(reason.contains(expected), "{expected}\n{reason}");
    }
    let (low, high) = gate.interval.unwrap();
    assert!(low < -0.4 && -0.4 < high && high < 0.0, "{low} {high}");

    // Noisy but equal: 3 broke (3, 4, 5) and the 3 wrong before are right: the mean is the
    // same, the gate passes.
    let noisy = run_with_wrong(&dir, &[3, 4, 5], |e| e.baseline(&named));
    noisy.check().unwrap();
    let gate = &noisy.comparison.as_ref().unwrap().regressions[0];
    assert_eq!((gate.worse, gate.better, gate.failed), (3, 3, false));
    // Noisy with a drop beyond max_drop: 5 broke, 3 fixed (mean 0.85 -> 0.75), but 5 of 8
    // is what noise does often (p = 0.36): it passes. A gate on the mean alone would fail.
    let drop = run_with_wrong(&dir, &[3, 4, 5, 6, 7], |e| e.baseline(&named));
    let gate = &drop.comparison.as_ref().unwrap().regressions[0];
    assert!((gate.change.unwrap() + 0.1).abs() < 1e-9, "{gate:?}");
    assert_eq!((gate.worse, gate.better, gate.failed), (5, 3, false));
    drop.check().unwrap();
    // The baseline was not rewritten by runs that did not ask.
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(again["run_id"], first.run_id.as_str());
    std::fs::remove_dir_all(&dir).ok();
}

/// Without the gate the same degraded run passes: the failure above is the gate's.
#[test]
fn without_a_baseline_the_gate_is_not_checked() {
    let dir = temp_dir("gate-none");
    let report = run_with_wrong(&dir, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], |e| e);
    report.check().unwrap();
    assert!(report.comparison.is_none());
    assert_eq!(report.regressions.len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

/// `HH_UPDATE_BASELINE=1` accepts a drop: the gates are shown, do not fail the run, and
/// the baseline becomes this run.
#[test]
fn updating_the_baseline_accepts_the_change() {
    let dir = temp_dir("gate-accept");
    let named = dir.join("base").display().to_string();
    run_with_wrong(&dir, &[], |e| e.baseline(&named).update_baseline(true));
    let worse = run_with_wrong(&dir, &[0, 1, 2, 3, 4, 5, 6], |e| {
        e.environment(Environment::from_pairs([
            ("HH_BASELINE", named.as_str()),
            ("HH_UPDATE_BASELINE", "1"),
        ]))
    });
    let comparison = worse.comparison.as_ref().unwrap();
    assert!(comparison.accepting && comparison.regressions[0].failed);
    worse.check().unwrap();
    // A folder named: its summary.json is the baseline file.
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&named).join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(file["run_id"], worse.run_id.as_str());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_baseline_is_an_error_naming_where_it_looked() {
    let dir = temp_dir("gate-missing");
    let named = dir.join("evals/baselines/nothing.json");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let error = runtime
        .block_on(
            Experiment::<Question, String>::new("gate")
                .environment(Environment::from_pairs([(
                    "HH_BASELINE",
                    named.display().to_string(),
                )]))
                .local_dir(&dir)
                .dataset(questions(3))
                .evaluators(evaluators![correct])
                .quiet()
                .run(move |q: Question| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async move { format!("answer {}", q.k) }
                }),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing ran");
    assert!(
        error.starts_with(&format!(
            "honeyhive baseline: baseline `{}` not found: no file at {}",
            named.display(),
            named.display()
        )),
        "{error}"
    );
    assert!(error.contains("HH_UPDATE_BASELINE=1"), "{error}");
    // `last` without a previous run says so too.
    let error = runtime
        .block_on(
            Experiment::<Question, String>::new("never ran")
                .environment(Environment::empty())
                .baseline("last")
                .local_dir(&dir)
                .dataset(questions(3))
                .evaluators(evaluators![correct])
                .quiet()
                .run(|q: Question| async move { format!("answer {}", q.k) }),
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "`last` names the previous run of experiment `never ran`, and the local store"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `last` is the previous run of the same experiment, whichever ran in between; a run's
/// folder (or its summary.json) is a baseline too.
#[test]
fn last_and_run_folders_are_baselines() {
    let dir = temp_dir("gate-last");
    let first = run_with_wrong(&dir, &[], |e| e);
    // Another experiment runs in between: not `last` of this one.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(
            Experiment::<Question, String>::new("other")
                .environment(Environment::empty())
                .local_dir(&dir)
                .dataset(questions(2))
                .evaluators(evaluators![correct])
                .quiet()
                .run(|q: Question| async move { format!("answer {}", q.k) }),
        )
        .unwrap();
    let second = run_with_wrong(&dir, &[0], |e| e.baseline("last"));
    let comparison = second.comparison.as_ref().unwrap();
    assert_eq!(comparison.baseline.run_id, first.run_id);
    assert_eq!(comparison.metric("correct").unwrap().regressed, 1);
    // The first run's folder, by path and by its summary.json, and by its run id.
    let folder = first.report_dir.clone().unwrap();
    for named in [
        folder.display().to_string(),
        folder.join("summary.json").display().to_string(),
        first.run_id.clone(),
    ] {
        let third = run_with_wrong(&dir, &[0, 1], |e| e.baseline(&named));
        let comparison = third.comparison.as_ref().unwrap();
        assert_eq!(comparison.baseline.run_id, first.run_id, "{named}");
        assert_eq!(
            comparison.metric("correct").unwrap().regressed,
            2,
            "{named}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `HH_LIMIT` and `HH_SAMPLE` run part of the dataset, and say so; against a baseline the
/// datapoints they left out are not counted gone.
#[test]
fn limits_and_samples_run_part_and_say_so() {
    let dir = temp_dir("gate-subset");
    run_with_wrong(&dir, &[], |e| e);
    let limited = run_with_wrong(&dir, &[], |e| {
        e.environment(Environment::from_pairs([
            ("HH_LIMIT", "5"),
            ("HH_BASELINE", "last"),
        ]))
    });
    assert_eq!(limited.datapoint_count, 5);
    assert_eq!(limited.subset, Some(Subset::Limit { ran: 5, of: 20 }));
    let comparison = limited.comparison.as_ref().unwrap();
    assert_eq!((comparison.paired, comparison.gone), (5, 0));
    // The report and the summary say so.
    let folder = limited.report_dir.as_ref().unwrap();
    let said = "the first 5 of 20 datapoints (HH_LIMIT)";
    for file in ["report.html", "summary.md", "summary.json", "junit.xml"] {
        let text = std::fs::read_to_string(folder.join(file)).unwrap();
        let said = if file == "summary.json" {
            "\"kind\": \"limit\""
        } else {
            said
        };
        assert!(text.contains(said), "{file}: {text}");
    }
    let sample = |seed: &str| {
        let report = run_with_wrong(&dir, &[], |e| {
            e.environment(Environment::from_pairs([
                ("HH_SAMPLE", "4"),
                ("HH_SEED", seed),
            ]))
        });
        assert_eq!(
            report.subset,
            Some(Subset::Sample {
                ran: 4,
                of: 20,
                seed: seed.parse().unwrap()
            })
        );
        report
            .datapoints()
            .unwrap()
            .iter()
            .map(|d| d.index)
            .collect::<Vec<_>>()
    };
    let drawn = sample("11");
    assert_eq!(drawn.len(), 4);
    assert_eq!(
        sample("11"),
        drawn,
        "the same seed draws the same datapoints"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `HH_RERUN=failed`: only what failed (or erred) runs again; the others' results are taken
/// from the previous run, so the new run is complete.
#[test]
fn a_rerun_runs_what_failed_and_completes_the_run() {
    let dir = temp_dir("gate-rerun");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = |fail: &'static [u32], env: Environment| {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let report = runtime
            .block_on(
                Experiment::<Question, String>::new("rerun")
                    .environment(env)
                    .local_dir(&dir)
                    .dataset(questions(10))
                    .evaluators(evaluators![correct])
                    .allow_failures(10)
                    .quiet()
                    .try_run(move |q: Question| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if fail.contains(&q.k) {
                                Err(format!("flaky {}", q.k))
                            } else {
                                Ok(format!("answer {}", q.k))
                            }
                        }
                    }),
            )
            .unwrap();
        (report, calls.load(Ordering::SeqCst))
    };
    let (first, calls) = run(&[2, 7], Environment::empty());
    assert_eq!((calls, first.failed_count), (10, 2));
    let (second, calls) = run(&[], Environment::from_pairs([("HH_RERUN", "failed")]));
    assert_eq!(calls, 2, "only the two that failed ran");
    assert_eq!((second.datapoint_count, second.failed_count), (10, 0));
    assert_eq!(
        second.subset,
        Some(Subset::RerunFailed {
            rerun: 2,
            merged: 8,
            from: first.run_id.clone()
        })
    );
    assert_eq!(second.metric("correct").unwrap().mean, Some(1.0));
    let lines: Vec<Value> =
        std::fs::read_to_string(second.report_dir.as_ref().unwrap().join("datapoints.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0]["merged_from"], first.run_id.as_str());
    assert_eq!(lines[0]["output"], "answer 0");
    assert!(lines[2].get("merged_from").is_none());
    assert_eq!(lines[2]["output"], "answer 2");
    std::fs::remove_dir_all(&dir).ok();
}
