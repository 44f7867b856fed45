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
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::attributes as attr;
use crate::export::queue::{QueueHandle, SharedAttributes, Unresolved};
use crate::trace::baggage;

/// Stamps session, project, source, evaluation ids and user baggage on every span.
/// It never blocks and never fails: a span without a tracer in its context is left alone
/// except for its baggage.
#[derive(Debug, Default, Clone, Copy)]
pub struct HoneyHiveSpanProcessor;

impl SpanProcessor for HoneyHiveSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let tracer = crate::trace::tracer::entered(cx);
        stamp(tracer.map(|t| t.stamp()), Some(cx.baggage()), |kv| {
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

/// The one span processor of a pipeline's provider: it stamps spans at start (as
/// [`HoneyHiveSpanProcessor`]) and queues them for export at end. One processor, because
/// the SDK clones every ended span once per processor.
#[derive(Clone)]
pub(crate) struct PipelineProcessor {
    queue: QueueHandle,
}

impl PipelineProcessor {
    pub(crate) fn new(queue: QueueHandle) -> Self {
        PipelineProcessor { queue }
    }
}

impl std::fmt::Debug for PipelineProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipelineProcessor")
    }
}

impl SpanProcessor for PipelineProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        HoneyHiveSpanProcessor.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.queue.enqueue(span, Unresolved::default());
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue
            .flush(std::time::Duration::from_secs(30))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        match self.queue.shutdown(timeout) {
            Ok(()) => Ok(()),
            Err(crate::Error::Shutdown) => Err(OTelSdkError::AlreadyShutdown),
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
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
    /// The attributes this stamp puts on a span whose context adds nothing to it (what
    /// [`stamp`] pushes for it with no baggage), built once per tracer: the span of a
    /// `#[trace]` call started in its tracer's own scope takes them to the export queue as
    /// one reference ([`SharedAttributes`]) instead of ten attributes.
    pub(crate) fn shared_attributes(&self) -> SharedAttributes {
        let mut attributes = Vec::with_capacity(10);
        Ids {
            session: Some(&self.session_id),
            labels: Some(self),
            run: self.run_id.as_ref(),
            dataset: self.dataset_id.as_ref(),
            datapoint: self.datapoint_id.as_ref(),
        }
        .each(|key, value| attributes.push(KeyValue::new(key, value.clone())));
        attributes.into()
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
