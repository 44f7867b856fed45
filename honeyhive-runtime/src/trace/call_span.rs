//! The span of a `#[trace]` call: an OpenTelemetry span made and queued by the pipeline
//! itself, not by the SDK's generic span path.
//!
//! Why: a traced call is on the user's hot path, and the generic path did work a call does
//! not need. Profiled, a third of a call went to the SDK building the span from a builder
//! (two moves of a 352-byte span), to stamping ten session and evaluation attributes at
//! start (each an atomic increment of a string's count that the export thread decrements
//! again, so the cache line changed cores twice per attribute and span), and to the
//! provider's processor hand-off at end.
//!
//! What stays exactly as the SDK would do it, so a call's span cannot be told apart from
//! one the pipeline's `SdkTracer` makes (the tests compare them):
//! - ids from the SDK's own `RandomIdGenerator`; the parent from the context; the
//!   provider's sampling decision (`ParentBased(AlwaysOn)`: a child of an unsampled parent
//!   is not recorded); the parent's trace state;
//! - the provider's limits (attributes, events, links) and instrumentation scope;
//! - the stamp. When the context's baggage adds nothing to the tracer's stamp (the common
//!   case, [`HoneyHiveTracer::covers`]), the export task stamps the span from the tracer's shared
//!   stamp (one reference-count increment on this thread instead of ten); otherwise
//!   it is stamped here, at start, with the same function the span processor uses.
//!
//! What follows from the span itself is left to the export task as well: it adds
//! `honeyhive_event_name`, `honeyhive_duration_ms` and the default event type
//! ([`complete`]), and makes the short strings the call captured before its span started
//! into their attribute values ([`crate::trace::capture::resolve_deferred`]). Each was data the
//! calling thread wrote and the export thread then read, a cache line crossing cores.
//!
//! Ending (or dropping) the span queues it on the pipeline's batch queue. A call ends its
//! span with [`end`], which hands the call's closing attributes, status and event over
//! with the end itself.

use std::borrow::Cow;
use std::cell::Cell;
use std::time::SystemTime;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, SpanData, SpanEvents, SpanLimits, SpanLinks,
};

use crate::HoneyHiveTracer;
use crate::export::pipeline::MAX_ATTRIBUTES_PER_SPAN;
use crate::export::queue::Finish;
use crate::trace::span_processor;
use crate::trace::tracer::Entered;

/// What a call adds to its span as it ends: the output and error attributes, an error
/// status, the `exception` event.
pub(crate) struct Closing {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) status: Status,
    pub(crate) event: Option<Event>,
}

thread_local! {
    /// The closing of the span [`end`] is ending: a pointer to the caller's, so that
    /// handing it over copies nothing. Set only for the length of that call, during which
    /// no other code runs that could end another span; null otherwise.
    static CLOSING: Cell<*mut Closing> = const { Cell::new(std::ptr::null_mut()) };
}

/// Ends the call span of `cx` (the context its call made) at `timestamp`, with `closing`.
///
/// Why a hand-over: the span sits in the context behind the SDK's `SynchronizedSpan`, whose
/// every method takes its mutex, so setting the closing attributes and then ending took the
/// lock twice (three times with an error), on every call. `CallSpan::end_with_timestamp`
/// takes the closing from here, under the one lock of the end. A span already ended (by the
/// user's code, through the context) does not take it: it is dropped, as the separate calls
/// would have been ignored.
///
/// The span empties `closing.attributes` when it takes them (the caller reuses the
/// buffer); a span that did not take them leaves them there.
pub(crate) fn end(cx: &Context, closing: &mut Closing, timestamp: SystemTime) {
    let previous = CLOSING.try_with(|slot| slot.replace(std::ptr::from_mut(closing)));
    cx.span().end_with_timestamp(timestamp);
    if let Ok(previous) = previous {
        let _ = CLOSING.try_with(|slot| slot.set(previous));
    }
}

/// The closing [`end`] is handing over, taken: at most once per `end`.
fn take_closing<'a>() -> Option<&'a mut Closing> {
    let closing = CLOSING
        .try_with(|slot| slot.replace(std::ptr::null_mut()))
        .unwrap_or(std::ptr::null_mut());
    // SAFETY: a non-null pointer in the slot comes from the `&mut Closing` that `end`
    // borrows for the whole of its call, on this thread, and does not touch until the
    // span's end returns; replacing it by null makes this the pointer's only use.
    unsafe { closing.as_mut() }
}

/// A span started by a `#[trace]` call.
pub(crate) struct CallSpan {
    context: SpanContext,
    /// `None` when not recorded (an unsampled parent) and once ended.
    data: Option<Data>,
}

struct Data {
    /// The tracer of the context the span started in: its pipeline queues the span.
    tracer: HoneyHiveTracer,
    /// Whether the export task stamps the span with the tracer's stamp (else it was
    /// stamped at start).
    deferred: bool,
    /// Whether the span carries an attribute event type inference reads: the event type
    /// given at start, or one the user's code set through the context. Only then is the
    /// type left to the export task.
    inference_input: bool,
    /// Whether `honeyhive_event_name` is on the span already: put there (with the call's
    /// name) before the user's code sets it or renames the span, so that what the user set
    /// comes after it, as when every call span started with it. Otherwise the export task
    /// adds it ([`complete`]).
    named: bool,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    name: Cow<'static, str>,
    start_time: SystemTime,
    attributes: Vec<KeyValue>,
    /// The strings that placeholders among `attributes` stand for (see
    /// [`crate::trace::capture::resolve_deferred`]); empty when there are none.
    text: String,
    dropped_attributes_count: u32,
    events: SpanEvents,
    links: SpanLinks,
    status: Status,
}

impl CallSpan {
    /// Starts a span as a child of `parent`, which is in the (enabled) tracer's `scope`,
    /// with `attributes` captured so far (the event type among them when `typed`), and the
    /// `text` of the placeholders among them.
    pub(crate) fn start(
        scope: &Entered,
        parent: &Context,
        name: Cow<'static, str>,
        start_time: SystemTime,
        mut attributes: Vec<KeyValue>,
        text: String,
        typed: bool,
    ) -> CallSpan {
        let ids = RandomIdGenerator::default();
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let valid_parent = Some(parent_context).filter(|p| p.is_valid());
        // `ParentBased(AlwaysOn)`, the provider's sampler: roots are sampled, children
        // follow their parent (an active but invalid parent counts as unsampled).
        let sampled = !parent.has_active_span() || parent_context.is_sampled();
        let (trace_id, parent_span_id, parent_span_is_remote, flags) = match valid_parent {
            Some(p) => (p.trace_id(), p.span_id(), p.is_remote(), p.trace_flags()),
            None => (
                ids.new_trace_id(),
                SpanId::INVALID,
                false,
                TraceFlags::default(),
            ),
        };
        let flags = if sampled {
            flags.with_sampled(true)
        } else {
            TraceFlags::default()
        };
        let context = SpanContext::new(
            trace_id,
            ids.new_span_id(),
            flags,
            false,
            parent_context.trace_state().clone(),
        );
        if !sampled {
            return CallSpan {
                context,
                data: None,
            };
        }

        let tracer = scope.tracer().clone();
        let deferred = scope.covers(parent);
        if !deferred {
            span_processor::stamp(Some(tracer.stamp()), Some(parent.baggage()), |kv| {
                attributes.push(kv)
            });
        }
        let dropped_attributes_count = truncate(&mut attributes, MAX_ATTRIBUTES_PER_SPAN);
        CallSpan {
            context,
            data: Some(Data {
                tracer,
                deferred,
                inference_input: typed,
                named: false,
                parent_span_id,
                parent_span_is_remote,
                name,
                start_time,
                attributes,
                text,
                dropped_attributes_count,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Unset,
            }),
        }
    }
}

impl Data {
    fn set_attribute(&mut self, attribute: KeyValue) {
        let key = attribute.key.as_str();
        self.inference_input |= crate::trace::event_type::reads(key);
        if key == crate::attributes::EVENT_NAME {
            self.name_now();
        }
        self.push(attribute);
    }

    /// Puts `honeyhive_event_name` (the call's name) on the span now, if it is not there.
    fn name_now(&mut self) {
        if !self.named {
            self.named = true;
            // Past the attribute limit too, as the export task would add it: every call
            // span carries its event name.
            self.attributes.push(KeyValue::new(
                crate::attributes::EVENT_NAME,
                self.name.clone(),
            ));
        }
    }

    fn push(&mut self, attribute: KeyValue) {
        if self.attributes.len() < MAX_ATTRIBUTES_PER_SPAN as usize {
            self.attributes.push(attribute);
        } else {
            self.dropped_attributes_count += 1;
        }
    }

    fn set_status(&mut self, status: Status) {
        // As the SDK: Ok > Error > Unset, a status never goes down.
        if status > self.status {
            self.status = status;
        }
    }

    fn add_event(&mut self, mut event: Event) {
        let limits = SpanLimits::default();
        if self.events.len() < limits.max_events_per_span as usize {
            event.dropped_attributes_count +=
                truncate(&mut event.attributes, limits.max_attributes_per_event);
            self.events.events.push(event);
        } else {
            self.events.dropped_count += 1;
        }
    }
}

/// At most `limit` attributes kept; returns how many were dropped.
fn truncate(attributes: &mut Vec<KeyValue>, limit: u32) -> u32 {
    let dropped = attributes.len().saturating_sub(limit as usize);
    attributes.truncate(limit as usize);
    dropped as u32
}

impl opentelemetry::trace::Span for CallSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if let Some(data) = &mut self.data {
            data.add_event(Event::new(name, timestamp, attributes, 0));
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(data) = &mut self.data {
            data.set_attribute(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(data) = &mut self.data {
            data.set_status(status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(data) = &mut self.data {
            // `honeyhive_event_name` stays the call's name (`span-attributes.md`).
            data.name_now();
            data.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let Some(data) = &mut self.data else { return };
        let limits = SpanLimits::default();
        if data.links.len() < limits.max_links_per_span as usize {
            let dropped = truncate(&mut attributes, limits.max_attributes_per_link);
            data.links
                .links
                .push(Link::new(span_context, attributes, dropped));
        } else {
            data.links.dropped_count += 1;
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        let Some(mut data) = self.data.take() else {
            return;
        };
        let closing = take_closing();
        let closed = closing.is_some();
        if let Some(closing) = closing {
            let attributes = &mut closing.attributes;
            if data.attributes.len() + attributes.len() <= MAX_ATTRIBUTES_PER_SPAN as usize {
                data.attributes.append(attributes);
            } else {
                for attribute in attributes.drain(..) {
                    data.set_attribute(attribute);
                }
            }
            data.set_status(std::mem::replace(&mut closing.status, Status::Unset));
            if let Some(event) = closing.event.take() {
                data.add_event(event);
            }
        }
        let Some(pipeline) = data.tracer.pipeline() else {
            return; // `start` is only called with an enabled tracer
        };
        let span = SpanData {
            span_context: self.context.clone(),
            parent_span_id: data.parent_span_id,
            parent_span_is_remote: data.parent_span_is_remote,
            span_kind: SpanKind::Internal,
            name: data.name,
            start_time: data.start_time,
            end_time: timestamp,
            attributes: data.attributes,
            dropped_attributes_count: data.dropped_attributes_count,
            events: data.events,
            links: data.links,
            status: data.status,
            instrumentation_scope: pipeline.scope().clone(),
        };
        let stamp = data.deferred.then(|| data.tracer.stamp());
        let finish = Finish::Call {
            infer: data.inference_input,
            duration: closed,
            name: !data.named,
        };
        pipeline.queue().enqueue(span, stamp, finish, data.text);
    }
}

/// Adds what a call's span carries that follows from the span itself, on the export
/// thread: `honeyhive_event_name` (its name, unless already `named`: the span was renamed
/// or the attribute set by the user's code), `honeyhive_duration_ms` (from its times, when
/// the call ended it: the call's duration is exactly its interval) and, unless `infer`
/// (something on the span that inference reads), the default event type.
///
/// Why here: each was an attribute built and written on the calling thread, in memory the
/// export thread then reads (a cache line crossing cores per attribute); they cannot be
/// told apart from the calling thread's, and nothing the call does can change them.
pub(crate) fn complete(span: &mut SpanData, infer: bool, duration: bool, name: bool) {
    use crate::attributes as attr;
    if name {
        span.attributes
            .push(KeyValue::new(attr::EVENT_NAME, span.name.clone()));
    }
    if duration {
        let interval = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        span.attributes.push(KeyValue::new(
            attr::DURATION_MS,
            interval.as_secs_f64() * 1000.0,
        ));
    }
    if infer {
        crate::trace::event_type::infer(span);
    } else {
        span.attributes.push(KeyValue::new(
            attr::EVENT_TYPE,
            crate::trace::event_type::DEFAULT,
        ));
    }
}

impl Drop for CallSpan {
    fn drop(&mut self) {
        // As an SDK span: one dropped without `end` still ends, now.
        if self.data.is_some() {
            opentelemetry::trace::Span::end(self);
        }
    }
}
