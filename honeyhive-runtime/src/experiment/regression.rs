//! Regression gates: a run compared with its baseline datapoint by datapoint, and the
//! paired test that tells a real drop from noise.
//!
//! # The test
//! Datapoints are paired by datapoint id; a datapoint's value is the mean of its
//! repetitions' values, in each run. A gate `regression(metric, max_drop = d)` fails when
//! both hold:
//! 1. the metric's mean over the paired datapoints got worse by more than `d`, and
//! 2. the **exact one-sided sign test** at level [`SIGNIFICANCE_LEVEL`] (5%) says the drop
//!    is not noise: of the `n` paired datapoints whose value changed, `k` got worse, and
//!    the chance of at least `k` of `n` going the bad way, were each equally likely to go
//!    either way, is below 5% (`P(Binomial(n, 1/2) >= k) < 0.05`).
//!
//! Why this test: evaluation datasets are small (tens of datapoints) and their scores are
//! often 0/1. The sign test is exact at any size, assumes nothing about the scores'
//! distribution, and on 0/1 scores is the exact McNemar test. A judge that flips a few
//! datapoints both ways leaves it quiet; a run that breaks 5 datapoints and fixes none
//! (p = 1/32) trips it. Fewer than 5 changed datapoints can never trip it: with so few, a
//! drop cannot be told from noise. A bootstrap interval decides too eagerly at these sizes
//! (it is anti-conservative below a few dozen datapoints), so it is only reported: the
//! failure shows the 95% paired bootstrap percentile interval of the mean change
//! ([`BOOTSTRAP_RESAMPLES`] resamples, seeded, so a run always reports the same interval).

use std::collections::{HashMap, HashSet};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF as _};

use super::report::{DatapointResult, format_score};
use crate::runs::RunComparison;

/// The level of the sign test: a drop is real when noise alone would produce one as
/// lopsided less than 5% of the time.
pub const SIGNIFICANCE_LEVEL: f64 = 0.05;
/// How many resamples the bootstrap interval of the mean change takes.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;
/// The confidence of the reported interval of the mean change.
pub const INTERVAL_CONFIDENCE: f64 = 0.95;
/// How many of the datapoints that got worse a failed gate names.
pub const WORST_SHOWN: usize = 5;

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (accuracy, a judge's score): a drop is a regression.
    HigherIsBetter,
    /// Lower is better (latency, cost, length): a rise is a regression.
    LowerIsBetter,
}

/// A regression gate on one metric: `regression(correct, max_drop = 0.05)`.
///
/// ```
/// use honeyhive::experiment::{Direction, Regression};
/// let gate = Regression::max_drop("correct", 0.05);
/// assert_eq!((gate.direction, gate.tolerance), (Direction::HigherIsBetter, 0.05));
/// assert_eq!(gate.to_string(), "regression(correct, max_drop = 0.05)");
/// let cost = Regression::max_rise("cost_usd", 0.001);
/// assert_eq!(cost.direction, Direction::LowerIsBetter);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The metric, named as the summary table prints it.
    pub metric: String,
    /// Which way it gets worse.
    pub direction: Direction,
    /// How much worse its mean may get (in the metric's units) before the gate asks the
    /// sign test whether the change is real.
    pub tolerance: f64,
}

impl Regression {
    /// Fails when `metric`'s mean drops by more than `max_drop` and the drop is not noise.
    pub fn max_drop(metric: impl Into<String>, max_drop: f64) -> Regression {
        Regression {
            metric: metric.into(),
            direction: Direction::HigherIsBetter,
            tolerance: max_drop,
        }
    }

    /// Fails when `metric`'s mean rises by more than `max_rise` and the rise is not noise
    /// (for metrics where lower is better).
    pub fn max_rise(metric: impl Into<String>, max_rise: f64) -> Regression {
        Regression {
            metric: metric.into(),
            direction: Direction::LowerIsBetter,
            tolerance: max_rise,
        }
    }

    fn setting(&self) -> &'static str {
        match self.direction {
            Direction::HigherIsBetter => "max_drop",
            Direction::LowerIsBetter => "max_rise",
        }
    }
}

impl std::fmt::Display for Regression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "regression({}, {} = {})",
            self.metric,
            self.setting(),
            self.tolerance
        )
    }
}

/// P-value of the exact one-sided sign test: the chance that at least `worse` of the
/// `worse + better` datapoints that changed went the bad way, were each equally likely to
/// go either way. `1.0` when nothing got worse.
///
/// ```text
/// sign_test(5, 0) = 1/32 = 0.03125       sign_test(5, 3) = 93/256 ≈ 0.363
/// ```
pub(crate) fn sign_test(worse: usize, better: usize) -> f64 {
    let changed = (worse + better) as u64;
    if worse == 0 {
        return 1.0;
    }
    match Binomial::new(0.5, changed) {
        // P(X >= worse) = P(X > worse - 1).
        Ok(binomial) => binomial.sf(worse as u64 - 1).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

/// The percentile bootstrap interval (`confidence`, e.g. 0.95) of the mean of
/// `differences`, from `resamples` resamples drawn with a ChaCha8 generator seeded with
/// `seed` (portable: the same interval on every machine). `None` without differences.
pub(crate) fn bootstrap_interval(
    differences: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    let n = differences.len();
    if n == 0 || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| differences[rng.random_range(0..n)]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0 * 100.0;
    Some((
        super::statistics::percentile_of_sorted(&means, tail)?,
        super::statistics::percentile_of_sorted(&means, 100.0 - tail)?,
    ))
}

/// Each metric's value per datapoint id: the mean over the datapoint's repetitions that
/// have one.
#[derive(Debug, Default)]
pub(crate) struct ValuesById {
    /// Metric -> datapoint id -> (sum, count).
    metrics: HashMap<String, HashMap<String, (f64, usize)>>,
    /// Datapoint ids in first-seen order (dataset order for a run).
    order: Vec<String>,
    seen: HashSet<String>,
}

impl ValuesById {
    pub(crate) fn add(&mut self, datapoint_id: &str, metrics: impl Iterator<Item = (String, f64)>) {
        if self.seen.insert(datapoint_id.to_owned()) {
            self.order.push(datapoint_id.to_owned());
        }
        for (name, value) in metrics {
            if !value.is_finite() {
                continue;
            }
            let slot = self
                .metrics
                .entry(name)
                .or_default()
                .entry(datapoint_id.to_owned())
                .or_insert((0.0, 0));
            slot.0 += value;
            slot.1 += 1;
        }
    }

    pub(crate) fn add_result(&mut self, result: &DatapointResult) {
        self.add(
            &result.datapoint_id,
            result.evaluations.iter().flat_map(|e| e.metrics()).chain(
                super::statistics::datapoint_model_metrics(result.failed(), result.model.as_ref()),
            ),
        );
    }

    fn value(&self, metric: &str, id: &str) -> Option<f64> {
        let (sum, n) = self.metrics.get(metric)?.get(id)?;
        Some(sum / *n as f64)
    }

    /// Whether the datapoint is among these.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// How many datapoints.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// What the summary, the report and the gates say about a run against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// What the run was compared with.
    pub baseline: super::BaselineInfo,
    /// Datapoints of both runs (by datapoint id), and those of one only. Datapoints a
    /// subset (shard, `HH_LIMIT`, `HH_SAMPLE`) left out of this run are not counted gone.
    pub paired: usize,
    /// Datapoints of this run the baseline does not have.
    pub new: usize,
    /// Datapoints of the baseline this run does not have.
    pub gone: usize,
    /// Every metric of either run: its change and how many datapoints moved.
    pub metrics: Vec<MetricChange>,
    /// The regression gates' verdicts, in the order they were given.
    pub regressions: Vec<RegressionVerdict>,
    /// Whether the run was written as the new baseline (`HH_UPDATE_BASELINE`): then the
    /// gates' verdicts are shown and do not fail the run (the change is being accepted).
    pub accepting: bool,
    /// HoneyHive's own comparison of the two runs (`GET /v1/runs/{new}/compare-with/{old}`),
    /// when the baseline is a HoneyHive run and this run is on HoneyHive too.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<RunComparison>,
}

/// One metric of this run against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// The metric.
    pub name: String,
    /// Which way it gets better (a regression gate's, else `<=`/`<` thresholds and the
    /// model metrics mean lower is better).
    pub direction: Direction,
    /// The baseline's mean (over its whole run).
    pub old_mean: Option<f64>,
    /// This run's mean.
    pub new_mean: Option<f64>,
    /// `new_mean - old_mean`.
    pub change: Option<f64>,
    /// Paired datapoints whose value got better.
    pub improved: usize,
    /// Paired datapoints whose value got worse.
    pub regressed: usize,
    /// Paired datapoints whose value stayed the same.
    pub unchanged: usize,
    /// Datapoints with a value in this run only.
    pub new: usize,
    /// Datapoints with a value in the baseline only.
    pub gone: usize,
}

/// The verdict of one regression gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionVerdict {
    /// The gate.
    pub gate: Regression,
    /// Datapoints with a value in both runs: what the gate compares.
    pub paired: usize,
    /// The baseline's mean over them.
    pub old_mean: Option<f64>,
    /// This run's mean over them.
    pub new_mean: Option<f64>,
    /// `new_mean - old_mean`.
    pub change: Option<f64>,
    /// The 95% paired bootstrap interval of `change`.
    pub interval: Option<(f64, f64)>,
    /// Paired datapoints that got worse, and better.
    pub worse: usize,
    /// See [`worse`](Self::worse).
    pub better: usize,
    /// The exact one-sided sign test's p-value (see the [module docs](self)).
    pub p_value: f64,
    /// Whether the gate failed: the mean got worse by more than the tolerance and the
    /// sign test says it is not noise.
    pub failed: bool,
    /// The datapoints that got worse most (up to [`WORST_SHOWN`]), worst first.
    pub worst: Vec<WorseDatapoint>,
}

/// A datapoint that got worse, as a failed gate names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorseDatapoint {
    /// Its datapoint id.
    pub datapoint_id: String,
    /// How messages name it (`line 5 (EXT-..)`).
    pub label: String,
    /// Its value in the baseline and now (means over repetitions).
    pub old: f64,
    /// See [`old`](Self::old).
    pub new: f64,
    /// Its output in the baseline and now, as text (cut to 300 characters), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub old_output: Option<String>,
    /// See [`old_output`](Self::old_output).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_output: Option<String>,
}

impl BaselineComparison {
    /// The change of metric `name`, if either run has it.
    pub fn metric(&self, name: &str) -> Option<&MetricChange> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The gates that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RegressionVerdict> {
        self.regressions.iter().filter(|r| r.failed)
    }
}

impl RegressionVerdict {
    /// Why the gate failed (or, for one that passed, what it found), in one block.
    pub fn describe(&self) -> String {
        let gate = &self.gate;
        let (Some(old), Some(new), Some(change)) = (self.old_mean, self.new_mean, self.change)
        else {
            return format!(
                "regression gate on `{}`: no datapoint has a value in both runs, nothing to \
                 compare",
                gate.metric
            );
        };
        let moved = match gate.direction {
            Direction::HigherIsBetter if change < 0.0 => "fell",
            Direction::LowerIsBetter if change > 0.0 => "rose",
            _ if change == 0.0 => "stayed",
            _ => "moved",
        };
        let mut text = format!(
            "regression gate on `{}`: the mean {moved} from {} to {} ({}{} over the {} \
             datapoint(s) both runs scored; {} {}), 95% interval of the change {}; {} got \
             worse and {} better: exact sign test p = {}",
            gate.metric,
            format_score(old),
            format_score(new),
            if change > 0.0 { "+" } else { "" },
            format_score(change),
            self.paired,
            gate.setting(),
            gate.tolerance,
            self.interval
                .map(|(low, high)| format!("[{}, {}]", format_score(low), format_score(high)))
                .unwrap_or_else(|| "-".into()),
            self.worse,
            self.better,
            format_p(self.p_value),
        );
        if self.failed {
            text.push_str(&format!(
                " (< {SIGNIFICANCE_LEVEL}: not noise). Worse most:"
            ));
            for w in &self.worst {
                text.push_str(&format!(
                    "\n    {}: {} -> {}",
                    w.label,
                    format_score(w.old),
                    format_score(w.new)
                ));
                if let (Some(old), Some(new)) = (&w.old_output, &w.new_output) {
                    text.push_str(&format!("; output was {old:?}, now {new:?}"));
                } else if let Some(new) = &w.new_output {
                    text.push_str(&format!("; output now {new:?}"));
                }
            }
        } else {
            let reason = if self.worsened_by() <= gate.tolerance {
                format!("within {} {}", gate.setting(), gate.tolerance)
            } else {
                format!("p >= {SIGNIFICANCE_LEVEL}: could be noise")
            };
            text.push_str(&format!(": passes ({reason})"));
        }
        text
    }

    /// How much worse the mean got (negative: it got better).
    fn worsened_by(&self) -> f64 {
        let change = self.change.unwrap_or(0.0);
        match self.gate.direction {
            Direction::HigherIsBetter => -change,
            Direction::LowerIsBetter => change,
        }
    }
}

/// A p-value as messages show it.
pub(crate) fn format_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format_score(p)
    }
}

/// The direction of `metric`: its gate's, else lower is better for a metric whose
/// threshold is `<=` or `<` and for the run's model metrics, else higher is better.
pub(crate) fn direction_of(
    metric: &str,
    regressions: &[Regression],
    thresholds: &[super::Threshold],
) -> Direction {
    if let Some(r) = regressions.iter().find(|r| r.metric == metric) {
        return r.direction;
    }
    use super::Comparison;
    match thresholds.iter().find(|t| t.metric == metric) {
        Some(t) if matches!(t.comparison, Comparison::AtMost | Comparison::Below) => {
            Direction::LowerIsBetter
        }
        Some(_) => Direction::HigherIsBetter,
        // What model calls cost, in tokens, dollars and time: less is better.
        None if super::statistics::is_model_metric(metric) => Direction::LowerIsBetter,
        None => Direction::HigherIsBetter,
    }
}

/// Whether `new` is worse than `old` going `direction` (`None`: the same).
pub(crate) fn worse(direction: Direction, old: f64, new: f64) -> Option<bool> {
    // Values read back from JSON may differ in their last bits.
    let tolerance = 1e-12 * old.abs().max(new.abs()).max(1.0);
    if (new - old).abs() <= tolerance {
        return None;
    }
    Some(match direction {
        Direction::HigherIsBetter => new < old,
        Direction::LowerIsBetter => new > old,
    })
}

/// What [`compare`] needs of the two runs.
pub(crate) struct Runs<'a> {
    pub(crate) new: &'a ValuesById,
    pub(crate) old: &'a ValuesById,
    /// Metric names, this run's first (in its order), then the baseline's others.
    pub(crate) names: Vec<String>,
    pub(crate) new_means: &'a dyn Fn(&str) -> Option<f64>,
    pub(crate) old_means: &'a dyn Fn(&str) -> Option<f64>,
    /// The datapoint ids this run could have covered (a subset's), `None` for all.
    pub(crate) covered: Option<&'a HashSet<String>>,
    /// How messages name a datapoint of this run.
    pub(crate) label: &'a dyn Fn(&str) -> String,
}

/// The metric changes and gate verdicts of `runs` (outputs of the worst datapoints are
/// filled in by the caller).
pub(crate) fn compare(
    runs: &Runs<'_>,
    regressions: &[Regression],
    thresholds: &[super::Threshold],
    seed: u64,
) -> (Vec<MetricChange>, Vec<RegressionVerdict>, [usize; 3]) {
    let in_scope = |id: &str| runs.covered.is_none_or(|c| c.contains(id));
    let paired = runs
        .new
        .order
        .iter()
        .filter(|id| runs.old.contains(id))
        .count();
    let new = runs.new.len() - paired;
    let gone = runs
        .old
        .order
        .iter()
        .filter(|id| !runs.new.contains(id) && in_scope(id))
        .count();
    let metrics = runs
        .names
        .iter()
        .map(|name| {
            let direction = direction_of(name, regressions, thresholds);
            let mut change = MetricChange {
                name: name.clone(),
                direction,
                old_mean: (runs.old_means)(name),
                new_mean: (runs.new_means)(name),
                change: None,
                improved: 0,
                regressed: 0,
                unchanged: 0,
                new: 0,
                gone: 0,
            };
            change.change = change
                .new_mean
                .zip(change.old_mean)
                .map(|(new, old)| new - old)
                .filter(|c| c.is_finite());
            for id in &runs.new.order {
                match (runs.old.value(name, id), runs.new.value(name, id)) {
                    (Some(old), Some(new)) => match worse(direction, old, new) {
                        None => change.unchanged += 1,
                        Some(true) => change.regressed += 1,
                        Some(false) => change.improved += 1,
                    },
                    (None, Some(_)) => change.new += 1,
                    _ => {}
                }
            }
            change.gone = runs
                .old
                .order
                .iter()
                .filter(|id| {
                    in_scope(id)
                        && runs.old.value(name, id).is_some()
                        && runs.new.value(name, id).is_none()
                })
                .count();
            change
        })
        .collect();
    let verdicts = regressions
        .iter()
        .map(|gate| verdict(runs, gate, seed))
        .collect();
    (metrics, verdicts, [paired, new, gone])
}

fn verdict(runs: &Runs<'_>, gate: &Regression, seed: u64) -> RegressionVerdict {
    let mut pairs: Vec<(&String, f64, f64)> = runs
        .new
        .order
        .iter()
        .filter_map(|id| {
            let old = runs.old.value(&gate.metric, id)?;
            let new = runs.new.value(&gate.metric, id)?;
            Some((id, old, new))
        })
        .collect();
    let n = pairs.len();
    let differences: Vec<f64> = pairs.iter().map(|(_, old, new)| new - old).collect();
    let mean =
        |values: &mut dyn Iterator<Item = f64>| (n > 0).then(|| values.sum::<f64>() / n as f64);
    let old_mean = mean(&mut pairs.iter().map(|p| p.1));
    let new_mean = mean(&mut pairs.iter().map(|p| p.2));
    let change = mean(&mut differences.iter().copied());
    let (mut worse_count, mut better) = (0, 0);
    for (_, old, new) in &pairs {
        match worse(gate.direction, *old, *new) {
            Some(true) => worse_count += 1,
            Some(false) => better += 1,
            None => {}
        }
    }
    let p_value = sign_test(worse_count, better);
    let mut verdict = RegressionVerdict {
        gate: gate.clone(),
        paired: n,
        old_mean,
        new_mean,
        change,
        interval: bootstrap_interval(&differences, INTERVAL_CONFIDENCE, BOOTSTRAP_RESAMPLES, seed),
        worse: worse_count,
        better,
        p_value,
        failed: false,
        worst: Vec::new(),
    };
    verdict.failed =
        n > 0 && verdict.worsened_by() > gate.tolerance && p_value < SIGNIFICANCE_LEVEL;
    // Worst first: by how much worse, then in dataset order.
    let badness = |old: f64, new: f64| match gate.direction {
        Direction::HigherIsBetter => old - new,
        Direction::LowerIsBetter => new - old,
    };
    pairs.retain(|(_, old, new)| worse(gate.direction, *old, *new) == Some(true));
    pairs.sort_by(|a, b| badness(b.1, b.2).total_cmp(&badness(a.1, a.2)));
    verdict.worst = pairs
        .into_iter()
        .take(WORST_SHOWN)
        .map(|(id, old, new)| WorseDatapoint {
            datapoint_id: id.clone(),
            label: (runs.label)(id),
            old,
            new,
            old_output: None,
            new_output: None,
        })
        .collect();
    verdict
}

/// `report` against `baseline`: every metric's change, and the verdict of each of the
/// report's regression gates, the datapoints that got worse most with their old and new
/// outputs (this run's read from its `datapoints.jsonl` in `run_dir`). Without the run's
/// results (they could not be stored), the comparison has the means alone.
pub(crate) fn against(
    report: &super::ExperimentReport,
    baseline: &super::baseline::Baseline,
    thresholds: &[super::Threshold],
    covered: Option<&HashSet<String>>,
    seed: u64,
    run_dir: Option<&std::path::Path>,
) -> BaselineComparison {
    let mut new = ValuesById::default();
    let mut labels: HashMap<String, String> = HashMap::new();
    if let Ok(results) = report.read_datapoints() {
        for result in results.flatten() {
            new.add_result(&result);
            if result.repetition == 0 || !labels.contains_key(&result.datapoint_id) {
                let mut first = result.clone();
                first.repetition = 0;
                labels.insert(result.datapoint_id.clone(), first.label());
            }
        }
    }
    let mut old = ValuesById::default();
    for record in &baseline.records {
        old.add(&record.datapoint_id, record.metrics());
    }
    let mut names: Vec<String> = report.metrics.iter().map(|m| m.name.clone()).collect();
    for (name, _) in &baseline.means {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let new_means = |name: &str| report.metric(name).and_then(|m| m.mean);
    let old_means = |name: &str| baseline.mean(name);
    let label = |id: &str| labels.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let runs = Runs {
        new: &new,
        old: &old,
        names,
        new_means: &new_means,
        old_means: &old_means,
        covered,
        label: &label,
    };
    let (metrics, mut regressions, [paired, fresh, gone]) =
        compare(&runs, &report.regressions, thresholds, seed);
    // The outputs of the datapoints named: the baseline's first repetition's, and this
    // run's, read from its report.
    let wanted: HashSet<String> = regressions
        .iter()
        .flat_map(|v| v.worst.iter().map(|w| w.datapoint_id.clone()))
        .collect();
    if !wanted.is_empty() {
        let mut old_outputs: HashMap<&str, &serde_json::Value> = HashMap::new();
        for record in &baseline.records {
            if let Some(output) = &record.output
                && wanted.contains(&record.datapoint_id)
            {
                old_outputs
                    .entry(record.datapoint_id.as_str())
                    .or_insert(output);
            }
        }
        let new_outputs = run_dir
            .map(|dir| outputs_of(&dir.join("datapoints.jsonl"), &wanted))
            .unwrap_or_default();
        for worst in regressions.iter_mut().flat_map(|v| v.worst.iter_mut()) {
            worst.old_output = old_outputs
                .get(worst.datapoint_id.as_str())
                .map(|o| output_preview(o));
            worst.new_output = new_outputs.get(&worst.datapoint_id).cloned();
        }
    }
    BaselineComparison {
        baseline: baseline.info.clone(),
        paired,
        new: fresh,
        gone,
        metrics,
        regressions,
        accepting: false,
        server: None,
    }
}

/// The outputs (previews) of the first repetition of each of `wanted` in a run's
/// `datapoints.jsonl`.
fn outputs_of(file: &std::path::Path, wanted: &HashSet<String>) -> HashMap<String, String> {
    use std::io::BufRead as _;
    #[derive(Deserialize)]
    struct Line {
        datapoint_id: String,
        #[serde(default)]
        output: Option<serde_json::Value>,
    }
    let mut found = HashMap::new();
    let Ok(file) = std::fs::File::open(file) else {
        return found;
    };
    for line in std::io::BufReader::new(file)
        .lines()
        .map_while(std::result::Result::ok)
    {
        // Most lines are not wanted: look for the id before parsing.
        if !wanted.iter().any(|id| line.contains(id.as_str())) {
            continue;
        }
        if let Ok(Line {
            datapoint_id,
            output: Some(output),
        }) = serde_json::from_str::<Line>(&line)
            && wanted.contains(&datapoint_id)
        {
            found
                .entry(datapoint_id)
                .or_insert_with(|| output_preview(&output));
        }
    }
    found
}

/// An output as a failed gate quotes it: text as it is, anything else as JSON; cut to 300
/// characters.
pub(crate) fn output_preview(output: &serde_json::Value) -> String {
    let text = match output {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Known values of the binomial tail with p = 1/2.
    #[test]
    fn the_sign_test_is_the_exact_binomial_tail() {
        // Nothing worse, nothing changed: no evidence.
        assert_eq!(sign_test(0, 0), 1.0);
        assert_eq!(sign_test(0, 7), 1.0);
        // 5 of 5 worse: 1/32; 4 of 4: 1/16 (never below 0.05: too few to tell).
        assert!(close(sign_test(5, 0), 1.0 / 32.0));
        assert!(close(sign_test(4, 0), 1.0 / 16.0));
        // 5 worse, 3 better: (C(8,5) + C(8,6) + C(8,7) + C(8,8)) / 256 = 93/256.
        assert!(close(sign_test(5, 3), 93.0 / 256.0));
        // 8 of 10: (45 + 10 + 1) / 1024.
        assert!(close(sign_test(8, 2), 56.0 / 1024.0));
        // 9 of 10: 11/1024 < 0.05.
        assert!(close(sign_test(9, 1), 11.0 / 1024.0));
        // Balanced: just over a half.
        assert!(close(sign_test(3, 3), 42.0 / 64.0));
        // Large samples stay accurate: 60 of 100 worse, P(X >= 60) = 0.028444...
        assert!((sign_test(60, 40) - 0.028_443_966_820_490_4).abs() < 1e-9);
    }

    #[test]
    fn the_bootstrap_interval_is_seeded_and_brackets_the_mean() {
        let differences = [-1.0, -1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, -1.0, 0.0];
        let a = bootstrap_interval(&differences, 0.95, 2_000, 7).unwrap();
        let b = bootstrap_interval(&differences, 0.95, 2_000, 7).unwrap();
        assert_eq!(a, b, "the same seed, the same interval");
        assert!(a.0 <= -0.4 && -0.4 <= a.1, "{a:?}");
        // Resampled means of ten 0/-1 values move in steps of 0.1 and stay in [-1, 0].
        assert!(a.0 >= -1.0 && a.1 <= 0.0, "{a:?}");
        assert!(a.0 < a.1);
        // All equal: the interval is that value.
        assert_eq!(
            bootstrap_interval(&[0.25; 6], 0.95, 500, 1),
            Some((0.25, 0.25))
        );
        assert_eq!(bootstrap_interval(&[], 0.95, 500, 1), None);
        // Against a known case: the 95% interval of the mean of 20 values, half 0, half
        // 1, is about 0.5 +- 1.96 * 0.5 / sqrt(20) = [0.28, 0.72].
        let half: Vec<f64> = (0..20).map(|i| f64::from(i % 2)).collect();
        let (low, high) = bootstrap_interval(&half, 0.95, 2_000, 3).unwrap();
        assert!(
            (0.2..=0.35).contains(&low) && (0.65..=0.8).contains(&high),
            "{low} {high}"
        );
    }

    fn values(pairs: &[(&str, f64)]) -> ValuesById {
        let mut v = ValuesById::default();
        for (id, value) in pairs {
            v.add(id, std::iter::once(("m".to_owned(), *value)));
        }
        v
    }

    fn gate_on(old: &[(&str, f64)], new: &[(&str, f64)], gate: Regression) -> RegressionVerdict {
        let (old, new) = (values(old), values(new));
        let none = |_: &str| None;
        let label = |id: &str| id.to_owned();
        let runs = Runs {
            new: &new,
            old: &old,
            names: vec!["m".into()],
            new_means: &none,
            old_means: &none,
            covered: None,
            label: &label,
        };
        compare(&runs, &[gate], &[], 1).1.remove(0)
    }

    #[test]
    fn a_real_drop_fails_and_noise_does_not() {
        let ids: Vec<String> = (0..20).map(|i| format!("dp{i}")).collect();
        let old: Vec<(&str, f64)> = ids.iter().map(|id| (id.as_str(), 1.0)).collect();
        // 8 of 20 broke, none fixed: a drop of 0.4, p = 1/256.
        let degraded: Vec<(&str, f64)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), if i < 8 { 0.0 } else { 1.0 }))
            .collect();
        let v = gate_on(&old, &degraded, Regression::max_drop("m", 0.05));
        assert!(v.failed, "{v:?}");
        assert_eq!((v.worse, v.better, v.paired), (8, 0, 20));
        assert!(close(v.p_value, 1.0 / 256.0));
        assert_eq!(v.worst.len(), WORST_SHOWN);
        assert_eq!(v.worst[0].label, "dp0");
        let text = v.describe();
        assert!(
            text.starts_with(
                "regression gate on `m`: the mean fell from 1 to 0.6 (-0.4 over the 20 \
                 datapoint(s) both runs scored; max_drop 0.05), 95% interval of the change ["
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "8 got worse and 0 better: exact sign test p = 0.0039 (< 0.05: not noise)"
            ),
            "{text}"
        );
        assert!(text.contains("\n    dp0: 1 -> 0"), "{text}");

        // Noise: 5 got worse and 3 better. The mean fell by 0.1, beyond max_drop, but
        // p = 93/256: it could be noise.
        let mixed: Vec<(&str, f64)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), if i < 5 { 0.0 } else { 1.0 }))
            .collect();
        let mut old_mixed = old.clone();
        for pair in old_mixed.iter_mut().skip(5).take(3) {
            pair.1 = 0.0;
        }
        let v = gate_on(&old_mixed, &mixed, Regression::max_drop("m", 0.05));
        assert!(!v.failed, "{v:?}");
        assert_eq!((v.worse, v.better), (5, 3));
        assert!(
            v.describe().ends_with("passes (p >= 0.05: could be noise)"),
            "{}",
            v.describe()
        );

        // Within the tolerance: no test needed to pass.
        let v = gate_on(&old, &degraded, Regression::max_drop("m", 0.5));
        assert!(!v.failed);
        assert!(v.describe().ends_with("passes (within max_drop 0.5)"));
    }

    #[test]
    fn lower_is_better_gates_fail_on_a_rise() {
        let old: Vec<(String, f64)> = (0..10).map(|i| (format!("d{i}"), 100.0)).collect();
        let new: Vec<(String, f64)> = (0..10).map(|i| (format!("d{i}"), 150.0)).collect();
        fn as_ref(v: &[(String, f64)]) -> Vec<(&str, f64)> {
            v.iter().map(|(k, x)| (k.as_str(), *x)).collect()
        }
        let v = gate_on(
            &as_ref(&old),
            &as_ref(&new),
            Regression::max_rise("m", 10.0),
        );
        assert!(v.failed);
        assert!(
            v.describe().contains("the mean rose from 100 to 150 (+50"),
            "{}",
            v.describe()
        );
        let v = gate_on(
            &as_ref(&new),
            &as_ref(&old),
            Regression::max_rise("m", 10.0),
        );
        assert!(!v.failed);
        assert_eq!((v.worse, v.better), (0, 10));
    }

    #[test]
    fn repetitions_are_averaged_and_counts_split_new_gone_improved_regressed() {
        let mut old = ValuesById::default();
        let mut new = ValuesById::default();
        let m = |v: f64| std::iter::once(("m".to_owned(), v));
        // a: two repetitions 1 and 0 (0.5) -> 1; b: 1 -> 0; c: same; d new; e gone.
        old.add("a", m(1.0));
        old.add("a", m(0.0));
        new.add("a", m(1.0));
        old.add("b", m(1.0));
        new.add("b", m(0.0));
        old.add("c", m(0.5));
        new.add("c", m(0.5));
        new.add("d", m(1.0));
        old.add("e", m(1.0));
        let new_mean = |_: &str| Some(0.625);
        let old_mean = |_: &str| Some(0.7);
        let label = |id: &str| id.to_owned();
        let runs = Runs {
            new: &new,
            old: &old,
            names: vec!["m".into()],
            new_means: &new_mean,
            old_means: &old_mean,
            covered: None,
            label: &label,
        };
        let (metrics, _, [paired, fresh, gone]) = compare(&runs, &[], &[], 1);
        assert_eq!((paired, fresh, gone), (3, 1, 1));
        let m = &metrics[0];
        assert_eq!(
            (m.improved, m.regressed, m.unchanged, m.new, m.gone),
            (1, 1, 1, 1, 1)
        );
        assert!(close(m.change.unwrap(), -0.075));
        // A subset run does not count the datapoints it left out as gone.
        let covered: HashSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let runs = Runs {
            covered: Some(&covered),
            ..runs
        };
        let (metrics, _, [_, _, gone]) = compare(&runs, &[], &[], 1);
        assert_eq!((gone, metrics[0].gone), (0, 0));
    }
}
