//! Baselines: the run an experiment is compared with, found, read and written.
//!
//! A baseline is named by `HH_BASELINE`, `#[experiment(baseline = "..")]` or
//! [`Experiment::baseline`](super::Experiment::baseline) (the builder and the attribute
//! beat the variable, as everywhere). It is one of:
//! * a path (relative ones resolve against `CARGO_MANIFEST_DIR`, as dataset files do): a
//!   run's folder or its `summary.json`, or a baseline file written by
//!   `HH_UPDATE_BASELINE=1` (a folder gets `summary.json` in it). `{name}` in it stands for
//!   the experiment's name, so one `HH_BASELINE=evals/baselines/{name}` serves every
//!   experiment of a test binary;
//! * `last`: the previous run of this experiment in the local store;
//! * a run id: a run in the local store, or, connected, a HoneyHive run (its results are
//!   fetched before the run; HoneyHive's own comparison is asked for after it).
//!
//! # What a baseline file holds
//! The run's summary (what `summary.json` holds, without the server's view), and under
//! `datapoints` one line per datapoint and repetition: its id, repetition, error, every
//! evaluator's score, label and errors, and its output. Enough to pair datapoints by id,
//! to show the old output next to the new one, and to take a datapoint's result over when
//! `HH_RERUN=failed` does not run it again; not the inputs or ground truth (the dataset has
//! them), session ids, timings or explanations. One datapoint per line, so a change of the
//! baseline reads as a diff of the datapoints that changed.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::report::{DatapointResult, EvaluationResult, ExperimentReport};
use crate::export::pipeline::RemoteApi;
use crate::runs::{AggregateFunction, RunResult};
use crate::{Environment, Error, Result};

/// What names the previous local run of the experiment.
pub const LAST: &str = "last";
/// What a baseline file's format version is written under.
const FORMAT_KEY: &str = "honeyhive_baseline";
const FORMAT: u64 = 1;

/// Where a run's baseline came from, as its summary and report say it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// The baseline as it was named (`last`, a path, a run id).
    pub named: String,
    /// The file it was read from (or written to), when it is a file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<PathBuf>,
    /// Its run id.
    pub run_id: String,
    /// Its experiment's name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// When it started (RFC 3339), when its summary says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started_at: Option<String>,
    /// Its git commit, when its summary says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub git_commit: Option<String>,
    /// How many results (datapoints and repetitions) it has.
    pub datapoint_count: usize,
    /// Where to see it, for a HoneyHive run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
}

/// One datapoint (and repetition) of a baseline: what its file keeps of it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) datapoint_id: String,
    #[serde(default)]
    pub(crate) repetition: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) evaluations: Vec<RecordEvaluation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) output: Option<Value>,
    /// What its model calls added up to (tokens, cost), when it made any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<crate::model::ModelTotals>,
    /// What its evaluators' model calls (judges) added up to, when they made any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) evaluation_model: Option<crate::model::ModelTotals>,
    /// Read from a run's `datapoints.jsonl` (for a rerun's merged results); not written
    /// to baseline files.
    #[serde(default, skip_serializing)]
    pub(crate) explanations: Map<String, Value>,
    #[serde(default, skip_serializing)]
    pub(crate) session_id: String,
    #[serde(default, skip_serializing)]
    pub(crate) duration_ms: f64,
}

/// One evaluator's result in a [`Record`] (its repeated scores are not kept: the score is
/// their aggregate).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RecordEvaluation {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) score: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) extra: Vec<(String, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) label: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) labels: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<String>,
}

impl RecordEvaluation {
    pub(crate) fn to_result(&self) -> EvaluationResult {
        EvaluationResult {
            name: self.name.clone(),
            score: self.score,
            scores: self.score.into_iter().collect(),
            extra: self.extra.clone(),
            label: self.label.clone(),
            labels: self.labels.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// The metrics of a datapoint's stored evaluations, as the run's statistics name them, its
/// model calls' included (a baseline's record, or a line of a run's `datapoints.jsonl`).
pub(crate) fn record_metrics<'a>(
    evaluations: &'a [RecordEvaluation],
    failed: bool,
    model: Option<&'a crate::model::ModelTotals>,
) -> impl Iterator<Item = (String, f64)> + 'a {
    evaluations
        .iter()
        .flat_map(|e| {
            e.score
                .map(|s| (e.name.clone(), s))
                .into_iter()
                .chain(e.extra.iter().map(|(k, v)| (format!("{}_{k}", e.name), *v)))
        })
        .chain(super::statistics::datapoint_model_metrics(failed, model))
}

impl Record {
    /// Its metrics, as the run's statistics name them (its model calls' included).
    pub(crate) fn metrics(&self) -> impl Iterator<Item = (String, f64)> + '_ {
        record_metrics(&self.evaluations, self.error.is_some(), self.model.as_ref())
    }

    /// Whether its function failed or an evaluator erred on it (what `HH_RERUN=failed`
    /// runs again).
    pub(crate) fn failed_or_errored(&self) -> bool {
        self.error.is_some()
            || self
                .evaluations
                .iter()
                .any(|e| !e.errors.is_empty() || (e.score.is_none() && e.label.is_none()))
    }

    /// The evaluations as a run reports them.
    pub(crate) fn evaluation_results(&self) -> Vec<EvaluationResult> {
        self.evaluations
            .iter()
            .map(RecordEvaluation::to_result)
            .collect()
    }
}

/// A loaded baseline.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    pub(crate) info: BaselineInfo,
    /// Each metric's mean over the baseline run, in its summary's order.
    pub(crate) means: Vec<(String, Option<f64>)>,
    pub(crate) records: Vec<Record>,
    /// Whether its records carry outputs and whole results (a local run or baseline
    /// file; not a HoneyHive run's results).
    pub(crate) local: bool,
    /// Whether the run is on HoneyHive (a HoneyHive run, or a local copy of a connected
    /// run): HoneyHive can then compare a connected run with it.
    pub(crate) on_honeyhive: bool,
}

impl Baseline {
    /// The baseline's mean of `metric`.
    pub(crate) fn mean(&self, metric: &str) -> Option<f64> {
        self.means
            .iter()
            .find(|(name, _)| name == metric)
            .and_then(|(_, mean)| *mean)
    }

    /// The records by datapoint id and repetition.
    pub(crate) fn by_id(&self) -> HashMap<(&str, u32), &Record> {
        self.records
            .iter()
            .map(|r| ((r.datapoint_id.as_str(), r.repetition), r))
            .collect()
    }
}

/// How the experiment's baseline is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// As named, `{name}` replaced.
    pub(crate) named: String,
    /// `HH_UPDATE_BASELINE`: write this run as the baseline once it passes.
    pub(crate) update: bool,
}

impl Request {
    /// The baseline of experiment `name`: the builder's (or the attribute's) else
    /// `HH_BASELINE`; `HH_UPDATE_BASELINE` (or the builder's) says whether to update it.
    pub(crate) fn of(
        name: &str,
        built: Option<&str>,
        update: Option<bool>,
        environment: &Environment,
    ) -> Result<Option<Request>> {
        let update = match update {
            Some(update) => update,
            None => match environment.get("HH_UPDATE_BASELINE") {
                None => false,
                Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    other => {
                        return Err(Error::Config(format!(
                            "HH_UPDATE_BASELINE={other:?} is not a switch: set it to 1 to \
                             write this run as the baseline, or 0"
                        )));
                    }
                },
            },
        };
        let named = match built {
            Some(named) => Some(named.to_owned()),
            None => environment.get("HH_BASELINE"),
        };
        let Some(named) = named.map(|n| n.trim().to_owned()) else {
            return Ok(None);
        };
        if named.is_empty() {
            return Ok(None);
        }
        let named = named.replace("{name}", &folder_name(name));
        if update && named == LAST {
            return Err(Error::Baseline(
                "HH_UPDATE_BASELINE writes the baseline to a file, and `last` names none: \
                 name a path (HH_BASELINE=evals/baselines/{name}), or unset \
                 HH_UPDATE_BASELINE (the previous run is always `last`)"
                    .into(),
            ));
        }
        Ok(Some(Request { named, update }))
    }
}

/// `name` as one folder name: characters other than letters, digits, `-`, `_` and `.`
/// become `_`.
fn folder_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            c if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '_',
        })
        .collect()
}

/// A baseline as found: loaded, or (with `HH_UPDATE_BASELINE`) not there yet, and the file
/// an update writes.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) baseline: Option<Baseline>,
    pub(crate) write_to: Option<PathBuf>,
}

/// Finds and loads the baseline `request` names for experiment `experiment`, before the
/// run: a baseline that is not there is an error naming where it was looked for, unless
/// the run is to create it (`HH_UPDATE_BASELINE`).
pub(crate) async fn find(
    request: &Request,
    experiment: &str,
    local_dir: &Path,
    api: Option<&RemoteApi>,
    base_url: &str,
    aggregate: AggregateFunction,
) -> Result<Found> {
    let named = request.named.as_str();
    if named == LAST {
        return match last_run(experiment, local_dir, None)? {
            Some(dir) => Ok(Found {
                baseline: Some(read(named, &dir.join("summary.json"))?),
                write_to: None,
            }),
            None => Err(Error::Baseline(format!(
                "`last` names the previous run of experiment `{experiment}`, and the local \
                 store {} has none: run it once without a baseline first",
                local_dir.join(crate::local_store::RUNS_DIR).display()
            ))),
        };
    }
    let path = crate::dataset::resolve_path(Path::new(named)).0;
    let file = summary_file(&path);
    if file.is_file() {
        return Ok(Found {
            baseline: Some(read(named, &file)?),
            write_to: request.update.then_some(file),
        });
    }
    let path_like =
        named.contains(['/', '\\']) || named.ends_with(".json") || named.starts_with('.');
    if !path_like {
        let local = crate::local_store::run_dir(local_dir, named).join("summary.json");
        if local.is_file() {
            return Ok(Found {
                baseline: Some(read(named, &local)?),
                write_to: None,
            });
        }
        if let (Some(api), false) = (api, request.update) {
            return remote(named, api, base_url, aggregate)
                .await
                .map(|baseline| Found {
                    baseline: Some(baseline),
                    write_to: None,
                });
        }
    }
    if request.update {
        return Ok(Found {
            baseline: None,
            write_to: Some(file),
        });
    }
    let mut message = format!(
        "baseline `{named}` not found: no file at {}",
        file.display()
    );
    if !path_like {
        message.push_str(&format!(
            ", no run `{named}` in the local store ({})",
            crate::local_store::run_dir(local_dir, named).display()
        ));
        if api.is_none() {
            message.push_str(", and without an API key it cannot name a HoneyHive run");
        }
    }
    message.push_str(
        ". Create it with HH_UPDATE_BASELINE=1 (the run writes itself there once it passes), \
         or name another: a run's folder or summary.json, `last`, or a run id",
    );
    Err(Error::Baseline(message))
}

/// `path` as the file that holds a baseline: itself when it names a `.json` file, else its
/// `summary.json`.
fn summary_file(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "json") && !path.is_dir() {
        path.to_owned()
    } else {
        path.join("summary.json")
    }
}

/// The folder of the latest run of `experiment` in the local store (by the time its
/// summary was written), other than `except`.
pub(crate) fn last_run(
    experiment: &str,
    local_dir: &Path,
    except: Option<&str>,
) -> Result<Option<PathBuf>> {
    let runs = local_dir.join(crate::local_store::RUNS_DIR);
    let entries = match fs::read_dir(&runs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::LocalStore { path: runs, source }),
    };
    let mut summaries: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let modified = fs::metadata(dir.join("summary.json"))
                .ok()?
                .modified()
                .ok()?;
            Some((modified, dir))
        })
        .collect();
    summaries.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    /// What is read of each summary to find the experiment's: its name and run id.
    #[derive(Deserialize)]
    struct Head {
        name: String,
        run_id: String,
    }
    for (_, dir) in summaries {
        let Ok(file) = fs::File::open(dir.join("summary.json")) else {
            continue;
        };
        let Ok(head) = serde_json::from_reader::<_, Head>(BufReader::new(file)) else {
            continue;
        };
        if head.name == experiment && Some(head.run_id.as_str()) != except {
            return Ok(Some(dir));
        }
    }
    Ok(None)
}

/// Reads the baseline in `file`: a baseline file (its datapoints inside), or a run's
/// `summary.json` (its datapoints in the `datapoints.jsonl` beside it).
pub(crate) fn read(named: &str, file: &Path) -> Result<Baseline> {
    let invalid = |message: String| {
        Error::Baseline(format!(
            "baseline `{named}`: {} is not a run summary or baseline file: {message}",
            file.display()
        ))
    };
    let text = fs::read_to_string(file).map_err(|source| Error::LocalStore {
        path: file.to_owned(),
        source,
    })?;
    let mut summary: Map<String, Value> = match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid("not a JSON object".into())),
        Err(e) => return Err(invalid(e.to_string())),
    };
    let records = match summary.remove("datapoints") {
        Some(records) => serde_json::from_value::<Vec<Record>>(records)
            .map_err(|e| invalid(format!("its datapoints: {e}")))?,
        None => {
            let lines = file.with_file_name("datapoints.jsonl");
            read_records(&lines).map_err(|e| match e {
                Error::LocalStore { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    invalid(format!(
                        "it has no datapoints, and there is no {} beside it",
                        lines.display()
                    ))
                }
                other => other,
            })?
        }
    };
    let text_of = |key: &str| summary.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(run_id) = text_of("run_id") else {
        return Err(invalid("it has no `run_id`".into()));
    };
    let means = summary
        .get("metrics")
        .and_then(Value::as_array)
        .map(|metrics| {
            metrics
                .iter()
                .filter_map(|m| {
                    let name = m.get("name")?.as_str()?.to_owned();
                    Some((name, m.get("mean").and_then(Value::as_f64)))
                })
                .collect()
        })
        .unwrap_or_default();
    let git_commit = summary
        .get("git")
        .and_then(|git| git.get("commit_hash"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Baseline {
        info: BaselineInfo {
            named: named.to_owned(),
            path: Some(file.to_owned()),
            run_id,
            name: text_of("name"),
            started_at: text_of("started_at"),
            git_commit,
            datapoint_count: records.len(),
            url: text_of("url"),
        },
        means,
        records,
        local: true,
        on_honeyhive: summary.get("connected").and_then(Value::as_bool) == Some(true),
    })
}

/// The records of a run's `datapoints.jsonl`.
pub(crate) fn read_records(path: &Path) -> Result<Vec<Record>> {
    let io = |source| Error::LocalStore {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut records = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str::<Record>(&line).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {}: {e}", n + 1),
            ))
        })?;
        records.push(record);
    }
    Ok(records)
}

/// A HoneyHive run as a baseline: its per-datapoint metrics (`GET /v1/runs/{id}/result`).
async fn remote(
    run_id: &str,
    api: &RemoteApi,
    base_url: &str,
    aggregate: AggregateFunction,
) -> Result<Baseline> {
    let id = run_id.to_owned();
    let raw = api
        .call(
            "fetching the baseline run's results",
            move |client| async move { client.run_result(&id, aggregate).await },
        )
        .await
        .map_err(|e| {
            Error::Baseline(format!(
                "baseline `{run_id}` is not a file or a run of the local store, and HoneyHive \
                 could not give run `{run_id}`'s results either: {e}"
            ))
        })?;
    let result: RunResult = serde_json::from_str(raw.get()).unwrap_or_default();
    let records = result
        .datapoints
        .iter()
        .filter_map(|d| {
            let id = d.datapoint_id.clone()?;
            let evaluations = d
                .metrics
                .iter()
                .map(|(name, value)| {
                    let (score, label) = match value {
                        Value::Number(n) => (n.as_f64(), None),
                        Value::Bool(b) => (Some(if *b { 1.0 } else { 0.0 }), None),
                        Value::String(s) => (None, Some(s.clone())),
                        _ => (None, None),
                    };
                    RecordEvaluation {
                        name: name.clone(),
                        score,
                        label,
                        ..RecordEvaluation::default()
                    }
                })
                .collect();
            Some(Record {
                datapoint_id: id,
                session_id: d.session_id.clone().unwrap_or_default(),
                evaluations,
                ..Record::default()
            })
        })
        .collect::<Vec<_>>();
    let means = result
        .metrics
        .details
        .iter()
        .map(|m| (m.metric_name.clone(), m.aggregate))
        .collect();
    Ok(Baseline {
        info: BaselineInfo {
            named: run_id.to_owned(),
            path: None,
            run_id: run_id.to_owned(),
            name: None,
            started_at: None,
            git_commit: None,
            datapoint_count: records.len(),
            url: Some(super::runner::run_url(base_url, run_id)),
        },
        means,
        records,
        local: false,
        on_honeyhive: true,
    })
}

/// Writes `report`'s run as the baseline at `file`: its summary and, one line each, the
/// records of its `datapoints.jsonl` (see the [module docs](self)). Written to a
/// temporary file first, so a baseline is never half written.
pub(crate) fn write(report: &ExperimentReport, run_dir: &Path, file: &Path) -> Result<()> {
    let records = read_records(&run_dir.join("datapoints.jsonl"))?;
    let mut summary = report.clone();
    summary.server_result = None;
    summary.report_dir = None;
    summary.comparison = None;
    let serialise = |source| Error::Serialize {
        what: "the baseline",
        source,
    };
    let head = serde_json::to_string_pretty(&summary).map_err(serialise)?;
    let head = head
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&head)
        .trim_end();
    let mut text = String::with_capacity(head.len() + records.len() * 256);
    text.push_str(head);
    text.push_str(&format!(
        ",\n  \"{FORMAT_KEY}\": {FORMAT},\n  \"datapoints\": [\n"
    ));
    for (i, record) in records.iter().enumerate() {
        text.push_str("    ");
        text.push_str(&serde_json::to_string(record).map_err(serialise)?);
        text.push_str(if i + 1 < records.len() { ",\n" } else { "\n" });
    }
    text.push_str("  ]\n}\n");
    let io = |source| Error::LocalStore {
        path: file.to_owned(),
        source,
    };
    if let Some(parent) = file.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let temporary = file.with_extension(format!("json.{}.tmp", std::process::id()));
    fs::write(&temporary, text).map_err(io)?;
    fs::rename(&temporary, file).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        io(e)
    })
}

/// A record's result as this run reports it, at `index` of the dataset (what a rerun
/// merges from its source).
pub(crate) fn merged_result(record: &Record, index: usize, line: Option<usize>) -> DatapointResult {
    DatapointResult {
        index,
        line,
        datapoint_id: record.datapoint_id.clone(),
        repetition: record.repetition,
        session_id: record.session_id.clone(),
        error: record.error.clone(),
        evaluations: record.evaluation_results(),
        duration_ms: record.duration_ms,
        model: record.model.clone(),
        evaluation_model: record.evaluation_model.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_prefers_the_builder_and_fills_in_the_name() {
        let env = Environment::from_pairs([
            ("HH_BASELINE", "evals/baselines/{name}"),
            ("HH_UPDATE_BASELINE", "1"),
        ]);
        let r = Request::of("qa run/1", None, None, &env).unwrap().unwrap();
        assert_eq!(r.named, "evals/baselines/qa_run_1");
        assert!(r.update);
        let r = Request::of("qa", Some("last"), Some(false), &env)
            .unwrap()
            .unwrap();
        assert_eq!((r.named.as_str(), r.update), ("last", false));
        assert!(
            Request::of("qa", None, None, &Environment::empty())
                .unwrap()
                .is_none()
        );
        let e = Request::of("qa", Some("last"), Some(true), &env).unwrap_err();
        assert!(e.to_string().contains("`last` names none"), "{e}");
        let e = Request::of(
            "qa",
            None,
            None,
            &Environment::from_pairs([("HH_BASELINE", "x"), ("HH_UPDATE_BASELINE", "yes please")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("is not a switch"), "{e}");
    }

    #[test]
    fn records_know_failures_and_metrics() {
        let record: Record = serde_json::from_str(
            r#"{"datapoint_id": "d", "repetition": 1, "inputs": {"q": 1}, "session_id": "s",
                "evaluations": [{"name": "judge", "score": 0.5, "scores": [0.5],
                                 "extra": [["tokens", 3.0]]},
                                {"name": "tone", "score": null, "label": "polite"}],
                "output": "hi", "duration_ms": 2.5}"#,
        )
        .unwrap();
        let metrics: Vec<(String, f64)> = record.metrics().collect();
        assert_eq!(
            metrics,
            [("judge".to_owned(), 0.5), ("judge_tokens".to_owned(), 3.0)]
        );
        assert!(!record.failed_or_errored());
        let mut erred = record.clone();
        erred.evaluations[0].score = None;
        erred.evaluations[0].errors = vec!["boom".into()];
        assert!(erred.failed_or_errored());
        // Written without what the file does not keep.
        let written = serde_json::to_string(&record).unwrap();
        assert!(
            !written.contains("session_id") && !written.contains("inputs"),
            "{written}"
        );
        assert!(!written.contains("duration"), "{written}");
    }
}
