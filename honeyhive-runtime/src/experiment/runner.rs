//! The run: dataset, run creation, datapoints in parallel, export, run completion, report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::baseline::{self, Found, Request};
use super::datapoint::{self, Details, Shared, Work};
use super::output;
use super::progress::Progress;
use super::recorder::Recorder;
use super::report::{DatapointResult, ExperimentReport};
use super::subset::{self, Item};
use super::{DatasetSource, Experiment, Shard, TaskFn, UnknownMetric, regression};
use crate::api::runs::{GitInfo, RunConfiguration, RunCreate, RunStatus, RunUpdate};
use crate::dataset::Dataset;
use crate::dataset::validate::{check_inputs, read_as, type_error};
use crate::export::pipeline::RemoteApi;
use crate::{Config, Environment, Error, Evaluator, Result, Warning};

/// Source label of every experiment session (`docs/honeyhive-api.md`).
const EVALUATION_SOURCE: &str = "evaluation";

pub(crate) async fn run<I, O>(
    mut experiment: Experiment<I, O>,
    task: TaskFn<I, O>,
) -> Result<ExperimentReport>
where
    I: DeserializeOwned + Send + Sync + 'static,
    O: Serialize + Send + Sync + 'static,
{
    let started = Instant::now();
    // A threshold on no metric is a mistake in the code: reported before anything else.
    // (The names are the run's evaluator names on HoneyHive too.)
    let metrics: Vec<String> = experiment
        .evaluators
        .iter()
        .map(|e| e.name().into_owned())
        .collect();
    UnknownMetric::check(
        "threshold",
        experiment.thresholds.iter().map(|t| t.metric.as_str()),
        &metrics,
    )?;
    UnknownMetric::check(
        "regression",
        experiment.regressions.iter().map(|r| r.metric.as_str()),
        &metrics,
    )?;
    let started_at = crate::report::now_rfc3339();
    let environment = experiment
        .environment
        .clone()
        .unwrap_or_else(Environment::process);
    let request = Request::of(
        &experiment.name,
        experiment.baseline.as_deref(),
        experiment.update_baseline,
        &environment,
    )?;
    let (choice, seed) = subset::choice(experiment.choice, experiment.seed, &environment)?;
    let mut config = match experiment.config.clone() {
        Some(config) => config,
        None => Config::builder().environment(environment.clone()).build()?,
    };
    if let Some(dir) = &experiment.local_dir {
        config.local_dir = dir.clone();
    }
    config.source = EVALUATION_SOURCE.to_owned();
    // A connected experiment creates (or joins) and finishes a run: said before anything
    // runs, not after the datapoints when the run cannot be finished.
    if config.is_connected() && !config.is_disabled() {
        config
            .require_project_key("an experiment (its run is created and finished on HoneyHive)")?;
    }
    let shard = match experiment.shard {
        Some(shard) => Some(shard),
        None => environment
            .get("HH_SHARD")
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<Shard>())
            .transpose()?,
    };

    // The git metadata (of a new run, and of the report) takes a few git processes: asked
    // off the async workers, while the dataset loads and is checked.
    let git = tokio::task::spawn_blocking(git_of_this_process);

    // Holding the destination's pipeline keeps it alive between datapoints (every
    // datapoint's tracer shares it) and lets the run flush it at the end. Its HTTP client
    // makes the run's own calls too (a hosted dataset's as well). HH_DISABLED turns the
    // run's telemetry off as well: it still runs and scores, locally.
    let pipeline = match config.disabled {
        true => None,
        false => Some(crate::trace::tracer::pipeline(&config, false)?),
    };
    let api = pipeline.as_ref().and_then(|p| p.remote_api());
    // Connected, the run's requests go through the outbox: what HoneyHive does not receive
    // is kept in the run's folder, and costs one warning at the end, never the run.
    let outbox = pipeline.as_ref().and_then(|p| p.outbox().cloned());

    if let Some(name) = experiment
        .evaluators
        .iter()
        .map(|e| e.name())
        .find(|name| super::statistics::is_model_metric(name))
    {
        return Err(Error::Config(format!(
            "evaluator `{name}` has the name of a model metric the run computes itself \
             ({}): rename it with #[evaluator(name = \"...\")]",
            super::statistics::MODEL_METRICS.join(", ")
        )));
    }

    // The baseline is found (and read) before anything runs: one that is not there stops
    // the run now, not after it.
    let found = match &request {
        Some(request) => {
            baseline::find(
                request,
                &experiment.name,
                config.local_dir(),
                api.as_ref(),
                config.base_url(),
                experiment.aggregate_function,
            )
            .await?
        }
        None => Found::default(),
    };

    // Taken, not cloned: a loaded dataset is the largest thing a run holds.
    let dataset = Arc::new(load(experiment.dataset.take(), &config, api.as_ref()).await?);
    let work = prepare(&dataset, &experiment, shard)?;
    // A rerun takes what it does not run from the baseline, else from the previous run.
    let last = match (choice, &found.baseline) {
        (subset::Choice::RerunFailed, None) => baseline::last_run(
            &experiment.name,
            config.local_dir(),
            config.run_id.as_deref(),
        )?
        .map(|dir| baseline::read(baseline::LAST, &dir.join("summary.json")))
        .transpose()?,
        _ => None,
    };
    let (items, chosen) = subset::apply(
        work,
        choice,
        seed,
        &dataset,
        found.baseline.as_ref().or(last.as_ref()),
    )?;
    drop(last);
    // The datapoints this run could have covered, when not all: datapoints of the baseline
    // outside them are not gone, only not run.
    let covered: Option<std::collections::HashSet<String>> =
        (shard.is_some() || chosen.as_ref().is_some_and(|s| !s.complete())).then(|| {
            items
                .iter()
                .map(|i| dataset.datapoints()[i.identity().0].id().to_owned())
                .collect()
        });
    let git = git.await.ok().flatten();

    // Join the run named by HH_RUN_ID, or create one (locally: just an id).
    let function = experiment.name.clone();
    let run_id = match (config.run_id.clone(), &outbox) {
        (Some(id), _) => id,
        (None, None) => uuid::Uuid::new_v4().to_string(),
        (None, Some(outbox)) => {
            let datapoint_ids: Vec<String> = dataset
                .datapoints()
                .iter()
                .map(|d| d.id().to_owned())
                .collect();
            let body = RunCreate::new(
                experiment.name.clone(),
                Some(dataset.id()),
                datapoint_ids,
                RunConfiguration::new(function, metrics, experiment.max_concurrency)
                    .aggregate_function(experiment.aggregate_function),
            )
            .with_git(git.clone());
            outbox.create_run(body).await
        }
    };
    if let Some(outbox) = &outbox {
        outbox.claim_run(&run_id);
    }
    let shared = Arc::new(Shared {
        name: experiment.name.clone(),
        config: config.clone(),
        run_id: run_id.clone(),
        dataset: Arc::clone(&dataset),
        task,
        collect_trace: experiment.evaluators.iter().any(|e| e.params().trace),
        evaluators: experiment.evaluators,
        evaluator_permits: Semaphore::new(experiment.evaluator_concurrency),
        running: Semaphore::new(experiment.max_concurrency),
        timeout: experiment.timeout,
        evaluator_timeout: experiment.evaluator_timeout,
    });

    // Results leave memory as they finish: each goes to the report's `datapoints.jsonl`
    // and to the run's stored results (what the report reads back), once every earlier
    // one has (dataset order). Only counts, sums and a few failures stay in memory.
    let dir = crate::local_store::run_dir(config.local_dir(), &run_id);
    let writer = match output::DatapointsWriter::create(&dir) {
        Ok(w) => Some(w),
        Err(e) => {
            warn_report(&config, &run_id, &e);
            None
        }
    };
    let (recorder, error) = Recorder::new(
        config.local_dir(),
        &experiment.thresholds,
        experiment.allow_evaluator_errors,
    );
    if let Some(e) = error {
        warn_results(&config, &run_id, &e);
    }

    // Datapoints run as tasks of the caller's runtime, so they use all its workers. Up to
    // `max_concurrency` run their function at once (`Shared::running`); as many more may
    // be starting their sessions meanwhile, so a session start's round trip is not on the
    // critical path of every datapoint.
    let to_run = items.iter().filter(|i| matches!(i, Item::Run(_))).count();
    let progress = Progress::new(&experiment.name, to_run, experiment.quiet);
    let permits = Arc::new(Semaphore::new(experiment.max_concurrency.saturating_mul(2)));
    let identities: Vec<(usize, u32)> = items.iter().map(Item::identity).collect();
    let mut tasks = tokio::task::JoinSet::new();
    let mut sink = Sink {
        dataset: &dataset,
        identities: &identities,
        waiting: BTreeMap::new(),
        next: 0,
        writer,
        recorder,
        session_ids: api.as_ref().map(|_| Vec::with_capacity(identities.len())),
        progress: &progress,
        config: &config,
        run_id: &run_id,
    };
    for (slot, item) in items.into_iter().enumerate() {
        let item = match item {
            Item::Run(work) => work,
            // Taken from an earlier run (`HH_RERUN=failed`): stored in its place as it is.
            Item::Merged(merged) => {
                let (result, details) = *merged;
                sink.accept(slot, result, &details);
                continue;
            }
        };
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Background("the experiment's scheduler closed".into()))?;
        let shared = shared.clone();
        tasks.spawn(async move {
            let (result, details) = datapoint::run(shared, item).await;
            drop(permit);
            (slot, result, details)
        });
        while let Some(done) = tasks.try_join_next() {
            sink.collect(done);
        }
    }
    while let Some(done) = tasks.join_next().await {
        sink.collect(done);
    }
    progress.finish();
    let (writer, recorder, session_ids) = sink.finish();
    drop(identities);
    drop(shared);
    // Every datapoint is done: the dataset goes before the reports are written (reading
    // the run's files back takes memory of its own), all but its id and file.
    let dataset_id = dataset.id().to_owned();
    let dataset_path = dataset.path().map(Path::to_owned);
    drop(dataset);
    let (recorded, error) = recorder.finish();
    if let Some(e) = error {
        warn_results(&config, &run_id, &e);
    }

    // Every span and session update of the run is exported before the run is finished.
    // Flushing blocks, so it runs off the async workers.
    let flusher = pipeline.clone();
    let timeout = config.export.flush_timeout;
    let flushed = tokio::task::spawn_blocking(move || match flusher {
        // The run's own undelivered telemetry is reported below, once.
        Some(p) => p.flush(timeout, false),
        None => Ok(()),
    })
    .await;
    match flushed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => config.warnings().emit(Warning::UpdateFailed {
            what: format!("export of run {run_id}"),
            reason: e.to_string(),
        }),
        Err(e) => config.warnings().emit(Warning::UpdateFailed {
            what: format!("export of run {run_id}"),
            reason: format!("the flush task failed: {e}"),
        }),
    }

    let mut report = ExperimentReport::of_run(
        experiment.name.clone(),
        run_id.clone(),
        dataset_id.clone(),
        experiment.allow_failures,
        experiment.allow_evaluator_errors,
        recorded,
    );
    report.dataset_path = dataset_path;
    report.started_at = Some(started_at);
    report.git = git;
    report.subset = chosen;
    report.regressions = experiment.regressions.clone();
    report.connected = api.is_some();
    report.url = api.as_ref().map(|_| run_url(config.base_url(), &run_id));
    report.shard = shard.map(|s| s.to_string());
    if let (Some(api), Some(outbox), Some(session_ids)) = (&api, &outbox, session_ids) {
        let status = if report.run_failed() {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        };
        let update = RunUpdate::new(
            experiment.name.clone(),
            status,
            outbox.as_sent(session_ids),
            Some(dataset_id.as_str()),
        );
        // The server's view of the run exists only when the run reached it.
        if outbox.finish_run(&run_id, update).await {
            let id = run_id.clone();
            let aggregate = experiment.aggregate_function;
            let result = api
                .call("fetching the run's results", move |client| async move {
                    client.run_result(&id, aggregate).await
                })
                .await;
            match result {
                Ok(result) => report.server_result = Some(result),
                Err(e) => config.warnings().emit(Warning::UpdateFailed {
                    what: format!("fetching the results of run {run_id}"),
                    reason: e.to_string(),
                }),
            }
        }
    }
    if let Some(undelivered) = outbox.as_ref().and_then(|o| o.release_run(&run_id)) {
        config
            .warnings()
            .emit(Warning::NotDelivered(undelivered.clone()));
        report.undelivered = Some(undelivered);
    }
    report.require_upload = config.require_upload;
    let written = writer.map(|w| w.finish());
    // Against the baseline: each metric's change and the gates' verdicts, then (a
    // HoneyHive baseline, this run on HoneyHive too) HoneyHive's own comparison.
    if let Some(old) = &found.baseline {
        let dir = written.as_ref().and_then(|w| w.as_ref().ok());
        let mut comparison = regression::against(
            &report,
            old,
            &experiment.thresholds,
            covered.as_ref(),
            seed,
            dir.map(PathBuf::as_path),
        );
        comparison.accepting = request.as_ref().is_some_and(|r| r.update);
        if let (Some(api), true) = (&api, old.on_honeyhive) {
            let (new, old) = (run_id.clone(), old.info.run_id.clone());
            let aggregate = experiment.aggregate_function;
            match api
                .call(
                    "comparing the run with its baseline",
                    move |client| async move { client.compare_runs(&new, &old, aggregate).await },
                )
                .await
            {
                Ok(server) => comparison.server = Some(server),
                Err(e) => config.warnings().emit(Warning::UpdateFailed {
                    what: format!("comparing run {run_id} with its baseline on HoneyHive"),
                    reason: e.to_string(),
                }),
            }
        }
        report.comparison = Some(comparison);
    }
    drop(pipeline);
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match written {
        Some(Ok(dir)) => {
            report.report_dir = Some(dir.clone());
            if let Err(e) = output::write_summary(&report, &dir) {
                warn_report(&config, &run_id, &e);
            }
            // report.html, junit.xml, summary.md (and the CI step summary).
            if let Err(e) =
                crate::report::write(&report, &dir, found.baseline.as_ref(), &environment)
            {
                warn_report(&config, &run_id, &e);
            }
        }
        Some(Err(e)) => warn_report(&config, &run_id, &e),
        None => {}
    }
    if !experiment.quiet {
        output::print_summary(&report);
    }
    if let Some(file) = &found.write_to {
        update_baseline(&report, file, shard, experiment.quiet)?;
    }
    Ok(report)
}

/// Writes the run as the baseline at `file` (`HH_UPDATE_BASELINE`) when it passed its
/// checks (its regression gates aside: writing the baseline accepts the change) and covered
/// the whole dataset; says which on stderr unless quiet.
fn update_baseline(
    report: &ExperimentReport,
    file: &Path,
    shard: Option<Shard>,
    quiet: bool,
) -> Result<()> {
    let partial = match (&report.subset, shard) {
        (Some(subset), _) if !subset.complete() => Some(subset.to_string()),
        (_, Some(shard)) => Some(format!("shard {shard}")),
        _ => None,
    };
    let note = match (partial, report.check(), &report.report_dir) {
        (Some(partial), _, _) => format!(
            "baseline not written to {}: the run covered only part of the dataset ({partial})\n",
            file.display()
        ),
        (None, Err(_), _) => format!(
            "baseline not written to {}: the run failed its checks\n",
            file.display()
        ),
        (None, Ok(()), None) => format!(
            "baseline not written to {}: the run's report could not be written\n",
            file.display()
        ),
        (None, Ok(()), Some(dir)) => {
            baseline::write(report, dir, file)?;
            format!("baseline written to {}\n", file.display())
        }
    };
    if !quiet {
        output::print_text(&note);
    }
    Ok(())
}

/// Where finished datapoints go, in dataset order: the report file, the recorder (stored
/// results, statistics, failures); and the progress display as they finish.
struct Sink<'a> {
    dataset: &'a Dataset,
    /// Each slot's datapoint and repetition, to name a datapoint whose task was lost.
    identities: &'a [(usize, u32)],
    /// Finished out of order: waiting for every earlier slot. Only the datapoints running
    /// alongside the oldest unfinished one are here.
    waiting: BTreeMap<usize, (DatapointResult, Option<String>)>,
    /// The next slot in dataset order.
    next: usize,
    writer: Option<output::DatapointsWriter>,
    recorder: Recorder,
    /// The session ids, in dataset order, when the run is finished on HoneyHive: the
    /// request that finishes it carries them all anyway, and collecting them here spares
    /// reading every stored result back for it.
    session_ids: Option<Vec<String>>,
    progress: &'a Progress,
    config: &'a Config,
    run_id: &'a str,
}

impl Sink<'_> {
    fn collect(
        &mut self,
        done: std::result::Result<(usize, DatapointResult, Details), tokio::task::JoinError>,
    ) {
        // A task only fails if the runtime is shutting down (datapoint::run catches the
        // user's panics); its slot stays empty and is reported as lost.
        let Ok((slot, mut result, details)) = done else {
            return;
        };
        // What reports, results and `datapoints.jsonl` show of it, redacted first.
        output::redact_result(self.config.redaction(), &mut result);
        self.progress.advance(result.error.is_some());
        self.accept(slot, result, &details);
    }

    /// Takes the result of `slot`, stored once every earlier slot's is.
    fn accept(&mut self, slot: usize, result: DatapointResult, details: &Details) {
        let line = self.line(&result, details);
        self.waiting.insert(slot, (result, line));
        while let Some((result, line)) = self.waiting.remove(&self.next) {
            self.next += 1;
            self.store(result, line);
        }
    }

    /// The report line of `result`, made now so the details can go.
    fn line(&mut self, result: &DatapointResult, details: &Details) -> Option<String> {
        self.writer.as_ref()?;
        let datapoint = &self.dataset.datapoints()[result.index];
        match output::DatapointsWriter::line(datapoint, result, details, self.config.redaction()) {
            Ok(line) => Some(line),
            Err(e) => {
                warn_report(self.config, self.run_id, &e);
                self.writer = None;
                None
            }
        }
    }

    fn store(&mut self, result: DatapointResult, line: Option<String>) {
        if let (Some(writer), Some(line)) = (self.writer.as_mut(), line)
            && let Err(e) = writer.write(&line)
        {
            warn_report(self.config, self.run_id, &e);
            self.writer = None;
        }
        if let Some(ids) = &mut self.session_ids
            && !result.session_id.is_empty()
        {
            ids.push(result.session_id.clone());
        }
        if let Err(e) = self.recorder.record(result) {
            warn_results(self.config, self.run_id, &e);
        }
    }

    /// Stores what is left: the datapoints after a lost one, and the lost ones (as failed)
    /// in their place.
    fn finish(
        mut self,
    ) -> (
        Option<output::DatapointsWriter>,
        Recorder,
        Option<Vec<String>>,
    ) {
        for slot in self.next..self.identities.len() {
            let (result, line) = match self.waiting.remove(&slot) {
                Some(finished) => finished,
                None => {
                    let (position, repetition) = self.identities[slot];
                    let datapoint = &self.dataset.datapoints()[position];
                    let lost = DatapointResult {
                        index: position,
                        line: datapoint.location().file_line(),
                        datapoint_id: datapoint.id().to_owned(),
                        repetition,
                        session_id: String::new(),
                        error: Some(
                            "the datapoint's task was lost (the runtime shut down?)".into(),
                        ),
                        evaluations: Vec::new(),
                        duration_ms: 0.0,
                        model: None,
                        evaluation_model: None,
                    };
                    let line = self.line(&lost, &Details::default());
                    (lost, line)
                }
            };
            self.store(result, line);
        }
        self.next = self.identities.len();
        (self.writer, self.recorder, self.session_ids)
    }
}

fn warn_report(config: &Config, run_id: &str, error: &Error) {
    config.warnings().emit(Warning::UpdateFailed {
        what: format!("writing the report of run {run_id}"),
        reason: error.to_string(),
    });
}

/// The run's results could not be stored or read back: the report keeps its statistics
/// (without percentiles) and counts, and reading its datapoints returns the error.
fn warn_results(config: &Config, run_id: &str, error: &Error) {
    config.warnings().emit(Warning::UpdateFailed {
        what: format!("storing the datapoint results of run {run_id}"),
        reason: error.to_string(),
    });
}

/// [`GitInfo::current`], asked once per process and directory: the code under test does
/// not change while its tests run, and a test binary with several experiments would
/// otherwise start the same git processes for each (a few milliseconds before every run
/// can be created). A run records the state its process started testing.
fn git_of_this_process() -> Option<GitInfo> {
    static SEEN: Mutex<Option<(PathBuf, Option<GitInfo>)>> = Mutex::new(None);
    let dir = std::env::current_dir().ok()?;
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    match &*seen {
        Some((at, git)) if *at == dir => git.clone(),
        _ => {
            let git = GitInfo::collect(&dir);
            *seen = Some((dir, git.clone()));
            git
        }
    }
}

/// The run's page: in the HoneyHive app next to a HoneyHive API host (`api.` becomes
/// `app.`: `https://app.dp1.us.honeyhive.ai/evaluate/<run id>` for the default host), or
/// the run's API resource for any other base URL (the summary says which it is).
pub(crate) fn run_url(base_url: &str, run_id: &str) -> String {
    let app_host = base_url
        .strip_prefix("https://api.")
        .filter(|host| *host == "honeyhive.ai" || host.ends_with(".honeyhive.ai"));
    match app_host {
        Some(host) => format!("https://app.{host}/evaluate/{run_id}"),
        None => format!("{base_url}/v1/runs/{run_id}"),
    }
}

async fn load(
    source: Option<DatasetSource>,
    config: &Config,
    api: Option<&RemoteApi>,
) -> Result<Dataset> {
    match source {
        None => Err(Error::Config(
            "the experiment has no dataset: call .dataset(..), .dataset_file(\"path\") or \
             .hosted_dataset(\"id\")"
                .into(),
        )),
        Some(DatasetSource::Loaded(dataset)) => Ok(dataset),
        Some(DatasetSource::File(path)) => Dataset::load(&path).map_err(Error::from),
        Some(DatasetSource::Hosted(id)) => match api {
            Some(api) => {
                Dataset::check_hosted(&id, config)?;
                api.call("loading the hosted dataset", move |client| {
                    Dataset::fetch_hosted(client, id)
                })
                .await
            }
            // No pipeline (`HH_DISABLED`): a client of its own, for this one dataset.
            None => Dataset::hosted_with(id, config).await,
        },
    }
}

/// Checks every datapoint against the input type, the `ground_truth = Type` check and
/// every evaluator's ground truth, before anything is called; then lays out the work of
/// this shard in dataset order.
fn prepare<I: DeserializeOwned + 'static, O: 'static>(
    dataset: &Dataset,
    experiment: &Experiment<I, O>,
    shard: Option<Shard>,
) -> Result<Vec<Work>> {
    dataset.check_all(|datapoint| {
        check_inputs(datapoint)?;
        // Read here to check, and again when the datapoint runs: holding every typed input
        // for the whole run would make memory grow with the dataset twice over.
        read_as::<I>(datapoint, "inputs", datapoint.inputs())?;
        let ground_truth = datapoint.ground_truth();
        let type_error = |message: String| type_error(datapoint, "ground_truth", message);
        if let Some((type_name, check)) = &experiment.ground_truth_check {
            check(ground_truth)
                .map_err(|e| type_error(format!("`ground_truth = {type_name}`: {e}")))?;
        }
        for evaluator in &experiment.evaluators {
            evaluator
                .check_ground_truth(ground_truth)
                .map_err(|e| type_error(format!("evaluator `{}`: {e}", evaluator.name())))?;
        }
        Ok(())
    })?;
    dataset.check_not_empty()?;
    // Dataset order, all repetitions of a datapoint together.
    let work = (0..dataset.len())
        .filter(|&position| shard.is_none_or(|s| s.contains(position)))
        .flat_map(|position| {
            (0..experiment.repetitions.max(1)).map(move |repetition| Work {
                position,
                repetition,
            })
        })
        .collect();
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::run_url;

    #[test]
    fn the_run_url_is_the_app_next_to_a_honeyhive_api_or_the_api_resource() {
        assert_eq!(
            run_url(crate::DEFAULT_API_URL, "r1"),
            "https://app.dp1.us.honeyhive.ai/evaluate/r1"
        );
        assert_eq!(
            run_url("https://api.honeyhive.ai", "r1"),
            "https://app.honeyhive.ai/evaluate/r1"
        );
        for other in [
            "https://api.eu.example.com",
            "https://api.nothoneyhive.ai",
            "http://api.honeyhive.ai",
            "http://127.0.0.1:4000",
        ] {
            assert_eq!(run_url(other, "r1"), format!("{other}/v1/runs/r1"));
        }
    }
}
