//! The span of a `#[trace]` call (and of a recorded model call): an OpenTelemetry span
//! made and queued by the pipeline itself, not by the SDK's generic span path.
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
//!   case, [`Entered::covers`]), the span goes to the export queue with the tracer's stamp
//!   as one shared reference, which the export stage appends before any exporter sees the
//!   span (one reference-count increment on this thread instead of ten); otherwise it is
//!   stamped here, at start, with the same function the span processor uses.
//!
//! The call sets what it adds as it ends (output, error, duration) on its span through
//! the context, as any code would, then ends it; ending it adds `honeyhive_event_name`
//! (the call's name, unless already there) and queues it.

use std::borrow::Cow;
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
use crate::attributes as attr;
use crate::export::deferred_text::DeferredText;
use crate::export::queue::Unresolved;
use crate::trace::span_processor;
use crate::trace::tracer::Entered;

/// A span started by a `#[trace]` call or a model call.
pub(crate) struct CallSpan {
    context: SpanContext,
    /// `None` when not recorded (an unsampled parent) and once ended.
    ///
    /// Boxed: the span moves by value into the context's box as it starts, and its data
    /// out again as it ends. Inline, each move copied a few hundred bytes between the stack
    /// and the heap, and how long those copies took depended on where the stack happened to
    /// lie relative to the heap in a given process (the traced call ran up to 4% slower in
    /// some stack positions than in others); boxed, each move is a pointer.
    data: Option<Box<Data>>,
}

struct Data {
    /// The tracer of the context the span started in: its pipeline queues the span.
    tracer: HoneyHiveTracer,
    /// Whether the span goes to the export queue with the tracer's stamp as shared
    /// attributes (else it was stamped at start).
    shares_stamp: bool,
    /// Whether `honeyhive_event_name` is on the span already: put there (with the call's
    /// name) before the user's code sets it or renames the span, so that what the user set
    /// comes after it, as when every call span started with it. Otherwise the span's end
    /// adds it.
    named: bool,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    kind: SpanKind,
    name: Cow<'static, str>,
    start_time: SystemTime,
    attributes: Vec<KeyValue>,
    /// The strings of attribute values deferred to the export stage.
    text: DeferredText,
    dropped_attributes_count: u32,
    /// The configuration's attribute count limit.
    max_attributes: u32,
    events: SpanEvents,
    links: SpanLinks,
    status: Status,
}

impl CallSpan {
    /// Starts a span of `kind` as a child of `parent`, which is in the (enabled) tracer's
    /// `scope`, with `attributes` captured so far and the `text` of the values among them
    /// deferred to export.
    pub(crate) fn start(
        scope: &Entered,
        parent: &Context,
        kind: SpanKind,
        name: Cow<'static, str>,
        start_time: SystemTime,
        mut attributes: Vec<KeyValue>,
        text: DeferredText,
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
        let shares_stamp = scope.covers(parent);
        if !shares_stamp {
            span_processor::stamp(Some(tracer.stamp()), Some(parent.baggage()), |kv| {
                attributes.push(kv)
            });
        }
        let max_attributes = tracer.config().attribute_limits().count;
        let dropped_attributes_count = truncate(&mut attributes, max_attributes);
        CallSpan {
            context,
            data: Some(Box::new(Data {
                tracer,
                shares_stamp,
                named: false,
                parent_span_id,
                parent_span_is_remote,
                kind,
                name,
                start_time,
                attributes,
                text,
                dropped_attributes_count,
                max_attributes,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Unset,
            })),
        }
    }
}

impl Data {
    fn set_attribute(&mut self, attribute: KeyValue) {
        if attribute.key.as_str() == attr::EVENT_NAME {
            self.name_now();
        }
        self.push(attribute);
    }

    /// Puts `honeyhive_event_name` (the call's name) on the span now, if it is not there.
    fn name_now(&mut self) {
        if !self.named {
            self.named = true;
            // Past the attribute limit too: every call span carries its event name.
            self.attributes
                .push(KeyValue::new(attr::EVENT_NAME, self.name.clone()));
        }
    }

    fn push(&mut self, attribute: KeyValue) {
        if self.attributes.len() < self.max_attributes as usize {
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

    /// Ends the span at `timestamp` and queues it on its pipeline, with its event name,
    /// its deferred strings and, when it shares it, the tracer's stamp.
    fn finish(mut self: Box<Self>, context: SpanContext, timestamp: SystemTime) {
        // Past the attribute limit too: every call span carries its name.
        self.name_now();
        let Some(pipeline) = self.tracer.pipeline() else {
            return; // `start` is only called with an enabled tracer
        };
        let span = SpanData {
            span_context: context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_span_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start_time,
            end_time: timestamp,
            attributes: self.attributes,
            dropped_attributes_count: self.dropped_attributes_count,
            events: self.events,
            links: self.links,
            status: self.status,
            instrumentation_scope: pipeline.scope().clone(),
        };
        let unresolved = Unresolved {
            shared: self.shares_stamp.then(|| self.tracer.shared_attributes()),
            text: (!self.text.is_empty()).then_some(self.text),
        };
        pipeline.queue().enqueue(span, unresolved);
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
            // `honeyhive_event_name` stays the call's name (`docs/span-attributes.md`).
            data.name_now();
            data.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        if let Some(data) = &mut self.data {
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
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(data) = self.data.take() {
            data.finish(self.context.clone(), timestamp);
        }
    }
}

impl Drop for CallSpan {
    fn drop(&mut self) {
        // As an SDK span: one dropped without an end still ends, now.
        if self.data.is_some() {
            opentelemetry::trace::Span::end(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    /// What a span's start and end move (into the context's box, out of it) is its context
    /// and one pointer, not its data: copies of a few hundred bytes between the stack and
    /// the heap took longer or shorter depending on where the stack lay.
    #[test]
    fn a_call_span_moves_as_its_context_and_a_pointer() {
        assert!(
            size_of::<CallSpan>() <= size_of::<SpanContext>() + align_of::<CallSpan>(),
            "CallSpan is {} bytes: its data is not behind a box",
            size_of::<CallSpan>()
        );
    }
}
