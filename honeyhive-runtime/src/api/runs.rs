//! Experiment runs on HoneyHive (`docs/honeyhive-api.md`): the bodies of `POST /v1/runs` and
//! `PUT /v1/runs/{id}`, the server's views of a run (`/result`, `/compare-with`), hosted
//! dataset lookups, and the git state recorded with a run.
//!
//! Requests are typed strictly and built through constructors that apply the API's rules
//! (an external `EXT-` dataset id never goes into `dataset_id`). Responses are read
//! tolerantly: unknown fields are ignored and missing or oddly shaped optional fields take
//! their defaults, because a result view is informational and must not break an experiment
//! when the backend adds or reshapes a field.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use http::Method;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::api::client::{ApiClient, http_client};
use crate::config::Audience;
use crate::{Config, Error, Result};

// A path relative to `src/` so that rustfmt, given this file alone, finds the tests too.
#[cfg(test)]
#[path = "runs/tests.rs"]
mod tests;

/// Prefix of dataset ids computed or chosen on the client (`docs/external-ids.md`).
const EXTERNAL_ID_PREFIX: &str = "EXT-";

/// How the backend aggregates a metric over a run's datapoints: sent as
/// `configuration.aggregate_function` of `POST /v1/runs` and as `?aggregate_function=` of
/// the result and comparison views (the reference SDK's choices).
///
/// ```
/// use honeyhive::runs::AggregateFunction;
///
/// assert_eq!(AggregateFunction::default(), AggregateFunction::Average);
/// assert_eq!(AggregateFunction::from_name("max"), Some(AggregateFunction::Max));
/// assert_eq!(AggregateFunction::Sum.as_str(), "sum");
/// assert_eq!(serde_json::to_value(AggregateFunction::Min).unwrap(), "min");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregateFunction {
    /// The mean of the values (the default).
    #[default]
    Average,
    /// Their sum.
    Sum,
    /// The lowest value.
    Min,
    /// The highest value.
    Max,
}

impl AggregateFunction {
    /// The names accepted by [`from_name`](Self::from_name), as sent.
    pub const NAMES: [&'static str; 4] = ["average", "sum", "min", "max"];

    /// The function named `name` (one of [`NAMES`](Self::NAMES)).
    pub fn from_name(name: &str) -> Option<AggregateFunction> {
        match name {
            "average" => Some(AggregateFunction::Average),
            "sum" => Some(AggregateFunction::Sum),
            "min" => Some(AggregateFunction::Min),
            "max" => Some(AggregateFunction::Max),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateFunction::Average => "average",
            AggregateFunction::Sum => "sum",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
        }
    }
}

impl std::fmt::Display for AggregateFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `dataset_id` names a dataset kept outside HoneyHive (`EXT-...`), which the backend
/// does not know and must only see as `metadata.offline_dataset_id`.
///
/// ```
/// use honeyhive::runs::is_external_dataset_id;
///
/// assert!(is_external_dataset_id("EXT-8861a957df7dd383"));
/// assert!(!is_external_dataset_id("663a1f2e9c0d4b0012345678"));
/// ```
pub fn is_external_dataset_id(dataset_id: &str) -> bool {
    dataset_id.starts_with(EXTERNAL_ID_PREFIX)
}

/// Where a run's dataset id goes: `(dataset_id, metadata.offline_dataset_id)`.
///
/// The backend has a foreign key on `dataset_id`, so an external id there would make it
/// reject the run; only managed ids (from `GET /v1/datasets`) may go there.
fn place_dataset_id(dataset_id: Option<&str>) -> (Option<String>, Option<String>) {
    match dataset_id.filter(|id| !id.is_empty()) {
        Some(id) if is_external_dataset_id(id) => (None, Some(id.to_owned())),
        Some(id) => (Some(id.to_owned()), None),
        None => (None, None),
    }
}

/// Status of a run, as sent in `POST /v1/runs` (`pending`) and `PUT /v1/runs/{id}`
/// (`completed` or `failed`).
///
/// ```
/// use honeyhive::runs::RunStatus;
///
/// assert_eq!(serde_json::to_value(RunStatus::Failed).unwrap(), "failed");
/// assert_eq!(RunStatus::Completed.as_str(), "completed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Created, datapoints not all evaluated yet.
    Pending,
    /// Every datapoint was evaluated and the run counts as passed.
    Completed,
    /// The run failed (for example: datapoints failed and failures fail the run).
    Failed,
}

impl RunStatus {
    /// The wire name: `pending`, `completed` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }
}

/// `configuration` of `POST /v1/runs`: how the experiment was run.
///
/// ```
/// use honeyhive::runs::RunConfiguration;
///
/// use honeyhive::runs::AggregateFunction;
///
/// let configuration = RunConfiguration::new("answer", vec!["exact_match".into()], 4);
/// assert_eq!(configuration.aggregate_function, AggregateFunction::Average);
/// let body = serde_json::to_value(configuration.aggregate_function(AggregateFunction::Max)).unwrap();
/// assert_eq!(body["aggregate_function"], "max");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfiguration {
    /// Name of the function under test.
    pub function: String,
    /// Names of the evaluators, in the order they run.
    pub evaluators: Vec<String>,
    /// Datapoints evaluated concurrently at most.
    pub max_workers: usize,
    /// How the backend aggregates the run's metrics.
    pub aggregate_function: AggregateFunction,
}

impl RunConfiguration {
    /// A configuration aggregating metrics with [`AggregateFunction::Average`].
    pub fn new(function: impl Into<String>, evaluators: Vec<String>, max_workers: usize) -> Self {
        RunConfiguration {
            function: function.into(),
            evaluators,
            max_workers,
            aggregate_function: AggregateFunction::default(),
        }
    }

    /// Aggregates the run's metrics with `function`.
    #[must_use]
    pub fn aggregate_function(mut self, function: AggregateFunction) -> Self {
        self.aggregate_function = function;
        self
    }
}

/// `metadata` of `POST /v1/runs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct CreateMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<GitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offline_dataset_id: Option<String>,
}

/// The body of `POST /v1/runs`: a new run in status `pending`, with no sessions yet.
///
/// The dataset id is placed by [`RunCreate::new`]: an external id (`EXT-...`) goes to
/// `metadata.offline_dataset_id` and `dataset_id` is left out; a managed id goes to
/// `dataset_id`.
///
/// ```
/// use honeyhive::runs::{RunConfiguration, RunCreate};
///
/// let configuration = RunConfiguration::new("answer", vec![], 1);
/// let run = RunCreate::new("nightly", Some("EXT-8861a957df7dd383"), vec![], configuration)
///     .with_run_id("run-1");
/// let body = serde_json::to_value(&run).unwrap();
/// assert_eq!(body["metadata"]["offline_dataset_id"], "EXT-8861a957df7dd383");
/// assert!(body.get("dataset_id").is_none());
/// assert_eq!(body["status"], "pending");
/// assert_eq!(body["run_id"], "run-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunCreate {
    run_id: String,
    name: String,
    status: RunStatus,
    event_ids: Vec<String>,
    datapoint_ids: Vec<String>,
    configuration: RunConfiguration,
    metadata: CreateMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_id: Option<String>,
}

impl RunCreate {
    /// A pending run named `name` over `datapoint_ids` of the dataset `dataset_id` (none for
    /// data that has no dataset id), with a fresh UUID v4 run id.
    pub fn new(
        name: impl Into<String>,
        dataset_id: Option<&str>,
        datapoint_ids: Vec<String>,
        configuration: RunConfiguration,
    ) -> Self {
        let (dataset_id, offline_dataset_id) = place_dataset_id(dataset_id);
        RunCreate {
            run_id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            status: RunStatus::Pending,
            event_ids: Vec::new(),
            datapoint_ids,
            configuration,
            metadata: CreateMetadata {
                git: None,
                offline_dataset_id,
            },
            dataset_id,
        }
    }

    /// Uses `run_id` instead of the generated one.
    #[must_use]
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// Records the git state of the code under test in `metadata.git` (nothing for `None`).
    #[must_use]
    pub fn with_git(mut self, git: Option<GitInfo>) -> Self {
        self.metadata.git = git;
        self
    }

    /// The run id sent to the backend.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The managed dataset id sent as `dataset_id`, if any.
    pub fn dataset_id(&self) -> Option<&str> {
        self.dataset_id.as_deref()
    }

    /// The external dataset id sent as `metadata.offline_dataset_id`, if any.
    pub fn offline_dataset_id(&self) -> Option<&str> {
        self.metadata.offline_dataset_id.as_deref()
    }
}

/// `metadata` of `PUT /v1/runs/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct UpdateMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    offline_dataset_id: Option<String>,
}

/// The body of `PUT /v1/runs/{id}` that finishes a run: its final status and every session
/// id of the run.
///
/// ```
/// use honeyhive::runs::{RunStatus, RunUpdate};
///
/// let update = RunUpdate::new(
///     "nightly",
///     RunStatus::Failed,
///     vec!["session-1".into()],
///     Some("EXT-8861a957df7dd383"),
/// );
/// let body = serde_json::to_value(&update).unwrap();
/// assert_eq!(body["status"], "failed");
/// assert_eq!(body["event_ids"][0], "session-1");
/// assert_eq!(body["metadata"]["offline_dataset_id"], "EXT-8861a957df7dd383");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunUpdate {
    name: String,
    status: RunStatus,
    event_ids: Vec<String>,
    metadata: UpdateMetadata,
}

impl RunUpdate {
    /// Finishes the run `name` with `status` and the session ids `event_ids`. An external
    /// `dataset_id` is repeated as `metadata.offline_dataset_id` (a managed one is already on
    /// the run and is not sent again).
    pub fn new(
        name: impl Into<String>,
        status: RunStatus,
        event_ids: Vec<String>,
        dataset_id: Option<&str>,
    ) -> Self {
        let (_, offline_dataset_id) = place_dataset_id(dataset_id);
        RunUpdate {
            name: name.into(),
            status,
            event_ids,
            metadata: UpdateMetadata { offline_dataset_id },
        }
    }

    /// The final status.
    pub fn status(&self) -> RunStatus {
        self.status
    }

    /// The session ids of the run.
    pub fn event_ids(&self) -> &[String] {
        &self.event_ids
    }
}

/// The server's view of a finished run: `GET /v1/runs/{id}/result?aggregate_function=average`.
///
/// ```
/// use honeyhive::runs::RunResult;
/// use serde_json::json;
///
/// let result: RunResult = serde_json::from_value(json!({
///     "status": "completed",
///     "success": true,
///     "passed": ["dp-1"],
///     "metrics": {"aggregation_function": "average",
///                 "details": [{"metric_name": "accuracy", "aggregate": 0.5, "values": [0, 1]}]},
///     "datapoints": [{"datapoint_id": "dp-1", "metrics": {"accuracy": 1}, "passed": true}],
///     "something_new": 1
/// }))
/// .unwrap();
/// assert_eq!(result.metric("accuracy").unwrap().aggregate, Some(0.5));
/// assert!(result.failed.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunResult {
    /// The run id, when the server repeats it.
    #[serde(deserialize_with = "lenient")]
    pub run_id: Option<String>,
    /// The run status (`pending`, `completed`, `failed`, ...).
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// The server's overall verdict.
    #[serde(deserialize_with = "lenient")]
    pub success: Option<bool>,
    /// Ids of the datapoints that passed.
    #[serde(deserialize_with = "lenient_ids")]
    pub passed: Vec<String>,
    /// Ids of the datapoints that failed.
    #[serde(deserialize_with = "lenient_ids")]
    pub failed: Vec<String>,
    /// The metrics aggregated over the run.
    #[serde(deserialize_with = "lenient")]
    pub metrics: AggregatedMetrics,
    /// One entry per datapoint (session) of the run.
    #[serde(deserialize_with = "lenient_vec")]
    pub datapoints: Vec<DatapointResult>,
}

impl RunResult {
    /// The aggregated metric `name`, if the server reported it.
    pub fn metric(&self, name: &str) -> Option<&MetricDetail> {
        self.metrics.details.iter().find(|m| m.metric_name == name)
    }
}

/// `metrics` of a [`RunResult`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AggregatedMetrics {
    /// The aggregate function the server applied (`average`, ...).
    #[serde(deserialize_with = "lenient")]
    pub aggregation_function: Option<String>,
    /// One entry per metric.
    #[serde(deserialize_with = "lenient_vec")]
    pub details: Vec<MetricDetail>,
}

/// One aggregated metric of a [`RunResult`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricDetail {
    /// The metric name (`name` is accepted too).
    #[serde(alias = "name", deserialize_with = "lenient")]
    pub metric_name: String,
    /// `numeric`, `boolean`, ... when the server says.
    #[serde(deserialize_with = "lenient")]
    pub metric_type: Option<String>,
    /// Name of the event the metric was recorded on, when the server says.
    #[serde(deserialize_with = "lenient")]
    pub event_name: Option<String>,
    /// Type of that event, when the server says.
    #[serde(deserialize_with = "lenient")]
    pub event_type: Option<String>,
    /// The aggregate as a number (`true` = 1.0, `false` = 0.0); `None` when the server sent
    /// none or something that is not a score.
    #[serde(deserialize_with = "lenient_score")]
    pub aggregate: Option<f64>,
    /// The individual values, as sent.
    #[serde(deserialize_with = "lenient")]
    pub values: Vec<Value>,
    /// Which datapoints passed and failed on this metric.
    #[serde(deserialize_with = "lenient")]
    pub datapoints: MetricDatapoints,
}

/// Datapoint ids that passed and failed one metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricDatapoints {
    /// Ids of the datapoints that passed.
    #[serde(deserialize_with = "lenient_ids")]
    pub passed: Vec<String>,
    /// Ids of the datapoints that failed.
    #[serde(deserialize_with = "lenient_ids")]
    pub failed: Vec<String>,
}

/// One datapoint of a [`RunResult`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatapointResult {
    /// The datapoint id.
    #[serde(deserialize_with = "lenient")]
    pub datapoint_id: Option<String>,
    /// The session that evaluated it.
    #[serde(deserialize_with = "lenient")]
    pub session_id: Option<String>,
    /// Whether it passed.
    #[serde(deserialize_with = "lenient")]
    pub passed: Option<bool>,
    /// Its metrics by name: read from an object, or from a list of `{"name", "value"}`.
    #[serde(deserialize_with = "lenient_metrics")]
    pub metrics: BTreeMap<String, Value>,
}

/// Two runs compared by the server:
/// `GET /v1/runs/{new}/compare-with/{old}?aggregate_function=average`.
///
/// ```
/// use honeyhive::runs::RunComparison;
/// use serde_json::json;
///
/// let comparison: RunComparison = serde_json::from_value(json!({
///     "metrics": [{"metric_name": "accuracy", "old_aggregate": 0.5, "new_aggregate": 0.75,
///                  "improved": ["dp-2"], "improved_count": 1}],
///     "commonDatapoints": ["dp-1", "dp-2"]
/// }))
/// .unwrap();
/// assert_eq!(comparison.metric("accuracy").unwrap().delta(), Some(0.25));
/// assert_eq!(comparison.common_datapoints.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunComparison {
    /// One entry per metric.
    #[serde(deserialize_with = "lenient_vec")]
    pub metrics: Vec<MetricComparison>,
    /// Ids of the datapoints both runs evaluated.
    #[serde(
        rename = "commonDatapoints",
        alias = "common_datapoints",
        deserialize_with = "lenient_ids"
    )]
    pub common_datapoints: Vec<String>,
    /// The old run, as the server describes it.
    #[serde(deserialize_with = "lenient")]
    pub old_run: Option<Value>,
    /// The new run, as the server describes it.
    #[serde(deserialize_with = "lenient")]
    pub new_run: Option<Value>,
}

impl RunComparison {
    /// The comparison of metric `name`, if the server reported it.
    pub fn metric(&self, name: &str) -> Option<&MetricComparison> {
        self.metrics.iter().find(|m| m.metric_name == name)
    }

    /// The metrics whose aggregate rose in the new run (a higher score is better, as the
    /// server counts improved datapoints), in the server's order.
    pub fn improved_metrics(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics
            .iter()
            .filter(|m| m.delta().is_some_and(|d| d > 0.0))
    }

    /// The metrics whose aggregate fell in the new run, in the server's order.
    pub fn degraded_metrics(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics
            .iter()
            .filter(|m| m.delta().is_some_and(|d| d < 0.0))
    }
}

/// Compares run `new` with run `old` as HoneyHive computes it
/// (`GET /v1/runs/{new}/compare-with/{old}`), with the configuration of the environment
/// (`HH_API_KEY`, `HH_API_URL`) and metrics aggregated by their average: per metric the
/// old and new aggregates ([`MetricComparison::delta`]) and which common datapoints
/// improved, degraded or stayed the same. It needs a tokio runtime and the project key
/// (`HH_API_KEY`): runs belong to a project.
///
/// ```no_run
/// # async fn demo() -> honeyhive::Result<()> {
/// let comparison = honeyhive::runs::compare("run-new", "run-old").await?;
/// for metric in comparison.degraded_metrics() {
///     eprintln!(
///         "{} fell by {:.3} on {} datapoint(s): {:?}",
///         metric.metric_name,
///         -metric.delta().unwrap_or_default(),
///         metric.degraded.len(),
///         metric.degraded
///     );
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::Config`] without a project key or with a malformed configuration;
/// [`Error::Api`] when the backend refuses (an unknown run id) or cannot be reached.
pub async fn compare(new: &str, old: &str) -> Result<RunComparison> {
    compare_with(&Config::from_env()?, new, old, AggregateFunction::Average).await
}

/// [`compare`] with an explicit configuration and aggregate function.
///
/// # Errors
/// As [`compare`].
pub async fn compare_with(
    config: &Config,
    new: &str,
    old: &str,
    aggregate: AggregateFunction,
) -> Result<RunComparison> {
    ApiClient::for_config(config)?
        .compare_runs(new, old, aggregate)
        .await
}

/// One metric of a [`RunComparison`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricComparison {
    /// The metric name (`name` is accepted too).
    #[serde(alias = "name", deserialize_with = "lenient")]
    pub metric_name: String,
    /// `numeric`, `boolean`, ... when the server says.
    #[serde(deserialize_with = "lenient")]
    pub metric_type: Option<String>,
    /// The aggregate in the old run.
    #[serde(deserialize_with = "lenient_score")]
    pub old_aggregate: Option<f64>,
    /// The aggregate in the new run.
    #[serde(deserialize_with = "lenient_score")]
    pub new_aggregate: Option<f64>,
    /// Common datapoints that have this metric in both runs.
    #[serde(deserialize_with = "lenient")]
    pub found_count: Option<u64>,
    /// How many common datapoints scored higher in the new run.
    #[serde(deserialize_with = "lenient")]
    pub improved_count: Option<u64>,
    /// How many common datapoints scored lower in the new run.
    #[serde(deserialize_with = "lenient")]
    pub degraded_count: Option<u64>,
    /// How many common datapoints scored the same.
    #[serde(deserialize_with = "lenient")]
    pub same_count: Option<u64>,
    /// Ids of the datapoints that scored higher in the new run.
    #[serde(deserialize_with = "lenient_ids")]
    pub improved: Vec<String>,
    /// Ids of the datapoints that scored lower in the new run.
    #[serde(deserialize_with = "lenient_ids")]
    pub degraded: Vec<String>,
    /// Ids of the datapoints that scored the same.
    #[serde(deserialize_with = "lenient_ids")]
    pub same: Vec<String>,
}

impl MetricComparison {
    /// `new_aggregate - old_aggregate`, when both are known.
    pub fn delta(&self) -> Option<f64> {
        Some(self.new_aggregate? - self.old_aggregate?)
    }
}

/// A hosted dataset as `GET /v1/datasets?dataset_id=<id>` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostedDatasetInfo {
    /// The managed dataset id (`_id` is accepted too).
    #[serde(alias = "_id", deserialize_with = "lenient")]
    pub id: String,
    /// The dataset name.
    #[serde(deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Ids of its datapoints, in dataset order.
    #[serde(deserialize_with = "lenient_ids")]
    pub datapoints: Vec<String>,
}

/// The git state of the code under test, recorded as `metadata.git` of a run.
///
/// ```
/// use honeyhive::runs::GitInfo;
///
/// // `None` outside a git checkout or without a `git` binary; never an error.
/// let git = GitInfo::collect(std::env::temp_dir().join("surely-not-a-checkout"));
/// assert!(git.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Full hash of `HEAD`.
    pub commit_hash: String,
    /// Abbreviated hash of `HEAD`, as git abbreviates it.
    pub commit_hash_short: String,
    /// The current branch; `HEAD` when detached (as on many CI checkouts).
    pub branch: String,
    /// The full message of `HEAD`, without trailing newlines.
    pub commit_message: String,
    /// Author name of `HEAD`.
    pub author_name: String,
    /// Author email of `HEAD`.
    pub author_email: String,
    /// URL of the `origin` remote (else of the first remote), with any credentials removed;
    /// `None` without remotes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remote_url: Option<String>,
    /// Whether tracked files have uncommitted changes (untracked files do not count).
    pub is_dirty: bool,
}

impl GitInfo {
    /// The git state of the checkout containing `dir`, found by running the `git` binary;
    /// `None` when `dir` is not in a checkout with at least one commit, or git is not
    /// installed. It blocks while git runs: from async code, call it in
    /// [`spawn_blocking`](crate::spawn_blocking).
    pub fn collect(dir: impl AsRef<Path>) -> Option<GitInfo> {
        let dir = dir.as_ref();
        // The four questions are independent: asked at once, the answer takes one git
        // start-up, not four (about 13 ms in a row, measured).
        let (head, branch, status, remote_url) = std::thread::scope(|scope| {
            let branch = scope.spawn(|| git(dir, &["rev-parse", "--abbrev-ref", "HEAD"]));
            let status =
                scope.spawn(|| git(dir, &["status", "--porcelain", "--untracked-files=no"]));
            let remote = scope.spawn(|| remote_url(dir));
            // One `log` call for everything about HEAD; NUL separates fields because a
            // commit message may contain any other character.
            let head = git(
                dir,
                &[
                    "log",
                    "-1",
                    "--no-show-signature",
                    "--format=%H%x00%h%x00%an%x00%ae%x00%B",
                ],
            );
            let join =
                |h: std::thread::ScopedJoinHandle<'_, Option<String>>| h.join().ok().flatten();
            (head, join(branch), join(status), join(remote))
        });
        let head = head?;
        let mut fields = head.splitn(5, '\0');
        let mut next = || fields.next().map(str::to_owned);
        let commit_hash = next()?.trim().to_owned();
        if commit_hash.is_empty() {
            return None;
        }
        let commit_hash_short = next()?.trim().to_owned();
        let author_name = next()?;
        let author_email = next()?;
        let commit_message = next()?.trim_end().to_owned();
        Some(GitInfo {
            commit_hash,
            commit_hash_short,
            branch: branch
                .map(|b| b.trim().to_owned())
                .unwrap_or_else(|| "HEAD".to_owned()),
            commit_message,
            author_name,
            author_email,
            remote_url,
            is_dirty: status.is_some_and(|status| !status.trim().is_empty()),
        })
    }

    /// [`collect`](Self::collect) for the current directory.
    pub fn current() -> Option<GitInfo> {
        GitInfo::collect(std::env::current_dir().ok()?)
    }
}

/// Runs `git -C dir <args>` and returns its stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Reading state must not take the index lock from a concurrent git of the user's,
        // nor wait for a credential prompt nobody will answer.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The URL of `origin`, else of the first remote, without credentials.
fn remote_url(dir: &Path) -> Option<String> {
    let url = git(dir, &["config", "--get", "remote.origin.url"]).or_else(|| {
        let remotes = git(dir, &["remote"])?;
        let first = remotes.lines().next()?.trim().to_owned();
        git(dir, &["remote", "get-url", &first])
    })?;
    let url = url.trim();
    (!url.is_empty()).then(|| without_credentials(url))
}

/// `url` without the `user:token@` part of a URL-style remote: run metadata is shown to
/// everyone in the project, and CI checkouts often embed a token in the remote.
/// scp-style remotes (`git@host:path`) name only a user and are kept as they are.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// `text` percent-encoded for a path segment or query value: everything but the unreserved
/// characters of RFC 3986 is escaped, so ids with `/`, `?`, `&` or spaces stay one value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `T` from the value, or `T::default()` when it is null or of another shape.
fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// The elements of an array that read as `T`; the others are skipped, so one odd entry does
/// not hide the rest.
fn lenient_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// Ids from an array: strings as they are, numbers in decimal, anything else skipped.
fn lenient_ids<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(id) => Some(id),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A score: a number, a bool (`true` = 1.0) or a numeric string; anything else is `None`.
fn lenient_score<'de, D>(deserializer: D) -> Result<Option<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Metrics by name, from `{"name": value}` or from `[{"name"|"metric_name", "value"}]`.
fn lenient_metrics<'de, D>(deserializer: D) -> Result<BTreeMap<String, Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Object(metrics) => metrics.into_iter().collect(),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| {
                let Value::Object(mut item) = item else {
                    return None;
                };
                let name = match item.remove("name").or_else(|| item.remove("metric_name")) {
                    Some(Value::String(name)) => name,
                    _ => return None,
                };
                Some((name, item.remove("value").unwrap_or(Value::Null)))
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// `Error::UnexpectedResponse` for `path`.
fn unexpected(path: &str, reason: impl Into<String>) -> Error {
    Error::UnexpectedResponse {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// `answer` read as `T` when it is an object, else an error saying it was not `what`.
fn object_answer<T: DeserializeOwned>(path: &str, answer: Value, what: &str) -> Result<T> {
    if !answer.is_object() {
        return Err(unexpected(path, format!("expected {what}, got {answer}")));
    }
    serde_json::from_value(answer).map_err(|e| unexpected(path, format!("expected {what}: {e}")))
}

impl ApiClient {
    /// A client for `config`'s destination, for one-off calls outside a tracer's pipeline
    /// (inside one, use the pipeline's client so connections live on its runtime).
    ///
    /// # Errors
    /// [`Error::Config`] without an API key: there is nobody to call.
    pub(crate) fn for_config(config: &Config) -> Result<ApiClient> {
        if !config.is_connected() {
            return Err(Error::Config(
                "no API key: set HH_API_KEY to call the HoneyHive API".into(),
            ));
        }
        ApiClient::new(http_client(config)?, config)
    }

    /// `POST /v1/runs`; returns the id of the run the backend created (ours unless it
    /// answers with another).
    pub(crate) async fn create_run(&self, run: &RunCreate) -> Result<String> {
        const PATH: &str = "/v1/runs";
        let answer = self
            .send(Audience::Project, Method::POST, PATH, Some(run))
            .await?;
        match answer.get("run_id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            // An answer without an id means the backend kept ours.
            None | Some(Value::Null) if answer.is_object() || answer.is_null() => {
                Ok(run.run_id.clone())
            }
            _ => Err(unexpected(
                PATH,
                format!("expected an object with a string run_id, got {answer}"),
            )),
        }
    }

    /// `PUT /v1/runs/{run_id}`.
    pub(crate) async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<()> {
        let path = format!("/v1/runs/{}", encode(run_id));
        let answer = self
            .send(Audience::Project, Method::PUT, &path, Some(update))
            .await?;
        if answer.is_object() || answer.is_null() {
            Ok(())
        } else {
            Err(unexpected(
                &path,
                format!("expected an object, got {answer}"),
            ))
        }
    }

    /// `GET /v1/runs/{run_id}/result?aggregate_function=<aggregate>`: the object as the
    /// server sent it, checked to be JSON (a report keeps it whole; [`RunResult`] reads it
    /// typed). Why the text: for a run of thousands of datapoints, building it as a
    /// `serde_json::Value` (and reading that into a `RunResult` and back) took longer than
    /// the request.
    pub(crate) async fn run_result(
        &self,
        run_id: &str,
        aggregate: AggregateFunction,
    ) -> Result<Box<RawValue>> {
        let path = format!(
            "/v1/runs/{}/result?aggregate_function={aggregate}",
            encode(run_id)
        );
        let text = self
            .send_for_text(Audience::Project, Method::GET, &path, None::<&()>)
            .await?;
        let answer = RawValue::from_string(text)
            .map_err(|e| unexpected(&path, format!("expected a run result object: {e}")))?;
        if !answer.get().trim_start().starts_with('{') {
            return Err(unexpected(
                &path,
                format!("expected a run result object, got {}", answer.get()),
            ));
        }
        Ok(answer)
    }

    /// `GET /v1/runs/{new}/compare-with/{old}?aggregate_function=<aggregate>`.
    pub(crate) async fn compare_runs(
        &self,
        new: &str,
        old: &str,
        aggregate: AggregateFunction,
    ) -> Result<RunComparison> {
        let path = format!(
            "/v1/runs/{}/compare-with/{}?aggregate_function={aggregate}",
            encode(new),
            encode(old)
        );
        let answer = self
            .send(Audience::Project, Method::GET, &path, None::<&()>)
            .await?;
        object_answer(&path, answer, "a run comparison object")
    }

    /// `GET /v1/datasets?dataset_id=<id>`: the hosted dataset `dataset_id`.
    ///
    /// # Errors
    /// [`Error::Api`] saying the dataset was not found when the backend answers 404 or lists
    /// no dataset with that id; [`Error::UnexpectedResponse`] for other answers it cannot
    /// read.
    pub(crate) async fn dataset(&self, dataset_id: &str) -> Result<HostedDatasetInfo> {
        let path = format!("/v1/datasets?dataset_id={}", encode(dataset_id));
        let not_found = |detail: String| Error::Api {
            method: "GET",
            path: path.clone(),
            reason: format!(
                "no hosted dataset with id {dataset_id:?} ({detail}): check the id on the \
                 project's Datasets page and that HH_API_KEY belongs to that \
                 project"
            ),
        };
        let answer = match self
            .send(Audience::Project, Method::GET, &path, None::<&()>)
            .await
        {
            // The retry layer words a status failure as `HTTP <code> ...`.
            Err(Error::Api { reason, .. }) if reason.starts_with("HTTP 404") => {
                return Err(not_found(reason));
            }
            other => other?,
        };
        // Older backends call the list `testcases`.
        let list = answer.get("datasets").or_else(|| answer.get("testcases"));
        let Some(Value::Array(datasets)) = list else {
            return Err(unexpected(
                &path,
                format!("expected {{\"datasets\": [...]}}, got {answer}"),
            ));
        };
        let mut infos = datasets
            .iter()
            .map(|d| serde_json::from_value::<HostedDatasetInfo>(d.clone()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| unexpected(&path, format!("a dataset entry is not an object: {e}")))?;
        // Ours by id; a backend that does not echo the id must have filtered to one entry.
        let index = match infos.iter().position(|info| info.id == dataset_id) {
            Some(index) => Some(index),
            None if infos.len() == 1 && infos[0].id.is_empty() => Some(0),
            None => None,
        };
        let Some(index) = index else {
            return Err(not_found("the backend lists no such dataset".into()));
        };
        let mut info = infos.swap_remove(index);
        info.id = dataset_id.to_owned();
        Ok(info)
    }

    /// `GET /v1/datapoints/{id}`: the datapoint object (`{"id", "inputs", "ground_truth",
    /// "metadata", ...}`).
    pub(crate) async fn datapoint(&self, datapoint_id: &str) -> Result<Value> {
        let path = format!("/v1/datapoints/{}", encode(datapoint_id));
        let answer = self
            .send(Audience::Project, Method::GET, &path, None::<&()>)
            .await?;
        // The API wraps the datapoint in a one-element list; a bare object is accepted too.
        let datapoint = match answer.get("datapoint") {
            Some(Value::Array(items)) => items.first().cloned(),
            Some(Value::Object(object)) => Some(Value::Object(object.clone())),
            _ => None,
        };
        match datapoint {
            Some(Value::Object(object)) => Ok(Value::Object(object)),
            _ => Err(unexpected(
                &path,
                format!("expected {{\"datapoint\": [{{...}}]}}, got {answer}"),
            )),
        }
    }
}
