//! What an experiment produced: per-datapoint results in dataset order (stored, read back
//! on demand), per-metric statistics, threshold verdicts, and the check that fails a test.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::value::RawValue;

use super::recorder::Recorded;
use super::results::{DatapointResults, StoredResults};
use super::statistics::MetricSummary;
use crate::Result;
use crate::model::ModelTotals;

/// A comparison of a metric's mean against a bound: `threshold(exact_match >= 0.9)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// The metric (an evaluator's name, or `<evaluator>_<extra>`).
    pub metric: String,
    /// How the mean is compared.
    pub comparison: Comparison,
    /// The bound.
    pub value: f64,
}

impl Threshold {
    /// `metric <comparison> value`.
    pub fn new(metric: impl Into<String>, comparison: Comparison, value: f64) -> Threshold {
        Threshold {
            metric: metric.into(),
            comparison,
            value,
        }
    }

    /// Whether `measured` meets the threshold.
    ///
    /// ```
    /// use honeyhive::experiment::{Comparison, Threshold};
    /// let t = Threshold::new("exact_match", Comparison::AtLeast, 0.9);
    /// assert!(t.holds(0.9) && !t.holds(0.89));
    /// ```
    pub fn holds(&self, measured: f64) -> bool {
        self.comparison.holds(measured, self.value)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.comparison, self.value)
    }
}

/// The comparisons a threshold may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    /// `>=`
    AtLeast,
    /// `>`
    Above,
    /// `<=`
    AtMost,
    /// `<`
    Below,
}

impl Comparison {
    /// The comparison written as `op` (`>=`, `>`, `<=`, `<`).
    pub fn from_operator(op: &str) -> Option<Comparison> {
        match op {
            ">=" => Some(Comparison::AtLeast),
            ">" => Some(Comparison::Above),
            "<=" => Some(Comparison::AtMost),
            "<" => Some(Comparison::Below),
            _ => None,
        }
    }

    /// Its operator.
    pub fn operator(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::Above => ">",
            Comparison::AtMost => "<=",
            Comparison::Below => "<",
        }
    }

    fn holds(self, measured: f64, bound: f64) -> bool {
        match self {
            Comparison::AtLeast => measured >= bound,
            Comparison::Above => measured > bound,
            Comparison::AtMost => measured <= bound,
            Comparison::Below => measured < bound,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operator())
    }
}

/// One evaluator's verdict on one datapoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationResult {
    /// The evaluator (metric) name.
    pub name: String,
    /// The metric: the score, or the aggregate of the repeated scores. `None` when every
    /// call failed.
    pub score: Option<f64>,
    /// Every successful score, in call order (one unless `repeat` is set).
    pub scores: Vec<f64>,
    /// Extra metrics (`<evaluator>_<key>`), aggregated like the score.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, f64)>,
    /// The score's label ([`Score::label`](crate::Score)); with `repeat`, the most
    /// frequent one. A result with a label and no score is a label-only metric, not a
    /// failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Extra labels (`<evaluator>_<key>` with text values); with `repeat`, the most
    /// frequent per key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
    /// The error of the failed calls (error text, panic message or timeout).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl EvaluationResult {
    /// The metrics this result contributes: its own, and `<name>_<key>` per extra.
    pub fn metrics(&self) -> impl Iterator<Item = (String, f64)> + '_ {
        self.score
            .map(|s| (self.name.clone(), s))
            .into_iter()
            .chain(
                self.extra
                    .iter()
                    .map(|(k, v)| (format!("{}_{k}", self.name), *v)),
            )
    }

    /// The labels this result contributes, as text metrics: its label (as `<name>` when
    /// it has no score, else as `<name>_label`), and `<name>_<key>` per extra label.
    pub fn label_metrics(&self) -> impl Iterator<Item = (String, &str)> + '_ {
        label_metrics(&self.name, self.score, self.label.as_deref(), &self.labels)
    }
}

/// The labels of an evaluator's result named `name`, as text metrics (the rule of
/// [`EvaluationResult::label_metrics`], shared with results read back from a run's files).
pub(crate) fn label_metrics<'a>(
    name: &'a str,
    score: Option<f64>,
    label: Option<&'a str>,
    labels: &'a [(String, String)],
) -> impl Iterator<Item = (String, &'a str)> + 'a {
    let own = label.map(|label| match score {
        Some(_) => (format!("{name}_label"), label),
        None => (name.to_owned(), label),
    });
    own.into_iter().chain(
        labels
            .iter()
            .map(move |(k, v)| (format!("{name}_{k}"), v.as_str())),
    )
}

/// The outcome of one datapoint (one repetition of it), as the report reads it back: ids,
/// error and scores. The run stores each as it finishes rather than keeping it, so its
/// memory does not grow with its finished datapoints. The datapoint's inputs, ground truth,
/// output and evaluator explanations are written with it to the report's
/// `datapoints.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatapointResult {
    /// Its 0-based position in the dataset.
    pub index: usize,
    /// The 1-based line of its dataset file it starts on; `None` when the dataset is not a
    /// file. Messages name a datapoint by it (`line 5`), or by its 1-based position
    /// (`datapoint 5`) when there is none, as progress counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Its datapoint id.
    pub datapoint_id: String,
    /// Which repetition (0-based) of the datapoint this is.
    pub repetition: u32,
    /// The session that recorded it (empty when the session could not start).
    pub session_id: String,
    /// Why the function produced no output: its error, its panic, or a timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The evaluators' verdicts, in the experiment's evaluator order.
    pub evaluations: Vec<EvaluationResult>,
    /// Wall time of the function, in milliseconds.
    pub duration_ms: f64,
    /// What the function's model calls added up to, when it made any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelTotals>,
    /// What the evaluators' model calls (judges) added up to, when they made any: the
    /// datapoint's evaluation cost, not counted in [`model`](Self::model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_model: Option<ModelTotals>,
}

impl DatapointResult {
    /// How messages name it: `line N (<id>)` of its dataset file, or `datapoint N (<id>)`
    /// counting from 1 when the dataset is not a file; with its repetition (counting from
    /// 1) past the first.
    pub fn label(&self) -> String {
        let mut label = datapoint_label(self.index, self.line, &self.datapoint_id);
        if self.repetition > 0 {
            label.push_str(&format!(", repetition {}", self.repetition + 1));
        }
        label
    }

    /// Whether the function failed (error, panic, timeout, or no session).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The value of one metric on this datapoint.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.evaluations
            .iter()
            .flat_map(EvaluationResult::metrics)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// How many failed datapoints (and evaluator errors) a report keeps in memory, for its
/// messages: the first ones in dataset order. The rest are in the stored results
/// ([`ExperimentReport::failures`]).
pub const FAILURE_SAMPLE: usize = 20;

/// An evaluator's error on one datapoint, as the summary lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvaluatorError {
    pub(crate) index: usize,
    pub(crate) line: Option<usize>,
    pub(crate) datapoint_id: String,
    pub(crate) evaluator: String,
    pub(crate) error: String,
}

/// What the report keeps in memory of the failures: how many, and the first
/// [`FAILURE_SAMPLE`] of each kind, enough for [`ExperimentReport::check`] and the summary
/// however many datapoints ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Failures {
    pub(crate) datapoints: Vec<DatapointResult>,
    pub(crate) evaluator_errors: Vec<EvaluatorError>,
    pub(crate) evaluator_error_count: usize,
}

impl Failures {
    /// Notes `result`'s failures; results come in dataset order.
    pub(crate) fn add(&mut self, result: &DatapointResult) {
        if result.failed() && self.datapoints.len() < FAILURE_SAMPLE {
            self.datapoints.push(result.clone());
        }
        for e in result.evaluations.iter().filter(|e| !e.errors.is_empty()) {
            self.evaluator_error_count += 1;
            if self.evaluator_errors.len() < FAILURE_SAMPLE {
                self.evaluator_errors.push(EvaluatorError {
                    index: result.index,
                    line: result.line,
                    datapoint_id: result.datapoint_id.clone(),
                    evaluator: e.name.clone(),
                    error: e.errors[0].clone(),
                });
            }
        }
    }
}

/// Everything an experiment run produced. Returned by
/// [`Experiment::run`](super::Experiment::run); [`check`](Self::check) turns it into the
/// verdict of a test.
///
/// The per-datapoint results are not in memory (a run's memory must not grow with its
/// datapoints): they are stored on disk as they finish and read back by
/// [`datapoints`](Self::datapoints) and [`read_datapoints`](Self::read_datapoints). The
/// file is deleted when the last clone of the report is dropped.
///
/// # Example
/// ```
/// use honeyhive::experiment::Experiment;
/// use honeyhive::{Dataset, Environment, evaluator, evaluators};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Sum { a: i64, b: i64 }
///
/// #[evaluator]
/// fn exact(output: &i64, ground_truth: &i64) -> bool {
///     output == ground_truth
/// }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-report-{}", std::process::id()));
/// let dataset = Dataset::from_json(
///     "{\"inputs\": {\"a\": 1, \"b\": 2}, \"ground_truth\": 3}\n\
///      {\"inputs\": {\"a\": 2, \"b\": 2}, \"ground_truth\": 5}\n",
/// )?;
/// let runtime = tokio::runtime::Runtime::new()?;
/// let report = runtime.block_on(
///     Experiment::new("adder")
///         .environment(Environment::empty())
///         .local_dir(&dir)
///         .dataset(dataset)
///         .evaluators(evaluators![exact])
///         .quiet()
///         .run(|sum: Sum| async move { sum.a + sum.b }),
/// )?;
///
/// // Figures per metric, counts, and where the run's folder is.
/// let exact = report.metric("exact").unwrap();
/// assert_eq!((exact.count, exact.mean), (2, Some(0.5)));
/// assert_eq!((report.datapoint_count, report.failed_count), (2, 0));
/// assert!(report.report_dir.as_ref().unwrap().join("summary.json").is_file());
///
/// // Every datapoint, read back in dataset order.
/// for datapoint in report.read_datapoints()? {
///     let datapoint = datapoint?;
///     if datapoint.metric("exact") == Some(0.0) {
///         // How messages name it: by its line in a dataset file, else, as here, by its
///         // position counted from 1.
///         assert_eq!(datapoint.label(), format!("datapoint 2 ({})", datapoint.datapoint_id));
///     }
/// }
/// // No threshold, nothing failed: the check passes.
/// report.check()?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// The run id (HoneyHive's, or a local one).
    pub run_id: String,
    /// The dataset id.
    pub dataset_id: String,
    /// The dataset file, as the path was given (`#[experiment(dataset = "..")]`,
    /// [`dataset_file`](super::Experiment::dataset_file)); `None` for a dataset that is not a
    /// file. Messages name its datapoints by their line in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_path: Option<PathBuf>,
    /// Whether data went to HoneyHive (an API key was set).
    pub connected: bool,
    /// Where to see the run, when connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `k/n` when only shard `k` of `n` ran (`HH_SHARD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// When the run started (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// The git state of the code under test, when it is a git checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<crate::runs::GitInfo>,
    /// Which part of the dataset ran, when not all of it (`HH_LIMIT`, `HH_SAMPLE`,
    /// `HH_RERUN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<super::Subset>,
    /// Every metric's statistics (the model metrics `cost_usd`, `input_tokens`,
    /// `output_tokens` per datapoint and `model_latency_ms` per call come last, when the
    /// run made model calls).
    pub metrics: Vec<MetricSummary>,
    /// The run's model calls added up (calls, replayed calls, tokens, cost), when it made
    /// any: the application's, its functions' calls only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelTotals>,
    /// The evaluators' model calls (judges) added up, when they made any: the run's
    /// evaluation cost, apart from the application's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_model: Option<ModelTotals>,
    /// How many failed datapoints the experiment tolerates.
    pub allow_failures: usize,
    /// How many datapoints each evaluator may leave unscored (it erred, panicked or timed
    /// out on them) without failing the experiment.
    pub allow_evaluator_errors: usize,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: f64,
    /// The backend's own view of the run (`GET /v1/runs/{id}/result`), when connected and
    /// available: the JSON object as the server sent it (kept as text: for thousands of
    /// datapoints it is large, and a report only passes it on);
    /// [`server_view`](Self::server_view) reads it typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_result: Option<Box<RawValue>>,
    /// The run's folder in the local store
    /// ([`local_store::run_dir`](crate::local_store::run_dir)): the report
    /// (`summary.json`, `datapoints.jsonl`) and, in local mode, the run's `sessions.jsonl`
    /// and `spans.jsonl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_dir: Option<PathBuf>,
    /// What HoneyHive did not receive within the retry budget (connected runs only), kept
    /// in the run's folder instead; `None` when it received everything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undelivered: Option<crate::Undelivered>,
    /// Strict mode (`HH_REQUIRE_UPLOAD`): [`check`](Self::check) fails when something was
    /// not delivered.
    pub require_upload: bool,
    /// The regression gates of the experiment (checked only against a baseline).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<super::Regression>,
    /// The run against its baseline, when it has one: each metric's change, the datapoints
    /// that moved, the regression gates' verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<super::BaselineComparison>,
    /// How many datapoints (counting each repetition) ran.
    pub datapoint_count: usize,
    /// How many of them failed (their function erred, panicked or timed out).
    pub failed_count: usize,
    #[serde(skip)]
    pub(crate) failures: Failures,
    #[serde(skip)]
    pub(crate) results: StoredResults,
}

impl ExperimentReport {
    /// The report of run `run_id` of experiment `name` over `dataset_id`, with what its
    /// recorder kept: local, unsharded, no server view, no duration yet (the runner fills
    /// those in).
    pub(crate) fn of_run(
        name: String,
        run_id: String,
        dataset_id: String,
        allow_failures: usize,
        allow_evaluator_errors: usize,
        recorded: Recorded,
    ) -> ExperimentReport {
        ExperimentReport {
            name,
            run_id,
            dataset_id,
            dataset_path: None,
            connected: false,
            url: None,
            shard: None,
            started_at: None,
            git: None,
            subset: None,
            metrics: recorded.metrics,
            model: recorded.model,
            evaluation_model: recorded.evaluation_model,
            allow_failures,
            allow_evaluator_errors,
            duration_ms: 0.0,
            server_result: None,
            report_dir: None,
            undelivered: None,
            require_upload: false,
            regressions: Vec::new(),
            comparison: None,
            datapoint_count: recorded.datapoint_count,
            failed_count: recorded.failed_count,
            failures: recorded.failures,
            results: recorded.results,
        }
    }

    /// Every datapoint (and repetition) that ran, in dataset order, read back from where
    /// the run stored them. For a large run, [`read_datapoints`](Self::read_datapoints)
    /// goes through them without holding them all.
    ///
    /// # Errors
    ///
    /// [`Error::LocalStore`](crate::Error::LocalStore) when the stored results cannot be read, or could not all be
    /// written during the run (the run warned then).
    pub fn datapoints(&self) -> Result<Vec<DatapointResult>> {
        self.read_datapoints()?.collect()
    }

    /// The datapoints' results one at a time, in dataset order (see
    /// [`datapoints`](Self::datapoints)); a read error ends the iteration.
    ///
    /// # Errors
    ///
    /// [`Error::LocalStore`](crate::Error::LocalStore) when the stored results cannot be opened, or could not all be
    /// written during the run.
    pub fn read_datapoints(&self) -> Result<DatapointResults> {
        self.results.read()
    }

    /// The file the results are read back from, while the report holds it.
    pub fn results_file(&self) -> Option<&Path> {
        self.results.path()
    }

    /// Every datapoint whose function failed, in dataset order, read back like
    /// [`datapoints`](Self::datapoints); [`failed_count`](Self::failed_count) says how many
    /// without reading.
    ///
    /// # Errors
    ///
    /// As [`datapoints`](Self::datapoints).
    pub fn failures(&self) -> Result<Vec<DatapointResult>> {
        self.read_datapoints()?
            .filter(|d| d.as_ref().map_or(true, DatapointResult::failed))
            .collect()
    }

    /// The first [`FAILURE_SAMPLE`] failed datapoints, in dataset order: what the report
    /// keeps in memory to name them in [`check`](Self::check) and the summary.
    pub fn failure_sample(&self) -> &[DatapointResult] {
        &self.failures.datapoints
    }

    /// Writes the run's `report.html`, `junit.xml` and `summary.md` into its folder
    /// ([`report_dir`](Self::report_dir)) again, as the run wrote them (see
    /// [`report`](crate::report)): to have them back after deleting them, or to time them.
    /// A baseline's outputs are read again from its file, as it is now.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the run has no folder (it could not be
    /// written); [`Error::LocalStore`](crate::Error::LocalStore) when a file cannot be read or
    /// written.
    pub fn write_reports(&self) -> Result<()> {
        let dir = self.report_dir.as_deref().ok_or_else(|| {
            crate::Error::Config(format!(
                "run {} has no folder to write reports into (it could not be written)",
                self.run_id
            ))
        })?;
        let baseline = match &self.comparison {
            Some(c) => match &c.baseline.path {
                Some(path) => Some(super::baseline::read(&c.baseline.named, path)?),
                None => None,
            },
            None => None,
        };
        crate::report::write(self, dir, baseline.as_ref(), &crate::Environment::empty())
    }

    /// The statistics of one metric.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The backend's view of the run ([`server_result`](Self::server_result)) read as a
    /// [`RunResult`](crate::api::runs::RunResult): `None` when there is none (fields of
    /// unexpected types read as absent).
    pub fn server_view(&self) -> Option<crate::api::runs::RunResult> {
        serde_json::from_str(self.server_result.as_ref()?.get()).ok()
    }

    /// Every session the run created, in dataset order.
    ///
    /// # Errors
    ///
    /// As [`datapoints`](Self::datapoints).
    pub fn session_ids(&self) -> Result<Vec<String>> {
        self.read_datapoints()?
            .filter_map(|d| match d {
                Ok(d) if d.session_id.is_empty() => None,
                Ok(d) => Some(Ok(d.session_id)),
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    /// Whether the run failed: more datapoints failed than `allow_failures` tolerates.
    pub fn run_failed(&self) -> bool {
        self.failed_count > self.allow_failures
    }

    /// `Ok` when every threshold holds, no evaluator left more datapoints unscored than
    /// allowed, no more datapoints failed than allowed, no regression gate failed against
    /// the baseline (unless the run was written as the new baseline), and, in strict mode
    /// only, HoneyHive received the whole run; otherwise the reasons, each naming the
    /// metric, the threshold and the measured value, the evaluator and how many datapoints
    /// it could not score, the failed datapoints with their errors, or the regressed metric
    /// with its old and new means, the interval of the change and the datapoints that got
    /// worse most. Reads nothing back: the report's counts and its
    /// [`failure_sample`](Self::failure_sample) are enough.
    pub fn check(&self) -> Result<(), ExperimentFailure> {
        let mut reasons = Vec::new();
        for m in &self.metrics {
            let unscored = m.errors > self.allow_evaluator_errors;
            if unscored {
                reasons.push(self.unscored_reason(m));
            }
            let Some(threshold) = &m.threshold else {
                continue;
            };
            match m.mean {
                Some(mean) if threshold.holds(mean) => {}
                // Said already: the evaluator scored none of them.
                None if unscored => {}
                Some(mean) => reasons.push(format!(
                    "metric `{}`: mean {} misses the threshold {} {} ({} of {} datapoints scored)",
                    m.name,
                    format_score(mean),
                    threshold.comparison,
                    threshold.value,
                    m.count,
                    self.datapoint_count
                )),
                None => reasons.push(format!(
                    "metric `{}`: no datapoint has a score ({} evaluator error(s)), so the \
                     threshold {} {} cannot hold",
                    m.name, m.errors, threshold.comparison, threshold.value
                )),
            }
        }
        if self.run_failed() {
            let mut reason = format!(
                "{} datapoint(s){} failed, {} allowed (raise `allow_failures` to tolerate them):",
                self.failed_count,
                self.of_dataset(),
                self.allow_failures
            );
            let lines = self
                .failure_sample()
                .iter()
                .map(|d| format!("{}: {}", d.label(), d.error.as_deref().unwrap_or_default()));
            reason.push_str(&bounded_list(lines, self.failed_count, 10, "\n    ", ""));
            reasons.push(reason);
        }
        if let Some(comparison) = self.comparison.as_ref().filter(|c| !c.accepting) {
            let against = format!(
                " (against baseline `{}`, run {})",
                comparison.baseline.named, comparison.baseline.run_id
            );
            reasons.extend(comparison.failed().map(|gate| {
                let mut reason = gate.describe();
                if let Some(colon) = reason.find(':') {
                    reason.insert_str(colon, &against);
                }
                reason
            }));
        }
        // Off by default: the verdict is the metrics', whatever the backend did.
        if let (true, Some(undelivered)) = (self.require_upload, &self.undelivered) {
            reasons.push(format!(
                "HH_REQUIRE_UPLOAD is set and HoneyHive did not receive the whole run: \
                 {undelivered}"
            ));
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(ExperimentFailure {
                name: self.name.clone(),
                run_id: self.run_id.clone(),
                reasons,
            })
        }
    }

    /// Why metric `m` fails for its unscored datapoints: the evaluator, how many of the
    /// datapoints it ran on it could not score, and the first of its errors.
    fn unscored_reason(&self, m: &MetricSummary) -> String {
        let mut reason = format!(
            "evaluator `{}` could not score {} of {} datapoints{} (it erred, panicked or timed \
             out on them), {} allowed (raise `allow_evaluator_errors` to tolerate them):",
            m.name,
            m.errors,
            // Evaluators run on every datapoint whose function did not fail.
            self.datapoint_count - self.failed_count,
            self.of_dataset(),
            self.allow_evaluator_errors
        );
        let lines = self
            .failures
            .evaluator_errors
            .iter()
            .filter(|e| e.evaluator == m.name)
            .map(|e| format!("{}: {}", e.label(), e.error));
        reason.push_str(&bounded_list(lines, m.errors, 10, "\n    ", ""));
        reason
    }
}

impl ExperimentReport {
    /// ` of <dataset file>` when the dataset is a file (its datapoints are then named by
    /// their line in it), else nothing.
    pub(crate) fn of_dataset(&self) -> String {
        self.dataset_path
            .as_ref()
            .map(|path| format!(" of {}", path.display()))
            .unwrap_or_default()
    }
}

impl EvaluatorError {
    /// How messages name its datapoint (see [`DatapointResult::label`]).
    pub(crate) fn label(&self) -> String {
        datapoint_label(self.index, self.line, &self.datapoint_id)
    }
}

/// `line N (<id>)` of the dataset file, or `datapoint N (<id>)` counting from 1, as
/// progress counts.
fn datapoint_label(index: usize, line: Option<usize>, id: &str) -> String {
    match line {
        Some(line) => format!("line {line} ({id})"),
        None => format!("datapoint {} ({id})", index + 1),
    }
}

/// Why an experiment failed its checks (see [`ExperimentReport::check`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("experiment `{name}` (run {run_id}) failed:{}", list(reasons))]
pub struct ExperimentFailure {
    /// The experiment.
    pub name: String,
    /// Its run.
    pub run_id: String,
    /// One line (or block) per failed check.
    pub reasons: Vec<String>,
}

/// Each of `lines` as `<prefix><line><suffix>`, at most `limit` of them, then a line
/// saying how many more of the `total` there are (`lines` may be only the first of them).
pub(crate) fn bounded_list(
    lines: impl Iterator<Item = String>,
    total: usize,
    limit: usize,
    prefix: &str,
    suffix: &str,
) -> String {
    let mut shown = 0;
    let mut out: String = lines
        .take(limit)
        .inspect(|_| shown += 1)
        .map(|line| format!("{prefix}{line}{suffix}"))
        .collect();
    if total > shown {
        out.push_str(&format!("{prefix}... and {} more{suffix}", total - shown));
    }
    out
}

fn list(reasons: &[String]) -> String {
    reasons.iter().map(|r| format!("\n  - {r}")).collect()
}

/// A score as the summary shows it: up to 4 decimals, no trailing zeros.
pub(crate) fn format_score(value: f64) -> String {
    format_decimals(value, 4)
}

/// `value` with up to `decimals` decimals, no trailing zeros.
pub(crate) fn format_decimals(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::recorder::Recorder;

    fn datapoint(
        index: usize,
        scores: &[(&str, Option<f64>)],
        error: Option<&str>,
    ) -> DatapointResult {
        DatapointResult {
            index,
            line: None,
            datapoint_id: format!("dp{index}"),
            repetition: 0,
            session_id: format!("s{index}"),
            error: error.map(str::to_owned),
            evaluations: scores
                .iter()
                .map(|(name, score)| EvaluationResult {
                    name: (*name).to_owned(),
                    score: *score,
                    scores: score.iter().copied().collect(),
                    extra: vec![],
                    label: None,
                    labels: vec![],
                    errors: if score.is_none() {
                        vec!["boom".into()]
                    } else {
                        vec![]
                    },
                })
                .collect(),
            duration_ms: 1.0,
            model: None,
            evaluation_model: None,
        }
    }

    /// A report made the way a run makes it: the results recorded in order, stored, read
    /// back for the percentiles. It allows `allow` failed datapoints and no evaluator
    /// errors.
    fn report(
        datapoints: Vec<DatapointResult>,
        thresholds: &[Threshold],
        allow: usize,
    ) -> ExperimentReport {
        report_allowing(datapoints, thresholds, allow, 0)
    }

    fn report_allowing(
        datapoints: Vec<DatapointResult>,
        thresholds: &[Threshold],
        allow: usize,
        allow_evaluator_errors: usize,
    ) -> ExperimentReport {
        let dir = std::env::temp_dir().join("honeyhive-report-tests");
        let (mut recorder, error) = Recorder::new(&dir, thresholds, allow_evaluator_errors);
        assert!(error.is_none(), "{error:?}");
        for d in datapoints {
            recorder.record(d).unwrap();
        }
        let (recorded, error) = recorder.finish();
        assert!(error.is_none(), "{error:?}");
        ExperimentReport::of_run(
            "qa".into(),
            "r1".into(),
            "d".into(),
            allow,
            allow_evaluator_errors,
            recorded,
        )
    }

    #[test]
    fn statistics_and_pass_rate() {
        let t = Threshold::new("m", Comparison::AtLeast, 0.5);
        let r = report_allowing(
            vec![
                datapoint(0, &[("m", Some(1.0))], None),
                datapoint(1, &[("m", Some(0.0))], None),
                datapoint(2, &[("m", None)], None),
                datapoint(3, &[("m", Some(0.5))], None),
            ],
            std::slice::from_ref(&t),
            0,
            1,
        );
        let m = r.metric("m").unwrap();
        assert_eq!((m.count, m.errors), (3, 1));
        assert_eq!(
            (m.mean, m.min, m.max, m.p50),
            (Some(0.5), Some(0.0), Some(1.0), Some(0.5))
        );
        assert_eq!(m.p90, Some(0.9));
        // 2 of the 4 evaluated datapoints reach 0.5; the failed evaluator does not pass.
        assert_eq!(m.pass_rate, Some(0.5));
        assert_eq!(m.passed, Some(true));
        assert!(r.check().is_ok());
    }

    #[test]
    fn the_summary_links_the_app_of_a_honeyhive_host_and_names_an_api_path_as_one() {
        use crate::experiment::runner::run_url;
        let mut r = report(vec![datapoint(0, &[("m", Some(1.0))], None)], &[], 0);
        r.url = Some(run_url(crate::DEFAULT_API_URL, &r.run_id));
        let text = crate::experiment::output::render_summary(&r);
        assert!(
            text.contains("run r1: https://app.dp1.us.honeyhive.ai/evaluate/r1\n"),
            "{text}"
        );
        r.url = Some(run_url("http://127.0.0.1:9", &r.run_id));
        let text = crate::experiment::output::render_summary(&r);
        assert!(
            text.contains(
                "run r1: http://127.0.0.1:9/v1/runs/r1 (the run's API path: no HoneyHive app \
                 is known for this API URL)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_summary_counts_each_label() {
        let mut labelled = datapoint(0, &[("tone", None)], None);
        labelled.evaluations[0].label = Some("polite".into());
        labelled.evaluations[0].errors.clear();
        let mut rude = labelled.clone();
        rude.index = 1;
        rude.evaluations[0].label = Some("rude".into());
        let mut polite = labelled.clone();
        polite.index = 2;
        let r = report(vec![labelled, rude, polite], &[], 0);
        let m = r.metric("tone").unwrap();
        assert_eq!((m.count, m.errors), (0, 0));
        assert_eq!(m.labels, [("polite".to_owned(), 2), ("rude".to_owned(), 1)]);
        let text = crate::experiment::output::render_summary(&r);
        assert!(
            text.contains("labels of tone: \"polite\" 2, \"rude\" 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_missed_threshold_names_metric_threshold_and_value() {
        let t = Threshold::new("exact_match", Comparison::AtLeast, 0.9);
        let r = report(
            vec![
                datapoint(0, &[("exact_match", Some(1.0))], None),
                datapoint(1, &[("exact_match", Some(0.0))], None),
            ],
            &[t],
            0,
        );
        let failure = r.check().unwrap_err();
        assert_eq!(
            failure.to_string(),
            "experiment `qa` (run r1) failed:\n  - metric `exact_match`: mean 0.5 misses the \
             threshold >= 0.9 (2 of 2 datapoints scored)"
        );
    }

    #[test]
    fn failures_beyond_the_allowance_fail_the_check() {
        let dps = vec![
            datapoint(0, &[], Some("panicked: boom")),
            datapoint(1, &[], None),
        ];
        assert!(report(dps.clone(), &[], 1).check().is_ok());
        let failure = report(dps, &[], 0).check().unwrap_err();
        assert_eq!(
            failure.reasons,
            vec!["1 datapoint(s) failed, 0 allowed (raise `allow_failures` to tolerate them):\n    datapoint 1 (dp0): panicked: boom".to_owned()]
        );
    }

    #[test]
    fn many_failures_keep_a_bounded_sample_and_read_back_whole() {
        let dps: Vec<DatapointResult> = (0..50)
            .map(|i| match i % 5 {
                0 => datapoint(i, &[("m", Some(1.0))], None),
                _ => datapoint(i, &[], Some(&format!("error {i}"))),
            })
            .collect();
        let r = report(dps.clone(), &[], 3);
        assert_eq!((r.datapoint_count, r.failed_count), (50, 40));
        assert!(r.run_failed());
        let sample: Vec<usize> = r.failure_sample().iter().map(|d| d.index).collect();
        let first: Vec<usize> = (0..50)
            .filter(|i| i % 5 != 0)
            .take(FAILURE_SAMPLE)
            .collect();
        assert_eq!(sample, first);
        let reason = &r.check().unwrap_err().reasons[0];
        assert!(
            reason.starts_with("40 datapoint(s) failed, 3 allowed"),
            "{reason}"
        );
        assert!(reason.contains("datapoint 2 (dp1): error 1"), "{reason}");
        assert!(reason.ends_with("\n    ... and 30 more"), "{reason}");
        // Everything else is read back, whole and in order.
        assert_eq!(r.datapoints().unwrap(), dps);
        let failures = r.failures().unwrap();
        assert_eq!(failures.len(), 40);
        assert!(failures.iter().all(|d| d.index % 5 != 0));
        let sessions = r.session_ids().unwrap();
        assert_eq!(sessions.len(), 50);
        assert_eq!(sessions[49], "s49");
    }

    #[test]
    fn metrics_come_in_evaluator_order_with_extras_and_thresholds_only_metrics_last() {
        let mut first = datapoint(0, &[("b", Some(1.0)), ("a", None)], None);
        first.evaluations[0].extra = vec![("tokens".into(), 7.0)];
        let second = datapoint(1, &[("a", Some(0.25)), ("b", Some(0.0))], None);
        let thresholds = [
            Threshold::new("never_scored", Comparison::AtLeast, 1.0),
            Threshold::new("a", Comparison::AtMost, 0.5),
        ];
        let r = report_allowing(vec![first, second], &thresholds, 5, 1);
        let names: Vec<&str> = r.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["b", "b_tokens", "a", "never_scored"]);
        let a = r.metric("a").unwrap();
        // Of the 2 evaluated datapoints, the one whose `a` errored does not pass.
        assert_eq!((a.count, a.errors, a.pass_rate), (1, 1, Some(0.5)));
        assert_eq!((a.mean, a.passed), (Some(0.25), Some(true)));
        let never = r.metric("never_scored").unwrap();
        assert_eq!(
            (never.count, never.mean, never.passed),
            (0, None, Some(false))
        );
        assert_eq!(r.metric("b_tokens").unwrap().p90, Some(7.0));
    }

    #[test]
    fn a_threshold_on_a_metric_without_scores_fails() {
        let t = Threshold::new("judge", Comparison::AtMost, 1.0);
        let unscored = vec![datapoint(0, &[("judge", None)], None)];
        let r = report_allowing(unscored.clone(), std::slice::from_ref(&t), 0, 1);
        let reasons = r.check().unwrap_err().reasons;
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(
            reasons[0].contains("no datapoint has a score"),
            "{reasons:?}"
        );
        // Beyond the allowance, the evaluator's errors say it once.
        let reasons = report(unscored, &[t], 0).check().unwrap_err().reasons;
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(
            reasons[0].starts_with("evaluator `judge` could not score 1 of 1 datapoints"),
            "{reasons:?}"
        );
    }

    /// The issue's case: `picky` errs on 6 of 8 datapoints and scores the other two 1.0,
    /// so the mean of what it scored meets `picky >= 0.9`; the datapoints it could not score
    /// fail the experiment, threshold or not, unless allowed.
    #[test]
    fn an_evaluator_that_could_not_score_fails_the_check_unless_allowed() {
        let picky = |i: usize| {
            let score = i.is_multiple_of(4).then_some(1.0);
            datapoint(i, &[("picky", score), ("other", Some(1.0))], None)
        };
        let dps: Vec<DatapointResult> = (0..8).map(picky).collect();
        let t = Threshold::new("picky", Comparison::AtLeast, 0.9);
        let r = report(dps.clone(), std::slice::from_ref(&t), 0);
        let m = r.metric("picky").unwrap();
        assert_eq!((m.count, m.errors, m.mean), (2, 6, Some(1.0)));
        assert_eq!(m.passed, Some(false), "the table marks it FAIL");
        assert_eq!(r.metric("other").unwrap().passed, None);
        let failure = r.check().unwrap_err();
        assert_eq!(
            failure.reasons,
            vec![
                "evaluator `picky` could not score 6 of 8 datapoints (it erred, panicked or \
                 timed out on them), 0 allowed (raise `allow_evaluator_errors` to tolerate \
                 them):\n    datapoint 2 (dp1): boom\n    datapoint 3 (dp2): boom\n    \
                 datapoint 4 (dp3): boom\n    datapoint 6 (dp5): boom\n    datapoint 7 (dp6): \
                 boom\n    datapoint 8 (dp7): boom"
                    .to_owned()
            ]
        );
        // Without a threshold too: an unscored datapoint is never a silent pass.
        let failure = report(dps.clone(), &[], 0).check().unwrap_err();
        assert!(failure.reasons[0].starts_with("evaluator `picky` could not score 6 of 8"));
        assert_eq!(
            report(dps.clone(), &[], 0).metric("picky").unwrap().passed,
            Some(false)
        );
        // Allowed: the mean of the scored ones decides.
        let r = report_allowing(dps.clone(), std::slice::from_ref(&t), 0, 6);
        assert_eq!(r.metric("picky").unwrap().passed, Some(true));
        assert!(r.check().is_ok());
        let r = report_allowing(dps, &[t], 0, 5);
        assert!(r.check().unwrap_err().reasons[0].contains("6 of 8 datapoints"));
    }

    #[test]
    fn scores_format_compactly() {
        assert_eq!(format_score(0.5), "0.5");
        assert_eq!(format_score(1.0), "1");
        assert_eq!(format_score(2.0 / 3.0), "0.6667");
        assert_eq!(format_score(-0.00001), "0");
    }
}
