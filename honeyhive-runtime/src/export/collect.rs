//! In-process collection of one session's spans as they are queued for export: what an
//! evaluator that reads the datapoint's trace ([`Trace`](crate::Trace)) is given.
//!
//! Why at the queue: both ways a span ends (a `#[trace]` call's span, queued by the call
//! itself, and every span made through the SDK, queued by the pipeline's processor) meet
//! in [`QueueHandle::enqueue`](super::queue::QueueHandle::enqueue), on the thread that
//! ended the span, before any export and whether or not the export later succeeds. Copying
//! there gives the whole span at once, with no wait for the export task.
//!
//! Why by session id: every span carries its session's id (stamped at start, or in the
//! tracer's shared stamp), and an experiment gives each datapoint a session of its own, so
//! the id alone keeps datapoints that run at once apart.
//!
//! What it costs: nothing to a session that does not collect beyond one relaxed atomic
//! load per queued span while no session of the pipeline collects; while one does, the
//! session id of each queued span is looked up, and only the collecting sessions' spans
//! are copied.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::queue::Unresolved;
use crate::attributes as attr;
use crate::redact::Redaction;

/// The spans collected for one session so far.
type Sink = Arc<Mutex<Vec<SpanData>>>;

/// The sessions of a pipeline whose spans are being collected.
#[derive(Default)]
pub(crate) struct Collectors {
    /// How many sessions collect: the only thing a queued span reads when none does.
    active: AtomicUsize,
    by_session: Mutex<HashMap<Arc<str>, Sink>>,
    /// The pipeline's redaction: a collected span holds what exporters would see.
    redaction: Redaction,
}

impl std::fmt::Debug for Collectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collectors")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Collectors {
    /// No session collecting yet; collected spans are redacted with `redaction`.
    pub(crate) fn new(redaction: Redaction) -> Collectors {
        Collectors {
            redaction,
            ..Collectors::default()
        }
    }

    /// Starts collecting the spans of session `session_id` queued from now on, until the
    /// returned [`Collection`] is finished or dropped.
    pub(crate) fn start(self: &Arc<Self>, session_id: &str) -> Collection {
        let session: Arc<str> = Arc::from(session_id);
        let spans = Sink::default();
        // A second collection of one session takes its spans from now on; the first
        // then finds itself replaced, and neither its end nor this one's miscounts.
        let replaced = self
            .sessions()
            .insert(Arc::clone(&session), Arc::clone(&spans));
        if replaced.is_none() {
            self.active.fetch_add(1, Ordering::SeqCst);
        }
        Collection {
            collectors: Arc::clone(self),
            session,
            spans,
        }
    }

    /// Called for every span queued on the pipeline.
    #[inline]
    pub(crate) fn offer(&self, span: &SpanData, unresolved: &Unresolved) {
        if self.active.load(Ordering::Relaxed) != 0 {
            self.collect(span, unresolved);
        }
    }

    #[cold]
    fn collect(&self, span: &SpanData, unresolved: &Unresolved) {
        let shared: &[KeyValue] = unresolved.shared.map_or(&[], |s| &s[..]);
        let Some(session) = session_of(&span.attributes).or_else(|| session_of(shared)) else {
            return;
        };
        let Some(sink) = self.sessions().get(session.as_ref()).cloned() else {
            return;
        };
        // The span as exporters will see it: deferred strings in place, redacted, the
        // shared stamp after the span's own attributes.
        let mut copy = span.clone();
        if let Some(text) = &unresolved.text {
            text.resolve(&mut copy.attributes);
        }
        super::queue::redact_span(&mut copy, &self.redaction);
        copy.attributes.extend(shared.iter().cloned());
        sink.lock().unwrap_or_else(|p| p.into_inner()).push(copy);
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<Arc<str>, Sink>> {
        self.by_session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The session id a span's attributes name.
fn session_of(attributes: &[KeyValue]) -> Option<std::borrow::Cow<'_, str>> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == attr::SESSION_ID)
        .map(|kv| match &kv.value {
            Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
            other => other.as_str(),
        })
}

/// The collection of one session's spans; see [`Collectors::start`].
#[derive(Debug)]
pub(crate) struct Collection {
    collectors: Arc<Collectors>,
    session: Arc<str>,
    spans: Sink,
}

impl Collection {
    /// Stops collecting and returns the spans queued since the start, in the order they
    /// ended. Spans of the session that end later are not collected.
    pub(crate) fn finish(self) -> Vec<SpanData> {
        // `Drop` unregisters the session.
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Collection {
    fn drop(&mut self) {
        let mut sessions = self.collectors.sessions();
        let ours = sessions
            .get(&self.session)
            .is_some_and(|sink| Arc::ptr_eq(sink, &self.spans));
        if ours {
            sessions.remove(&self.session);
            self.collectors.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::deferred_text::DeferredText;

    fn span(name: &'static str, attributes: Vec<KeyValue>) -> SpanData {
        let mut span = crate::export::test_span(attributes);
        span.name = name.into();
        span
    }

    #[test]
    fn only_the_collecting_sessions_spans_are_copied_whole() {
        let collectors = Arc::new(Collectors::default());
        // Nobody collects: nothing is looked at.
        collectors.offer(
            &span("before", vec![KeyValue::new(attr::SESSION_ID, "a")]),
            &Unresolved::default(),
        );
        let a = collectors.start("a");
        let b = collectors.start("b");
        collectors.offer(
            &span(
                "a1",
                vec![
                    KeyValue::new(attr::SESSION_ID, "a"),
                    KeyValue::new("honeyhive_inputs.q", "key sk-abcdefghijklmnopqrstuvwx"),
                ],
            ),
            &Unresolved::default(),
        );
        collectors.offer(
            &span("b1", vec![KeyValue::new(attr::SESSION_ID, "b")]),
            &Unresolved::default(),
        );
        collectors.offer(
            &span("other", vec![KeyValue::new(attr::SESSION_ID, "c")]),
            &Unresolved::default(),
        );
        collectors.offer(&span("no session", vec![]), &Unresolved::default());
        // A `#[trace]` span: its stamp shared, its argument deferred.
        let mut text = DeferredText::with_capacity();
        let placeholder = text.defer(0, "deferred argument").unwrap();
        let stamp: crate::export::queue::SharedAttributes =
            vec![KeyValue::new(attr::SESSION_ID, "a")].into();
        collectors.offer(
            &span("a2", vec![KeyValue::new("honeyhive_inputs.q", placeholder)]),
            &Unresolved {
                shared: Some(&stamp),
                text: Some(text),
            },
        );
        let a_spans = a.finish();
        assert_eq!(
            a_spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(),
            ["a1", "a2"]
        );
        assert_eq!(a_spans[1].attributes[0].value.as_str(), "deferred argument");
        // Redacted as exporters would see it.
        assert_eq!(a_spans[0].attributes[1].value.as_str(), "key [REDACTED]");
        assert_eq!(a_spans[1].attributes[1].key.as_str(), attr::SESSION_ID);
        // Finished: later spans of `a` are not collected; `b` still is.
        assert_eq!(collectors.active.load(Ordering::SeqCst), 1);
        collectors.offer(
            &span("b2", vec![KeyValue::new(attr::SESSION_ID, "b")]),
            &Unresolved::default(),
        );
        drop(b);
        assert_eq!(collectors.active.load(Ordering::SeqCst), 0);
        assert!(collectors.sessions().is_empty());

        // One session collected twice: the later collection takes the spans, and the
        // earlier one ending leaves it collecting.
        let first = collectors.start("s");
        let second = collectors.start("s");
        drop(first);
        assert_eq!(collectors.active.load(Ordering::SeqCst), 1);
        collectors.offer(
            &span("s1", vec![KeyValue::new(attr::SESSION_ID, "s")]),
            &Unresolved::default(),
        );
        assert_eq!(second.finish().len(), 1);
        assert_eq!(collectors.active.load(Ordering::SeqCst), 0);
    }
}
