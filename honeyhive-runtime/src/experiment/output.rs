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
use super::report::{
    DatapointResult, ExperimentReport, FAILURE_SAMPLE, bounded_list, format_score,
};
use crate::dataset::Datapoint;
use crate::{Error, Result};

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
    pub(crate) fn line(
        datapoint: &Datapoint,
        result: &DatapointResult,
        details: &Details,
    ) -> Result<String> {
        let line = Line {
            result,
            inputs: datapoint.inputs(),
            ground_truth: datapoint.ground_truth(),
            details,
        };
        serde_json::to_string(&line).map_err(|source| Error::Serialize {
            what: "a datapoint result",
            source,
        })
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

/// The summary as text: the metric table, failed datapoints, evaluator errors, where the
/// run is.
pub(crate) fn render_summary(report: &ExperimentReport) -> String {
    let mut text = String::new();
    let failed = report.failed_count;
    text.push_str(&format!(
        "experiment `{}`: {} datapoint(s), {} failed, {:.1}s{}\n",
        report.name,
        report.datapoint_count,
        failed,
        report.duration_ms / 1000.0,
        report
            .shard
            .as_deref()
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default()
    ));
    if report.metrics.is_empty() {
        text.push_str("no metrics (the experiment has no evaluators)\n");
    } else {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header([
                "metric",
                "mean",
                "min",
                "max",
                "p50",
                "p90",
                "n",
                "errors",
                "threshold",
                "pass rate",
                "",
            ]);
        let number = |v: Option<f64>| {
            Cell::new(v.map(format_score).unwrap_or_else(|| "-".into()))
                .set_alignment(CellAlignment::Right)
        };
        for m in &report.metrics {
            table.add_row(vec![
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
                Cell::new(match m.passed {
                    Some(true) => "pass",
                    Some(false) => "FAIL",
                    None => "",
                }),
            ]);
        }
        text.push_str(&table.to_string());
        text.push('\n');
    }
    if failed > 0 {
        text.push_str(&format!(
            "failed datapoints ({failed}, {} allowed):\n",
            report.allow_failures
        ));
        let lines = report.failure_sample().iter().map(|d| {
            let repetition = match d.repetition {
                0 => String::new(),
                n => format!(" (repetition {n})"),
            };
            format!(
                "#{} {}{repetition}: {}",
                d.index,
                d.datapoint_id,
                d.error.as_deref().unwrap_or_default()
            )
        });
        text.push_str(&bounded_list(lines, failed, FAILURE_SAMPLE, "  ", "\n"));
    }
    let evaluator_errors = report.failures.evaluator_error_count;
    if evaluator_errors > 0 {
        text.push_str(&format!("evaluator errors ({evaluator_errors}):\n"));
        let lines = report.failures.evaluator_errors.iter().map(|e| {
            format!(
                "#{} {}: {}: {}",
                e.index, e.datapoint_id, e.evaluator, e.error
            )
        });
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
        Some(url) => text.push_str(&format!(": {url}\n")),
        None => text.push_str(" (local: no API key)\n"),
    }
    if let Some(dir) = &report.report_dir {
        text.push_str(&format!("report: {}\n", dir.display()));
    }
    text
}

/// Prints the summary on stderr in one write. It goes to the real stderr, not through
/// `eprintln!`, so `cargo test` shows it for passing tests too.
pub(crate) fn print_summary(report: &ExperimentReport) {
    let text = render_summary(report);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
