//! The session bodies of the HoneyHive API: `POST /session/start` and `PUT /events`
//! (`docs/honeyhive-api.md`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::trace::enrichment::Enrichment;

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
