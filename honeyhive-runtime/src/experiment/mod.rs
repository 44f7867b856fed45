//! Experiments: run a function over a dataset, one isolated session per datapoint, score
//! every output with evaluators, aggregate, report, and judge against thresholds.
//!
//! `#[experiment]` turns a test function into one of these; [`Experiment`] is the same
//! engine for use anywhere else (a binary, a CI job, a notebook-like example).
//!
//! # The run
//! (Its HoneyHive calls and their bodies: `docs/honeyhive-api.md`.)
//! 1. The dataset is loaded and every datapoint is checked against the function's input
//!    type and every evaluator's ground truth type before anything is called.
//! 2. A run is created on HoneyHive (`POST /v1/runs`), or `HH_RUN_ID` names one to join.
//!    Without an API key the run is local: a local run id, and no network at all. The run
//!    id is the client's, and nothing the backend does (down, slow, rejecting) stops or
//!    fails the run: what it does not receive within the retry budget is kept in the run's
//!    folder and reported in one warning ([`ExperimentReport::undelivered`]); only
//!    `HH_REQUIRE_UPLOAD` makes that fail the check.
//! 3. Datapoints run concurrently (up to `max_concurrency`), each with its own
//!    [`HoneyHiveTracer`](crate::HoneyHiveTracer): its own session carrying the run, dataset
//!    and datapoint ids. The function runs inside the datapoint's root span with the
//!    context current on every poll, so every span it makes, on any task or thread reached
//!    through [`spawn`](crate::spawn) or [`thread`](crate::thread), carries those ids.
//!    Evaluators run concurrently (bounded separately) as child spans of the root; one
//!    failing (error, panic, timeout) never stops the others or the run.
//! 4. Every span is exported, then the run is finished (`PUT /v1/runs/{id}`) with every
//!    session id, `completed`, or `failed` when more datapoints failed than allowed.
//! 5. The report: statistics per metric, thresholds, failures, in dataset order; printed
//!    as a table on stderr and written to the run's folder `<local dir>/runs/<run id>/`
//!    (`summary.json`, `datapoints.jsonl`), where a local run's sessions and spans are too
//!    (see [`local_store`](crate::local_store) for the layout). Each datapoint's result is
//!    stored on disk as it finishes, not kept in memory, so a run's memory does not grow
//!    with its datapoints; [`ExperimentReport::datapoints`] reads them back.
//!
//! # Example
//! ```
//! use honeyhive::experiment::{Comparison, Experiment};
//! use honeyhive::{Environment, Score, evaluators};
//! use honeyhive::dataset::Dataset;
//!
//! # let dir = std::env::temp_dir().join(format!("honeyhive-doc-experiment-{}", std::process::id()));
//! let dataset = Dataset::from_json(r#"[
//!     {"inputs": {"a": 1, "b": 2}, "ground_truth": 3},
//!     {"inputs": {"a": 2, "b": 2}, "ground_truth": 4}
//! ]"#)?;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Sum { a: i64, b: i64 }
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! let report = runtime.block_on(
//!     Experiment::new("adder")
//!         .environment(Environment::empty()) // no API key: a local run
//!         .local_dir(&dir)
//!         .dataset(dataset)
//!         .evaluators(evaluators![honeyhive::evaluators::ExactMatch])
//!         .threshold("exact_match", Comparison::AtLeast, 1.0)
//!         .quiet()
//!         .run(|sum: Sum| async move { sum.a + sum.b }),
//! )?;
//! assert_eq!(report.metric("exact_match").unwrap().mean, Some(1.0));
//! report.check()?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod baseline;
pub(crate) mod datapoint;
mod harness;
pub(crate) mod metric_names;
mod output;
mod progress;
mod recorder;
pub(crate) mod regression;
mod report;
mod results;
mod runner;
mod shard;
mod statistics;
mod subset;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::baseline::BaselineInfo;
#[doc(hidden)]
pub use self::harness::{blocking, run_test};
pub use self::metric_names::UnknownMetric;
pub(crate) use self::output::{format_cost, model_totals};
pub use self::regression::{
    BOOTSTRAP_RESAMPLES, BaselineComparison, Direction, INTERVAL_CONFIDENCE, MetricChange,
    Regression, RegressionVerdict, SIGNIFICANCE_LEVEL, WorseDatapoint,
};
pub use self::report::{
    Comparison, DatapointResult, EvaluationResult, ExperimentFailure, ExperimentReport,
    FAILURE_SAMPLE, Threshold,
};
pub(crate) use self::report::{format_score, label_metrics};
pub use self::results::DatapointResults;
pub use self::shard::Shard;
pub use self::statistics::{MetricSummary, percentile};
pub use self::subset::{DEFAULT_SEED, Subset};
use crate::dataset::Dataset;
use crate::runs::AggregateFunction;
use crate::{Config, Environment, Evaluator, EvaluatorList, Result};

/// Default number of datapoints in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 10;
/// Default number of evaluator calls in flight at once, across all datapoints.
pub const DEFAULT_EVALUATOR_CONCURRENCY: usize = 16;
/// Default longest time one evaluator call may take.
pub const DEFAULT_EVALUATOR_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the datapoints come from.
#[derive(Debug, Clone)]
pub enum DatasetSource {
    /// Already loaded.
    Loaded(Dataset),
    /// A file, loaded when the run starts (relative to `CARGO_MANIFEST_DIR`).
    File(PathBuf),
    /// A dataset managed on HoneyHive, fetched when the run starts (needs an API key).
    Hosted(String),
}

impl From<Dataset> for DatasetSource {
    fn from(dataset: Dataset) -> Self {
        DatasetSource::Loaded(dataset)
    }
}

/// The boxed future of one call of the experiment's function: its output, or its error
/// text.
pub(crate) type FnFuture<O> = Pin<Box<dyn Future<Output = std::result::Result<O, String>> + Send>>;
pub(crate) type TaskFn<I, O> = Arc<dyn Fn(I) -> FnFuture<O> + Send + Sync>;

/// An experiment: a function of `I` returning `O`, a dataset of `I`s, and evaluators of
/// `O`. See the [module docs](self) for the run.
///
/// [`run`](Self::run) is `async`: await it in a Tokio runtime (`#[tokio::main]`,
/// `#[tokio::test]`, or `Runtime::block_on` as here). `#[experiment]` makes the same run a
/// test that needs no runtime of yours.
///
/// # Example
/// ```
/// use honeyhive::evaluators::{Contains, ExactMatch};
/// use honeyhive::experiment::{Comparison, Experiment};
/// use honeyhive::{Dataset, Environment, evaluators};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Question { question: String }
///
/// # let dir = std::env::temp_dir().join(format!("honeyhive-doc-exp-{}", std::process::id()));
/// let dataset = Dataset::from_json(r#"[
///     {"inputs": {"question": "capital of France?"}, "ground_truth": "Paris"},
///     {"inputs": {"question": "capital of Italy?"}, "ground_truth": "Rome"}
/// ]"#)?;
/// let experiment = Experiment::new("capitals")
///     .environment(Environment::empty()) // no API key: a local run, nothing sent
///     .local_dir(&dir)
///     .dataset(dataset)
///     .evaluators(evaluators![ExactMatch, Contains::new("a")])
///     .threshold("exact_match", Comparison::AtLeast, 0.5)
///     .max_concurrency(4)
///     .quiet(); // no progress bar or table (a test's output stays short)
///
/// let runtime = tokio::runtime::Runtime::new()?;
/// let report = runtime.block_on(experiment.run(|q: Question| async move {
///     if q.question.contains("France") { "Paris" } else { "Milan" }.to_owned()
/// }))?;
/// assert_eq!(report.metric("exact_match").unwrap().mean, Some(0.5));
/// report.check()?; // what a test asserts: every threshold holds, nothing failed
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "an experiment does nothing until .run(f).await"]
pub struct Experiment<I, O> {
    pub(crate) name: String,
    pub(crate) dataset: Option<DatasetSource>,
    pub(crate) evaluators: EvaluatorList<I, O>,
    pub(crate) max_concurrency: usize,
    pub(crate) evaluator_concurrency: usize,
    pub(crate) repetitions: u32,
    pub(crate) timeout: Option<Duration>,
    pub(crate) evaluator_timeout: Duration,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) allow_failures: usize,
    pub(crate) allow_evaluator_errors: usize,
    pub(crate) config: Option<Config>,
    pub(crate) environment: Option<Environment>,
    pub(crate) local_dir: Option<PathBuf>,
    pub(crate) shard: Option<Shard>,
    pub(crate) ground_truth_check: Option<GroundTruthCheck>,
    pub(crate) aggregate_function: AggregateFunction,
    pub(crate) quiet: bool,
    pub(crate) baseline: Option<String>,
    pub(crate) update_baseline: Option<bool>,
    pub(crate) regressions: Vec<Regression>,
    pub(crate) choice: Option<subset::Choice>,
    pub(crate) seed: Option<u64>,
    _types: PhantomData<fn(I) -> O>,
}

/// Checks a datapoint's ground truth against the type named by `ground_truth = Type`.
pub(crate) type GroundTruthCheck = (
    &'static str,
    fn(Option<&serde_json::Value>) -> std::result::Result<(), String>,
);

impl<I, O> fmt::Debug for Experiment<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("dataset", &self.dataset)
            .field(
                "evaluators",
                &self.evaluators.iter().map(|e| e.name()).collect::<Vec<_>>(),
            )
            .field("max_concurrency", &self.max_concurrency)
            .field("repetitions", &self.repetitions)
            .field("thresholds", &self.thresholds)
            .field("baseline", &self.baseline)
            .field("regressions", &self.regressions)
            .finish_non_exhaustive()
    }
}

impl<I, O> Experiment<I, O>
where
    I: DeserializeOwned + Send + Sync + 'static,
    O: Serialize + Send + Sync + 'static,
{
    /// A new experiment named `name` (the run's name and the datapoint root span's name).
    pub fn new(name: impl Into<String>) -> Self {
        Experiment {
            name: name.into(),
            dataset: None,
            evaluators: Vec::new(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            evaluator_concurrency: DEFAULT_EVALUATOR_CONCURRENCY,
            repetitions: 1,
            timeout: None,
            evaluator_timeout: DEFAULT_EVALUATOR_TIMEOUT,
            thresholds: Vec::new(),
            allow_failures: 0,
            allow_evaluator_errors: 0,
            config: None,
            environment: None,
            local_dir: None,
            shard: None,
            ground_truth_check: None,
            aggregate_function: AggregateFunction::default(),
            quiet: false,
            baseline: None,
            update_baseline: None,
            regressions: Vec::new(),
            choice: None,
            seed: None,
            _types: PhantomData,
        }
    }

    /// The datapoints: a loaded [`Dataset`], or a [`DatasetSource`].
    pub fn dataset(mut self, dataset: impl Into<DatasetSource>) -> Self {
        self.dataset = Some(dataset.into());
        self
    }

    /// A dataset file (`.json`, `.jsonl`, `.csv`), loaded when the run starts; relative
    /// paths resolve against `CARGO_MANIFEST_DIR`.
    pub fn dataset_file(self, path: impl Into<PathBuf>) -> Self {
        self.dataset(DatasetSource::File(path.into()))
    }

    /// A dataset managed on HoneyHive, fetched when the run starts.
    pub fn hosted_dataset(self, id: impl Into<String>) -> Self {
        self.dataset(DatasetSource::Hosted(id.into()))
    }

    /// Adds one evaluator (an `#[evaluator]` fn's struct, `my_evaluator {}`, or a built-in).
    pub fn evaluator(mut self, evaluator: impl Evaluator<I, O> + 'static) -> Self {
        self.evaluators.push(Box::new(evaluator));
        self
    }

    /// Adds evaluators, e.g. built with [`evaluators!`](crate::evaluators!).
    pub fn evaluators(mut self, evaluators: EvaluatorList<I, O>) -> Self {
        self.evaluators.extend(evaluators);
        self
    }

    /// Most datapoint functions running at once (default [`DEFAULT_MAX_CONCURRENCY`]; at
    /// least 1).
    ///
    /// A datapoint's evaluators run after its function has given its place to the next
    /// datapoint (they are bounded by [`evaluator_concurrency`](Self::evaluator_concurrency)),
    /// and up to as many datapoints again may be starting their sessions or finishing: at
    /// most twice this many datapoints are in flight.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }

    /// Most evaluator calls in flight at once across the run (default
    /// [`DEFAULT_EVALUATOR_CONCURRENCY`]; at least 1).
    pub fn evaluator_concurrency(mut self, n: usize) -> Self {
        self.evaluator_concurrency = n.max(1);
        self
    }

    /// Runs every datapoint `n` times, each in its own session (default 1).
    pub fn repetitions(mut self, n: u32) -> Self {
        self.repetitions = n.max(1);
        self
    }

    /// Longest one datapoint's function may take; a datapoint that takes longer fails and
    /// its spans end marked cancelled.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Longest one evaluator call may take, unless the evaluator sets its own (default
    /// [`DEFAULT_EVALUATOR_TIMEOUT`]).
    pub fn evaluator_timeout(mut self, timeout: Duration) -> Self {
        self.evaluator_timeout = timeout;
        self
    }

    /// A threshold on a metric's mean: the report's [`check`](ExperimentReport::check)
    /// fails when it is missed.
    ///
    /// `metric` is the metric's name as the summary table prints it: an evaluator's
    /// [`name`](Evaluator::name) (`exact_match` for `ExactMatch`, an `#[evaluator]`'s
    /// `name = ".."`), or `<metric>_<key>` for an extra score an evaluator reports with
    /// [`Score::extra`](crate::Score::extra). A name that is neither stops the run before
    /// any datapoint runs: [`run`](Self::run) returns [`Error::UnknownMetric`](crate::Error::UnknownMetric)
    /// listing the experiment's metrics. An extra that no datapoint reports fails its
    /// threshold after the run.
    pub fn threshold(
        mut self,
        metric: impl Into<String>,
        comparison: Comparison,
        value: f64,
    ) -> Self {
        self.thresholds
            .push(Threshold::new(metric, comparison, value));
        self
    }

    /// The run this one is compared with (what `HH_BASELINE` names otherwise): a run's
    /// folder or its `summary.json`, a baseline file (say `evals/baselines/qa.json`,
    /// committed), `last` (the previous run of this experiment in the local store), or a
    /// run id (of the local store, or, connected, of HoneyHive). Relative paths resolve
    /// against `CARGO_MANIFEST_DIR`; `{name}` stands for the experiment's name.
    ///
    /// With a baseline the summary shows each metric's change and how many datapoints
    /// improved, regressed, are new or gone, the report marks what changed, and the
    /// [`regression`](Self::regression) gates are checked. A baseline that is not there
    /// stops the run before any datapoint, naming where it looked, unless the run is to
    /// write it ([`update_baseline`](Self::update_baseline)).
    pub fn baseline(mut self, baseline: impl Into<String>) -> Self {
        self.baseline = Some(baseline.into());
        self
    }

    /// Whether to write this run as the baseline (at the path [`baseline`](Self::baseline)
    /// names) once its checks pass; by default `HH_UPDATE_BASELINE=1` says. The
    /// regression gates are still computed and shown, but do not fail the run: writing the
    /// baseline accepts the change. A run of part of the dataset (`HH_LIMIT`, `HH_SAMPLE`,
    /// a shard) is not written as a baseline.
    pub fn update_baseline(mut self, update: bool) -> Self {
        self.update_baseline = Some(update);
        self
    }

    /// A regression gate against the baseline (see [`Regression`]): the report's
    /// [`check`](ExperimentReport::check) fails when the metric's mean got worse by more
    /// than the tolerance over the datapoints of both runs *and* the exact sign test at the
    /// 5% level says it is not noise (see [`SIGNIFICANCE_LEVEL`]). The metric is named as a
    /// [`threshold`](Self::threshold)'s is, and checked the same way before any datapoint
    /// runs. Without a baseline the gate is not checked (the summary says so).
    pub fn regression(mut self, gate: Regression) -> Self {
        self.regressions.push(gate);
        self
    }

    /// Runs only the first `n` datapoints (of the shard, if sharded); by default `HH_LIMIT`
    /// says. The summary and the report say the run covered part of the dataset.
    pub fn limit(mut self, n: usize) -> Self {
        self.choice = Some(subset::Choice::Limit(n.max(1)));
        self
    }

    /// Runs `n` datapoints drawn at random (in dataset order, seeded by
    /// [`seed`](Self::seed)); by default `HH_SAMPLE` says.
    pub fn sample(mut self, n: usize) -> Self {
        self.choice = Some(subset::Choice::Sample(n.max(1)));
        self
    }

    /// Runs again only the datapoints that failed or erred in the baseline (else the
    /// previous run of this experiment), and takes the others' results from it, so the new
    /// run is complete; by default `HH_RERUN=failed` says.
    pub fn rerun_failed(mut self) -> Self {
        self.choice = Some(subset::Choice::RerunFailed);
        self
    }

    /// The seed of [`sample`](Self::sample) and of the regression gates' bootstrap
    /// interval; by default `HH_SEED`, else [`DEFAULT_SEED`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How HoneyHive aggregates each metric over the run (default
    /// [`AggregateFunction::Average`]): sent with the run and with the request for its
    /// results, whose aggregates the report's [`server_view`](ExperimentReport::server_view)
    /// holds. The local summary's statistics are the same whatever it is.
    pub fn aggregate_function(mut self, function: AggregateFunction) -> Self {
        self.aggregate_function = function;
        self
    }

    /// How many datapoints may fail (their function errs, panics or times out) without
    /// failing the run (default 0).
    pub fn allow_failures(mut self, n: usize) -> Self {
        self.allow_failures = n;
        self
    }

    /// How many datapoints each evaluator may leave unscored without failing the run
    /// (default 0). A datapoint on which every call of an evaluator erred, panicked or
    /// timed out has no score for its metric: it does not count towards the mean, and
    /// beyond this many the report's [`check`](ExperimentReport::check) fails, naming the
    /// evaluator and how many datapoints it could not score, threshold or not.
    pub fn allow_evaluator_errors(mut self, n: usize) -> Self {
        self.allow_evaluator_errors = n;
        self
    }

    /// The configuration (API key, project, ...); by default it comes from the
    /// environment.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Where environment variables come from (`HH_*`, including `HH_RUN_ID` and
    /// `HH_SHARD`); by default the process environment.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The local store directory (sessions and spans without an API key, and run reports).
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }

    /// Runs only shard `shard` (see [`Shard`]); by default `HH_SHARD` decides.
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// No progress bar and no summary table (the report is still returned and written).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Checks every datapoint's ground truth against `G` before the run (what
    /// `#[experiment(ground_truth = G)]` does).
    pub fn ground_truth<G: DeserializeOwned>(mut self) -> Self {
        fn check<G: DeserializeOwned>(
            value: Option<&serde_json::Value>,
        ) -> std::result::Result<(), String> {
            crate::evaluator::ground_truth::<G>(value, false).map(drop)
        }
        self.ground_truth_check = Some((std::any::type_name::<G>(), check::<G>));
        self
    }

    /// Runs `f` (an async fn or closure returning the output) over the dataset. Await it in
    /// a Tokio runtime: the datapoints run as tasks of that runtime, in parallel on a
    /// multi-thread one.
    ///
    /// # Errors
    /// Problems that stop the run before it starts: a threshold that names no metric, the
    /// configuration, the dataset
    /// (missing, malformed, or datapoints that do not fit `I` or an evaluator's ground
    /// truth; a hosted dataset that cannot be fetched). Failures of datapoints and
    /// evaluators are in the report, not errors, and so is what HoneyHive did not receive
    /// ([`ExperimentReport::undelivered`]).
    pub async fn run<F, Fut>(self, f: F) -> Result<ExperimentReport>
    where
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
    {
        let task: TaskFn<I, O> = Arc::new(move |input| {
            let fut = f(input);
            Box::pin(async move { Ok(fut.await) })
        });
        runner::run(self, task).await
    }

    /// Like [`run`](Self::run), for a function returning `Result<O, E>`: an `Err` fails that
    /// datapoint (see [`allow_failures`](Self::allow_failures)) with the error's text.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn try_run<F, Fut, E>(self, f: F) -> Result<ExperimentReport>
    where
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<O, E>> + Send + 'static,
        E: fmt::Display,
    {
        let task: TaskFn<I, O> = Arc::new(move |input| {
            let fut = f(input);
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        runner::run(self, task).await
    }
}
