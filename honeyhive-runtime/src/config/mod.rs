//! Configuration: explicit builder values beat environment variables, which beat defaults.
//!
//! The environment is read through an [`Environment`] so tests can pass their own variables
//! instead of mutating the process environment (which races between parallel tests).

mod environment;
mod keys;

pub use environment::Environment;
pub use keys::ApiKey;

use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Result, RetryPolicy, WarningHandler};

/// Default HoneyHive API.
pub const DEFAULT_API_URL: &str = "https://api.honeyhive.ai";

/// OTLP encoding of exported spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf` (`application/x-protobuf`), the default.
    #[default]
    HttpProtobuf,
    /// `http/json` (`application/json`).
    HttpJson,
}

impl OtlpProtocol {
    fn parse(value: &str, var: &str) -> Result<Self> {
        match value.trim() {
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "http/json" => Ok(OtlpProtocol::HttpJson),
            other => Err(Error::Config(format!(
                "{var}={other:?} is not supported: use \"http/protobuf\" or \"http/json\""
            ))),
        }
    }
}

/// Tuning of the export pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// Spans waiting for export at most; more are dropped (and counted in a warning).
    pub max_queue_size: usize,
    /// Spans per export request at most.
    pub max_batch_size: usize,
    /// How long a span may wait for a batch to fill before it is exported anyway.
    pub scheduled_delay: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Default timeout of `flush`.
    pub flush_timeout: Duration,
    /// Retries of span exports and API calls.
    pub retry: RetryPolicy,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            max_queue_size: 65_536,
            max_batch_size: 512,
            scheduled_delay: Duration::from_millis(500),
            request_timeout: Duration::from_secs(10),
            flush_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// Resolved configuration shared by the tracers of one destination.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) project: String,
    pub(crate) base_url: String,
    pub(crate) source: String,
    pub(crate) session_name: Option<String>,
    pub(crate) run_id: Option<String>,
    pub(crate) otlp_protocol: OtlpProtocol,
    pub(crate) disabled: bool,
    pub(crate) local_dir: PathBuf,
    pub(crate) export: ExportSettings,
    pub(crate) warnings: WarningHandler,
}

impl Config {
    /// A builder that reads the process environment for what is not set explicitly.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Configuration from the process environment alone.
    pub fn from_env() -> Result<Config> {
        Config::builder().build()
    }

    /// The project name.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The API base URL (used only when connected).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The source label (`dev`, `evaluation`, ...).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The default session name, if one was configured.
    pub fn session_name(&self) -> Option<&str> {
        self.session_name.as_deref()
    }

    /// `HH_RUN_ID`: an existing run to join.
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// True when an API key is set: data goes to HoneyHive. False: the local store.
    pub fn is_connected(&self) -> bool {
        self.api_key.is_some()
    }

    /// True when tracing is turned off (`HH_DISABLED`, `OTEL_SDK_DISABLED=true`).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The directory of the local store (used when not connected).
    pub fn local_dir(&self) -> &std::path::Path {
        &self.local_dir
    }

    /// The OTLP encoding.
    pub fn otlp_protocol(&self) -> OtlpProtocol {
        self.otlp_protocol
    }

    /// Export tuning.
    pub fn export_settings(&self) -> &ExportSettings {
        &self.export
    }

    /// The warning handler.
    pub fn warnings(&self) -> &WarningHandler {
        &self.warnings
    }
}

/// Builds a [`Config`].
///
/// ```
/// use honeyhive::{Config, Environment};
///
/// // Explicit values beat the environment.
/// let env = Environment::from_pairs([("HH_PROJECT", "from-env"), ("HH_SOURCE", "ci")]);
/// let config = Config::builder().environment(env).project("explicit").build().unwrap();
/// assert_eq!(config.project(), "explicit");
/// assert_eq!(config.source(), "ci");
/// assert!(!config.is_connected()); // no API key: everything stays on disk
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    api_key: Option<String>,
    project: Option<String>,
    base_url: Option<String>,
    source: Option<String>,
    session_name: Option<String>,
    run_id: Option<String>,
    otlp_protocol: Option<OtlpProtocol>,
    disabled: Option<bool>,
    local_dir: Option<PathBuf>,
    export: Option<ExportSettings>,
    warnings: Option<WarningHandler>,
    environment: Option<Environment>,
}

impl ConfigBuilder {
    /// API key (`HH_API_KEY`, `HONEYHIVE_API_KEY`). Without one, nothing leaves the machine.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Project name (`HH_PROJECT`); required when an API key is set.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// API base URL (`HH_API_URL`, `HONEYHIVE_SERVER_URL`, `HH_SERVER_URL`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Source label (`HH_SOURCE`, default `dev`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Default session name (`HH_SESSION_NAME`).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// An existing run to join (`HH_RUN_ID`).
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// OTLP encoding (`HH_OTLP_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.otlp_protocol = Some(protocol);
        self
    }

    /// Turns all tracing into no-ops (`HH_DISABLED`, `OTEL_SDK_DISABLED=true`).
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Directory of the local store (`HH_LOCAL_DIR`; default `target/honeyhive`).
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }

    /// Export tuning.
    pub fn export_settings(mut self, settings: ExportSettings) -> Self {
        self.export = Some(settings);
        self
    }

    /// Where warnings go (default: stderr).
    pub fn on_warning(mut self, handler: WarningHandler) -> Self {
        self.warnings = Some(handler);
        self
    }

    /// Where environment variables come from (default: the process environment).
    pub fn environment(mut self, env: Environment) -> Self {
        self.environment = Some(env);
        self
    }

    /// Resolves the configuration.
    pub fn build(self) -> Result<Config> {
        let env = self.environment.unwrap_or_else(Environment::process);
        let api_key = self
            .api_key
            .filter(|k| !k.trim().is_empty())
            .or_else(|| {
                env.first(&["HH_API_KEY", "HONEYHIVE_API_KEY"])
                    .map(|(_, v)| v)
            })
            .map(|k| ApiKey::new(k.trim().to_owned()));
        let project = self.project.or_else(|| env.get("HH_PROJECT"));
        let project = match (project, &api_key) {
            (Some(p), _) => p,
            (None, Some(_)) => {
                return Err(Error::Config(
                    "an API key is set but no project: set HH_PROJECT or call .project(\"name\")"
                        .into(),
                ));
            }
            // Local mode: the package being run or tested is the natural project name.
            (None, None) => env.get("CARGO_PKG_NAME").unwrap_or_else(|| "local".into()),
        };
        let base_url = self
            .base_url
            .or_else(|| {
                env.first(&["HH_API_URL", "HONEYHIVE_SERVER_URL", "HH_SERVER_URL"])
                    .map(|(_, v)| v)
            })
            .unwrap_or_else(|| DEFAULT_API_URL.into());
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        if reqwest::Url::parse(&base_url).is_err() {
            return Err(Error::Config(format!(
                "API URL {base_url:?} is not a valid URL: use e.g. {DEFAULT_API_URL:?}"
            )));
        }
        let otlp_protocol = match self.otlp_protocol {
            Some(p) => p,
            None => match env.first(&["HH_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
                Some((var, v)) => OtlpProtocol::parse(&v, var)?,
                None => OtlpProtocol::default(),
            },
        };
        let disabled = match self.disabled {
            Some(d) => d,
            None => {
                let hh = match env.get("HH_DISABLED") {
                    Some(v) => parse_bool("HH_DISABLED", &v)?,
                    None => false,
                };
                let otel = match env.get("OTEL_SDK_DISABLED") {
                    Some(v) => parse_bool("OTEL_SDK_DISABLED", &v)?,
                    None => false,
                };
                hh || otel
            }
        };
        let local_dir = self
            .local_dir
            .or_else(|| env.get("HH_LOCAL_DIR").map(PathBuf::from))
            .unwrap_or_else(|| default_local_dir(&env));
        let export = self.export.unwrap_or_default();
        if export.max_batch_size == 0 || export.max_queue_size == 0 {
            return Err(Error::Config(
                "export max_batch_size and max_queue_size must be at least 1".into(),
            ));
        }
        Ok(Config {
            api_key,
            project,
            base_url,
            source: self
                .source
                .or_else(|| env.get("HH_SOURCE"))
                .unwrap_or_else(|| "dev".into()),
            session_name: self.session_name.or_else(|| env.get("HH_SESSION_NAME")),
            run_id: self.run_id.or_else(|| env.get("HH_RUN_ID")),
            otlp_protocol,
            disabled,
            local_dir,
            export,
            warnings: self.warnings.unwrap_or_default(),
        })
    }
}

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(Error::Config(format!(
            "{var}={other:?} is not a boolean: use true or false"
        ))),
    }
}

/// `target/honeyhive` of the cargo target directory the running binary was built in, so
/// tests, examples and binaries of one workspace share one local store.
fn default_local_dir(env: &Environment) -> PathBuf {
    if let Some(dir) = env.get("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("honeyhive");
    }
    // Cargo marks every target directory with CACHEDIR.TAG; the binary lives below it.
    if let Some(target) = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(PathBuf::from)
    }) {
        return target.join("honeyhive");
    }
    PathBuf::from("target").join("honeyhive")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&str, &str)]) -> Result<Config> {
        Config::builder()
            .environment(Environment::from_pairs(pairs.iter().copied()))
            .build()
    }

    #[test]
    fn key_without_project_says_what_to_set() {
        let err = build(&[("HH_API_KEY", "k")]).unwrap_err().to_string();
        assert!(err.contains("HH_PROJECT"), "{err}");
    }

    #[test]
    fn environment_aliases_and_precedence() {
        let c = build(&[
            ("HONEYHIVE_API_KEY", "k"),
            ("HH_PROJECT", "p"),
            ("HONEYHIVE_SERVER_URL", "http://127.0.0.1:9/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9");
        assert_eq!(c.otlp_protocol(), OtlpProtocol::HttpJson);
        assert!(c.is_disabled());
        assert!(c.is_connected());
        let c = build(&[
            ("HH_API_URL", "http://127.0.0.1:1"),
            ("HONEYHIVE_SERVER_URL", "http://127.0.0.1:2"),
            ("HH_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1");
        assert_eq!(c.otlp_protocol(), OtlpProtocol::HttpProtobuf);
        assert_eq!(c.source(), "dev");
        assert!(!c.is_connected());
    }

    #[test]
    fn bad_values_are_named() {
        let err = build(&[("HH_OTLP_PROTOCOL", "grpc")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HH_OTLP_PROTOCOL") && err.contains("http/json"),
            "{err}"
        );
        let err = build(&[("HH_DISABLED", "maybe")]).unwrap_err().to_string();
        assert!(err.contains("HH_DISABLED"), "{err}");
        let err = build(&[("HH_API_URL", "not a url")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid URL"), "{err}");
    }

    #[test]
    fn api_key_is_never_printed() {
        let c = build(&[("HH_API_KEY", "super-secret"), ("HH_PROJECT", "p")]).unwrap();
        assert!(!format!("{c:?}").contains("super-secret"));
    }

    #[test]
    fn local_dir_override() {
        let c = build(&[("HH_LOCAL_DIR", "/tmp/hh")]).unwrap();
        assert_eq!(c.local_dir(), std::path::Path::new("/tmp/hh"));
    }
}
