//! Configuration: explicit builder values beat environment variables, which beat defaults.
//!
//! The environment is read through an [`Environment`] so tests can pass their own variables
//! instead of mutating the process environment (which races between parallel tests).

mod environment;
mod keys;
mod otlp_destination;
mod span_exporter;

pub use environment::Environment;
pub use keys::{ApiKey, KeyKind, KeyProblem, MalformedKey};
pub(crate) use keys::{Audience, Keys};
pub use otlp_destination::OtlpDestination;
pub(crate) use span_exporter::{DynSpanExporter, UserExporter};

use std::path::PathBuf;
use std::time::Duration;

use crate::limits::AttributeLimits;
use crate::model::{Price, PriceTable};
use crate::redact::{CARD_NUMBER_PATTERN, EMAIL_PATTERN, RedactionRules};
use crate::{Error, Redaction, Result, RetryPolicy, Warning, WarningHandler};

/// Default HoneyHive API (the reference SDK 1.7.0's `DEFAULT_API_URL`).
pub const DEFAULT_API_URL: &str = "https://api.dp1.us.honeyhive.ai";

/// Default timeout of one REST call (`HH_API_TIMEOUT`), as the reference SDK's.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(5);

/// Old variable names still read, each with the name to use instead: read only while the
/// current name is not set, with a warning once.
const OLD_NAMES: [(&str, &str); 3] = [
    ("HONEYHIVE_API_KEY", "HH_API_KEY"),
    ("HONEYHIVE_SERVER_URL", "HH_API_URL"),
    ("HH_SERVER_URL", "HH_API_URL"),
];

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
    /// Timeout of one span export request (a REST call's is the configuration's
    /// [`api_timeout`](Config::api_timeout)).
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

/// Resolved configuration shared by the tracers of one destination. Its `Debug` shows no
/// key.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) keys: Keys,
    pub(crate) project: Option<String>,
    pub(crate) base_url: String,
    pub(crate) source: String,
    pub(crate) session_name: Option<String>,
    pub(crate) run_id: Option<String>,
    pub(crate) otlp_protocol: OtlpProtocol,
    pub(crate) disabled: bool,
    pub(crate) local_dir: PathBuf,
    pub(crate) export: ExportSettings,
    pub(crate) api_timeout: Duration,
    pub(crate) warnings: WarningHandler,
    pub(crate) prices: PriceTable,
    pub(crate) capture_content: bool,
    pub(crate) require_upload: bool,
    pub(crate) otlp_destination: Option<OtlpDestination>,
    pub(crate) span_exporters: Vec<UserExporter>,
    pub(crate) redaction: Redaction,
    pub(crate) limits: AttributeLimits,
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

    /// The project name, when one is set (`HH_PROJECT`); connected, HoneyHive infers the
    /// project from the key when it is not. In local mode it is the package's name.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
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

    /// True when a project key or an ingestion key is set: data goes to HoneyHive. False:
    /// the local store.
    pub fn is_connected(&self) -> bool {
        self.keys.any()
    }

    /// True when the project key (`HH_API_KEY`) is set: what runs, results, comparisons
    /// and hosted datasets need.
    pub fn has_project_key(&self) -> bool {
        self.keys.project.is_some()
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

    /// Timeout of one REST call, each attempt (`HH_API_TIMEOUT`).
    pub fn api_timeout(&self) -> Duration {
        self.api_timeout
    }

    /// The warning handler.
    pub fn warnings(&self) -> &WarningHandler {
        &self.warnings
    }

    /// [`Error::Config`] unless the project key is set: `what` needs it.
    pub(crate) fn require_project_key(&self, what: &str) -> Result<()> {
        if self.has_project_key() {
            return Ok(());
        }
        let ingestion = match self.keys.ingestion {
            Some(_) => {
                " (the ingestion key, HH_INGESTION_API_KEY, authorises session starts, event \
                 updates and span exports only)"
            }
            None => "",
        };
        Err(Error::Config(format!(
            "{what} needs the project API key: set HH_API_KEY or call .api_key(..){ingestion}"
        )))
    }

    /// The prices model calls are costed with (the built-in table, `HH_PRICES` over it,
    /// then the builder's).
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// Whether model spans carry the messages and completions (`HH_CAPTURE_CONTENT`,
    /// default true); token counts, cost and parameters are recorded either way.
    pub fn captures_content(&self) -> bool {
        self.capture_content
    }

    /// Strict mode (`HH_REQUIRE_UPLOAD`): telemetry HoneyHive did not receive is an error
    /// (of `flush`, and of an experiment's check), not only a warning.
    pub fn require_upload(&self) -> bool {
        self.require_upload
    }

    /// The redaction rules applied to everything recorded before it is written or sent
    /// (the `redact_*` methods of the builder).
    pub fn redaction(&self) -> &Redaction {
        &self.redaction
    }

    /// How large span attributes may be (`attribute_value_length_limit`,
    /// `attribute_count_limit`).
    pub fn attribute_limits(&self) -> AttributeLimits {
        self.limits
    }

    /// The standard OTLP/HTTP destination the `OTEL_EXPORTER_OTLP_*` variables add, which
    /// gets every span next to HoneyHive or the local store.
    pub fn otlp_destination(&self) -> Option<&OtlpDestination> {
        self.otlp_destination.as_ref()
    }
}

/// Builds a [`Config`]. Its `Debug` shows no key: keys are held as [`ApiKey`] from the
/// moment they are given.
///
/// ```
/// use honeyhive::{Config, Environment};
///
/// // Explicit values beat the environment.
/// let env = Environment::from_pairs([("HH_PROJECT", "from-env"), ("HH_SOURCE", "ci")]);
/// let config = Config::builder().environment(env).project("explicit").build().unwrap();
/// assert_eq!(config.project(), Some("explicit"));
/// assert_eq!(config.source(), "ci");
/// assert!(!config.is_connected()); // no API key: everything stays on disk
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    api_key: Option<ApiKey>,
    ingestion_api_key: Option<ApiKey>,
    data_plane_api_key: Option<ApiKey>,
    project: Option<String>,
    base_url: Option<String>,
    source: Option<String>,
    session_name: Option<String>,
    run_id: Option<String>,
    otlp_protocol: Option<OtlpProtocol>,
    disabled: Option<bool>,
    local_dir: Option<PathBuf>,
    export: Option<ExportSettings>,
    api_timeout: Option<Duration>,
    max_retries: Option<usize>,
    warnings: Option<WarningHandler>,
    environment: Option<Environment>,
    prices: Option<PriceTable>,
    extra_prices: Vec<(String, Price)>,
    capture_content: Option<bool>,
    require_upload: Option<bool>,
    span_exporters: Vec<UserExporter>,
    redaction: RedactionRules,
    value_length_limit: Option<usize>,
    attribute_count_limit: Option<u32>,
}

impl ConfigBuilder {
    /// The project key (`HH_API_KEY`; `HONEYHIVE_API_KEY` is the old name). Without a key,
    /// nothing leaves the machine.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The ingestion key (`HH_INGESTION_API_KEY`, `hh_ingst_...`): session starts, event
    /// updates and span exports are sent with it. Alone, it is enough for a tracer; an
    /// experiment needs the project key too. A value of the wrong shape is an error of
    /// [`build`](Self::build).
    pub fn ingestion_api_key(mut self, key: impl Into<String>) -> Self {
        self.ingestion_api_key = Some(ApiKey::new(key));
        self
    }

    /// The fine-grained data plane key (`HH_DATA_PLANE_API_KEY`, `hh_fgdp_...`). It
    /// authorises chart calls this toolkit does not make: checked, never sent.
    pub fn data_plane_api_key(mut self, key: impl Into<String>) -> Self {
        self.data_plane_api_key = Some(ApiKey::new(key));
        self
    }

    /// Project name (`HH_PROJECT`). Optional: HoneyHive infers the project from the key;
    /// when set, it is sent with every session and span.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// API base URL (`HH_API_URL`; `HONEYHIVE_SERVER_URL` and `HH_SERVER_URL` are old
    /// names), `http` or `https`.
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

    /// Timeout of one REST call, each attempt (`HH_API_TIMEOUT` in seconds; default
    /// [`DEFAULT_API_TIMEOUT`]).
    pub fn api_timeout(mut self, timeout: Duration) -> Self {
        self.api_timeout = Some(timeout);
        self
    }

    /// Retries of every HTTP call after its first attempt (`HH_MAX_RETRIES`; default that
    /// of [`RetryPolicy::default`]). It sets the retry count of the export settings' policy.
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = Some(retries);
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

    /// Prices `model` at `price` (over the built-in table and `HH_PRICES`).
    pub fn price(mut self, model: impl Into<String>, price: Price) -> Self {
        self.extra_prices.push((model.into(), price));
        self
    }

    /// The price table model calls are costed with, instead of the built-in one and
    /// `HH_PRICES` (prices given with [`price`](Self::price) still go over it).
    pub fn prices(mut self, table: PriceTable) -> Self {
        self.prices = Some(table);
        self
    }

    /// Whether model spans carry message contents (`HH_CAPTURE_CONTENT`, then
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`; default true).
    pub fn capture_content(mut self, capture: bool) -> Self {
        self.capture_content = Some(capture);
        self
    }

    /// Strict mode (`HH_REQUIRE_UPLOAD`, default off): what HoneyHive does not receive
    /// within the retry budget is kept on disk as always, and is then also an error:
    /// `flush` returns [`Error::NotDelivered`], and an experiment's check (so its test)
    /// fails. Off, an unreachable backend costs one warning and nothing else.
    pub fn require_upload(mut self, strict: bool) -> Self {
        self.require_upload = Some(strict);
        self
    }

    /// Also sends every span to `exporter`, any standard OpenTelemetry span exporter, in
    /// addition to HoneyHive or the local store. It receives each span complete: every
    /// attribute of `docs/span-attributes.md`, the session and evaluation ids included.
    /// Every clone of the configuration (the tracers and experiments built from it) shares
    /// the one exporter; calls into it never overlap; it is shut down when the last of them
    /// is gone. Can be called more than once.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use honeyhive::opentelemetry::trace::Tracer as _;
    /// use honeyhive::opentelemetry_sdk::error::OTelSdkResult;
    /// use honeyhive::opentelemetry_sdk::trace::{SpanData, SpanExporter};
    /// use honeyhive::{Config, Environment, HoneyHiveTracer};
    ///
    /// /// Keeps the name and session of every span.
    /// #[derive(Debug, Clone, Default)]
    /// struct Names(Arc<Mutex<Vec<(String, String)>>>);
    ///
    /// impl SpanExporter for Names {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         let mut seen = self.0.lock().unwrap();
    ///         for span in batch {
    ///             let session = span.attributes.iter()
    ///                 .find(|kv| kv.key.as_str() == "honeyhive.session_id")
    ///                 .map(|kv| kv.value.to_string())
    ///                 .unwrap_or_default();
    ///             seen.push((span.name.into_owned(), session));
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let names = Names::default();
    /// let config = Config::builder()
    ///     .environment(Environment::empty()) // no API key: spans also go to the local store
    ///     .local_dir(std::env::temp_dir().join("honeyhive-doc-span-exporter"))
    ///     .span_exporter(names.clone())
    ///     .build()?;
    /// let tracer = HoneyHiveTracer::builder().config(config).build()?;
    /// tracer.in_scope(|| tracer.otel_tracer().unwrap().in_span("retrieve", |_| ()));
    /// tracer.flush()?;
    /// let seen = names.0.lock().unwrap();
    /// assert_eq!(*seen, [("retrieve".to_owned(), tracer.session_id().to_owned())]);
    /// # Ok::<(), honeyhive::Error>(())
    /// ```
    pub fn span_exporter(
        mut self,
        exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    ) -> Self {
        self.span_exporters.push(UserExporter::new(exporter));
        self
    }

    /// Redacts every value recorded under a key with a segment named `name` (ignoring
    /// ASCII case): `redact_key("ssn")` replaces `honeyhive_inputs.user.ssn` and everything
    /// under it with `"[REDACTED]"`, in spans, session and event bodies, `datapoints.jsonl`,
    /// reports and cassettes. Adds to the default rules
    /// ([`DEFAULT_KEYS`](crate::redact::DEFAULT_KEYS), and strings that look like API keys
    /// or bearer tokens). Can be called more than once.
    ///
    /// ```
    /// use honeyhive::{Config, Environment};
    ///
    /// let config = Config::builder().environment(Environment::empty()).redact_key("ssn").build()?;
    /// assert!(config.redaction().redacts_key("honeyhive_inputs.user.ssn"));
    /// # Ok::<(), honeyhive::Error>(())
    /// ```
    pub fn redact_key(mut self, name: impl Into<String>) -> Self {
        self.redaction.key_names.push(name.into());
        self
    }

    /// Replaces whatever the regular expression `pattern` (syntax of the `regex` crate)
    /// matches in a recorded string with `"[REDACTED]"`. An invalid pattern is an error of
    /// [`build`](Self::build). Can be called more than once.
    ///
    /// ```
    /// use honeyhive::{Config, Environment};
    ///
    /// let config = Config::builder()
    ///     .environment(Environment::empty())
    ///     .redact_pattern(r"\bACCT-\d{6}\b")
    ///     .build()?;
    /// let redacted = config.redaction().redact_str("honeyhive_inputs.q", "refund ACCT-123456");
    /// assert_eq!(redacted.as_deref(), Some("refund [REDACTED]"));
    /// assert!(Config::builder().redact_pattern("(").build().is_err());
    /// # Ok::<(), honeyhive::Error>(())
    /// ```
    pub fn redact_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.redaction.patterns.push(pattern.into());
        self
    }

    /// Redacts email addresses ([`EMAIL_PATTERN`](crate::redact::EMAIL_PATTERN)).
    pub fn redact_emails(self) -> Self {
        self.redact_pattern(EMAIL_PATTERN)
    }

    /// Redacts payment card numbers: 13 to 19 digits, grouped or not
    /// ([`CARD_NUMBER_PATTERN`](crate::redact::CARD_NUMBER_PATTERN)). Any number that
    /// long is taken for one.
    pub fn redact_card_numbers(self) -> Self {
        self.redact_pattern(CARD_NUMBER_PATTERN)
    }

    /// Passes every recorded string, after the other rules, to `function` with its
    /// flattened key (`honeyhive_inputs.user.name`); a `Some` it returns is recorded
    /// instead. It runs on the export thread, once per string value: keep it quick, and
    /// it must not panic.
    ///
    /// ```
    /// use honeyhive::{Config, Environment};
    ///
    /// let config = Config::builder()
    ///     .environment(Environment::empty())
    ///     .redact_with(|key, value| key.ends_with(".phone").then(|| format!("***{}", &value[value.len().saturating_sub(2)..])))
    ///     .build()?;
    /// let redacted = config.redaction().redact_str("honeyhive_inputs.user.phone", "5550123");
    /// assert_eq!(redacted.as_deref(), Some("***23"));
    /// # Ok::<(), honeyhive::Error>(())
    /// ```
    pub fn redact_with(
        mut self,
        function: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.redaction.function = Some(std::sync::Arc::new(function));
        self
    }

    /// Longest string attribute value a span keeps, in bytes
    /// (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, then `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`;
    /// default [`DEFAULT_VALUE_LENGTH_LIMIT`](crate::limits::DEFAULT_VALUE_LENGTH_LIMIT),
    /// 32 KiB). A longer value (a captured one, or any string attribute of any span) is cut
    /// on a character boundary and ends with `...[truncated N bytes]`; its key is listed
    /// in `honeyhive_truncated`, and the drop warning counts it. At least 1.
    ///
    /// ```
    /// use honeyhive::{Config, Environment};
    ///
    /// let env = Environment::from_pairs([("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4096")]);
    /// let config = Config::builder().environment(env).build()?;
    /// assert_eq!(config.attribute_limits().value_length, 4096);
    /// let config = Config::builder().environment(Environment::empty()).attribute_value_length_limit(100).build()?;
    /// assert_eq!(config.attribute_limits().value_length, 100);
    /// # Ok::<(), honeyhive::Error>(())
    /// ```
    pub fn attribute_value_length_limit(mut self, bytes: usize) -> Self {
        self.value_length_limit = Some(bytes);
        self
    }

    /// Most attributes a span keeps (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, then
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`; default
    /// [`DEFAULT_ATTRIBUTE_COUNT_LIMIT`](crate::limits::DEFAULT_ATTRIBUTE_COUNT_LIMIT),
    /// 4096): later ones are dropped, counted on the span (`dropped_attributes_count`) and
    /// in the drop warning. The session and evaluation ids a tracer stamps are always kept.
    /// At least 1.
    pub fn attribute_count_limit(mut self, count: u32) -> Self {
        self.attribute_count_limit = Some(count);
        self
    }

    /// Whether the default rules apply (default: yes): key names such as `password`,
    /// `api_key` and `authorization`, and strings that look like API keys or bearer
    /// tokens. The rules given by the other `redact_*` methods apply either way.
    pub fn default_redaction(mut self, on: bool) -> Self {
        self.redaction.defaults = Some(on);
        self
    }

    /// Resolves the configuration.
    ///
    /// # Errors
    /// [`Error::MalformedKey`] for a typed key of the wrong shape; [`Error::Config`] for
    /// any other value that cannot be used (a URL that is not `http(s)`, a timeout that is
    /// not a number of seconds, ...), naming the variable or builder method.
    pub fn build(self) -> Result<Config> {
        let env = self.environment.unwrap_or_else(Environment::process);
        let warnings = self.warnings.unwrap_or_default();
        // Reads `names` (the current name first): the builder's value wins, then the first
        // variable set; an old name is read with a warning, once.
        let read = |given: Option<String>, names: &[&'static str]| -> Option<String> {
            given.or_else(|| {
                let (variable, value) = env.first(names)?;
                if let Some((old, current)) = OLD_NAMES.iter().find(|(old, _)| *old == variable)
                    && env.first_warning(old)
                {
                    warnings.emit(Warning::DeprecatedVariable {
                        variable: old,
                        current,
                    });
                }
                Some(value)
            })
        };
        let key = |given: Option<ApiKey>, names: &[&'static str]| {
            given
                .and_then(keys::non_empty)
                .or_else(|| read(None, names).map(ApiKey::new))
        };
        let from_builder = [
            self.ingestion_api_key.is_some(),
            self.data_plane_api_key.is_some(),
        ];
        let keys = Keys {
            project: key(self.api_key, &["HH_API_KEY", "HONEYHIVE_API_KEY"]),
            ingestion: key(self.ingestion_api_key, &[KeyKind::Ingestion.variable()]),
            data_plane: key(self.data_plane_api_key, &[KeyKind::DataPlane.variable()]),
        }
        .checked(from_builder)?;
        // Connected, HoneyHive infers the project from the key (the reference SDK deprecated
        // the setting); locally, the package being run or tested names it.
        let project = self.project.or_else(|| env.get("HH_PROJECT"));
        let project = match (project, keys.any()) {
            (Some(p), _) => Some(p),
            (None, true) => None,
            (None, false) => Some(env.get("CARGO_PKG_NAME").unwrap_or_else(|| "local".into())),
        };
        let base_url = read(
            self.base_url,
            &["HH_API_URL", "HONEYHIVE_SERVER_URL", "HH_SERVER_URL"],
        )
        .unwrap_or_else(|| DEFAULT_API_URL.into());
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        check_url(&base_url)?;
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
        let api_timeout = match self.api_timeout {
            Some(t) => t,
            None => match env.get("HH_API_TIMEOUT") {
                Some(v) => parse_seconds("HH_API_TIMEOUT", &v)?,
                None => DEFAULT_API_TIMEOUT,
            },
        };
        if api_timeout.is_zero() {
            return Err(Error::Config(
                "the API timeout (api_timeout(..)) must be more than zero".into(),
            ));
        }
        // Explicit export settings beat HH_MAX_RETRIES; max_retries(..) beats both.
        let retries_from_env = match (&self.export, env.get("HH_MAX_RETRIES")) {
            (None, Some(v)) => Some(parse_count("HH_MAX_RETRIES", &v)?),
            _ => None,
        };
        let mut export = self.export.unwrap_or_default();
        if let Some(n) = self.max_retries.or(retries_from_env) {
            export.retry = export.retry.max_retries(n);
        }
        let otlp_destination = OtlpDestination::from_env(&env)?;
        if export.max_batch_size == 0 || export.max_queue_size == 0 {
            return Err(Error::Config(
                "export max_batch_size and max_queue_size must be at least 1".into(),
            ));
        }
        let mut prices = match self.prices {
            Some(table) => table,
            None => match env.get("HH_PRICES") {
                Some(path) => PriceTable::builtin_with_file(std::path::Path::new(path.trim()))?,
                None => PriceTable::builtin(),
            },
        };
        for (model, price) in self.extra_prices {
            prices = prices.with(model, price);
        }
        let capture_content = match self.capture_content {
            Some(capture) => capture,
            None => match env.first(&[
                "HH_CAPTURE_CONTENT",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            ]) {
                Some((var, v)) => parse_bool(var, &v)?,
                None => true,
            },
        };
        let require_upload = match self.require_upload {
            Some(strict) => strict,
            None => match env.get("HH_REQUIRE_UPLOAD") {
                Some(v) => parse_bool("HH_REQUIRE_UPLOAD", &v)?,
                None => false,
            },
        };
        let limits = AttributeLimits {
            value_length: match self.value_length_limit {
                Some(n) => n,
                None => match env.first(&[
                    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                ]) {
                    Some((var, v)) => parse_limit(var, &v)?,
                    None => crate::limits::DEFAULT_VALUE_LENGTH_LIMIT,
                },
            },
            count: match self.attribute_count_limit {
                Some(n) => n,
                None => match env.first(&[
                    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                    "OTEL_ATTRIBUTE_COUNT_LIMIT",
                ]) {
                    Some((var, v)) => u32::try_from(parse_limit(var, &v)?).unwrap_or(u32::MAX),
                    None => crate::limits::DEFAULT_ATTRIBUTE_COUNT_LIMIT,
                },
            },
        };
        if limits.value_length == 0 || limits.count == 0 {
            return Err(Error::Config(
                "attribute limits must be at least 1 (attribute_value_length_limit, \
                 attribute_count_limit)"
                    .into(),
            ));
        }
        Ok(Config {
            limits,
            require_upload,
            keys,
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
            api_timeout,
            warnings,
            prices,
            capture_content,
            otlp_destination,
            span_exporters: self.span_exporters,
            redaction: self.redaction.build()?,
        })
    }
}

/// An API URL must be `http(s)://host...`: the reference SDK falls back to its default
/// silently for anything else, which sends data somewhere the user did not say.
fn check_url(url: &str) -> Result<()> {
    let fix = format!("use e.g. {DEFAULT_API_URL:?} (HH_API_URL or base_url(..))");
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        Ok(parsed) => Err(Error::Config(format!(
            "API URL {url:?} is not an http(s) URL (its scheme is `{}`): {fix}",
            parsed.scheme()
        ))),
        Err(e) => Err(Error::Config(format!(
            "API URL {url:?} is not a valid URL ({e}): {fix}"
        ))),
    }
}

fn parse_seconds(var: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            Error::Config(format!(
                "{var}={value:?} is not a number of seconds above zero: use e.g. {var}=5 or \
                 {var}=0.5"
            ))
        })
}

fn parse_count(var: &str, value: &str) -> Result<usize> {
    value.trim().parse::<usize>().map_err(|_| {
        Error::Config(format!(
            "{var}={value:?} is not a whole number: use e.g. {var}=3 (0 for no retries)"
        ))
    })
}

fn parse_limit(var: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::Config(format!(
                "{var}={value:?} is not a limit: use a whole number of at least 1, e.g. {var}=4096"
            ))
        })
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
    use std::sync::{Arc, Mutex};

    use super::*;

    fn build(pairs: &[(&str, &str)]) -> Result<Config> {
        Config::builder()
            .environment(Environment::from_pairs(pairs.iter().copied()))
            .build()
    }

    fn ingestion_key() -> String {
        format!("hh_ingst_{}_{}", "A1".repeat(12), "s3cr3t-_".repeat(8))
    }

    /// A warning handler and what it received.
    fn collecting() -> (WarningHandler, Arc<Mutex<Vec<Warning>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let handler = WarningHandler::new(move |w| sink.lock().unwrap().push(w.clone()));
        (handler, seen)
    }

    #[test]
    fn the_default_host_is_the_reference_sdks() {
        let c = build(&[]).unwrap();
        assert_eq!(c.base_url(), "https://api.dp1.us.honeyhive.ai");
        assert_eq!(c.api_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn the_project_is_optional_with_a_key_and_the_package_without_one() {
        let c = build(&[("HH_API_KEY", "k")]).unwrap();
        assert!(c.is_connected());
        assert_eq!(c.project(), None);
        let c = build(&[("HH_INGESTION_API_KEY", &ingestion_key())]).unwrap();
        assert!(c.is_connected() && !c.has_project_key());
        assert_eq!(c.project(), None);
        let c = build(&[("HH_API_KEY", "k"), ("HH_PROJECT", "p")]).unwrap();
        assert_eq!(c.project(), Some("p"));
        let c = build(&[("CARGO_PKG_NAME", "my-crate")]).unwrap();
        assert!(!c.is_connected());
        assert_eq!(c.project(), Some("my-crate"));
    }

    #[test]
    fn typed_keys_of_the_wrong_shape_are_named_errors_without_the_value() {
        let good = ingestion_key();
        let incomplete = good[..good.len() - 1].to_owned();
        let data_plane = good.replacen("hh_ingst_", "hh_fgdp_", 1);
        let cases = [
            (
                "HH_INGESTION_API_KEY",
                incomplete.as_str(),
                KeyProblem::Incomplete,
            ),
            (
                "HH_INGESTION_API_KEY",
                data_plane.as_str(),
                KeyProblem::AnotherHoneyHiveKey,
            ),
            (
                "HH_INGESTION_API_KEY",
                "sk-proj-abcdef",
                KeyProblem::NotAHoneyHiveKey,
            ),
            (
                "HH_DATA_PLANE_API_KEY",
                good.as_str(),
                KeyProblem::AnotherHoneyHiveKey,
            ),
            (
                "HH_DATA_PLANE_API_KEY",
                "hh_fgdp_short",
                KeyProblem::Incomplete,
            ),
        ];
        for (variable, value, problem) in cases {
            let error = build(&[(variable, value)]).unwrap_err();
            let Error::MalformedKey(malformed) = &error else {
                panic!("{variable}={value}: {error:?}");
            };
            assert_eq!((malformed.source, malformed.problem), (variable, problem));
            let text = error.to_string();
            let debug = format!("{error:?}");
            assert!(text.starts_with(&format!("honeyhive configuration: {variable} must be ")));
            assert!(
                !text.contains(value) && !debug.contains(value),
                "{text} / {debug}"
            );
        }
        let text = build(&[("HH_INGESTION_API_KEY", &incomplete)])
            .unwrap_err()
            .to_string();
        assert!(text.contains("is not a complete key"), "{text}");
        let text = build(&[("HH_INGESTION_API_KEY", "hh_1234")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("another kind of HoneyHive key"), "{text}");
        let text = build(&[("HH_INGESTION_API_KEY", "abc")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("not a HoneyHive API key"), "{text}");

        // From the builder, the error names the method.
        let error = Config::builder()
            .environment(Environment::empty())
            .ingestion_api_key(&incomplete)
            .build()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("honeyhive configuration: ingestion_api_key(..) must be"),
            "{error}"
        );
        // Well-formed, both are accepted; the data plane key alone connects nothing.
        let data_plane = good.replacen("hh_ingst_", "hh_fgdp_", 1);
        let c = build(&[
            ("HH_INGESTION_API_KEY", &good),
            ("HH_DATA_PLANE_API_KEY", &data_plane),
        ])
        .unwrap();
        assert!(c.is_connected());
        assert!(
            !build(&[("HH_DATA_PLANE_API_KEY", &data_plane)])
                .unwrap()
                .is_connected()
        );
    }

    #[test]
    fn builder_keys_beat_the_environment() {
        let c = Config::builder()
            .environment(Environment::from_pairs([("HH_API_KEY", "env-key")]))
            .api_key("builder-key")
            .build()
            .unwrap();
        assert_eq!(
            c.keys.project.as_ref().map(ApiKey::expose),
            Some("builder-key")
        );
        // An empty key from the builder is no key: the environment's stands.
        let c = Config::builder()
            .environment(Environment::from_pairs([("HH_API_KEY", "env-key")]))
            .api_key("  ")
            .build()
            .unwrap();
        assert_eq!(c.keys.project.as_ref().map(ApiKey::expose), Some("env-key"));
    }

    #[test]
    fn old_names_are_read_with_one_warning_each() {
        let (handler, seen) = collecting();
        let env = Environment::from_pairs([
            ("HONEYHIVE_API_KEY", "k"),
            ("HONEYHIVE_SERVER_URL", "http://127.0.0.1:9/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_SDK_DISABLED", "true"),
        ]);
        let build = || {
            Config::builder()
                .environment(env.clone())
                .on_warning(handler.clone())
                .build()
                .unwrap()
        };
        let c = build();
        assert_eq!(c.base_url(), "http://127.0.0.1:9");
        assert_eq!(c.otlp_protocol(), OtlpProtocol::HttpJson);
        assert!(c.is_disabled());
        assert!(c.is_connected());
        build();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Warning::DeprecatedVariable {
                    variable: "HONEYHIVE_API_KEY",
                    current: "HH_API_KEY"
                },
                Warning::DeprecatedVariable {
                    variable: "HONEYHIVE_SERVER_URL",
                    current: "HH_API_URL"
                },
            ],
            "one warning per old name, however many configurations read it"
        );
        let text = seen.lock().unwrap()[1].to_string();
        assert!(text.contains("rename it to HH_API_URL"), "{text}");

        // The current names win, and nothing is said about old names that are not read.
        let (handler, seen) = collecting();
        let c = Config::builder()
            .environment(Environment::from_pairs([
                ("HH_API_URL", "http://127.0.0.1:1"),
                ("HONEYHIVE_SERVER_URL", "http://127.0.0.1:2"),
                ("HH_SERVER_URL", "http://127.0.0.1:3"),
                ("HH_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ]))
            .on_warning(handler)
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1");
        assert_eq!(c.otlp_protocol(), OtlpProtocol::HttpProtobuf);
        assert_eq!(c.source(), "dev");
        assert!(!c.is_connected());
        assert!(seen.lock().unwrap().is_empty());
        let (handler, seen) = collecting();
        Config::builder()
            .environment(Environment::from_pairs([(
                "HH_SERVER_URL",
                "http://127.0.0.1:3",
            )]))
            .on_warning(handler)
            .build()
            .unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            [Warning::DeprecatedVariable {
                variable: "HH_SERVER_URL",
                current: "HH_API_URL"
            }]
        );
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
        for url in [
            "ftp://api.example.com",
            "file:///tmp/x",
            "unix:/run/hh.sock",
        ] {
            let err = build(&[("HH_API_URL", url)]).unwrap_err().to_string();
            assert!(err.contains("is not an http(s) URL"), "{url}: {err}");
            assert!(err.contains(DEFAULT_API_URL), "{err}");
        }
        for (variable, value, says) in [
            ("HH_API_TIMEOUT", "soon", "not a number of seconds"),
            ("HH_API_TIMEOUT", "0", "not a number of seconds"),
            ("HH_API_TIMEOUT", "-1", "not a number of seconds"),
            ("HH_MAX_RETRIES", "-1", "not a whole number"),
            ("HH_MAX_RETRIES", "many", "not a whole number"),
        ] {
            let err = build(&[(variable, value)]).unwrap_err().to_string();
            assert!(err.contains(variable) && err.contains(says), "{err}");
        }
    }

    #[test]
    fn api_timeout_and_max_retries_from_the_environment_or_the_builder() {
        let c = build(&[("HH_API_TIMEOUT", "2.5"), ("HH_MAX_RETRIES", "7")]).unwrap();
        assert_eq!(c.api_timeout(), Duration::from_millis(2500));
        assert_eq!(c.export_settings().retry.retries(), 7);
        let c = Config::builder()
            .environment(Environment::from_pairs([
                ("HH_API_TIMEOUT", "2.5"),
                ("HH_MAX_RETRIES", "7"),
            ]))
            .api_timeout(Duration::from_secs(1))
            .max_retries(0)
            .build()
            .unwrap();
        assert_eq!(c.api_timeout(), Duration::from_secs(1));
        assert_eq!(c.export_settings().retry.retries(), 0);
        // Explicit export settings beat the variable too.
        let c = Config::builder()
            .environment(Environment::from_pairs([("HH_MAX_RETRIES", "7")]))
            .export_settings(ExportSettings {
                retry: RetryPolicy::none(),
                ..ExportSettings::default()
            })
            .build()
            .unwrap();
        assert_eq!(c.export_settings().retry.retries(), 0);
        assert_eq!(
            build(&[]).unwrap().export_settings().retry.retries(),
            RetryPolicy::default().retries()
        );
    }

    #[test]
    fn model_settings_come_from_the_environment_and_the_builder() {
        let c = build(&[]).unwrap();
        assert!(c.captures_content());
        assert!(c.prices().price("gpt-4o-mini").is_some());
        let c = build(&[(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        )])
        .unwrap();
        assert!(!c.captures_content());
        let c = build(&[
            ("HH_CAPTURE_CONTENT", "true"),
            (
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                "false",
            ),
        ])
        .unwrap();
        assert!(c.captures_content());
        let err = build(&[("HH_CAPTURE_CONTENT", "nope")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HH_CAPTURE_CONTENT"), "{err}");
        let err = build(&[("HH_PRICES", "/no/such/prices.json")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HH_PRICES") && err.contains("/no/such/prices.json"),
            "{err}"
        );
        let c = Config::builder()
            .environment(Environment::empty())
            .prices(PriceTable::empty())
            .price("house", Price::new(1.0, 1.0))
            .capture_content(false)
            .build()
            .unwrap();
        assert_eq!(c.prices().len(), 1);
        assert!(!c.captures_content());
    }

    #[test]
    fn local_dir_override() {
        let c = build(&[("HH_LOCAL_DIR", "/tmp/hh")]).unwrap();
        assert_eq!(c.local_dir(), std::path::Path::new("/tmp/hh"));
    }
}
