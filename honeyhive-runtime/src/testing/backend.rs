//! The fake HoneyHive backend: routing, the endpoints of `docs/honeyhive-api.md`, and the
//! state they keep (runs, sessions, event metrics, dataset fixtures).

use std::collections::HashMap;
use std::fmt::Display;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::Full;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::fault::Route;
use super::record::{OtlpEncoding, RecordedBody};
use super::results::{self, Aggregate, Row};

/// Every response the server sends.
pub(super) type HttpResponse = http::Response<Full<Bytes>>;

pub(super) const SESSION_START_PATH: &str = "/session/start";
pub(super) const EVENTS_PATH: &str = "/events";
pub(super) const TRACES_PATH: &str = "/opentelemetry/v1/traces";
/// The standard OTLP/HTTP traces path (a collector's), accepted as HoneyHive's is, so the
/// server stands for any OpenTelemetry backend too (`OTEL_EXPORTER_OTLP_ENDPOINT`).
pub(super) const OTLP_TRACES_PATH: &str = "/v1/traces";

/// Whether `path` is one of the trace export paths the server accepts.
pub(super) fn is_traces_path(path: &str) -> bool {
    path == TRACES_PATH || path == OTLP_TRACES_PATH
}
const RUNS_PATH: &str = "/v1/runs";
const DATASETS_PATH: &str = "/v1/datasets";
const DATAPOINTS_PATH: &str = "/v1/datapoints";

/// A path the backend serves, with the id it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Endpoint {
    SessionStart,
    Events,
    Traces,
    Runs,
    Run(String),
    /// `/v1/runs/{id}/result`.
    RunResult(String),
    /// `/v1/runs/{new}/compare-with/{old}`.
    RunCompare {
        new: String,
        old: String,
    },
    Datasets,
    Datapoint(String),
}

impl Endpoint {
    /// The endpoint `path` names, or `None` for paths the backend does not serve.
    pub(super) fn parse(path: &str) -> Option<Endpoint> {
        Some(match path {
            SESSION_START_PATH => Endpoint::SessionStart,
            EVENTS_PATH => Endpoint::Events,
            TRACES_PATH | OTLP_TRACES_PATH => Endpoint::Traces,
            RUNS_PATH => Endpoint::Runs,
            DATASETS_PATH => Endpoint::Datasets,
            _ => {
                if let Some(run) = run_endpoint(path) {
                    run
                } else {
                    Endpoint::Datapoint(id_after(path, DATAPOINTS_PATH)?)
                }
            }
        })
    }

    pub(super) fn route(&self) -> Route {
        match self {
            Endpoint::SessionStart => Route::SessionStart,
            Endpoint::Events => Route::Events,
            Endpoint::Traces => Route::Traces,
            Endpoint::Runs
            | Endpoint::Run(_)
            | Endpoint::RunResult(_)
            | Endpoint::RunCompare { .. } => Route::Runs,
            Endpoint::Datasets | Endpoint::Datapoint(_) => Route::Datasets,
        }
    }

    fn method(&self) -> Method {
        match self {
            Endpoint::SessionStart | Endpoint::Traces | Endpoint::Runs => Method::POST,
            Endpoint::Events | Endpoint::Run(_) => Method::PUT,
            Endpoint::Datasets
            | Endpoint::Datapoint(_)
            | Endpoint::RunResult(_)
            | Endpoint::RunCompare { .. } => Method::GET,
        }
    }
}

/// `/v1/runs/{id}`, `/v1/runs/{id}/result` or `/v1/runs/{new}/compare-with/{old}`, with
/// non-empty, percent-decoded ids.
fn run_endpoint(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix(RUNS_PATH)?.strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return None;
    }
    let id = |segment: &str| percent_decode(segment, false);
    Some(match segments.as_slice() {
        [run] => Endpoint::Run(id(run)),
        [run, "result"] => Endpoint::RunResult(id(run)),
        [new, "compare-with", old] => Endpoint::RunCompare {
            new: id(new),
            old: id(old),
        },
        _ => return None,
    })
}

/// The single, non-empty, percent-decoded path segment after `prefix`.
fn id_after(path: &str, prefix: &str) -> Option<String> {
    let id = path.strip_prefix(prefix)?.strip_prefix('/')?;
    (!id.is_empty() && !id.contains('/')).then(|| percent_decode(id, false))
}

/// A request to the backend, after the body was decoded.
pub(super) struct Call<'a> {
    pub(super) method: &'a Method,
    pub(super) path: &'a str,
    pub(super) endpoint: Option<&'a Endpoint>,
    pub(super) query: Option<&'a str>,
    pub(super) body: &'a RecordedBody,
    /// Why the body could not be decoded, if it could not.
    pub(super) problem: Option<&'a str>,
}

/// An error answer: status and message.
pub(super) type Failure = (StatusCode, String);

/// Data the backend keeps between requests.
#[derive(Debug, Default)]
pub(super) struct Backend {
    /// Answer session starts with an id of the server's own, as a backend may.
    assign_session_ids: bool,
    runs: Vec<Map<String, Value>>,
    /// Accepted session starts by the session id the server answered with.
    sessions: HashMap<String, Map<String, Value>>,
    /// The `metrics` of accepted `PUT /events`, merged per event id (later values win).
    event_metrics: HashMap<String, Map<String, Value>>,
    datasets: Vec<Dataset>,
}

#[derive(Debug)]
struct Dataset {
    id: String,
    name: String,
    datapoints: Vec<Value>,
}

impl Backend {
    pub(super) fn new(assign_session_ids: bool) -> Self {
        Backend {
            assign_session_ids,
            ..Backend::default()
        }
    }

    /// Registers (or replaces) a dataset fixture.
    ///
    /// # Panics
    /// If a datapoint has no string `"id"`: the endpoints could not serve it.
    pub(super) fn add_dataset(&mut self, id: String, name: String, datapoints: Vec<Value>) {
        for (index, datapoint) in datapoints.iter().enumerate() {
            assert!(
                datapoint.get("id").is_some_and(Value::is_string),
                "add_dataset({id:?}): datapoint {index} has no string \"id\": {datapoint}"
            );
        }
        self.datasets.retain(|dataset| dataset.id != id);
        self.datasets.push(Dataset {
            id,
            name,
            datapoints,
        });
    }

    /// The stored runs, in creation order.
    pub(super) fn runs(&self) -> Vec<Value> {
        self.runs.iter().cloned().map(Value::Object).collect()
    }

    pub(super) fn handle(&mut self, call: &Call<'_>) -> HttpResponse {
        let Some(endpoint) = call.endpoint else {
            return error_response(
                StatusCode::NOT_FOUND,
                format!(
                    "the test server has no route for {} {}",
                    call.method, call.path
                ),
            );
        };
        if *call.method != endpoint.method() {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} {} is not allowed; use {}",
                    call.method,
                    call.path,
                    endpoint.method()
                ),
            );
        }
        let result = match endpoint {
            Endpoint::Traces => return export_traces(call),
            Endpoint::SessionStart => self.start_session(call),
            Endpoint::Events => self.update_event(call),
            Endpoint::Runs => self.create_run(call),
            Endpoint::Run(id) => self.update_run(id, call),
            Endpoint::RunResult(id) => {
                return match self.run_result(id, call) {
                    Ok(body) => response(StatusCode::OK, "application/json", body),
                    Err((status, message)) => error_response(status, message),
                };
            }
            Endpoint::RunCompare { new, old } => self.compare_runs(new, old, call),
            Endpoint::Datasets => self.dataset(call),
            Endpoint::Datapoint(id) => self.datapoint(id),
        };
        match result {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err((status, message)) => error_response(status, message),
        }
    }

    fn create_run(&mut self, call: &Call<'_>) -> Result<Value, Failure> {
        let mut run = json_object(call)?.clone();
        let run_id = id_or_new(&run, "run_id")?;
        if self.runs.iter().any(|r| r["run_id"] == run_id.as_str()) {
            return Err((StatusCode::CONFLICT, format!("run {run_id} already exists")));
        }
        run.insert("run_id".to_owned(), run_id.clone().into());
        self.runs.push(run.clone());
        Ok(json!({ "run_id": run_id, "evaluation": run }))
    }

    /// Top-level fields of the body replace those of the stored run; the id in the path stays
    /// the run's id.
    fn update_run(&mut self, id: &str, call: &Call<'_>) -> Result<Value, Failure> {
        let patch = json_object(call)?;
        let run = self
            .runs
            .iter_mut()
            .find(|r| r["run_id"] == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no run with id {id}")))?;
        run.extend(patch.clone());
        run.insert("run_id".to_owned(), id.into());
        Ok(json!({ "evaluation": run }))
    }

    fn start_session(&mut self, call: &Call<'_>) -> Result<Value, Failure> {
        let session = json_object(call)?
            .get("session")
            .and_then(Value::as_object)
            .ok_or_else(|| bad_request(r#"expected {"session": {...}}"#))?;
        let id = id_or_new(session, "session_id")?;
        let id = if self.assign_session_ids {
            Uuid::new_v4().to_string()
        } else {
            id
        };
        self.sessions.insert(id.clone(), session.clone());
        Ok(json!({ "session_id": id }))
    }

    fn update_event(&mut self, call: &Call<'_>) -> Result<Value, Failure> {
        let update = json_object(call)?;
        let Some(Value::String(event_id)) = update.get("event_id") else {
            return Err(bad_request("expected a string \"event_id\""));
        };
        if let Some(Value::Object(metrics)) = update.get("metrics") {
            self.event_metrics
                .entry(event_id.clone())
                .or_default()
                .extend(metrics.clone());
        }
        Ok(json!({ "success": true }))
    }

    fn run(&self, id: &str) -> Result<&Map<String, Value>, Failure> {
        self.runs
            .iter()
            .find(|r| r["run_id"] == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no run with id {id}")))
    }

    /// One row per session id in the run's `event_ids`, with the datapoint id its session
    /// start named and the metrics its event updates sent.
    fn rows<'a>(&'a self, run: &'a Map<String, Value>) -> Vec<Row<'a>> {
        static NO_METRICS: std::sync::LazyLock<Map<String, Value>> =
            std::sync::LazyLock::new(Map::new);
        let session_ids = run
            .get("event_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        session_ids
            .map(|session_id| Row {
                datapoint_id: self
                    .sessions
                    .get(session_id)
                    .and_then(|s| s.get("metadata"))
                    .and_then(|m| m.get("datapoint_id"))
                    .and_then(Value::as_str),
                session_id,
                metrics: self.event_metrics.get(session_id).unwrap_or(&NO_METRICS),
            })
            .collect()
    }

    fn run_result(&self, id: &str, call: &Call<'_>) -> Result<String, Failure> {
        let aggregate = Aggregate::from_query(call.query)?;
        let run = self.run(id)?;
        Ok(results::result(run, &self.rows(run), aggregate))
    }

    fn compare_runs(&self, new: &str, old: &str, call: &Call<'_>) -> Result<Value, Failure> {
        let aggregate = Aggregate::from_query(call.query)?;
        let (new, old) = (self.run(new)?, self.run(old)?);
        Ok(results::compare(
            (new, &self.rows(new)),
            (old, &self.rows(old)),
            aggregate,
        ))
    }

    fn dataset(&self, call: &Call<'_>) -> Result<Value, Failure> {
        let id = call
            .query
            .and_then(|q| query_param(q, "dataset_id"))
            .ok_or_else(|| {
                bad_request("the test server only serves /v1/datasets?dataset_id=<id>")
            })?;
        let dataset = self
            .datasets
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no dataset with id {id}")))?;
        let ids: Vec<&Value> = dataset.datapoints.iter().map(|d| &d["id"]).collect();
        Ok(json!({ "datasets": [{ "id": dataset.id, "name": dataset.name, "datapoints": ids }] }))
    }

    fn datapoint(&self, id: &str) -> Result<Value, Failure> {
        let datapoint = self
            .datasets
            .iter()
            .flat_map(|d| &d.datapoints)
            .find(|d| d["id"] == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no datapoint with id {id}")))?;
        Ok(json!({ "datapoint": [datapoint] }))
    }
}

fn export_traces(call: &Call<'_>) -> HttpResponse {
    let RecordedBody::Otlp { encoding, .. } = call.body else {
        let reason = call.problem.unwrap_or("the body is empty");
        return response(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            reason.to_owned(),
        );
    };
    let accepted = ExportTraceServiceResponse::default();
    match encoding {
        OtlpEncoding::Protobuf => response(
            StatusCode::OK,
            "application/x-protobuf",
            accepted.encode_to_vec(),
        ),
        OtlpEncoding::Json => {
            let body = serde_json::to_vec(&accepted).expect("an empty export response serialises");
            response(StatusCode::OK, "application/json", body)
        }
    }
}

fn json_object<'a>(call: &Call<'a>) -> Result<&'a Map<String, Value>, Failure> {
    match call.body {
        RecordedBody::Json(Value::Object(object)) => Ok(object),
        RecordedBody::Json(other) => {
            Err(bad_request(format!("expected a JSON object, got {other}")))
        }
        RecordedBody::Empty => Err(bad_request("expected a JSON object, got an empty body")),
        RecordedBody::Raw(_) | RecordedBody::Otlp { .. } => Err(bad_request(
            call.problem.unwrap_or("expected a JSON object"),
        )),
    }
}

/// The string id under `key`, or a fresh UUID v4 as the backend assigns when the client sent
/// none.
fn id_or_new(object: &Map<String, Value>, key: &str) -> Result<String, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Uuid::new_v4().to_string()),
        Some(Value::String(id)) => Ok(id.clone()),
        Some(other) => Err(bad_request(format!(
            "\"{key}\" must be a string, got {other}"
        ))),
    }
}

pub(super) fn bad_request(message: impl Into<String>) -> Failure {
    (StatusCode::BAD_REQUEST, message.into())
}

/// The percent-decoded value of the first `name` parameter of a URL query string.
pub(super) fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| percent_decode(key, true) == name)
        .map(|(_, value)| percent_decode(value, true))
}

/// Decodes `%XX` escapes (and `+` as space in query strings); malformed escapes stay as they
/// are, and invalid UTF-8 is replaced rather than rejected since ids are only compared.
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let hex_digit = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = match byte {
            b'%' => hex_digit(i + 1).zip(hex_digit(i + 2)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            None => {
                decoded.push(if byte == b'+' && plus_is_space {
                    b' '
                } else {
                    byte
                });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = http::Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    response(status, "application/json", body.to_string())
}

/// A JSON `{"error": message}` response.
pub(super) fn error_response(status: StatusCode, message: impl Display) -> HttpResponse {
    json_response(status, &json!({ "error": message.to_string() }))
}
