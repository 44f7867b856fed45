//! Statistics of every metric over a run: counts, errors, mean, extremes and pass counts
//! streamed while results arrive in dataset order, so nothing per datapoint stays in
//! memory; the percentiles from the values read back once the run is over.

use std::cmp::Ordering;

use serde::Serialize;

use super::report::{DatapointResult, Threshold};
use crate::Result;
use crate::model::{self, ModelTotals};

/// The model metrics of a run, in the order the summary shows them: per datapoint (its
/// function's calls summed), then per model call.
pub(crate) const MODEL_METRICS: [&str; 4] = [
    model::COST_USD,
    model::INPUT_TOKENS,
    model::OUTPUT_TOKENS,
    model::MODEL_LATENCY_MS,
];

/// Index of the per-call metric among [`MODEL_METRICS`].
const LATENCY: usize = 3;

/// Whether `name` is one of the run's model metrics (reserved: no evaluator may use it).
pub(crate) fn is_model_metric(name: &str) -> bool {
    MODEL_METRICS.contains(&name)
}

/// The model metrics of one datapoint that made model calls, as a comparison with a
/// baseline pairs them and the report shows them: when its function ran, its calls' cost
/// and tokens, and the mean duration of its calls (when one reached the model). A datapoint
/// without calls has none (not zeros: a run without model calls has no model metrics).
pub(crate) fn datapoint_model_metrics(
    failed: bool,
    totals: Option<&ModelTotals>,
) -> impl Iterator<Item = (String, f64)> + '_ {
    let per_datapoint = (!failed && totals.is_some()).then(|| {
        MODEL_METRICS
            .iter()
            .zip(datapoint_model_values(totals))
            .map(|(name, value)| ((*name).to_owned(), value))
    });
    let latency = totals.filter(|t| !t.latencies_ms.is_empty()).map(|t| {
        let mean = t.latencies_ms.iter().sum::<f64>() / t.latencies_ms.len() as f64;
        (MODEL_METRICS[LATENCY].to_owned(), mean)
    });
    per_datapoint.into_iter().flatten().chain(latency)
}

/// The per-datapoint model metrics of a datapoint whose function ran (zeros without
/// calls), in [`MODEL_METRICS`] order.
fn datapoint_model_values(totals: Option<&ModelTotals>) -> [f64; 3] {
    match totals {
        Some(t) => [t.cost_usd, t.input_tokens as f64, t.output_tokens as f64],
        None => [0.0; 3],
    }
}

/// Statistics of one metric over the datapoints that have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// The metric.
    pub name: String,
    /// How many datapoints have a value.
    pub count: usize,
    /// How many datapoints the metric's evaluator could not score: every call on them
    /// erred, panicked or timed out, so they have no value. More than the experiment's
    /// `allow_evaluator_errors` fails the metric (see [`passed`](Self::passed)).
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
    /// The metric's verdict: `false` when its mean misses the threshold, or when its
    /// evaluator could not score more datapoints than the experiment allows
    /// (`allow_evaluator_errors`); `true` when it has a threshold and neither happened;
    /// `None` when nothing is asked of it (no threshold, no errors beyond the allowance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// How many datapoints got each label, in the order the labels first appeared (a
    /// metric whose evaluator returns labels: [`Score::label`](crate::Score)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, usize)>,
    /// How far apart the scores of a repeated evaluator (`repeat = n`) were, over the
    /// datapoints it scored more than once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

/// The spread of a repeated evaluator's scores (`repeat = n`): how much asking again
/// changes the verdict, the noise the aggregate smooths over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Datapoints with more than one score.
    pub datapoints: usize,
    /// Most scores one datapoint got (`repeat`, unless calls failed).
    pub calls: usize,
    /// Of those datapoints, how many got different scores.
    pub disagreed: usize,
    /// Mean over the datapoints of the range of their scores (highest minus lowest).
    pub mean_range: f64,
    /// The largest range.
    pub max_range: f64,
    /// Mean over the datapoints of their scores' standard deviation (population).
    pub mean_stdev: f64,
}

/// A [`Spread`] being summed.
#[derive(Debug, Default)]
struct SpreadSums {
    datapoints: usize,
    calls: usize,
    disagreed: usize,
    range: f64,
    max_range: f64,
    stdev: f64,
}

impl SpreadSums {
    fn add(&mut self, scores: &[f64]) {
        if scores.len() < 2 {
            return;
        }
        let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let variance = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64;
        self.datapoints += 1;
        self.calls = self.calls.max(scores.len());
        if max > min {
            self.disagreed += 1;
        }
        self.range += max - min;
        self.max_range = self.max_range.max(max - min);
        self.stdev += variance.sqrt();
    }

    fn finish(&self) -> Option<Spread> {
        (self.datapoints > 0).then(|| Spread {
            datapoints: self.datapoints,
            calls: self.calls,
            disagreed: self.disagreed,
            mean_range: self.range / self.datapoints as f64,
            max_range: self.max_range,
            mean_stdev: self.stdev / self.datapoints as f64,
        })
    }
}

/// A percentile with linear interpolation between closest ranks, as numpy's default.
///
/// ```
/// use honeyhive::experiment::percentile;
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
pub(crate) fn percentile_of_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

/// One metric's figures so far.
#[derive(Debug)]
struct Running {
    name: String,
    threshold: Option<Threshold>,
    count: usize,
    errors: usize,
    /// Summed in dataset order from the first value on, as `Aggregate::Mean` sums a slice.
    sum: Option<f64>,
    /// Extremes in `f64::total_cmp` order, as the ends of the sorted values.
    min: Option<f64>,
    max: Option<f64>,
    /// Values that meet the threshold.
    passing: usize,
    /// Datapoints per label, in first-seen order.
    labels: Vec<(String, usize)>,
    spread: SpreadSums,
}

/// Every metric's figures so far, in the order the metrics first appear (evaluator order),
/// and the model metrics.
#[derive(Debug)]
pub(crate) struct Statistics {
    thresholds: Vec<Threshold>,
    /// How many datapoints each evaluator may leave unscored without failing its metric.
    allowed_errors: usize,
    metrics: Vec<Running>,
    /// [`MODEL_METRICS`], in that order.
    model: Vec<Running>,
    /// The run's model calls added up (latencies left out: they are in `model`).
    model_totals: ModelTotals,
    /// The evaluators' model calls (judges) added up: evaluation cost, apart from the
    /// application's.
    evaluation_totals: ModelTotals,
    /// Datapoints the function did not fail on: the base of every pass rate.
    evaluated: usize,
}

/// Each metric's values in dataset order, index for index with [`Statistics`]' metrics
/// (and its model metrics): what the percentiles need, read back from the stored results
/// once the run is over.
pub(crate) struct Values {
    metrics: Vec<Vec<f64>>,
    model: Vec<Vec<f64>>,
}

impl Statistics {
    pub(crate) fn new(thresholds: &[Threshold], allowed_errors: usize) -> Statistics {
        let model = MODEL_METRICS
            .iter()
            .map(|name| Running::new(name, thresholds))
            .collect();
        Statistics {
            thresholds: thresholds.to_vec(),
            allowed_errors,
            metrics: Vec::new(),
            model,
            model_totals: ModelTotals::default(),
            evaluation_totals: ModelTotals::default(),
            evaluated: 0,
        }
    }

    /// Adds one datapoint's result. Results must come in dataset order, so the mean is
    /// summed in the same order whatever order the datapoints finished in.
    pub(crate) fn add(&mut self, result: &DatapointResult) {
        if !result.failed() {
            self.evaluated += 1;
            let values = datapoint_model_values(result.model.as_ref());
            for (running, value) in self.model.iter_mut().zip(values) {
                running.push(value);
            }
        }
        if let Some(t) = &result.model {
            self.model_totals.add(t);
            for latency in &t.latencies_ms {
                self.model[LATENCY].push(*latency);
            }
        }
        if let Some(t) = &result.evaluation_model {
            self.evaluation_totals.add(t);
        }
        for e in &result.evaluations {
            let i = self.slot(&e.name);
            self.metrics[i].spread.add(&e.scores);
            match (e.score, &e.label) {
                (Some(score), _) => self.metrics[i].push(score),
                // Only a label: a value of another kind, not a failure.
                (None, Some(_)) => {}
                (None, None) => self.metrics[i].errors += 1,
            }
            for (key, value) in &e.extra {
                let i = self.slot(&format!("{}_{key}", e.name));
                self.metrics[i].push(*value);
            }
            // A label counts under the metric it is reported as (`<name>` for a score that
            // is only a label, else `<name>_label`), so the table has one row per metric.
            for (name, label) in e.label_metrics() {
                let i = self.slot(&name);
                self.metrics[i].count_label(label);
            }
        }
    }

    /// The position of metric `name`, added on its first appearance (few metrics: a
    /// linear search beats hashing).
    fn slot(&mut self, name: &str) -> usize {
        if let Some(i) = self.metrics.iter().position(|m| m.name == name) {
            return i;
        }
        self.metrics.push(Running::new(name, &self.thresholds));
        self.metrics.len() - 1
    }

    /// Each metric's values from `results`, the same results [`add`](Self::add) saw, in
    /// the same order. `None` when they are not the same (a different count for some
    /// metric): percentiles of other values would be wrong, not just imprecise.
    pub(crate) fn values(
        &self,
        results: impl Iterator<Item = Result<DatapointResult>>,
    ) -> Result<Option<Values>> {
        let with_room = |running: &[Running]| -> Vec<Vec<f64>> {
            running
                .iter()
                .map(|m| Vec::with_capacity(m.count))
                .collect()
        };
        let mut values = with_room(&self.metrics);
        let mut model = with_room(&self.model);
        for result in results {
            let result = result?;
            for (name, value) in result.evaluations.iter().flat_map(|e| e.metrics()) {
                match self.metrics.iter().position(|m| m.name == name) {
                    Some(i) => values[i].push(value),
                    None => return Ok(None),
                }
            }
            if !result.failed() {
                let per_datapoint = datapoint_model_values(result.model.as_ref());
                for (list, value) in model.iter_mut().zip(per_datapoint) {
                    list.push(value);
                }
            }
            if let Some(t) = &result.model {
                model[LATENCY].extend_from_slice(&t.latencies_ms);
            }
        }
        let same = |values: &[Vec<f64>], running: &[Running]| {
            values.iter().zip(running).all(|(v, m)| v.len() == m.count)
        };
        let same = same(&values, &self.metrics) && same(&model, &self.model);
        Ok(same.then_some(Values {
            metrics: values,
            model,
        }))
    }

    /// The run's model calls added up, when it made any.
    pub(crate) fn model_totals(&self) -> Option<ModelTotals> {
        (self.model_totals.calls > 0).then(|| self.model_totals.clone())
    }

    /// The evaluators' model calls added up, when they made any.
    pub(crate) fn evaluation_totals(&self) -> Option<ModelTotals> {
        (self.evaluation_totals.calls > 0).then(|| self.evaluation_totals.clone())
    }

    /// Every metric's summary, then the metrics that only a threshold names. Without
    /// `values` (the results could not be read back) the percentiles are `None`; every
    /// other figure is exact either way.
    pub(crate) fn finish(mut self, values: Option<Values>) -> Vec<MetricSummary> {
        let thresholds = self.thresholds.clone();
        for t in thresholds.iter().filter(|t| !is_model_metric(&t.metric)) {
            self.slot(&t.metric);
        }
        let (mut metric_values, mut model_values) = match values {
            Some(v) => (Some(v.metrics.into_iter()), Some(v.model.into_iter())),
            None => (None, None),
        };
        let evaluated = self.evaluated;
        let allowed_errors = self.allowed_errors;
        let mut summaries: Vec<MetricSummary> = self
            .metrics
            .into_iter()
            .map(|m| {
                let values = metric_values.as_mut().map(|v| v.next().unwrap_or_default());
                m.summary(values, evaluated, allowed_errors)
            })
            .collect();
        // The model metrics, when the run made model calls or a threshold names them.
        let made_calls = self.model_totals.calls > 0;
        for (i, m) in self.model.into_iter().enumerate() {
            let values = model_values.as_mut().map(|v| v.next().unwrap_or_default());
            if made_calls || m.threshold.is_some() {
                // Latency is per call: its pass rate is over the calls.
                let base = if i == LATENCY { m.count } else { evaluated };
                summaries.push(m.summary(values, base, 0));
            }
        }
        summaries
    }
}

impl Running {
    fn count_label(&mut self, label: &str) {
        match self.labels.iter_mut().find(|(l, _)| l == label) {
            Some((_, n)) => *n += 1,
            None => self.labels.push((label.to_owned(), 1)),
        }
    }

    fn new(name: &str, thresholds: &[Threshold]) -> Running {
        Running {
            name: name.to_owned(),
            threshold: thresholds.iter().find(|t| t.metric == name).cloned(),
            count: 0,
            errors: 0,
            sum: None,
            min: None,
            max: None,
            passing: 0,
            labels: Vec::new(),
            spread: SpreadSums::default(),
        }
    }

    /// The summary, with the percentiles of `values` (all of this metric's values, when
    /// they could be read back), the pass rate over `base` values, and a verdict that
    /// fails with more than `allowed_errors` unscored datapoints.
    fn summary(
        self,
        values: Option<Vec<f64>>,
        base: usize,
        allowed_errors: usize,
    ) -> MetricSummary {
        let (p50, p90) = match values {
            Some(mut values) => {
                values.sort_by(f64::total_cmp);
                (
                    percentile_of_sorted(&values, 50.0),
                    percentile_of_sorted(&values, 90.0),
                )
            }
            None => (None, None),
        };
        let mean = self.sum.map(|sum| sum / self.count as f64);
        let pass_rate = self.threshold.as_ref().map(|_| {
            if base == 0 {
                0.0
            } else {
                self.passing as f64 / base as f64
            }
        });
        // A datapoint the evaluator could not score has no value: it cannot count towards
        // the mean, so it counts against the metric instead.
        let scored_enough = self.errors <= allowed_errors;
        let passed = match &self.threshold {
            Some(t) => Some(scored_enough && mean.is_some_and(|mean| t.holds(mean))),
            None => (!scored_enough).then_some(false),
        };
        MetricSummary {
            count: self.count,
            errors: self.errors,
            mean,
            min: self.min,
            max: self.max,
            p50,
            p90,
            threshold: self.threshold,
            pass_rate,
            passed,
            labels: self.labels,
            spread: self.spread.finish(),
            name: self.name,
        }
    }

    fn push(&mut self, value: f64) {
        self.count += 1;
        self.sum = Some(self.sum.map_or(value, |sum| sum + value));
        if self
            .min
            .is_none_or(|min| value.total_cmp(&min) == Ordering::Less)
        {
            self.min = Some(value);
        }
        if self
            .max
            .is_none_or(|max| value.total_cmp(&max) == Ordering::Greater)
        {
            self.max = Some(value);
        }
        if self.threshold.as_ref().is_some_and(|t| t.holds(value)) {
            self.passing += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregate;
    use crate::experiment::{Comparison, EvaluationResult};

    fn result(
        index: usize,
        name: &str,
        score: Option<f64>,
        extra: &[(&str, f64)],
    ) -> DatapointResult {
        DatapointResult {
            index,
            line: None,
            datapoint_id: format!("dp{index}"),
            repetition: 0,
            session_id: String::new(),
            error: None,
            evaluations: vec![EvaluationResult {
                name: name.to_owned(),
                score,
                scores: score.into_iter().collect(),
                extra: extra.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
                label: None,
                labels: Vec::new(),
                errors: Vec::new(),
            }],
            duration_ms: 0.0,
            model: None,
            evaluation_model: None,
        }
    }

    #[test]
    fn repeated_scores_have_a_spread() {
        let mut statistics = Statistics::new(&[], 0);
        for (i, scores) in [vec![1.0, 1.0, 1.0], vec![0.0, 1.0, 0.5], vec![0.2]]
            .iter()
            .enumerate()
        {
            let mut r = result(i, "judge", Some(0.5), &[]);
            r.evaluations[0].scores = scores.clone();
            statistics.add(&r);
        }
        let spread = statistics.finish(None)[0].spread.clone().unwrap();
        assert_eq!(
            (spread.datapoints, spread.calls, spread.disagreed),
            (2, 3, 1)
        );
        assert_eq!((spread.mean_range, spread.max_range), (0.5, 1.0));
        assert!((spread.mean_stdev - (1.0f64 / 6.0).sqrt() / 2.0).abs() < 1e-12);
        let mut single = Statistics::new(&[], 0);
        single.add(&result(0, "m", Some(1.0), &[]));
        assert_eq!(single.finish(None)[0].spread, None);
    }

    /// Streamed figures equal those of the whole slice, bit for bit, whatever the values.
    #[test]
    fn streamed_figures_equal_those_of_all_the_values() {
        let values = [0.1, 0.2, 0.3, -0.0, 1e-17, 7.25, f64::NAN, 0.0, -3.5, 1e300];
        let mut statistics = Statistics::new(&[], 0);
        let results: Vec<DatapointResult> = values
            .iter()
            .enumerate()
            .map(|(i, v)| result(i, "m", Some(*v), &[]))
            .collect();
        for r in &results {
            statistics.add(r);
        }
        let read_back = statistics.values(results.into_iter().map(Ok)).unwrap();
        let m = &statistics.finish(read_back)[0];
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        assert_eq!(bits(m.mean), bits(Aggregate::Mean.apply(&values)));
        assert_eq!(bits(m.min), bits(sorted.first().copied()));
        assert_eq!(bits(m.max), bits(sorted.last().copied()));
        assert_eq!(bits(m.p50), bits(percentile(&values, 50.0)));
        assert_eq!(bits(m.p90), bits(percentile(&values, 90.0)));
    }

    #[test]
    fn values_that_are_not_the_streamed_ones_give_no_percentiles() {
        let mut statistics = Statistics::new(&[Threshold::new("m", Comparison::AtLeast, 1.0)], 0);
        statistics.add(&result(0, "m", Some(1.0), &[("tokens", 3.0)]));
        let fewer = statistics.values(std::iter::empty()).unwrap();
        assert!(fewer.is_none());
        let other = statistics
            .values(std::iter::once(Ok(result(0, "other", Some(1.0), &[]))))
            .unwrap();
        assert!(other.is_none());
        // Without values every other figure stays exact.
        let metrics = statistics.finish(None);
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["m", "m_tokens"]);
        assert_eq!((metrics[0].mean, metrics[0].p50), (Some(1.0), None));
        assert_eq!(
            (metrics[0].pass_rate, metrics[0].passed),
            (Some(1.0), Some(true))
        );
    }
}
