//! `honeyhive upload`: sends to HoneyHive what a folder of the local store holds, such as a
//! run kept on disk because HoneyHive could not be reached (see
//! [`local_store`](crate::local_store)).
//!
//! A folder's requests go in the order the backend needs them, under the ids they were
//! recorded with (the client's run and session ids), so an uploaded run is the same run:
//! the run's creation, then its session starts, then the sessions' updates, then the
//! spans (in batches), then the run's completion. Each request is retried under the
//! configuration's retry policy (honouring `Retry-After`); the first that still fails
//! stops the upload.
//!
//! Idempotent: what HoneyHive acknowledged is recorded in the folder's `uploaded.jsonl`
//! ([`LEDGER_FILE`]) as soon as it is, by stable keys (run id, session id, span ids, an
//! update's content), so an upload that was interrupted resumes where it stopped and a
//! second upload sends nothing twice. A run creation the backend answers with 409 (it has
//! the run already) counts as acknowledged.
//!
//! The folder may be a run's folder (`<local dir>/runs/<run id>`) or the local store itself,
//! whose files and every run folder below `runs/` are then uploaded, each on its own.
//!
//! ```no_run
//! # async fn demo() -> honeyhive::Result<()> {
//! use honeyhive::Config;
//! use honeyhive::upload::{UploadOptions, upload};
//!
//! let config = Config::from_env()?; // HH_API_KEY, HH_API_URL
//! let report = upload("target/honeyhive/runs/0c5e".as_ref(), &config, &UploadOptions::default()).await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```

mod ledger;
mod report;
mod spans;

pub use ledger::LEDGER_FILE;
pub use report::{PlannedRequest, UploadReport};

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;
use http::Method;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use serde_json::Value;

use self::ledger::{Ledger, content_key};
use crate::api::client::{ApiClient, http_client};
use crate::api::runs::encode;
use crate::config::Audience;
use crate::export::local_store::{
    self, RUN_FILE, RUNS_DIR, RunRecord, SESSIONS_FILE, SPANS_FILE, SessionRecord, SpanRecord,
};
use crate::export::{HONEYHIVE_TRACES_PATH, OtlpExporter};
use crate::{Config, Error, RequestCounts, Result};

/// Requests of one kind in flight at once (session starts, updates).
const CONCURRENCY: usize = 16;

/// How [`upload`] goes about it.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// List what would be sent ([`UploadReport::planned`]) and send nothing.
    pub dry_run: bool,
}

impl UploadOptions {
    /// Options of a dry run: nothing is sent, the report lists what would be.
    pub fn dry_run() -> Self {
        UploadOptions { dry_run: true }
    }
}

/// Uploads what `dir` holds (a run's folder, or the local store with every run folder in
/// it) to the HoneyHive destination of `config`; see the [module docs](self).
///
/// # Errors
/// [`Error::Config`] without a key; [`Error::LocalStore`] for a folder that cannot be
/// read (or holds nothing to upload); [`Error::UploadStopped`] when a request still
/// failed after its retries: the report says what was sent before, and the next upload
/// resumes there.
pub async fn upload(dir: &Path, config: &Config, options: &UploadOptions) -> Result<UploadReport> {
    let folders = folders(dir)?;
    let mut report = UploadReport {
        url: config.base_url().to_owned(),
        folders: folders.clone(),
        dry_run: options.dry_run,
        ..UploadReport::default()
    };
    // A dry run sends nothing, so it needs no key: it shows what a key would send.
    if !options.dry_run && !config.is_connected() {
        return Err(Error::Config(
            "no API key: set HH_API_KEY (or HH_INGESTION_API_KEY) to upload to HoneyHive".into(),
        ));
    }
    let http = http_client(config)?;
    let client = ApiClient::new(http.clone(), config)?;
    for folder in &folders {
        let mut upload = Folder {
            dir: folder,
            ledger: Ledger::open(folder)?,
            client: &client,
            http: &http,
            config,
            report: &mut report,
            dry_run: options.dry_run,
        };
        if let Err(stop) = upload.run().await {
            report.stopped = Some(stop);
            return Err(Error::UploadStopped(Box::new(report)));
        }
    }
    Ok(report)
}

/// `dir`, and when it is a local store, each run folder under it; only those holding
/// something to upload.
fn folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let unreadable = |source| Error::LocalStore {
        path: dir.to_owned(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(unreadable)?;
    if !meta.is_dir() {
        return Err(unreadable(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a folder: give a run's folder (target/honeyhive/runs/<run id>) or the \
             local store",
        )));
    }
    let mut out = Vec::new();
    let holds = |d: &Path| {
        d.join(RUN_FILE).is_file()
            || [SESSIONS_FILE, SPANS_FILE]
                .iter()
                .flat_map(|f| local_store::generations(d, f))
                .any(|p| p.is_file())
    };
    if holds(dir) {
        out.push(dir.to_owned());
    }
    let runs = dir.join(RUNS_DIR);
    if runs.is_dir() {
        let mut below: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map_err(unreadable)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && holds(p))
            .collect();
        below.sort();
        out.extend(below);
    }
    if out.is_empty() {
        return Err(unreadable(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "nothing to upload: no {RUN_FILE}, {SESSIONS_FILE} or {SPANS_FILE} here or in \
                 its {RUNS_DIR}/ folder"
            ),
        )));
    }
    Ok(out)
}

/// The upload of one folder.
struct Folder<'a> {
    dir: &'a Path,
    ledger: Ledger,
    client: &'a ApiClient,
    http: &'a reqwest::Client,
    config: &'a Config,
    report: &'a mut UploadReport,
    dry_run: bool,
}

/// Why an upload stopped.
type Stop = String;

impl<'a> Folder<'a> {
    async fn run(&mut self) -> std::result::Result<(), Stop> {
        let runs = local_store::read_run_records(self.dir).map_err(|e| e.to_string())?;
        let sessions = local_store::read_sessions(self.dir).map_err(|e| e.to_string())?;
        for record in &runs {
            if let RunRecord::RunCreate { body, .. } = record {
                self.create_run(body).await?;
            }
        }
        let starts: Vec<_> = sessions
            .iter()
            .filter_map(|r| match r {
                SessionRecord::SessionStart { session, .. } => Some(session),
                _ => None,
            })
            .collect();
        self.each(
            starts,
            |client, session| async move { client.start_session(session).await.map(drop) },
            |session| {
                (
                    format!("session_start:{}", session.session_id),
                    PlannedRequest {
                        method: "POST",
                        path: "/session/start".into(),
                        what: format!("session {}", session.session_id),
                    },
                    Kind::SessionStart,
                )
            },
        )
        .await?;
        let updates: Vec<_> = sessions
            .iter()
            .filter_map(|r| match r {
                SessionRecord::EventUpdate { update, .. } => Some(update),
                _ => None,
            })
            .collect();
        self.each(
            updates,
            |client, update| async move {
                client
                    .send(Audience::Ingestion, Method::PUT, "/events", Some(update))
                    .await
                    .map(drop)
            },
            |update| {
                let event = update
                    .get("event_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                (
                    content_key("event_update", &update.to_string()),
                    PlannedRequest {
                        method: "PUT",
                        path: "/events".into(),
                        what: format!("update of event {event}"),
                    },
                    Kind::EventUpdate,
                )
            },
        )
        .await?;
        self.spans().await?;
        for record in &runs {
            if let RunRecord::RunUpdate { run_id, body, .. } = record {
                self.finish_run(run_id, body).await?;
            }
        }
        Ok(())
    }

    /// Sends each of `items` not acknowledged before (`key_of` names it, its request and
    /// kind), up to [`CONCURRENCY`] at once; stops at the first that still fails after its
    /// retries.
    async fn each<'i, T, F, Fut>(
        &mut self,
        items: Vec<&'i T>,
        send: F,
        key_of: impl Fn(&T) -> (String, PlannedRequest, Kind),
    ) -> std::result::Result<(), Stop>
    where
        T: ?Sized + 'i,
        F: Fn(&'a ApiClient, &'i T) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let mut todo = Vec::new();
        for item in items {
            let (key, request, kind) = key_of(item);
            if self.ledger.has(&key) {
                kind.add(&mut self.report.already, 1);
            } else if self.dry_run {
                kind.add(&mut self.report.sent, 1);
                self.report.planned.push(request);
            } else {
                todo.push((item, key, kind));
            }
        }
        let client = self.client;
        let ledger = &self.ledger;
        // After the first failure no request starts, but those under way finish and are
        // recorded (abandoned, one the backend had processed would be sent again).
        let failed = std::sync::atomic::AtomicBool::new(false);
        let results: Vec<std::result::Result<Option<Kind>, Stop>> =
            futures_util::stream::iter(todo)
                .map(|(item, key, kind)| {
                    let failed = &failed;
                    let send = &send;
                    async move {
                        if failed.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(None);
                        }
                        let sent = send(client, item)
                            .await
                            .and_then(|()| ledger.record(vec![key]));
                        match sent {
                            Ok(()) => Ok(Some(kind)),
                            Err(e) => {
                                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                                Err(e.to_string())
                            }
                        }
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut stop = None;
        for result in results {
            match result {
                Ok(Some(kind)) => kind.add(&mut self.report.sent, 1),
                Ok(None) => {}
                Err(e) => {
                    stop.get_or_insert(e);
                }
            }
        }
        stop.map_or(Ok(()), Err)
    }

    /// `POST /v1/runs` with the recorded body; a 409 (the backend has the run) counts as
    /// acknowledged.
    async fn create_run(&mut self, body: &Value) -> std::result::Result<(), Stop> {
        let run_id = body.get("run_id").and_then(Value::as_str).unwrap_or("?");
        let key = format!("run_create:{run_id}");
        let request = PlannedRequest {
            method: "POST",
            path: "/v1/runs".into(),
            what: format!("run {run_id}"),
        };
        self.one(key, request, Kind::RunCreation, |client| async move {
            match client
                .send(Audience::Project, Method::POST, "/v1/runs", Some(body))
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_conflict(&e) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// `PUT /v1/runs/{id}` with the recorded body.
    async fn finish_run(&mut self, run_id: &str, body: &Value) -> std::result::Result<(), Stop> {
        let path = format!("/v1/runs/{}", encode(run_id));
        let key = content_key(&format!("run_update:{run_id}"), &body.to_string());
        let request = PlannedRequest {
            method: "PUT",
            path: path.clone(),
            what: format!("completion of run {run_id}"),
        };
        self.one(key, request, Kind::RunFinish, |client| async move {
            client
                .send(Audience::Project, Method::PUT, &path, Some(body))
                .await
                .map(drop)
        })
        .await
    }

    /// One request, unless acknowledged before.
    async fn one<Fut>(
        &mut self,
        key: String,
        request: PlannedRequest,
        kind: Kind,
        send: impl FnOnce(&'a ApiClient) -> Fut,
    ) -> std::result::Result<(), Stop>
    where
        Fut: Future<Output = Result<()>>,
    {
        if self.ledger.has(&key) {
            kind.add(&mut self.report.already, 1);
            return Ok(());
        }
        if self.dry_run {
            kind.add(&mut self.report.sent, 1);
            self.report.planned.push(request);
            return Ok(());
        }
        send(self.client)
            .await
            .and_then(|()| self.ledger.record(vec![key]))
            .map_err(|e| e.to_string())?;
        kind.add(&mut self.report.sent, 1);
        Ok(())
    }

    /// The spans of `spans.jsonl` (at the top of a store, its rotated `spans.1.jsonl`
    /// first) not acknowledged before, read as they are sent, in batches of the export
    /// settings' `max_batch_size`, through the OTLP exporter (so in the configured
    /// encoding, with its retries).
    async fn spans(&mut self) -> std::result::Result<(), Stop> {
        let max_batch = self.config.export_settings().max_batch_size.max(1);
        let mut exporter: Option<OtlpExporter> = None;
        let mut batch: Vec<(String, SpanData)> = Vec::with_capacity(max_batch);
        for path in local_store::generations(self.dir, SPANS_FILE) {
            self.spans_of(&path, max_batch, &mut exporter, &mut batch)
                .await?;
        }
        if !batch.is_empty() {
            self.send_spans(exporter.as_ref(), batch).await?;
        }
        Ok(())
    }

    /// The spans of one file into `batch`, sending each full batch.
    async fn spans_of(
        &mut self,
        path: &Path,
        max_batch: usize,
        exporter: &mut Option<OtlpExporter>,
        batch: &mut Vec<(String, SpanData)>,
    ) -> std::result::Result<(), Stop> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: SpanRecord = serde_json::from_str(&line)
                .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
            let key = format!("span:{}{}", record.trace_id, record.span_id);
            if self.ledger.has(&key) {
                self.report.already.spans += 1;
                continue;
            }
            if exporter.is_none() {
                *exporter = Some(self.exporter(&record).map_err(|e| e.to_string())?);
            }
            let span = spans::span(record).ok_or_else(|| {
                format!(
                    "{} line {}: the span's ids are not hex ids",
                    path.display(),
                    n + 1
                )
            })?;
            batch.push((key, span));
            if batch.len() == max_batch {
                self.send_spans(exporter.as_ref(), std::mem::take(batch))
                    .await?;
            }
        }
        Ok(())
    }

    async fn send_spans(
        &mut self,
        exporter: Option<&OtlpExporter>,
        batch: Vec<(String, SpanData)>,
    ) -> std::result::Result<(), Stop> {
        let n = batch.len() as u64;
        if self.dry_run {
            self.report.sent.spans += n;
            self.report.planned.push(PlannedRequest {
                method: "POST",
                path: HONEYHIVE_TRACES_PATH.into(),
                what: format!("{n} span(s)"),
            });
            return Ok(());
        }
        let exporter = exporter.expect("made with the first span");
        let (keys, spans): (Vec<String>, Vec<SpanData>) = batch.into_iter().unzip();
        let sent = exporter
            .export(spans)
            .await
            .map_err(|e| e.to_string())
            .and_then(|()| self.ledger.record(keys).map_err(|e| e.to_string()));
        sent?;
        self.report.sent.spans += n;
        Ok(())
    }

    /// The OTLP exporter for this folder's spans: the project and source of `first`
    /// (a run's spans share them), else the configuration's.
    fn exporter(&self, first: &SpanRecord) -> Result<OtlpExporter> {
        let label = |key: &str| {
            first
                .attributes
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut config = self.config.clone();
        if let Some(source) = label(crate::attributes::SOURCE) {
            config.source = source;
        }
        let project = label(crate::attributes::PROJECT)
            .or_else(|| self.config.project().map(str::to_owned))
            .unwrap_or_else(|| "honeyhive".into());
        let resource = Resource::builder().with_service_name(project).build();
        OtlpExporter::honeyhive(self.http.clone(), &config, &resource)
    }
}

/// The kinds of request an upload counts.
#[derive(Debug, Clone, Copy)]
enum Kind {
    RunCreation,
    SessionStart,
    EventUpdate,
    RunFinish,
}

impl Kind {
    fn add(self, counts: &mut RequestCounts, n: u64) {
        let counter = match self {
            Kind::RunCreation => &mut counts.run_creations,
            Kind::SessionStart => &mut counts.session_starts,
            Kind::EventUpdate => &mut counts.event_updates,
            Kind::RunFinish => &mut counts.run_finishes,
        };
        *counter += n;
    }
}

/// Whether `e` is the backend's 409: it has what was sent already.
fn is_conflict(e: &Error) -> bool {
    matches!(e, Error::Api { reason, .. } if reason.starts_with("HTTP 409"))
}
