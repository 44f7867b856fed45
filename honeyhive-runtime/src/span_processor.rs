//! The processor that stamps every span with its session and evaluation ids at start.
//!
//! Ids come from the span's parent context, never from the call site: baggage first (so a
//! distributed caller's `run_id`/`datapoint_id`/`session_id` win), then the
//! [`HoneyHiveTracer`] found in the context. Because every span start passes through here,
//! no nested, spawned or third-party span can miss the ids (the reference SDK's regression).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key, KeyValue, StringValue};
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
        let ids = tracer.map(|t| t.evaluation_values());
        // One pass over the baggage (a handful of entries) instead of one hash lookup per
        // id: the propagated ids are picked out, every other entry is user baggage.
        let mut session = tracer.map(|t| t.session_id_value());
        let mut run = ids.and_then(|i| i.run_id.as_ref());
        let mut dataset = ids.and_then(|i| i.dataset_id.as_ref());
        let mut datapoint = ids.and_then(|i| i.datapoint_id.as_ref());
        let bag = cx.baggage();
        let mut user_entries = 0;
        for (key, (value, _)) in bag.iter() {
            match key.as_str() {
                baggage::SESSION_ID => session = Some(value),
                baggage::RUN_ID => run = Some(value),
                baggage::DATASET_ID => dataset = Some(value),
                baggage::DATAPOINT_ID => datapoint = Some(value),
                baggage::TRACER_ID => {}
                _ => user_entries += 1,
            }
        }

        let mut set = |key: &'static str, value: &StringValue| {
            span.set_attribute(KeyValue::new(key, value.clone()))
        };
        if let Some(session) = session {
            set(attr::SESSION_ID, session);
            set(attr::TRACELOOP_SESSION_ID, session);
        }
        if let Some(t) = tracer {
            set(attr::PROJECT, t.project_value());
            set(attr::TRACELOOP_PROJECT, t.project_value());
            set(attr::SOURCE, t.source_value());
            set(attr::TRACELOOP_SOURCE, t.source_value());
        }
        for (key, value) in [
            (attr::RUN_ID, run),
            (attr::DATASET_ID, dataset),
            (attr::DATAPOINT_ID, datapoint),
        ] {
            if let Some(value) = value {
                set(key, value);
            }
        }
        if user_entries > 0 {
            for (key, (value, _)) in bag.iter() {
                if !baggage::PROPAGATED_KEYS.contains(&key.as_str()) {
                    span.set_attribute(KeyValue::new(baggage_attribute(key), value.clone()));
                }
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
