//! Store and forward toward HoneyHive: what a connected pipeline sends besides spans
//! (session starts, event updates, a run's creation and completion), in the background,
//! and whatever could not be delivered within the retry budget, kept on disk.
//!
//! Why here and not in the caller: a backend that is down must never fail or stall the
//! user's code. A tracer starts at once with its own session id (a client UUID) and the
//! session start goes out in the background; an experiment runs, scores and judges every
//! datapoint whatever the backend does. What HoneyHive did not receive is written to the
//! local store in the layout of local mode, as it would have been sent
//! ([`local_store`](crate::local_store) says where), and reported in one
//! [`Warning::NotDelivered`](crate::Warning::NotDelivered) per run (or per flush, outside
//! runs) naming the URL, what was not sent and where it is kept.
//!
//! Ordering: a session's spans and updates must never reach the backend before its
//! session start. The outbox knows each session it started: until the start is settled
//! (acknowledged, or kept after its budget), the session's spans and updates wait for it
//! ([`spans`] holds the spans' side). A session whose start was kept keeps its spans and
//! updates too, and a run whose creation was kept keeps everything of the run, so what is
//! on disk can be sent later in order, under the same ids ([`upload`](crate::upload)).

mod spans;

pub(crate) use spans::HoneyHiveExporter;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::Notify;

use crate::api::client::ApiClient;
use crate::api::runs::{RunCreate, RunUpdate};
use crate::api::sessions::Enrichment;
use crate::api::sessions::SessionStart;
use crate::export::local_store::{self, LocalStore, RunRecord, SpanRecord};
use crate::undelivered::{RequestCounts, Undelivered};
use crate::{Error, Result};

/// The store-and-forward side of one connected pipeline; see the [module docs](self).
pub(crate) struct Outbox {
    client: ApiClient,
    store: LocalStore,
    io: tokio::runtime::Handle,
    state: Mutex<State>,
    /// Notified whenever a session start is settled.
    settled: Notify,
    in_flight: Arc<InFlight>,
    kept_spans: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Sessions this outbox started whose spans cannot simply be sent: their start is not
    /// settled, was kept, or was answered with another id. Sessions started and
    /// acknowledged under their own id are forgotten (their spans go as they come).
    sessions: HashMap<String, Session>,
    /// Runs whose creation was kept: everything of theirs is kept too.
    kept_runs: HashSet<String>,
    /// What was kept and not reported yet, by run (`None`: outside runs).
    tallies: HashMap<Option<String>, Tally>,
    /// Runs whose experiment reports what they kept itself, once, when it ends.
    claimed: HashSet<String>,
}

enum Session {
    Starting,
    /// Acknowledged, the backend naming it this.
    Renamed(String),
    Kept,
}

/// What becomes of a session's spans and updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send them, under this id when the backend named the session otherwise.
    Send(Option<String>),
    /// Keep them: the session start was kept.
    Keep,
}

#[derive(Default)]
struct Tally {
    counts: RequestCounts,
    reason: Option<String>,
    lost: u64,
    keep_error: Option<String>,
}

/// Which counter of a [`Tally`] an item adds to.
#[derive(Clone, Copy)]
enum Item {
    RunCreation,
    SessionStart,
    EventUpdate,
    Spans(u64),
    RunFinish,
}

impl Outbox {
    /// The outbox of the destination `client` calls, keeping what it cannot deliver in the
    /// local store at `store`, running its requests on `io`.
    pub(crate) fn new(client: ApiClient, store: LocalStore, io: tokio::runtime::Handle) -> Self {
        Outbox {
            client,
            store,
            io,
            state: Mutex::default(),
            settled: Notify::new(),
            in_flight: Arc::default(),
            kept_spans: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spans kept on disk so far.
    pub(crate) fn kept_spans(&self) -> u64 {
        self.kept_spans.load(Ordering::Relaxed)
    }

    /// Starts `session` in the background (`POST /session/start`, under the retry budget);
    /// its spans and updates wait for it. Kept at once when its run's creation was kept.
    pub(crate) fn start_session(self: &Arc<Self>, session: SessionStart) {
        let run = run_of(&session);
        {
            let mut state = self.lock();
            if run.as_ref().is_some_and(|r| state.kept_runs.contains(r)) {
                state
                    .sessions
                    .insert(session.session_id.clone(), Session::Kept);
                drop(state);
                self.keep_session(&session, None);
                return;
            }
            state
                .sessions
                .insert(session.session_id.clone(), Session::Starting);
        }
        let ticket = self.in_flight.start();
        let this = self.clone();
        self.io.spawn(async move {
            let answer = this.client.start_session(&session).await;
            let id = session.session_id.clone();
            let settled = match answer {
                Ok(backend_id) if backend_id == id => None,
                Ok(backend_id) => Some(Session::Renamed(backend_id)),
                Err(e) => {
                    this.keep_session(&session, Some(e.to_string()));
                    Some(Session::Kept)
                }
            };
            {
                let mut state = this.lock();
                match settled {
                    Some(s) => state.sessions.insert(id, s),
                    None => state.sessions.remove(&id),
                };
            }
            this.settled.notify_waiters();
            drop(ticket);
        });
    }

    /// What becomes of the spans and updates of `session_id` now; `None` while its start
    /// is not settled.
    fn verdict_now(&self, session_id: &str) -> Option<Verdict> {
        match self.lock().sessions.get(session_id) {
            None => Some(Verdict::Send(None)),
            Some(Session::Starting) => None,
            Some(Session::Renamed(id)) => Some(Verdict::Send(Some(id.clone()))),
            Some(Session::Kept) => Some(Verdict::Keep),
        }
    }

    /// What becomes of the spans and updates of `session_id`, once its start is settled
    /// (at once for a session this outbox did not start: someone else's, or sent).
    pub(crate) async fn verdict(&self, session_id: &str) -> Verdict {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(verdict) = self.verdict_now(session_id) {
                return verdict;
            }
            notified.await;
        }
    }

    /// Sends an update of event `event_id` (a session, usually) in the background, after
    /// the session's start; kept when that was kept or the update cannot be delivered.
    /// `run` is the run of the event's session (where it is kept).
    pub(crate) fn update_event(
        self: &Arc<Self>,
        event_id: String,
        enrichment: Enrichment,
        run: Option<String>,
    ) {
        let ticket = self.in_flight.start();
        let this = self.clone();
        self.io.spawn(async move {
            match this.verdict(&event_id).await {
                Verdict::Keep => this.keep_update(&event_id, &enrichment, run, None),
                Verdict::Send(renamed) => {
                    let id = renamed.as_deref().unwrap_or(&event_id);
                    if let Err(e) = this.client.update_event(id, &enrichment).await {
                        this.keep_update(&event_id, &enrichment, run, Some(e.to_string()));
                    }
                }
            }
            drop(ticket);
        });
    }

    /// Creates the run of `body` (`POST /v1/runs`) and returns its id: the backend's, or
    /// the client's when the creation could not be delivered and the run is kept (its
    /// sessions, updates and spans are kept with it from now on). Never fails.
    pub(crate) async fn create_run(self: &Arc<Self>, body: RunCreate) -> String {
        let this = self.clone();
        let ours = body.run_id().to_owned();
        let call = self.io.spawn(async move {
            let answer = this.client.create_run(&body).await;
            answer.map_err(|e| (body, e.to_string()))
        });
        let failure = match call.await {
            Ok(Ok(id)) => return id,
            Ok(Err(failure)) => failure,
            // The pipeline's runtime is going away: the call was not made.
            Err(e) => {
                self.keep_run_create_id(&ours, format!("the request could not run: {e}"));
                return ours;
            }
        };
        self.keep_run_create(&failure.0, failure.1);
        ours
    }

    /// The ids under which the backend knows `session_ids` (its own, where it answered a
    /// session start with another).
    pub(crate) fn as_sent(&self, session_ids: Vec<String>) -> Vec<String> {
        let state = self.lock();
        session_ids
            .into_iter()
            .map(|id| match state.sessions.get(&id) {
                Some(Session::Renamed(backend)) => backend.clone(),
                _ => id,
            })
            .collect()
    }

    /// Finishes run `run_id` (`PUT /v1/runs/{id}`); returns whether the backend received
    /// it (if not, it is kept).
    pub(crate) async fn finish_run(self: &Arc<Self>, run_id: &str, update: RunUpdate) -> bool {
        if self.lock().kept_runs.contains(run_id) {
            self.keep_run_update(run_id, &update, None);
            return false;
        }
        let this = self.clone();
        let id = run_id.to_owned();
        let call = self.io.spawn(async move {
            match this.client.update_run(&id, &update).await {
                Ok(()) => true,
                Err(e) => {
                    this.keep_run_update(&id, &update, Some(e.to_string()));
                    false
                }
            }
        });
        call.await.unwrap_or(false)
    }

    /// From now on, what run `run_id` keeps is reported by [`release_run`](Self::release_run)
    /// alone (an experiment reports it once, when it ends).
    pub(crate) fn claim_run(&self, run_id: &str) {
        self.lock().claimed.insert(run_id.to_owned());
    }

    /// What run `run_id` kept (since it was claimed), and the claim ends.
    pub(crate) fn release_run(&self, run_id: &str) -> Option<Undelivered> {
        let mut state = self.lock();
        state.claimed.remove(run_id);
        let key = Some(run_id.to_owned());
        let tally = state.tallies.remove(&key)?;
        drop(state);
        self.report(key, tally)
    }

    /// What was kept since the last call, by run, but for claimed runs.
    pub(crate) fn take_unclaimed(&self) -> Vec<Undelivered> {
        let mut state = self.lock();
        let keys: Vec<Option<String>> = state
            .tallies
            .keys()
            .filter(|run| run.as_ref().is_none_or(|r| !state.claimed.contains(r)))
            .cloned()
            .collect();
        let tallies: Vec<_> = keys
            .into_iter()
            .filter_map(|k| state.tallies.remove(&k).map(|t| (k, t)))
            .collect();
        drop(state);
        tallies
            .into_iter()
            .filter_map(|(run, tally)| self.report(run, tally))
            .collect()
    }

    fn report(&self, run: Option<String>, tally: Tally) -> Option<Undelivered> {
        if tally.counts.is_empty() && tally.lost == 0 {
            return None;
        }
        let kept_in = match &run {
            Some(run) => local_store::run_dir(self.store.dir(), run),
            None => self.store.dir().to_owned(),
        };
        Some(Undelivered {
            url: self.client.base_url().to_owned(),
            run_id: run,
            counts: tally.counts,
            reason: tally.reason.unwrap_or_else(|| "not delivered".into()),
            kept_in,
            lost: tally.lost,
            keep_error: tally.keep_error,
        })
    }

    /// Waits until every session start and update started so far is settled (sent or
    /// kept), or until `deadline`; false on timeout.
    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        self.in_flight.wait_idle(deadline)
    }

    fn tally(&self, run: Option<String>, item: Item, reason: Option<String>, kept: Result<()>) {
        let mut state = self.lock();
        let tally = state.tallies.entry(run).or_default();
        let counts = &mut tally.counts;
        let n = match item {
            Item::RunCreation => &mut counts.run_creations,
            Item::SessionStart => &mut counts.session_starts,
            Item::EventUpdate => &mut counts.event_updates,
            Item::Spans(_) => &mut counts.spans,
            Item::RunFinish => &mut counts.run_finishes,
        };
        let many = match item {
            Item::Spans(n) => n,
            _ => 1,
        };
        *n += many;
        if let Some(reason) = reason {
            tally.reason = Some(reason);
        }
        if let Err(e) = kept {
            tally.lost += many;
            tally.keep_error = Some(e.to_string());
        }
    }

    fn keep_session(&self, session: &SessionStart, reason: Option<String>) {
        let kept = self.store.start_session(session);
        self.tally(run_of(session), Item::SessionStart, reason, kept);
    }

    fn keep_update(
        &self,
        event_id: &str,
        enrichment: &Enrichment,
        run: Option<String>,
        reason: Option<String>,
    ) {
        let kept = self
            .store
            .update_event(event_id, enrichment, run.as_deref());
        self.tally(run, Item::EventUpdate, reason, kept);
    }

    /// Marks run `run` kept without its body (its creation could not even be attempted).
    fn keep_run_create_id(&self, run: &str, reason: String) {
        self.lock().kept_runs.insert(run.to_owned());
        let lost = Err(Error::Background(reason.clone()));
        self.tally(Some(run.to_owned()), Item::RunCreation, Some(reason), lost);
    }

    fn keep_run_create(&self, body: &RunCreate, reason: String) {
        let run = body.run_id().to_owned();
        self.lock().kept_runs.insert(run.clone());
        let kept = body_value(body).and_then(|body| {
            self.store.append_run_record(
                &run,
                &RunRecord::RunCreate {
                    recorded_at_ms: local_store::now_ms(),
                    body,
                },
            )
        });
        self.tally(Some(run), Item::RunCreation, Some(reason), kept);
    }

    fn keep_run_update(&self, run_id: &str, update: &RunUpdate, reason: Option<String>) {
        let kept = body_value(update).and_then(|body| {
            self.store.append_run_record(
                run_id,
                &RunRecord::RunUpdate {
                    recorded_at_ms: local_store::now_ms(),
                    run_id: run_id.to_owned(),
                    body,
                },
            )
        });
        self.tally(Some(run_id.to_owned()), Item::RunFinish, reason, kept);
    }

    /// Keeps span records (the spans of a batch not sent), each in its run's folder.
    pub(crate) fn keep_spans(&self, spans: Vec<SpanRecord>, reason: Option<String>) {
        if spans.is_empty() {
            return;
        }
        self.kept_spans
            .fetch_add(spans.len() as u64, Ordering::Relaxed);
        for (run, spans) in local_store::by_run(spans) {
            let n = spans.len() as u64;
            let kept = self.store.append_run_spans(run.as_deref(), spans);
            self.tally(run, Item::Spans(n), reason.clone(), kept);
        }
    }
}

fn run_of(session: &SessionStart) -> Option<String> {
    session
        .metadata
        .get("run_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn body_value(body: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(body).map_err(|source| Error::Serialize {
        what: "a kept request body",
        source,
    })
}

/// Background requests not settled yet.
#[derive(Default)]
pub(crate) struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One background request in flight; dropped when it is settled.
pub(crate) struct Ticket(Arc<InFlight>);

impl InFlight {
    pub(crate) fn start(self: &Arc<Self>) -> Ticket {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ticket(self.clone())
    }

    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        while *count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            count = self
                .idle
                .wait_timeout(count, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(|p| p.into_inner());
        *count -= 1;
        if *count == 0 {
            self.0.idle.notify_all();
        }
    }
}
