//! The HoneyHive REST API over HTTP (`docs/honeyhive-api.md`), with the shared retry policy.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde::Serialize;
use serde_json::Value;

use crate::api::sessions::Enrichment;
use crate::api::sessions::{EventUpdate, SessionStart};
use crate::config::Audience;
use crate::retry::{AttemptError, Circuit, RetryPolicy, retry_through};
use crate::{Config, Error, Result};

/// Crate version sent in `hh-client-version` and `User-Agent`.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The reqwest client of one destination, carrying the headers every request must have
/// (which key a request carries depends on the call: [`bearer`] per request).
pub(crate) fn http_client(config: &Config) -> Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    headers.insert("hh-client-language", HeaderValue::from_static("rust"));
    headers.insert("hh-client-package", HeaderValue::from_static("honeyhive"));
    headers.insert(
        "hh-client-version",
        HeaderValue::from_static(CLIENT_VERSION),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent(concat!("honeyhive-rust/", env!("CARGO_PKG_VERSION")))
        .timeout(config.export.request_timeout)
        .connect_timeout(
            config
                .export
                .request_timeout
                .min(std::time::Duration::from_secs(5)),
        )
        .build()
        .map_err(|e| {
            Error::Config(format!(
                "could not build the HTTP client: {}",
                crate::retry::error_chain(&e)
            ))
        })
}

/// The `Authorization` header of `config`'s key for `audience`, marked sensitive (so no
/// `Debug` of a request or header map shows it); `None` without such a key.
pub(crate) fn bearer(config: &Config, audience: Audience) -> Result<Option<HeaderValue>> {
    let Some(key) = config.keys.for_audience(audience) else {
        return Ok(None);
    };
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
        Error::Config("an API key contains characters not allowed in an HTTP header".into())
    })?;
    auth.set_sensitive(true);
    Ok(Some(auth))
}

/// `hh-client-timestamp`: nanoseconds since the Unix epoch, read on a clock anchored once
/// to the wall clock and advanced by the monotonic one, so the timestamps of one process
/// never go back (as the reference SDK's, which the backend orders a client's calls by).
fn client_timestamp() -> HeaderValue {
    static ANCHOR: OnceLock<(u128, Instant)> = OnceLock::new();
    let (wall, at) = ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (wall, Instant::now())
    });
    HeaderValue::from(u64::try_from(wall + at.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// REST calls to one HoneyHive destination.
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base_url: Arc<str>,
    retry: RetryPolicy,
    /// Each attempt's timeout (`HH_API_TIMEOUT`).
    timeout: Duration,
    /// Session starts and event updates: the ingestion key, else the project key.
    ingestion_auth: Option<HeaderValue>,
    /// Everything else: the project key only.
    project_auth: Option<HeaderValue>,
    /// Whether the destination answers, shared with the other calls of its pipeline.
    circuit: Option<Arc<Circuit>>,
}

impl ApiClient {
    /// The REST client of `config`'s destination, on `http` (the pipeline's client).
    pub(crate) fn new(http: reqwest::Client, config: &Config) -> Result<Self> {
        Ok(ApiClient {
            http,
            base_url: config.base_url().into(),
            retry: config.export.retry.clone(),
            timeout: config.api_timeout,
            ingestion_auth: bearer(config, Audience::Ingestion)?,
            project_auth: bearer(config, Audience::Project)?,
            circuit: None,
        })
    }

    /// This client, its calls going through `circuit` (see [`retry_through`]).
    pub(crate) fn with_circuit(mut self, circuit: Arc<Circuit>) -> Self {
        self.circuit = Some(circuit);
        self
    }

    /// The API base URL.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a JSON request under the retry policy and returns the JSON answer
    /// (`Value::Null` for an empty body).
    pub(crate) async fn send(
        &self,
        audience: Audience,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Value> {
        let text = self.send_for_text(audience, method, path, body).await?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| Error::UnexpectedResponse {
            path: path.to_owned(),
            reason: format!("not JSON: {e}"),
        })
    }

    /// [`send`](Self::send), returning the answer's text as received. The request carries
    /// the key of `audience` (without one, it is not made: a configuration error), `Accept:
    /// application/json` and `hh-client-timestamp`, taken once per call so every attempt
    /// of it carries the same.
    pub(crate) async fn send_for_text(
        &self,
        audience: Audience,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<String> {
        let name = method_name(&method);
        let auth = match audience {
            Audience::Ingestion => &self.ingestion_auth,
            Audience::Project => &self.project_auth,
        };
        let Some(auth) = auth else {
            return Err(Error::Config(format!(
                "{name} {path} needs the project API key: set HH_API_KEY or call .api_key(..) \
                 (the ingestion key authorises session starts, event updates and span \
                 exports only)"
            )));
        };
        let timestamp = client_timestamp();
        let body = body
            .map(|b| serde_json::to_vec(b).map(Bytes::from))
            .transpose()
            .map_err(|source| Error::Serialize {
                what: "request body",
                source,
            })?;
        let url = format!("{}{}", self.base_url, path);
        let result = retry_through(&self.retry, self.circuit.as_deref(), || {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(self.timeout)
                .header(http::header::AUTHORIZATION, auth.clone())
                .header(http::header::ACCEPT, "application/json")
                .header("hh-client-timestamp", timestamp.clone());
            if let Some(body) = &body {
                request = request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            async move {
                let response = request.send().await.map_err(AttemptError::from_reqwest)?;
                let status = response.status();
                // The headers are read only on failure (`Retry-After`), so only then kept.
                let headers = (!status.is_success()).then(|| response.headers().clone());
                let text = response.text().await.map_err(AttemptError::from_reqwest)?;
                match headers {
                    Some(headers) => Err(AttemptError::from_status(status, &headers, &text)),
                    None => Ok(text),
                }
            }
        })
        .await;
        result.map_err(|(e, attempts)| Error::Api {
            method: name,
            path: path.to_owned(),
            reason: format!("{} (after {attempts} attempt(s))", e.reason),
        })
    }

    /// `POST /session/start`; returns the session id the backend settled on.
    pub(crate) async fn start_session(&self, session: &SessionStart) -> Result<String> {
        /// The body, serialised straight from the session (`json!` would copy it into a
        /// JSON value first).
        #[derive(Serialize)]
        struct Body<'a> {
            session: &'a SessionStart,
        }
        let answer = self
            .send(
                Audience::Ingestion,
                Method::POST,
                "/session/start",
                Some(&Body { session }),
            )
            .await?;
        match answer.get("session_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            // An answer without an id means the backend kept ours.
            _ if answer.is_object() || answer.is_null() => Ok(session.session_id.clone()),
            _ => Err(Error::UnexpectedResponse {
                path: "/session/start".into(),
                reason: format!("expected an object with session_id, got {answer}"),
            }),
        }
    }

    /// `PUT /events`.
    pub(crate) async fn update_event(&self, event_id: &str, enrichment: &Enrichment) -> Result<()> {
        self.send(
            Audience::Ingestion,
            Method::PUT,
            "/events",
            Some(&EventUpdate {
                event_id,
                enrichment,
            }),
        )
        .await
        .map(drop)
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "HTTP",
    }
}
