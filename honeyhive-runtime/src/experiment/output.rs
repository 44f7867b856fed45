//! What a run leaves behind for people: the summary table on stderr, and the report
//! files `summary.json` and `datapoints.jsonl`.

use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use serde::Serialize;

use serde_json::Value;

use super::datapoint::Details;
use super::progress::Terminal;
use super::report::{
    DatapointResult, ExperimentReport, FAILURE_SAMPLE, bounded_list, format_score,
};
use crate::dataset::Datapoint;
use crate::{Error, Redaction, Result};

/// Writes `datapoints.jsonl` while the run goes, one line per datapoint in the order
/// given (the runner gives dataset order).
pub(crate) struct DatapointsWriter {
    dir: PathBuf,
    out: BufWriter<fs::File>,
}

/// One line of `datapoints.jsonl`: the result, the datapoint's inputs and ground truth, and
/// what the report does not keep in memory.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    result: &'a DatapointResult,
    inputs: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    ground_truth: Option<&'a Value>,
    #[serde(flatten)]
    details: &'a Details,
}

impl DatapointsWriter {
    pub(crate) fn create(dir: &Path) -> Result<DatapointsWriter> {
        let io = |source| Error::LocalStore {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let file = fs::File::create(dir.join("datapoints.jsonl")).map_err(io)?;
        Ok(DatapointsWriter {
            dir: dir.to_owned(),
            out: BufWriter::new(file),
        })
    }

    /// The line of `datapoint`'s result, serialised as soon as the datapoint finishes so
    /// its output need not be kept until the line's turn comes.
    /// Everything in it goes through `redaction` first.
    pub(crate) fn line(
        datapoint: &Datapoint,
        result: &DatapointResult,
        details: &Details,
        redaction: &Redaction,
    ) -> Result<String> {
        let line = Line {
            result,
            inputs: datapoint.inputs(),
            ground_truth: datapoint.ground_truth(),
            details,
        };
        let error = |source| Error::Serialize {
            what: "a datapoint result",
            source,
        };
        let mut value = serde_json::to_value(&line).map_err(error)?;
        redaction.redact_json("", &mut value);
        serde_json::to_string(&value).map_err(error)
    }

    /// Appends a line made by [`line`](Self::line).
    pub(crate) fn write(&mut self, line: &str) -> Result<()> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| Error::LocalStore {
                path: self.dir.join("datapoints.jsonl"),
                source,
            })
    }

    /// Flushes the file; the report's directory.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        self.out.flush().map_err(|source| Error::LocalStore {
            path: self.dir.join("datapoints.jsonl"),
            source,
        })?;
        Ok(self.dir)
    }
}

/// Applies `redaction` to the text a datapoint's result carries from the user's code (its
/// error, and its evaluators' errors and labels): reports, summaries and stored results
/// are made from it.
pub(crate) fn redact_result(redaction: &Redaction, result: &mut DatapointResult) {
    let redact = |key: &str, text: &mut String| {
        if let Some(redacted) = redaction.redact_str(key, text) {
            *text = redacted;
        }
    };
    if let Some(error) = &mut result.error {
        redact("error", error);
    }
    for evaluation in &mut result.evaluations {
        for error in &mut evaluation.errors {
            redact("error", error);
        }
        if let Some(label) = &mut evaluation.label {
            redact(&evaluation.name, label);
        }
        for (key, label) in &mut evaluation.labels {
            redact(key, label);
        }
    }
}

/// Writes `summary.json` into `dir`: the report, without the per-datapoint results.
pub(crate) fn write_summary(report: &ExperimentReport, dir: &Path) -> Result<()> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| Error::Serialize {
        what: "the experiment summary",
        source,
    })?;
    text.push('\n');
    fs::write(dir.join("summary.json"), text).map_err(|source| Error::LocalStore {
        path: dir.join("summary.json"),
        source,
    })
}

/// The summary as text: the metric table and what its columns mean, failed datapoints,
/// evaluator errors, where the run is. Datapoints are named by their line in the dataset
/// file (which the first line names), or counted from 1 as progress counts.
pub(crate) fn render_summary(report: &ExperimentReport) -> String {
    let mut text = String::new();
    let failed = report.failed_count;
    text.push_str(&format!(
        "experiment `{}`: {} datapoint(s){}, {} failed, {:.1}s{}{}\n",
        report.name,
        report.datapoint_count,
        report.of_dataset(),
        failed,
        report.duration_ms / 1000.0,
        report
            .shard
            .as_deref()
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default(),
        report
            .subset
            .as_ref()
            .map(|s| format!("; {s}"))
            .unwrap_or_default()
    ));
    let comparison = report.comparison.as_ref();
    if report.metrics.is_empty() {
        text.push_str("no metrics (the experiment has no evaluators)\n");
    } else {
        let mut table = Table::new();
        let mut header = vec![
            "metric",
            "mean",
            "min",
            "max",
            "p50",
            "p90",
            "scored",
            "unscored",
            "threshold",
            "pass rate",
            "verdict",
        ];
        if comparison.is_some() {
            header.extend(["change", "improved/regressed/new/gone"]);
        }
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for m in &report.metrics {
            // Dollars of a call are fractions of a cent: they need more decimals.
            let format = if m.name == crate::model::COST_USD {
                format_cost
            } else {
                format_score
            };
            let number = |v: Option<f64>| {
                Cell::new(v.map(format).unwrap_or_else(|| "-".into()))
                    .set_alignment(CellAlignment::Right)
            };
            let gate_failed = comparison
                .is_some_and(|c| !c.accepting && c.failed().any(|g| g.gate.metric == m.name));
            let mut row = vec![
                Cell::new(&m.name),
                number(m.mean),
                number(m.min),
                number(m.max),
                number(m.p50),
                number(m.p90),
                Cell::new(m.count).set_alignment(CellAlignment::Right),
                Cell::new(m.errors).set_alignment(CellAlignment::Right),
                Cell::new(
                    m.threshold
                        .as_ref()
                        .map(|t| format!("{} {}", t.comparison, t.value))
                        .unwrap_or_default(),
                ),
                Cell::new(
                    m.pass_rate
                        .map(|r| format!("{:.1}%", r * 100.0))
                        .unwrap_or_default(),
                )
                .set_alignment(CellAlignment::Right),
                Cell::new(match (m.passed, gate_failed) {
                    (Some(false), _) | (_, true) => "FAIL",
                    (Some(true), false) => "pass",
                    (None, false) => "",
                }),
            ];
            if let Some(comparison) = comparison {
                row.extend(delta_cells(comparison.metric(&m.name)));
            }
            table.add_row(row);
        }
        text.push_str(&table.to_string());
        text.push('\n');
        text.push_str(&legend(report));
        text.push_str(&baseline_lines(report));
        for m in report.metrics.iter().filter(|m| !m.labels.is_empty()) {
            let counts: Vec<String> = m
                .labels
                .iter()
                .map(|(label, n)| format!("{label:?} {n}"))
                .collect();
            text.push_str(&format!("labels of {}: {}\n", m.name, counts.join(", ")));
        }
        for m in &report.metrics {
            if let Some(spread) = &m.spread {
                text.push_str(&spread_line(&m.name, spread));
            }
        }
    }
    if let Some(model) = &report.model {
        text.push_str(&model_line("model calls", model));
    }
    if let Some(judges) = &report.evaluation_model {
        text.push_str(&model_line(
            "evaluators' model calls (judges; evaluation cost, not in the above)",
            judges,
        ));
    }
    if failed > 0 {
        text.push_str(&format!(
            "failed datapoints ({failed}, {} allowed):\n",
            report.allow_failures
        ));
        let lines = report
            .failure_sample()
            .iter()
            .map(|d| format!("{}: {}", d.label(), d.error.as_deref().unwrap_or_default()));
        text.push_str(&bounded_list(lines, failed, FAILURE_SAMPLE, "  ", "\n"));
    }
    let evaluator_errors = report.failures.evaluator_error_count;
    if evaluator_errors > 0 {
        text.push_str(&format!("evaluator errors ({evaluator_errors}):\n"));
        let lines = report
            .failures
            .evaluator_errors
            .iter()
            .map(|e| format!("{}: {}: {}", e.label(), e.evaluator, e.error));
        text.push_str(&bounded_list(
            lines,
            evaluator_errors,
            FAILURE_SAMPLE,
            "  ",
            "\n",
        ));
    }
    text.push_str(&format!("run {}", report.run_id));
    match &report.url {
        // Not a HoneyHive host: no app page is known, only the run's API resource.
        Some(url) if url.ends_with(&format!("/v1/runs/{}", report.run_id)) => text.push_str(
            &format!(": {url} (the run's API path: no HoneyHive app is known for this API URL)\n"),
        ),
        Some(url) => text.push_str(&format!(": {url}\n")),
        None => text.push_str(" (local: no API key)\n"),
    }
    if let Some(dir) = &report.report_dir {
        text.push_str(&format!(
            "report: {} (open report.html; junit.xml and summary.md for CI)\n",
            dir.display()
        ));
    }
    text
}

/// The change and the datapoint counts of a metric against the baseline.
fn delta_cells(change: Option<&super::MetricChange>) -> [Cell; 2] {
    let Some(c) = change else {
        return [Cell::new("-"), Cell::new("")];
    };
    let delta = match (c.change, c.old_mean) {
        (Some(d), Some(old)) => format!(
            "{}{} from {}",
            if d > 0.0 { "+" } else { "" },
            format_score(d),
            format_score(old)
        ),
        (None, None) => "new".into(),
        _ => "-".into(),
    };
    [
        Cell::new(delta).set_alignment(CellAlignment::Right),
        Cell::new(format!(
            "{}/{}/{}/{}",
            c.improved, c.regressed, c.new, c.gone
        ))
        .set_alignment(CellAlignment::Right),
    ]
}

/// What the summary says of the baseline: which run it is, what paired, each gate's
/// verdict; or that the gates could not be checked without one.
fn baseline_lines(report: &ExperimentReport) -> String {
    let Some(c) = &report.comparison else {
        if report.regressions.is_empty() {
            return String::new();
        }
        return "regression gates not checked: no baseline (name one with HH_BASELINE, \
                #[experiment(baseline = \"..\")] or Experiment::baseline; HH_BASELINE=last \
                is the previous run)\n"
            .into();
    };
    let b = &c.baseline;
    let mut text = format!(
        "  change: mean minus the baseline's; improved/regressed/new/gone: datapoints (by \
         id) whose value got better, worse, or that only this run or only the baseline has\n\
         baseline `{}`: run {}{}{}; {} datapoint(s) paired, {} new, {} gone\n",
        b.named,
        b.run_id,
        b.started_at
            .as_deref()
            .map(|t| format!(" of {t}"))
            .unwrap_or_default(),
        b.git_commit
            .as_deref()
            .map(|c| format!(", commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default(),
        c.paired,
        c.new,
        c.gone
    );
    for verdict in &c.regressions {
        text.push_str(&format!("  {}\n", verdict.describe()));
    }
    if c.accepting && c.failed().next().is_some() {
        text.push_str(
            "  (HH_UPDATE_BASELINE: the change is accepted, the gates do not fail the run)\n",
        );
    }
    text
}

/// Prints `text` (whole lines) on stderr, above any progress bars.
pub(crate) fn print_text(text: &str) {
    match Terminal::stderr() {
        Some(terminal) => terminal.write(text),
        None => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// What the table's columns mean, under it: the rules the figures and the verdict follow.
fn legend(report: &ExperimentReport) -> String {
    format!(
        "  mean, min, max, p50, p90: of the scored datapoints' values; scored: datapoints \
         with a value\n  \
         unscored: datapoints the evaluator could not score (it erred, panicked or timed \
         out), {allowed} allowed per evaluator\n  \
         pass rate: share of the datapoints the function ran on whose own value meets the \
         threshold\n  \
         verdict: FAIL when the mean misses the threshold or more than {allowed} datapoint(s) \
         are unscored\n",
        allowed = report.allow_evaluator_errors
    )
}

/// Dollars with up to 6 decimals, no trailing zeros.
pub(crate) fn format_cost(value: f64) -> String {
    super::report::format_decimals(value, 6)
}

/// `spread of judge (3 calls per datapoint): 2 of 5 datapoints disagreed, range mean 0.2,
/// max 0.6, standard deviation mean 0.09`.
fn spread_line(name: &str, spread: &super::statistics::Spread) -> String {
    format!(
        "spread of {name} ({} calls per datapoint): {} of {} datapoints disagreed, range mean \
         {}, max {}, standard deviation mean {}\n",
        spread.calls,
        spread.disagreed,
        spread.datapoints,
        format_score(spread.mean_range),
        format_score(spread.max_range),
        format_score(spread.mean_stdev),
    )
}

/// `<what>: 12 (4 replayed from cassettes), tokens: 1200 in / 300 out, cost: $0.0123`.
fn model_line(what: &str, model: &crate::model::ModelTotals) -> String {
    format!("{what}: {}\n", model_totals(model))
}

/// `12 (4 replayed from cassettes), tokens: 1200 in / 300 out, cost: $0.0123`: model calls
/// added up, as the summary and the report say them.
pub(crate) fn model_totals(model: &crate::model::ModelTotals) -> String {
    let mut line = model.calls.to_string();
    if model.cached_calls > 0 {
        line.push_str(&format!(
            " ({} replayed from cassettes)",
            model.cached_calls
        ));
    }
    line.push_str(&format!(
        ", tokens: {} in / {} out, cost: ${}",
        model.input_tokens,
        model.output_tokens,
        format_cost(model.cost_usd)
    ));
    if model.unpriced_calls > 0 {
        line.push_str(&format!(
            " ({} call(s) of unpriced models not counted)",
            model.unpriced_calls
        ));
    }
    line
}

/// Prints the summary on stderr in one write. It goes to the real stderr, not through
/// `eprintln!`, so `cargo test` shows it for passing tests too; on a terminal, above the
/// progress bars of the runs still going.
pub(crate) fn print_summary(report: &ExperimentReport) {
    print_text(&render_summary(report));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::recorder::Recorder;
    use crate::experiment::{Comparison, EvaluationResult, Threshold};

    /// A run over `tests/data/qa.jsonl` (datapoint k on line k + 1) whose function failed on
    /// the datapoint at index 4 and whose judge could not score index 2, in a second
    /// repetition too.
    fn report() -> ExperimentReport {
        let result = |index: usize, repetition: u32| {
            let score = (index != 2).then_some(1.0);
            DatapointResult {
                index,
                line: Some(index + 1),
                datapoint_id: format!("EXT-{index}"),
                repetition,
                session_id: String::new(),
                error: (index == 4).then(|| "no answer".to_owned()),
                evaluations: match index {
                    4 => vec![],
                    _ => vec![EvaluationResult {
                        name: "judge".into(),
                        score,
                        scores: score.into_iter().collect(),
                        extra: vec![],
                        label: None,
                        labels: vec![],
                        errors: score.map_or_else(|| vec!["judge down".into()], |_| vec![]),
                    }],
                },
                duration_ms: 1.0,
                model: None,
                evaluation_model: None,
            }
        };
        let dir = std::env::temp_dir().join("honeyhive-output-tests");
        let thresholds = [Threshold::new("judge", Comparison::AtLeast, 0.5)];
        let (mut recorder, error) = Recorder::new(&dir, &thresholds, 0);
        assert!(error.is_none(), "{error:?}");
        for index in 0..6 {
            for repetition in 0..2 {
                recorder.record(result(index, repetition)).unwrap();
            }
        }
        let (recorded, _) = recorder.finish();
        let mut report =
            ExperimentReport::of_run("qa".into(), "r1".into(), "d".into(), 0, 0, recorded);
        report.dataset_path = Some("tests/data/qa.jsonl".into());
        report
    }

    /// Datapoints are named by their line in the dataset file (as progress counts, from 1),
    /// never by a 0-based index; the file is named once.
    #[test]
    fn the_summary_names_datapoints_by_their_line_in_the_dataset_file() {
        let text = render_summary(&report());
        assert!(
            text.starts_with("experiment `qa`: 12 datapoint(s) of tests/data/qa.jsonl, 2 failed"),
            "{text}"
        );
        for line in [
            "failed datapoints (2, 0 allowed):\n  line 5 (EXT-4): no answer\n  line 5 (EXT-4), \
             repetition 2: no answer\n",
            "evaluator errors (2):\n  line 3 (EXT-2): judge: judge down\n",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(!text.contains('#'), "{text}");
        let reasons = report().check().unwrap_err().reasons;
        assert!(
            reasons[0].starts_with(
                "evaluator `judge` could not score 2 of 10 datapoints of tests/data/qa.jsonl"
            ) && reasons[0].contains("\n    line 3 (EXT-2): judge down"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].starts_with("2 datapoint(s) of tests/data/qa.jsonl failed, 0 allowed")
                && reasons[1].contains("\n    line 5 (EXT-4): no answer"),
            "{reasons:?}"
        );
    }

    /// The table says what its columns mean: headers that name the counts and the verdict,
    /// and a legend with the rules (what the statistics are over, what pass rate counts,
    /// when the verdict is FAIL, with the allowance).
    #[test]
    fn the_table_explains_its_columns() {
        let text = render_summary(&report());
        let header = text
            .lines()
            .find(|l| l.contains("metric"))
            .expect("a header row");
        // The counts and the verdict say what they are (not `n`, `errors` and a blank).
        for column in ["scored", "unscored", "verdict"] {
            assert!(header.contains(column), "{column}: {header}");
        }
        let row = text.lines().find(|l| l.contains("│ judge")).unwrap();
        assert!(row.contains("FAIL"), "{row}");
        for rule in [
            "mean, min, max, p50, p90: of the scored datapoints' values",
            "unscored: datapoints the evaluator could not score (it erred, panicked or timed \
             out), 0 allowed per evaluator",
            "pass rate: share of the datapoints the function ran on whose own value meets the \
             threshold",
            "verdict: FAIL when the mean misses the threshold or more than 0 datapoint(s) are \
             unscored",
        ] {
            assert!(text.contains(rule), "{rule}\n{text}");
        }
    }

    mod model {
        use super::*;
        use crate::experiment::report::{DatapointResult, EvaluationResult, Threshold};
        use crate::experiment::{Comparison, recorder::Recorder};
        use crate::model::ModelTotals;

        fn datapoint(index: usize, cost: f64, latencies: Vec<f64>, cached: u64) -> DatapointResult {
            DatapointResult {
                index,
                line: None,
                datapoint_id: format!("dp{index}"),
                repetition: 0,
                session_id: format!("s{index}"),
                error: None,
                evaluations: vec![EvaluationResult {
                    name: "correct".into(),
                    score: Some(1.0),
                    scores: vec![1.0],
                    extra: vec![],
                    label: None,
                    labels: vec![],
                    errors: vec![],
                }],
                duration_ms: 1.0,
                model: Some(ModelTotals {
                    calls: 2,
                    cached_calls: cached,
                    input_tokens: 100,
                    output_tokens: 20,
                    cost_usd: cost,
                    unpriced_calls: 0,
                    latencies_ms: latencies,
                }),
                evaluation_model: None,
            }
        }

        #[test]
        fn the_summary_shows_model_metrics_and_totals() {
            let dir = std::env::temp_dir().join("honeyhive-output-tests");
            let thresholds = [Threshold::new("cost_usd", Comparison::AtMost, 0.00002)];
            let (mut recorder, error) = Recorder::new(&dir, &thresholds, 0);
            assert!(error.is_none(), "{error:?}");
            recorder
                .record(datapoint(0, 0.000_012_5, vec![10.0, 30.0], 0))
                .unwrap();
            recorder
                .record(datapoint(1, 0.000_037_5, vec![], 2))
                .unwrap();
            let mut no_calls = datapoint(2, 0.0, vec![], 0);
            no_calls.model = None;
            recorder.record(no_calls).unwrap();
            let (recorded, error) = recorder.finish();
            assert!(error.is_none(), "{error:?}");
            let report =
                ExperimentReport::of_run("rag".into(), "r1".into(), "d".into(), 0, 0, recorded);
            let names: Vec<&str> = report.metrics.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "correct",
                    "cost_usd",
                    "input_tokens",
                    "output_tokens",
                    "model_latency_ms"
                ]
            );
            // Per datapoint (a datapoint without calls counts as 0), and per call.
            let cost = report.metric("cost_usd").unwrap();
            assert_eq!((cost.count, cost.max), (3, Some(0.000_037_5)));
            assert!((cost.mean.unwrap() - 0.000_016_666_666).abs() < 1e-12);
            assert_eq!((cost.passed, cost.pass_rate), (Some(true), Some(2.0 / 3.0)));
            let latency = report.metric("model_latency_ms").unwrap();
            assert_eq!(
                (latency.count, latency.p50, latency.p90),
                (2, Some(20.0), Some(28.0))
            );
            let totals = report.model.as_ref().unwrap();
            assert_eq!(
                (totals.calls, totals.cached_calls, totals.input_tokens),
                (4, 2, 200)
            );
            let text = render_summary(&report);
            assert!(text.contains("model calls: 4 (2 replayed from cassettes), tokens: 200 in / 40 out, cost: $0.00005\n"), "{text}");
            assert!(text.contains("0.000017"), "cost with 6 decimals: {text}");
        }

        /// Judges' calls are evaluation cost: a line of their own, not in the application's
        /// `cost_usd`; a repeated evaluator's spread is a line of its own.
        #[test]
        fn the_summary_shows_the_evaluation_cost_apart_and_the_spread_of_repeats() {
            let dir = std::env::temp_dir().join("honeyhive-output-tests");
            let (mut recorder, error) = Recorder::new(&dir, &[], 0);
            assert!(error.is_none(), "{error:?}");
            for index in 0..2 {
                let mut d = datapoint(index, 0.000_01, vec![5.0], 0);
                d.evaluations[0].scores = vec![1.0, 0.0, 1.0];
                d.evaluation_model = Some(ModelTotals {
                    calls: 3,
                    cached_calls: 3,
                    input_tokens: 300,
                    output_tokens: 30,
                    cost_usd: 0.001,
                    unpriced_calls: 0,
                    latencies_ms: vec![],
                });
                recorder.record(d).unwrap();
            }
            let (recorded, _) = recorder.finish();
            let report =
                ExperimentReport::of_run("rag".into(), "r1".into(), "d".into(), 0, 0, recorded);
            assert_eq!(report.model.as_ref().unwrap().calls, 4);
            assert_eq!(report.evaluation_model.as_ref().unwrap().calls, 6);
            let text = render_summary(&report);
            for line in [
                "model calls: 4, tokens: 200 in / 40 out, cost: $0.00002\n",
                "evaluators' model calls (judges; evaluation cost, not in the above): 6 (6 \
                 replayed from cassettes), tokens: 600 in / 60 out, cost: $0.002\n",
                "spread of correct (3 calls per datapoint): 2 of 2 datapoints disagreed, range \
                 mean 1, max 1, standard deviation mean 0.4714\n",
            ] {
                assert!(text.contains(line), "{line}\n{text}");
            }
        }

        #[test]
        fn costs_format_with_six_decimals() {
            assert_eq!(format_cost(0.000_012_5), "0.000013");
            assert_eq!(format_cost(1.5), "1.5");
            assert_eq!(format_cost(0.0), "0");
        }
    }
}
