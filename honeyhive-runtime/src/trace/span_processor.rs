//! The processor that stamps every span with its session and evaluation ids at start.
//!
//! Ids come from the span's parent context, never from the call site: baggage first (so a
//! distributed caller's `run_id`/`datapoint_id`/`session_id` win), then the
//! [`HoneyHiveTracer`](crate::HoneyHiveTracer) found in the context. Because every span start passes through here,
//! no nested, spawned or third-party span can miss the ids (the reference SDK's regression).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key, KeyValue, StringValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::attributes as attr;
use crate::trace::baggage;

/// Stamps session, project, source, evaluation ids and user baggage on every span.
/// It never blocks and never fails: a span without a tracer in its context is left alone
/// except for its baggage.
#[derive(Debug, Default, Clone, Copy)]
pub struct HoneyHiveSpanProcessor;

impl SpanProcessor for HoneyHiveSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let tracer = crate::trace::tracer::entered(cx);
        stamp(tracer.map(|t| &**t.stamp()), Some(cx.baggage()), |kv| {
            span.set_attribute(kv)
        });
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What a tracer stamps on the spans started in its scope, as OpenTelemetry strings built
/// once (reference counted): stamping a span clones `Arc`s, it copies no text.
#[derive(Debug)]
pub(crate) struct Stamp {
    pub(crate) session_id: StringValue,
    /// `None` when the configuration names no project (HoneyHive infers it from the key).
    pub(crate) project: Option<StringValue>,
    pub(crate) source: StringValue,
    pub(crate) run_id: Option<StringValue>,
    pub(crate) dataset_id: Option<StringValue>,
    pub(crate) datapoint_id: Option<StringValue>,
}

/// The session, project, source and evaluation ids a span carries.
struct Ids<'a> {
    session: Option<&'a StringValue>,
    /// Project and source come from here.
    labels: Option<&'a Stamp>,
    run: Option<&'a StringValue>,
    dataset: Option<&'a StringValue>,
    datapoint: Option<&'a StringValue>,
}

impl Ids<'_> {
    /// Passes each attribute, key and value, to `set`, in the order spans carry them.
    fn each(&self, mut set: impl FnMut(&'static str, &StringValue)) {
        if let Some(session) = self.session {
            set(attr::SESSION_ID, session);
            set(attr::TRACELOOP_SESSION_ID, session);
        }
        if let Some(s) = self.labels {
            if let Some(project) = &s.project {
                set(attr::PROJECT, project);
                set(attr::TRACELOOP_PROJECT, project);
            }
            set(attr::SOURCE, &s.source);
            set(attr::TRACELOOP_SOURCE, &s.source);
        }
        for (key, value) in [
            (attr::RUN_ID, self.run),
            (attr::DATASET_ID, self.dataset),
            (attr::DATAPOINT_ID, self.datapoint),
        ] {
            if let Some(value) = value {
                set(key, value);
            }
        }
    }
}

impl Stamp {
    /// Passes to `set` each attribute this stamp puts on a span whose context adds
    /// nothing to it (what [`stamp`] pushes for it with no baggage), without a copy of any
    /// value: exporters that write the attributes out read them from here.
    pub(crate) fn each(&self, set: impl FnMut(&'static str, &StringValue)) {
        Ids {
            session: Some(&self.session_id),
            labels: Some(self),
            run: self.run_id.as_ref(),
            dataset: self.dataset_id.as_ref(),
            datapoint: self.datapoint_id.as_ref(),
        }
        .each(set);
    }
}

/// The stamps of a list of spans (the queue's, a batch's) that are stamped on their way out
/// ([`crate::trace::call_span`]): each distinct stamp once, and which one each span has. Holding
/// a stamp once per run of spans spares a reference count per span, whose cache line
/// changed cores twice (up on the span's thread, down on the export thread).
///
/// Why not on the spans: stamping pushed ten attributes per span (a reference count up,
/// and down again after the export) only for the exporter to read them once. The protobuf
/// encoder writes them straight from the stamp; the other exporters, which copy the batch
/// anyway, put them on their copies ([`BatchStamps::stamped_copy`]).
#[derive(Default)]
pub(crate) struct BatchStamps {
    table: Vec<Arc<Stamp>>,
    /// Per span of the batch, in order: its index in `table`, if it has a stamp.
    of_span: Vec<Option<u32>>,
}

impl BatchStamps {
    /// Adds the next span of the batch, with its stamp if it has one.
    pub(crate) fn push(&mut self, stamp: Option<&Arc<Stamp>>) {
        let index = stamp.map(|stamp| match self.table.last() {
            Some(last) if Arc::ptr_eq(last, stamp) => self.table.len() - 1,
            _ => {
                self.table.push(stamp.clone());
                self.table.len() - 1
            }
        });
        self.of_span.push(index.map(|i| i as u32));
    }

    /// The stamp of the batch's span `i`, if it has one.
    pub(crate) fn of(&self, i: usize) -> Option<&Stamp> {
        let index = (*self.of_span.get(i)?)?;
        self.table.get(index as usize).map(|stamp| &**stamp)
    }

    /// Forgets every span and stamp, keeping the room.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.of_span.clear();
    }

    /// A copy of `spans` (this table's batch) with each span's stamp on it, as attributes
    /// after its own: for the exporters that copy the batch anyway.
    pub(crate) fn stamped_copy(&self, spans: &[SpanData]) -> Vec<SpanData> {
        let mut copy = spans.to_vec();
        for (i, span) in copy.iter_mut().enumerate() {
            if let Some(stamp) = self.of(i) {
                stamp.each(|key, value| span.attributes.push(KeyValue::new(key, value.clone())));
            }
        }
        copy
    }
}

/// Passes to `push` the attributes of a span started in a context holding `stamp` (its
/// enabled tracer's) and `bag`: ids from the baggage first (so a distributed caller's
/// `run_id`/`datapoint_id`/`session_id` win), then the stamp's; every other baggage
/// entry as `baggage.<key>`.
pub(crate) fn stamp(stamp: Option<&Stamp>, bag: Option<&Baggage>, mut push: impl FnMut(KeyValue)) {
    // One pass over the baggage (a handful of entries) instead of one hash lookup per
    // id: the propagated ids are picked out, every other entry is user baggage.
    let mut session = stamp.map(|s| &s.session_id);
    let mut run = stamp.and_then(|s| s.run_id.as_ref());
    let mut dataset = stamp.and_then(|s| s.dataset_id.as_ref());
    let mut datapoint = stamp.and_then(|s| s.datapoint_id.as_ref());
    let mut user_entries = 0;
    for (key, (value, _)) in bag.into_iter().flat_map(Baggage::iter) {
        match key.as_str() {
            baggage::SESSION_ID => session = Some(value),
            baggage::RUN_ID => run = Some(value),
            baggage::DATASET_ID => dataset = Some(value),
            baggage::DATAPOINT_ID => datapoint = Some(value),
            baggage::TRACER_ID => {}
            _ => user_entries += 1,
        }
    }

    let ids = Ids {
        session,
        labels: stamp,
        run,
        dataset,
        datapoint,
    };
    ids.each(|key, value| push(KeyValue::new(key, value.clone())));
    if user_entries > 0 {
        for (key, (value, _)) in bag.into_iter().flat_map(Baggage::iter) {
            if !baggage::PROPAGATED_KEYS.contains(&key.as_str()) {
                push(KeyValue::new(baggage_attribute(key), value.clone()));
            }
        }
    }
}

/// Most `baggage.<key>` attribute names remembered per thread.
const BAGGAGE_KEY_CACHE: usize = 64;

thread_local! {
    /// `baggage.<key>` for the user baggage keys seen on this thread: the same few keys are
    /// on every span of a session, and formatting one per span and attribute was an
    /// allocation each.
    static BAGGAGE_KEYS: RefCell<HashMap<Key, Arc<str>>> = RefCell::new(HashMap::new());
}

/// The attribute name of user baggage entry `key`: `baggage.<key>`.
fn baggage_attribute(key: &Key) -> Key {
    let format = || Arc::<str>::from(format!("{}{}", attr::BAGGAGE_PREFIX, key.as_str()));
    let cached = BAGGAGE_KEYS.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(name) = cache.get(key) {
            return name.clone();
        }
        let name = format();
        if cache.len() < BAGGAGE_KEY_CACHE {
            cache.insert(key.clone(), name.clone());
        }
        name
    });
    // The thread is exiting (its cache is gone): format it.
    Key::from(cached.unwrap_or_else(|_| format()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baggage_attribute_names() {
        for _ in 0..2 {
            assert_eq!(
                baggage_attribute(&Key::from("user")).as_str(),
                "baggage.user"
            );
        }
        for i in 0..(BAGGAGE_KEY_CACHE + 3) {
            let key = Key::from(format!("k{i}"));
            assert_eq!(baggage_attribute(&key).as_str(), format!("baggage.k{i}"));
        }
    }
}
