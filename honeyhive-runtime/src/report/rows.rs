//! The one pass over a run's `datapoints.jsonl` that the reports are written from: each
//! line with what the reports show beside it (the baseline's result, how it moved, the
//! difference of the outputs). The span trees are read beside it (`spans.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::experiment::ExperimentReport;
use crate::experiment::baseline::{Baseline, Record, RecordEvaluation};
use crate::experiment::regression::{Direction, direction_of, worse};
use crate::{Error, Result};

/// Its function failed, or an evaluator erred on it.
pub(crate) const FAILED: u8 = 1;
/// A metric got worse than the baseline's.
pub(crate) const REGRESSED: u8 = 2;
/// A metric, the output or the error differs from the baseline's.
pub(crate) const CHANGED: u8 = 4;
/// The baseline has no result for it.
pub(crate) const NEW: u8 = 8;
/// Its result was taken from an earlier run (`HH_RERUN=failed`).
pub(crate) const MERGED: u8 = 16;

/// One line of `datapoints.jsonl`, its JSON values kept as written.
#[derive(Deserialize)]
pub(crate) struct Line<'a> {
    pub(crate) index: usize,
    #[serde(default)]
    pub(crate) line: Option<usize>,
    #[serde(borrow)]
    pub(crate) datapoint_id: Cow<'a, str>,
    #[serde(default)]
    pub(crate) repetition: u32,
    #[serde(borrow, default)]
    pub(crate) session_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) error: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) evaluations: Vec<RecordEvaluation>,
    #[serde(default)]
    pub(crate) duration_ms: f64,
    #[serde(borrow, default)]
    pub(crate) inputs: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) ground_truth: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) output: Option<&'a RawValue>,
    #[serde(default)]
    pub(crate) explanations: serde_json::Map<String, Value>,
    #[serde(default)]
    pub(crate) merged_from: Option<String>,
    /// What the datapoint's model calls added up to (tokens, cost), when it made any.
    #[serde(default)]
    pub(crate) model: Option<crate::model::ModelTotals>,
}

impl Line<'_> {
    /// How messages name it (see `DatapointResult::label`).
    pub(crate) fn label(&self) -> String {
        let mut label = match self.line {
            Some(line) => format!("line {line} ({})", self.datapoint_id),
            None => format!("datapoint {} ({})", self.index + 1, self.datapoint_id),
        };
        if self.repetition > 0 {
            label.push_str(&format!(", repetition {}", self.repetition + 1));
        }
        label
    }

    /// Its numeric metrics (its model calls' included).
    pub(crate) fn metrics(&self) -> impl Iterator<Item = (String, f64)> + '_ {
        crate::experiment::baseline::record_metrics(
            &self.evaluations,
            self.error.is_some(),
            self.model.as_ref(),
        )
    }

    /// Its labels, by the metric they are reported as.
    pub(crate) fn labels(&self) -> impl Iterator<Item = (String, &str)> + '_ {
        self.evaluations.iter().flat_map(|e| {
            crate::experiment::label_metrics(&e.name, e.score, e.label.as_deref(), &e.labels)
        })
    }

    /// Its evaluators' errors.
    pub(crate) fn evaluator_errors(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.evaluations
            .iter()
            .filter(|e| !e.errors.is_empty() || (e.score.is_none() && e.label.is_none()))
            .map(|e| (e.name.as_str(), e.errors.as_slice()))
    }
}

/// One datapoint (and repetition) with what the reports show beside it.
pub(crate) struct Row<'a> {
    pub(crate) line: Line<'a>,
    /// The baseline's result for it (same repetition, else its first).
    pub(crate) old: Option<&'a Record>,
    pub(crate) flags: u8,
    /// The output's difference from the baseline's, as (-1 removed, 0 kept, 1 added, text).
    pub(crate) diff: Option<Vec<(i8, String)>>,
}

/// Calls `each` with every line of `dir/datapoints.jsonl`, in order.
pub(crate) fn each(
    report: &ExperimentReport,
    dir: &Path,
    baseline: Option<&Baseline>,
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let path = dir.join("datapoints.jsonl");
    let io = |source| Error::LocalStore {
        path: path.clone(),
        source,
    };
    let old = baseline.map(Baseline::by_id);
    let thresholds: Vec<_> = report
        .metrics
        .iter()
        .filter_map(|m| m.threshold.clone())
        .collect();
    let mut directions: HashMap<String, Direction> = HashMap::new();
    let mut direction = |name: &str| {
        *directions
            .entry(name.to_owned())
            .or_insert_with(|| direction_of(name, &report.regressions, &thresholds))
    };
    let mut reader = BufReader::new(File::open(&path).map_err(io)?);
    let mut text = String::new();
    let mut number = 0;
    loop {
        text.clear();
        if reader.read_line(&mut text).map_err(io)? == 0 {
            break;
        }
        number += 1;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line<'_> = serde_json::from_str(&text).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {number}: {e}"),
            ))
        })?;
        let previous = old.as_ref().and_then(|old| {
            old.get(&(line.datapoint_id.as_ref(), line.repetition))
                .or_else(|| old.get(&(line.datapoint_id.as_ref(), 0)))
                .copied()
        });
        let mut flags = 0;
        if line.error.is_some() || line.evaluator_errors().next().is_some() {
            flags |= FAILED;
        }
        if line.merged_from.is_some() {
            flags |= MERGED;
        }
        let mut diff = None;
        match previous {
            None if baseline.is_some() => flags |= NEW,
            None => {}
            Some(before) => {
                let then: HashMap<String, f64> = before.metrics().collect();
                for (name, now) in line.metrics() {
                    match then.get(&name) {
                        Some(was) => match worse(direction(&name), *was, now) {
                            Some(true) => flags |= REGRESSED | CHANGED,
                            Some(false) => flags |= CHANGED,
                            None => {}
                        },
                        None => flags |= CHANGED,
                    }
                }
                if before.error.is_some() != line.error.is_some() {
                    flags |= CHANGED;
                }
                if let (Some(was), Some(now)) = (&before.output, line.output) {
                    let now: Value = serde_json::from_str(now.get()).unwrap_or(Value::Null);
                    if *was != now {
                        flags |= CHANGED;
                        diff = Some(word_diff(&output_text(was), &output_text(&now)));
                    }
                } else if before.output.is_some() != line.output.is_some() {
                    flags |= CHANGED;
                }
            }
        }
        each(&Row {
            line,
            old: previous,
            flags,
            diff,
        })?;
    }
    Ok(())
}

/// An output as text to compare: a string as it is, anything else as indented JSON.
pub(crate) fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The word-level difference of `old` and `new`: runs of kept (0), removed (-1) and added
/// (1) text. A pathological pair gives up after 50 ms with a coarser difference.
pub(crate) fn word_diff(old: &str, new: &str) -> Vec<(i8, String)> {
    let diff = similar::TextDiffConfig::default()
        .timeout(Duration::from_millis(50))
        .diff_words(old, new);
    let mut runs: Vec<(i8, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            similar::ChangeTag::Equal => 0,
            similar::ChangeTag::Delete => -1,
            similar::ChangeTag::Insert => 1,
        };
        match runs.last_mut() {
            Some((last, text)) if *last == op => text.push_str(change.value()),
            _ => runs.push((op, change.value().to_owned())),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_diff_marks_what_changed() {
        let runs = word_diff("the capital is Paris", "the capital is Lyon");
        assert_eq!(
            runs,
            [
                (0, "the capital is ".to_owned()),
                (-1, "Paris".to_owned()),
                (1, "Lyon".to_owned())
            ]
        );
        // Kept and removed runs make the old text, kept and added the new.
        let old: String = runs
            .iter()
            .filter(|r| r.0 <= 0)
            .map(|r| r.1.as_str())
            .collect();
        let new: String = runs
            .iter()
            .filter(|r| r.0 >= 0)
            .map(|r| r.1.as_str())
            .collect();
        assert_eq!(
            (old.as_str(), new.as_str()),
            ("the capital is Paris", "the capital is Lyon")
        );
    }
}
