//! The processor that stamps every span with its session and evaluation ids at start.
//!
//! Ids come from the span's parent context, never from the call site: baggage first (so a
//! distributed caller's `run_id`/`datapoint_id`/`session_id` win), then the
//! [`HoneyHiveTracer`] found in the context. Because every span start passes through here,
//! no nested, spawned or third-party span can miss the ids (the reference SDK's regression).

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::{HoneyHiveTracer, attributes as attr, baggage};

/// Stamps session, project, source, evaluation ids and user baggage on every span.
/// It never blocks and never fails: a span without a tracer in its context is left alone
/// except for its baggage.
#[derive(Debug, Default, Clone, Copy)]
pub struct HoneyHiveSpanProcessor;

impl SpanProcessor for HoneyHiveSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let tracer = cx.get::<HoneyHiveTracer>().filter(|t| t.is_enabled());
        let bag = cx.baggage();
        let mut set =
            |key: &'static str, value: StringValue| span.set_attribute(KeyValue::new(key, value));

        let from = |bag_key: &str, own: Option<&StringValue>| bag.get(bag_key).or(own).cloned();
        if let Some(session) = from(baggage::SESSION_ID, tracer.map(|t| t.session_id_value())) {
            set(attr::SESSION_ID, session.clone());
            set(attr::TRACELOOP_SESSION_ID, session);
        }
        if let Some(t) = tracer {
            set(attr::PROJECT, t.project_value().clone());
            set(attr::TRACELOOP_PROJECT, t.project_value().clone());
            set(attr::SOURCE, t.source_value().clone());
            set(attr::TRACELOOP_SOURCE, t.source_value().clone());
        }
        let ids = tracer.map(|t| t.evaluation_values());
        for (bag_key, attr_key, own) in [
            (
                baggage::RUN_ID,
                attr::RUN_ID,
                ids.and_then(|i| i.run_id.as_ref()),
            ),
            (
                baggage::DATASET_ID,
                attr::DATASET_ID,
                ids.and_then(|i| i.dataset_id.as_ref()),
            ),
            (
                baggage::DATAPOINT_ID,
                attr::DATAPOINT_ID,
                ids.and_then(|i| i.datapoint_id.as_ref()),
            ),
        ] {
            if let Some(v) = from(bag_key, own) {
                set(attr_key, v);
            }
        }
        for (key, (value, _)) in bag.iter() {
            if !baggage::PROPAGATED_KEYS.contains(&key.as_str()) {
                span.set_attribute(KeyValue::new(
                    format!("{}{}", attr::BAGGAGE_PREFIX, key.as_str()),
                    value.clone(),
                ));
            }
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}
