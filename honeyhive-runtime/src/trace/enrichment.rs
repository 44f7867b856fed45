//! [`Enrichment`], the user's way to add to a session (`PUT /events`) or to the current
//! span (`honeyhive_<kind>.*` attributes).

use serde::Serialize;
use serde_json::{Map, Value};

/// Additions to a session (`PUT /events`) or to the current span (`honeyhive_<kind>.*`).
///
/// ```
/// use honeyhive::Enrichment;
///
/// let e = Enrichment::new()
///     .metadata("model", "gpt-4o")
///     .metric("latency_ms", 120)
///     .feedback("liked", true)
///     .outputs(serde_json::json!({"answer": "Paris"}));
/// let body = serde_json::to_value(&e).unwrap();
/// assert_eq!(body["metrics"]["latency_ms"], 120);
/// assert_eq!(body["outputs"]["answer"], "Paris");
/// ```
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Enrichment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outputs: Option<Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) metrics: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) feedback: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) config: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) user_properties: Map<String, Value>,
    /// Values that failed to serialise: reported as warnings, never as the user's error.
    #[serde(skip)]
    pub(crate) failures: Vec<(String, String)>,
}

impl Enrichment {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn put(mut self, kind: Kind, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(v) => {
                self.map(kind).insert(key, v);
            }
            Err(e) => self
                .failures
                .push((format!("{}.{key}", kind.prefix()), e.to_string())),
        }
        self
    }

    fn map(&mut self, kind: Kind) -> &mut Map<String, Value> {
        match kind {
            Kind::Metadata => &mut self.metadata,
            Kind::Metrics => &mut self.metrics,
            Kind::Feedback => &mut self.feedback,
            Kind::Config => &mut self.config,
            Kind::UserProperties => &mut self.user_properties,
        }
    }

    /// A metadata entry.
    pub fn metadata(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.put(Kind::Metadata, key, value)
    }

    /// A metric.
    pub fn metric(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.put(Kind::Metrics, key, value)
    }

    /// A feedback entry (e.g. `ground_truth`).
    pub fn feedback(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.put(Kind::Feedback, key, value)
    }

    /// A config entry.
    pub fn config(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.put(Kind::Config, key, value)
    }

    /// A user property.
    pub fn user_property(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.put(Kind::UserProperties, key, value)
    }

    /// The outputs (replaces earlier outputs).
    pub fn outputs(mut self, outputs: impl Serialize) -> Self {
        match serde_json::to_value(outputs) {
            Ok(v) => self.outputs = Some(v),
            Err(e) => self.failures.push(("outputs".into(), e.to_string())),
        }
        self
    }

    /// The span attributes of this enrichment, flattened per `span-attributes.md`.
    pub(crate) fn span_attributes(&self) -> crate::trace::capture::Attributes {
        use crate::attributes as a;
        let mut attrs = crate::trace::capture::Attributes::default();
        if let Some(outputs) = &self.outputs {
            attrs.flatten(a::OUTPUTS, outputs);
        }
        for (prefix, map) in [
            (a::METADATA, &self.metadata),
            (a::METRICS, &self.metrics),
            (a::FEEDBACK, &self.feedback),
            (a::CONFIG, &self.config),
            (a::USER_PROPERTIES, &self.user_properties),
        ] {
            for (k, v) in map {
                attrs.flatten(&format!("{prefix}.{k}"), v);
            }
        }
        attrs
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Metadata,
    Metrics,
    Feedback,
    Config,
    UserProperties,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Metadata => "metadata",
            Kind::Metrics => "metrics",
            Kind::Feedback => "feedback",
            Kind::Config => "config",
            Kind::UserProperties => "user_properties",
        }
    }
}

/// Adds `enrichment` to the current span as `honeyhive_<kind>.*` attributes.
///
/// ```
/// honeyhive::enrich_span(honeyhive::Enrichment::new().metric("tokens", 42));
/// ```
/// Outside any span this does nothing.
pub fn enrich_span(enrichment: Enrichment) {
    use opentelemetry::trace::TraceContextExt;
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        warn_failures(&enrichment);
        for kv in enrichment.span_attributes().into_key_values() {
            span.set_attribute(kv);
        }
    })
}

/// Adds `enrichment` to the session of the current tracer (`PUT /events`). Delivery is in
/// the background; `flush` waits for it. Outside any tracer's scope this does nothing.
pub fn enrich_session(enrichment: Enrichment) {
    if let Some(tracer) = crate::HoneyHiveTracer::current() {
        tracer.enrich_session(enrichment);
    }
}

pub(crate) fn warn_failures(enrichment: &Enrichment) {
    if enrichment.failures.is_empty() {
        return;
    }
    let handler = crate::HoneyHiveTracer::current()
        .map(|t| t.config().warnings().clone())
        .unwrap_or_default();
    for (key, reason) in &enrichment.failures {
        handler.emit(crate::Warning::CaptureFailed {
            key: key.clone(),
            reason: reason.clone(),
        });
    }
}
