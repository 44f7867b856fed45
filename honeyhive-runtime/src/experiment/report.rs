//! What an experiment produced: per-datapoint results in dataset order, per-metric
//! statistics, threshold verdicts, and the check that fails a test.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::Aggregate;

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
    /// use honeyhive_runtime::experiment::{Comparison, Threshold};
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
}

/// The outcome of one datapoint (one repetition of it), as the report keeps it in memory:
/// ids, error and scores, a few hundred bytes whatever the data, so a run's memory does not
/// grow with its finished datapoints. The datapoint's inputs, ground truth, output and
/// evaluator explanations are written with it to the report's `datapoints.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatapointResult {
    /// Its 0-based position in the dataset.
    pub index: usize,
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
}

impl DatapointResult {
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

/// Statistics of one metric over the datapoints that have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// The metric.
    pub name: String,
    /// How many datapoints have a value.
    pub count: usize,
    /// How many evaluator calls for this metric failed.
    pub errors: usize,
    /// Mean; `None` without values (as are the other statistics).
    pub mean: Option<f64>,
    /// Lowest value.
    pub min: Option<f64>,
    /// Highest value.
    pub max: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile (linear interpolation).
    pub p90: Option<f64>,
    /// The threshold on its mean, when the experiment sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Share of the datapoints (those the function did not fail on) whose value meets the
    /// threshold; a datapoint whose evaluator failed does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_rate: Option<f64>,
    /// Whether the mean meets the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
}

/// A percentile with linear interpolation between closest ranks, as numpy's default.
///
/// ```
/// use honeyhive_runtime::experiment::percentile;
/// assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
/// assert_eq!(percentile(&[10.0, 1.0, 5.0], 90.0), Some(9.0));
/// assert_eq!(percentile(&[], 90.0), None);
/// ```
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile_of_sorted(&sorted, p)
}

/// [`percentile`] of values already in ascending order.
fn percentile_of_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

/// Statistics of every metric, in the order metrics first appear (evaluator order).
pub(crate) fn summarise(
    datapoints: &[DatapointResult],
    thresholds: &[Threshold],
) -> Vec<MetricSummary> {
    // One pass over the results: every metric's values and evaluator errors, in the order
    // the metrics first appear (few metrics: a linear search beats hashing).
    let mut metrics: Vec<(String, Vec<f64>, usize)> = Vec::new();
    fn slot<'a>(
        metrics: &'a mut Vec<(String, Vec<f64>, usize)>,
        name: &str,
    ) -> &'a mut (String, Vec<f64>, usize) {
        let i = match metrics.iter().position(|m| m.0 == name) {
            Some(i) => i,
            None => {
                metrics.push((name.to_owned(), Vec::new(), 0));
                metrics.len() - 1
            }
        };
        &mut metrics[i]
    }
    for e in datapoints.iter().flat_map(|d| &d.evaluations) {
        let metric = slot(&mut metrics, &e.name);
        match e.score {
            Some(score) => metric.1.push(score),
            None => metric.2 += 1,
        }
        for (key, value) in &e.extra {
            slot(&mut metrics, &format!("{}_{key}", e.name))
                .1
                .push(*value);
        }
    }
    for t in thresholds {
        slot(&mut metrics, &t.metric);
    }
    let evaluated = datapoints.iter().filter(|d| !d.failed()).count();
    metrics
        .into_iter()
        .map(|(name, mut values, errors)| {
            let threshold = thresholds.iter().find(|t| t.metric == name).cloned();
            let mean = Aggregate::Mean.apply(&values);
            let pass_rate = threshold.as_ref().map(|t| {
                let passed = values.iter().filter(|v| t.holds(**v)).count();
                if evaluated == 0 {
                    0.0
                } else {
                    passed as f64 / evaluated as f64
                }
            });
            let passed = threshold.as_ref().map(|t| mean.is_some_and(|m| t.holds(m)));
            values.sort_by(f64::total_cmp);
            MetricSummary {
                count: values.len(),
                errors,
                mean,
                min: values.first().copied(),
                max: values.last().copied(),
                p50: percentile_of_sorted(&values, 50.0),
                p90: percentile_of_sorted(&values, 90.0),
                threshold,
                pass_rate,
                passed,
                name,
            }
        })
        .collect()
}

/// Everything an experiment run produced. Returned by
/// [`Experiment::run`](super::Experiment::run); [`check`](Self::check) turns it into the
/// verdict of a test.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// The run id (HoneyHive's, or a local one).
    pub run_id: String,
    /// The dataset id.
    pub dataset_id: String,
    /// Whether data went to HoneyHive (an API key was set).
    pub connected: bool,
    /// Where to see the run, when connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `k/n` when only shard `k` of `n` ran (`HH_SHARD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Every datapoint (and repetition) that ran, in dataset order.
    #[serde(skip_serializing)]
    pub datapoints: Vec<DatapointResult>,
    /// Every metric's statistics.
    pub metrics: Vec<MetricSummary>,
    /// How many failed datapoints the experiment tolerates.
    pub allow_failures: usize,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: f64,
    /// The backend's own view of the run (`GET /v1/runs/{id}/result`), when connected and
    /// available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_result: Option<Value>,
    /// The directory of the local report (`summary.json`, `datapoints.jsonl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_dir: Option<PathBuf>,
}

impl ExperimentReport {
    /// The datapoints whose function failed.
    pub fn failures(&self) -> impl Iterator<Item = &DatapointResult> {
        self.datapoints.iter().filter(|d| d.failed())
    }

    /// The statistics of one metric.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Every session the run created, in dataset order.
    pub fn session_ids(&self) -> Vec<&str> {
        self.datapoints
            .iter()
            .map(|d| d.session_id.as_str())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Whether the run failed: more datapoints failed than `allow_failures` tolerates.
    pub fn run_failed(&self) -> bool {
        self.failures().count() > self.allow_failures
    }

    /// `Ok` when every threshold holds and no more datapoints failed than allowed;
    /// otherwise the reasons, each naming the metric, the threshold and the measured value,
    /// or the failed datapoints with their errors.
    pub fn check(&self) -> Result<(), ExperimentFailure> {
        let mut reasons = Vec::new();
        for m in &self.metrics {
            let Some(threshold) = &m.threshold else {
                continue;
            };
            match m.mean {
                _ if m.passed == Some(true) => {}
                Some(mean) => reasons.push(format!(
                    "metric `{}`: mean {} misses the threshold {} {} ({} of {} datapoints scored)",
                    m.name,
                    format_score(mean),
                    threshold.comparison,
                    threshold.value,
                    m.count,
                    self.datapoints.len()
                )),
                None => reasons.push(format!(
                    "metric `{}`: no datapoint has a score ({} evaluator error(s)), so the \
                     threshold {} {} cannot hold",
                    m.name, m.errors, threshold.comparison, threshold.value
                )),
            }
        }
        let failed: Vec<&DatapointResult> = self.failures().collect();
        if failed.len() > self.allow_failures {
            let mut reason = format!(
                "{} datapoint(s) failed, {} allowed (raise `allow_failures` to tolerate them):",
                failed.len(),
                self.allow_failures
            );
            let lines = failed.iter().map(|d| {
                format!(
                    "datapoint {} ({}): {}",
                    d.index,
                    d.datapoint_id,
                    d.error.as_deref().unwrap_or_default()
                )
            });
            reason.push_str(&bounded_list(lines, 10, "\n    ", ""));
            reasons.push(reason);
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
/// saying how many more there are.
pub(crate) fn bounded_list(
    lines: impl ExactSizeIterator<Item = String>,
    limit: usize,
    prefix: &str,
    suffix: &str,
) -> String {
    let total = lines.len();
    let mut out: String = lines
        .take(limit)
        .map(|line| format!("{prefix}{line}{suffix}"))
        .collect();
    if total > limit {
        out.push_str(&format!("{prefix}... and {} more{suffix}", total - limit));
    }
    out
}

fn list(reasons: &[String]) -> String {
    reasons.iter().map(|r| format!("\n  - {r}")).collect()
}

/// A score as the summary shows it: up to 4 decimals, no trailing zeros.
pub(crate) fn format_score(value: f64) -> String {
    let text = format!("{value:.4}");
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

    fn datapoint(
        index: usize,
        scores: &[(&str, Option<f64>)],
        error: Option<&str>,
    ) -> DatapointResult {
        DatapointResult {
            index,
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
                    errors: if score.is_none() {
                        vec!["boom".into()]
                    } else {
                        vec![]
                    },
                })
                .collect(),
            duration_ms: 1.0,
        }
    }

    fn report(
        datapoints: Vec<DatapointResult>,
        thresholds: &[Threshold],
        allow: usize,
    ) -> ExperimentReport {
        ExperimentReport {
            name: "qa".into(),
            run_id: "r1".into(),
            dataset_id: "d".into(),
            connected: false,
            url: None,
            shard: None,
            metrics: summarise(&datapoints, thresholds),
            datapoints,
            allow_failures: allow,
            duration_ms: 0.0,
            server_result: None,
            report_dir: None,
        }
    }

    #[test]
    fn statistics_and_pass_rate() {
        let t = Threshold::new("m", Comparison::AtLeast, 0.5);
        let r = report(
            vec![
                datapoint(0, &[("m", Some(1.0))], None),
                datapoint(1, &[("m", Some(0.0))], None),
                datapoint(2, &[("m", None)], None),
                datapoint(3, &[("m", Some(0.5))], None),
            ],
            std::slice::from_ref(&t),
            0,
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
            vec!["1 datapoint(s) failed, 0 allowed (raise `allow_failures` to tolerate them):\n    datapoint 0 (dp0): panicked: boom".to_owned()]
        );
    }

    #[test]
    fn a_threshold_on_a_metric_without_scores_fails() {
        let t = Threshold::new("judge", Comparison::AtMost, 1.0);
        let r = report(vec![datapoint(0, &[("judge", None)], None)], &[t], 0);
        assert!(r.check().unwrap_err().reasons[0].contains("no datapoint has a score"));
    }

    #[test]
    fn scores_format_compactly() {
        assert_eq!(format_score(0.5), "0.5");
        assert_eq!(format_score(1.0), "1");
        assert_eq!(format_score(2.0 / 3.0), "0.6667");
        assert_eq!(format_score(-0.00001), "0");
    }
}
