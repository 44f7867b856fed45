//! The session bodies of the HoneyHive API: `POST /session/start` and `PUT /events`
//! (`docs/honeyhive-api.md`), and [`Enrichment`], what a `PUT /events` adds to a session
//! or event (and `enrich_span` to a span).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `session` object of `POST /session/start`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionStart {
    /// Client-generated UUID v4.
    pub session_id: String,
    /// Project name; left out when not set (HoneyHive infers it from the key).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub project: Option<String>,
    /// Session name.
    pub session_name: String,
    /// Source label.
    pub source: String,
    /// Session inputs.
    pub inputs: Value,
    /// Metadata, with `run_id`, `dataset_id`, `datapoint_id` in evaluations.
    pub metadata: Map<String, Value>,
    /// User properties.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_properties: Option<Map<String, Value>>,
    /// Session configuration.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub config: Option<Map<String, Value>>,
}

/// The body of `PUT /events`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EventUpdate<'a> {
    pub(crate) event_id: &'a str,
    #[serde(flatten)]
    pub(crate) enrichment: &'a Enrichment,
}

/// Additions to a session or event (`PUT /events`) or to the current span
/// (`honeyhive_<kind>.*`).
///
/// Inputs and outputs are objects, as HoneyHive stores them: a value that is not an object
/// goes under `result` for outputs (as a traced function's return value does) and under
/// `input` for inputs.
///
/// ```
/// use honeyhive::Enrichment;
///
/// let e = Enrichment::new()
///     .metadata("model", "gpt-4o")
///     .metric("latency_ms", 120)
///     .feedback("liked", true)
///     .inputs(serde_json::json!({"question": "capital of France?"}))
///     .outputs("Paris")
///     .error("the retriever timed out");
/// let body = serde_json::to_value(&e).unwrap();
/// assert_eq!(body["metrics"]["latency_ms"], 120);
/// assert_eq!(body["outputs"], serde_json::json!({"result": "Paris"}));
/// assert_eq!(body["inputs"]["question"], "capital of France?");
/// assert_eq!(body["error"], "the retriever timed out");
///
/// // Another event or session than the current one, by id (`PUT /events` for it).
/// let later = Enrichment::new().feedback("rating", 5).event_id("8f3c1c52-a2e9-4a43-9f3b-6f1d2f4b9e10");
/// assert_eq!(later.target(), Some("8f3c1c52-a2e9-4a43-9f3b-6f1d2f4b9e10"));
/// ```
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Enrichment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inputs: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outputs: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
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
    /// The event or session to update instead of the current span or session.
    #[serde(skip)]
    pub(crate) target: Option<String>,
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

    /// Applies `redaction` to every value the update carries.
    pub(crate) fn redact(&mut self, redaction: &crate::Redaction) {
        for (prefix, map) in [
            ("inputs", self.inputs.as_mut()),
            ("outputs", self.outputs.as_mut()),
        ] {
            if let Some(map) = map {
                redaction.redact_map(prefix, map);
            }
        }
        if let Some(error) = &mut self.error
            && let Some(redacted) = redaction.redact_str("error", error)
        {
            *error = redacted;
        }
        redaction.redact_map("metadata", &mut self.metadata);
        redaction.redact_map("metrics", &mut self.metrics);
        redaction.redact_map("feedback", &mut self.feedback);
        redaction.redact_map("config", &mut self.config);
        redaction.redact_map("user_properties", &mut self.user_properties);
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

    /// The outputs (replaces earlier outputs). A value that is not an object is sent as
    /// `{"result": value}`.
    pub fn outputs(mut self, outputs: impl Serialize) -> Self {
        match serde_json::to_value(outputs) {
            Ok(v) => self.outputs = Some(object_or(v, "result")),
            Err(e) => self.failures.push(("outputs".into(), e.to_string())),
        }
        self
    }

    /// The inputs (replaces earlier inputs). A value that is not an object is sent as
    /// `{"input": value}`.
    pub fn inputs(mut self, inputs: impl Serialize) -> Self {
        match serde_json::to_value(inputs) {
            Ok(v) => self.inputs = Some(object_or(v, "input")),
            Err(e) => self.failures.push(("inputs".into(), e.to_string())),
        }
        self
    }

    /// An error text (`honeyhive_error` on a span, `error` of the event).
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Updates the event (span) with this id instead of the current span: what
    /// [`enrich_span`] then sends is `PUT /events` for it, through the current tracer.
    pub fn event_id(mut self, event_id: impl Into<String>) -> Self {
        self.target = Some(event_id.into());
        self
    }

    /// Updates the session with this id instead of the current tracer's own (HoneyHive
    /// keeps a session as an event, so this is [`event_id`](Self::event_id) by its other
    /// name).
    pub fn session_id(self, session_id: impl Into<String>) -> Self {
        self.event_id(session_id)
    }

    /// The event or session this enrichment is for, when not the current one.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Reports each value that failed to serialise to `warnings` (telemetry never fails the
    /// user's code: a value it could not record is a warning).
    pub(crate) fn warn_failures(&self, warnings: &crate::WarningHandler) {
        for (key, reason) in &self.failures {
            warnings.emit(crate::Warning::CaptureFailed {
                key: key.clone(),
                reason: reason.clone(),
            });
        }
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

/// `value` if it is an object, else `{key: value}`.
fn object_or(value: Value, key: &str) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => Map::from_iter([(key.to_owned(), other)]),
    }
}
