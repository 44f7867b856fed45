//! [`Enrichment`] applied: to the current span as `honeyhive_<kind>.*` attributes, or to the
//! current tracer's session (`PUT /events`).

use serde_json::Map;

use crate::api::sessions::Enrichment;
use crate::trace::capture::Attributes;

/// The span attributes of `enrichment`, flattened per `docs/span-attributes.md`.
fn span_attributes(enrichment: &Enrichment) -> Attributes {
    use crate::attributes as a;
    let mut attrs = Attributes::default();
    if let Some(tracer) = crate::HoneyHiveTracer::current() {
        attrs.max_value_bytes = tracer.config().attribute_limits().value_length;
    }
    if let Some(error) = &enrichment.error {
        attrs
            .values
            .push(opentelemetry::KeyValue::new(a::ERROR, error.clone()));
    }
    let none = Map::new();
    for (prefix, map) in [
        (a::INPUTS, enrichment.inputs.as_ref().unwrap_or(&none)),
        (a::OUTPUTS, enrichment.outputs.as_ref().unwrap_or(&none)),
        (a::METADATA, &enrichment.metadata),
        (a::METRICS, &enrichment.metrics),
        (a::FEEDBACK, &enrichment.feedback),
        (a::CONFIG, &enrichment.config),
        (a::USER_PROPERTIES, &enrichment.user_properties),
    ] {
        for (k, v) in map {
            attrs.flatten(&format!("{prefix}.{k}"), v);
        }
    }
    attrs
}

/// Adds `enrichment` to the current span as `honeyhive_<kind>.*` attributes; with a
/// [`target`](Enrichment::event_id), sends it for that event instead (`PUT /events`,
/// through the current tracer, as [`enrich_session`] does).
///
/// ```
/// honeyhive::enrich_span(honeyhive::Enrichment::new().metric("tokens", 42));
/// ```
/// Outside any span (or, with a target, outside any tracer's scope) this does nothing.
pub fn enrich_span(enrichment: Enrichment) {
    use opentelemetry::trace::TraceContextExt;
    if enrichment.target.is_some() {
        return enrich_session(enrichment);
    }
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let warnings = crate::HoneyHiveTracer::current()
            .map(|t| t.config().warnings().clone())
            .unwrap_or_default();
        enrichment.warn_failures(&warnings);
        for kv in span_attributes(&enrichment).into_key_values() {
            span.set_attribute(kv);
        }
    })
}

/// Adds `enrichment` to the session of the current tracer, or to the session or event it
/// [targets](Enrichment::session_id) (`PUT /events`). Delivery is in the background;
/// `flush` waits for it. Outside any tracer's scope this does nothing.
pub fn enrich_session(enrichment: Enrichment) {
    if let Some(tracer) = crate::HoneyHiveTracer::current() {
        tracer.enrich_session(enrichment);
    }
}
