//! The judge: a model behind any OpenAI-compatible chat completions endpoint, asked for
//! verdicts through the crate's one model seam ([`ModelTransport`]: model spans, cost,
//! retries, cassettes).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::verdict::{Choice, Choices, Judgement, PassFail, Rating, Scale, Typed, VerdictSpec};
use super::{JudgeError, Prompt, parse};
use crate::model::{CacheMode, ModelTransport};
use crate::{ApiKey, Environment, RetryPolicy, Warning, WarningHandler};

/// Base URL when neither the builder nor the environment names one: OpenAI's, as the
/// official SDKs default to.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Model when neither the builder nor `HH_JUDGE_MODEL` names one.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// Longest one attempt of a judge call may take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Attribute set on the span current during a judge call (the evaluator's): how its
/// verdict was asked for and read (`json_schema`, `tool_call`, `text`, or one of these
/// followed by `+text` when the answer had to be read from text).
pub const STRUCTURED_OUTPUT_ATTRIBUTE: &str = "honeyhive_metadata.judge_structured_output";

/// How a judge asks for its verdict's structure: the ladder a judge goes down, in order,
/// when its server rejects a form, or the one form you declare the server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StructuredOutput {
    /// Start with a JSON schema response format, then a forced tool call, then text, each
    /// step only when the server rejected the one before (see the [module docs](super)).
    #[default]
    Auto,
    /// `response_format: {"type": "json_schema", ...}`: the server constrains the answer.
    JsonSchema,
    /// A forced call of one tool whose parameters are the verdict's schema.
    ToolCall,
    /// The prompt says how to write the verdict; the answer is read tolerantly.
    Text,
}

impl StructuredOutput {
    /// The names `HH_JUDGE_STRUCTURED_OUTPUT` takes.
    pub const NAMES: [&'static str; 4] = ["auto", "json_schema", "tool_call", "text"];

    /// The value named `name` (one of [`NAMES`](Self::NAMES)).
    pub fn from_name(name: &str) -> Option<StructuredOutput> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(StructuredOutput::Auto),
            "json_schema" => Some(StructuredOutput::JsonSchema),
            "tool_call" => Some(StructuredOutput::ToolCall),
            "text" => Some(StructuredOutput::Text),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            StructuredOutput::Auto => "auto",
            StructuredOutput::JsonSchema => "json_schema",
            StructuredOutput::ToolCall => "tool_call",
            StructuredOutput::Text => "text",
        }
    }

    /// The next form down the ladder.
    fn next(self) -> Option<StructuredOutput> {
        match self {
            StructuredOutput::Auto => Some(StructuredOutput::JsonSchema),
            StructuredOutput::JsonSchema => Some(StructuredOutput::ToolCall),
            StructuredOutput::ToolCall => Some(StructuredOutput::Text),
            StructuredOutput::Text => None,
        }
    }

    /// Words an error message of a server that does not support this form contains.
    fn rejection_words(self) -> &'static [&'static str] {
        match self {
            StructuredOutput::JsonSchema => {
                &["response_format", "json_schema", "schema", "structured"]
            }
            StructuredOutput::ToolCall => &["tool", "function"],
            _ => &[],
        }
    }
}

impl fmt::Display for StructuredOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StructuredOutput::Auto => "auto",
            StructuredOutput::JsonSchema => "with a JSON schema response format",
            StructuredOutput::ToolCall => "as a forced tool call",
            StructuredOutput::Text => "as text",
        })
    }
}

/// A verdict and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged<V> {
    /// The verdict.
    pub verdict: V,
    /// The form it was asked in.
    pub via: StructuredOutput,
    /// Whether it had to be read from text (the server ignored the asked form, or text was
    /// asked).
    pub from_text: bool,
    /// The answer as the judge wrote it (message content, or tool call arguments).
    pub raw: String,
}

/// A judge: a model behind an OpenAI-compatible chat completions endpoint, asked for
/// verdicts. Cheap to clone; clones share the HTTP client, the cassettes and what the
/// judge learnt about its server.
///
/// Configured from the environment ([`Judge::from_env`]) or a builder:
///
/// | setting | builder | environment | default |
/// |---|---|---|---|
/// | base URL | `base_url` | `HH_JUDGE_BASE_URL`, else `OPENAI_BASE_URL` | `https://api.openai.com/v1` |
/// | API key | `api_key` | `HH_JUDGE_API_KEY`, else `OPENAI_API_KEY` | none (no `Authorization` header) |
/// | model | `model` | `HH_JUDGE_MODEL` | `gpt-4o-mini` |
/// | structured output | `structured_output` | `HH_JUDGE_STRUCTURED_OUTPUT` | `auto` |
/// | cassettes | `transport` | `HH_LLM_CACHE`, `HH_LLM_CACHE_DIR` | off |
///
/// The `HH_JUDGE_*` names let the judge use another provider than the application.
///
/// ```no_run
/// use honeyhive::evaluators::judge::{Choices, Judge, Prompt};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let judge = Judge::builder()
///     .base_url("http://127.0.0.1:11434/v1") // any OpenAI-compatible server
///     .model("llama3.1")
///     .build()?;
/// let choices = Choices::new([("Y", 1.0), ("N", 0.0)]);
/// let choice = judge
///     .classify(Prompt::user("Is \"Paris\" the capital of France? Y or N."), &choices)
///     .await?;
/// let score = honeyhive::Score::from(choice); // 1 or 0, labelled, explained
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Judge {
    inner: Arc<Inner>,
}

struct Inner {
    url: Url,
    api_key: Option<ApiKey>,
    model: String,
    temperature: f64,
    max_tokens: Option<u32>,
    declared: StructuredOutput,
    transport: ModelTransport,
    warnings: WarningHandler,
    learnt: Mutex<Learnt>,
}

/// What a judge learnt about its server from its answers.
#[derive(Default)]
struct Learnt {
    /// The first form of the ladder the server accepted (outside cassettes: see
    /// [`Judge::ask`]).
    accepted: Option<StructuredOutput>,
    /// The forms a warning was given about.
    warned: Vec<StructuredOutput>,
}

/// Builds a [`Judge`]; unset values come from the environment, then the defaults.
#[derive(Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct JudgeBuilder {
    base_url: Option<String>,
    api_key: Option<ApiKey>,
    model: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    structured_output: Option<StructuredOutput>,
    transport: Option<ModelTransport>,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
    provider: Option<String>,
    warnings: Option<WarningHandler>,
    environment: Option<Environment>,
}

impl fmt::Debug for JudgeBuilder {
    // Hand-written: the key never shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JudgeBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("structured_output", &self.structured_output)
            .finish_non_exhaustive()
    }
}

impl JudgeBuilder {
    /// The endpoint's base URL (`.../v1`), instead of `HH_JUDGE_BASE_URL` /
    /// `OPENAI_BASE_URL`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key, sent as `Authorization: Bearer`, instead of `HH_JUDGE_API_KEY` /
    /// `OPENAI_API_KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The model, instead of `HH_JUDGE_MODEL`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sampling temperature (default 0: the steadiest verdicts).
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Most tokens a verdict may take (default: the server's).
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// How the verdict's structure is asked for, instead of `HH_JUDGE_STRUCTURED_OUTPUT`
    /// (default [`StructuredOutput::Auto`]).
    pub fn structured_output(mut self, form: StructuredOutput) -> Self {
        self.structured_output = Some(form);
        self
    }

    /// The model transport calls go through (to share cassettes with other clients);
    /// default: one built from the same environment (`HH_LLM_CACHE`, `HH_LLM_CACHE_DIR`)
    /// with the retry policy and timeout below.
    pub fn transport(mut self, transport: ModelTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Retries of 429 (honouring `Retry-After`), 5xx and connection failures. Default: the
    /// crate's [`RetryPolicy`] with 8 retries within 60 s, so a judge that is briefly rate
    /// limited does not cost a verdict.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Longest one attempt may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `gen_ai.provider.name` of the judge's model spans (default `openai`).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Where warnings go (a server that rejected a structured output form); default
    /// stderr.
    pub fn on_warning(mut self, handler: WarningHandler) -> Self {
        self.warnings = Some(handler);
        self
    }

    /// Where the variables are read (default: the process environment).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The judge.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a base URL that is not an `http(s)`
    /// URL, a structured output form or cache mode that is not one.
    pub fn build(self) -> crate::Result<Judge> {
        let env = self.environment.unwrap_or_else(Environment::process);
        let config = |message: String| crate::Error::Config(message);
        let (source, base) = match self.base_url {
            Some(url) => ("JudgeBuilder::base_url", url),
            None => match env
                .get("HH_JUDGE_BASE_URL")
                .map(|u| ("HH_JUDGE_BASE_URL", u))
                .or_else(|| env.get("OPENAI_BASE_URL").map(|u| ("OPENAI_BASE_URL", u)))
            {
                Some(found) => found,
                None => ("the default", DEFAULT_BASE_URL.to_owned()),
            },
        };
        let url = chat_completions_url(&base).map_err(|why| {
            config(format!(
                "{source} {base:?} is not a model server's base URL: {why}"
            ))
        })?;
        let api_key = self.api_key.or_else(|| {
            env.get("HH_JUDGE_API_KEY")
                .or_else(|| env.get("OPENAI_API_KEY"))
                .map(ApiKey::new)
        });
        let model = self
            .model
            .or_else(|| env.get("HH_JUDGE_MODEL"))
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let declared = match self.structured_output {
            Some(form) => form,
            None => match env.get("HH_JUDGE_STRUCTURED_OUTPUT") {
                None => StructuredOutput::Auto,
                Some(name) => StructuredOutput::from_name(&name).ok_or_else(|| {
                    config(format!(
                        "HH_JUDGE_STRUCTURED_OUTPUT={name:?} is not one of {}",
                        StructuredOutput::NAMES.join(", ")
                    ))
                })?,
            },
        };
        let temperature = self.temperature.unwrap_or(0.0);
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(config(format!(
                "the judge's temperature must be a number from 0 up, not {temperature}"
            )));
        }
        let warnings = self.warnings.unwrap_or_default();
        let transport = match self.transport {
            Some(transport) => transport,
            None => {
                let http = reqwest::Client::builder()
                    .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
                    .build()
                    .map_err(|e| config(format!("the judge's HTTP client: {e}")))?;
                let mut builder = ModelTransport::builder()
                    .http_client(http)
                    .environment(env)
                    .on_warning(warnings.clone())
                    .retry(self.retry.unwrap_or_else(default_retry));
                if let Some(provider) = self.provider {
                    builder = builder.provider(provider);
                }
                builder.build()?
            }
        };
        Ok(Judge {
            inner: Arc::new(Inner {
                url,
                api_key,
                model,
                temperature,
                max_tokens: self.max_tokens,
                declared,
                transport,
                warnings,
                learnt: Mutex::default(),
            }),
        })
    }
}

/// The judges' retry policy: the crate's, more patient.
fn default_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(8)
        .max_elapsed(Duration::from_secs(60))
}

/// `{base}/chat/completions`.
fn chat_completions_url(base: &str) -> Result<Url, String> {
    let url = Url::parse(base.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme is {:?}, not http or https",
            url.scheme()
        ));
    }
    let path = url.path().trim_end_matches('/');
    let mut url = url.clone();
    url.set_path(&format!("{path}/chat/completions"));
    Ok(url)
}

impl fmt::Debug for Judge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Judge")
            .field("url", &self.inner.url.as_str())
            .field(
                "api_key",
                &self.inner.api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("model", &self.inner.model)
            .field("temperature", &self.inner.temperature)
            .field("structured_output", &self.inner.declared)
            .finish_non_exhaustive()
    }
}

/// One answer of the server, as the judge reads it.
enum Answer {
    /// The text the verdict is in (content, or tool call arguments) and whether it came as
    /// a tool call.
    Text { text: String, tool_call: bool },
    /// The server said it does not support the asked form.
    Rejected { message: String },
}

impl Judge {
    /// A builder.
    pub fn builder() -> JudgeBuilder {
        JudgeBuilder::default()
    }

    /// The judge the process environment configures (see the table above), made on the
    /// first call and shared by every later one, so an evaluator can call this for each
    /// datapoint: every caller shares its connections, its cassettes and what it learnt
    /// about its server (the structured output form it takes, so later calls start there
    /// and a rejected form is one warning per process, not one per datapoint). The
    /// built-in judges use it when given none. `Judge::builder().build()` makes a new one.
    ///
    /// # Errors
    /// As [`JudgeBuilder::build`], on every call once the first failed.
    pub fn from_env() -> crate::Result<Judge> {
        static JUDGE: OnceLock<Result<Judge, String>> = OnceLock::new();
        JUDGE
            .get_or_init(|| {
                Judge::builder().build().map_err(|e| match e {
                    crate::Error::Config(message) => message,
                    other => other.to_string(),
                })
            })
            .clone()
            .map_err(crate::Error::Config)
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.inner.model
    }

    /// The chat completions URL asked.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// The declared structured output form.
    pub fn structured_output(&self) -> StructuredOutput {
        self.inner.declared
    }

    /// Asks for a verdict of `spec` (any [`VerdictSpec`]).
    ///
    /// The verdict's structure is asked for as declared, or (`Auto`) down the ladder: a
    /// JSON schema response format, then a forced tool call, then text, each step only
    /// after the server rejected the one before (HTTP 400, 422 or 501 whose message names
    /// the form: `response_format`/`json_schema`/`schema`/`structured`, or `tool`/
    /// `function`), with one warning per form per judge. Outside cassettes the judge
    /// remembers the form its server accepted and starts there; with `HH_LLM_CACHE` set
    /// every call walks the ladder from the top, so that what is recorded does not depend
    /// on which datapoint happened to ask first, and replays the same way.
    ///
    /// An answer in another form than asked (text instead of JSON) is read tolerantly:
    /// a JSON object in it (the whole text, a fenced block, the last object), else the
    /// answer line the instructions asked for. The form used is set on the current span
    /// ([`STRUCTURED_OUTPUT_ATTRIBUTE`]).
    ///
    /// # Errors
    /// [`JudgeError::Unparsable`] with the raw answer when no verdict can be read;
    /// [`JudgeError::Server`] for an error status (after the retries 429 and 5xx get);
    /// [`JudgeError::Transport`] when no answer came (or replay found no cassette).
    pub async fn ask<S: VerdictSpec>(
        &self,
        prompt: impl Into<Prompt>,
        spec: &S,
    ) -> Result<Judged<S::Verdict>, JudgeError> {
        let prompt = prompt.into();
        let mut via = self.first_form();
        loop {
            match self.send(&prompt, spec, via).await? {
                Answer::Text { text, tool_call } => {
                    let judged = read(spec, via, text, tool_call);
                    if let Ok(judged) = &judged {
                        self.accepted(via);
                        let form = if judged.from_text && via != StructuredOutput::Text {
                            format!("{}+text", via.name())
                        } else {
                            via.name().to_owned()
                        };
                        opentelemetry::Context::map_current(|cx| {
                            cx.span()
                                .set_attribute(KeyValue::new(STRUCTURED_OUTPUT_ATTRIBUTE, form))
                        });
                    }
                    return judged;
                }
                Answer::Rejected { message } => {
                    let next = via.next().expect("text is never rejected as a form");
                    self.warn_rejected(via, next, &message);
                    via = next;
                }
            }
        }
    }

    /// A classifier's verdict: one of `choices`.
    ///
    /// # Errors
    /// As [`ask`](Self::ask).
    pub async fn classify(
        &self,
        prompt: impl Into<Prompt>,
        choices: &Choices,
    ) -> Result<Choice, JudgeError> {
        Ok(self.ask(prompt, choices).await?.verdict)
    }

    /// A rating on `scale`.
    ///
    /// # Errors
    /// As [`ask`](Self::ask).
    pub async fn rate(
        &self,
        prompt: impl Into<Prompt>,
        scale: Scale,
    ) -> Result<Rating, JudgeError> {
        Ok(self.ask(prompt, &scale).await?.verdict)
    }

    /// Pass or fail, with reasons.
    ///
    /// # Errors
    /// As [`ask`](Self::ask).
    pub async fn pass_fail(&self, prompt: impl Into<Prompt>) -> Result<Judgement, JudgeError> {
        Ok(self.ask(prompt, &PassFail).await?.verdict)
    }

    /// A verdict of your own type `T` (asked for by its JSON schema, read by `serde`).
    ///
    /// # Errors
    /// As [`ask`](Self::ask).
    pub async fn verdict<T>(&self, prompt: impl Into<Prompt>) -> Result<T, JudgeError>
    where
        T: DeserializeOwned + schemars::JsonSchema + Send,
    {
        Ok(self.ask(prompt, &Typed::<T>::new()).await?.verdict)
    }

    /// The same judge for sync code (a sync `#[evaluator]`): each call blocks until the
    /// verdict is in, with the caller's context (its span, its datapoint).
    pub fn blocking(&self) -> BlockingJudge<'_> {
        BlockingJudge { judge: self }
    }

    /// Where the ladder starts for this call.
    fn first_form(&self) -> StructuredOutput {
        let declared = self.inner.declared;
        if declared != StructuredOutput::Auto {
            return declared;
        }
        if self.inner.transport.cassettes().mode() != CacheMode::Off {
            return StructuredOutput::JsonSchema;
        }
        self.learnt()
            .accepted
            .unwrap_or(StructuredOutput::JsonSchema)
    }

    fn learnt(&self) -> std::sync::MutexGuard<'_, Learnt> {
        self.inner.learnt.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn accepted(&self, via: StructuredOutput) {
        let mut learnt = self.learnt();
        if learnt.accepted.is_none() {
            learnt.accepted = Some(via);
        }
    }

    fn warn_rejected(&self, form: StructuredOutput, next: StructuredOutput, message: &str) {
        let first = {
            let mut learnt = self.learnt();
            let first = !learnt.warned.contains(&form);
            if first {
                learnt.warned.push(form);
            }
            first
        };
        if first {
            self.inner.warnings.emit(Warning::JudgeFormRejected {
                judge: format!("{} at {}", self.inner.model, self.inner.url),
                rejected: form.name(),
                instead: next.name(),
                reason: message.to_owned(),
            });
        }
    }

    /// The chat completions request asking `spec` `via` a form.
    fn request<S: VerdictSpec>(
        &self,
        prompt: &Prompt,
        spec: &S,
        via: StructuredOutput,
    ) -> Result<reqwest::Request, JudgeError> {
        let inner = &self.inner;
        let mut body = json!({
            "model": inner.model,
            "messages": prompt.with_instructions(&spec.instructions(via)),
            "temperature": inner.temperature,
        });
        if let Some(n) = inner.max_tokens {
            body["max_tokens"] = json!(n);
        }
        match via {
            StructuredOutput::JsonSchema => {
                body["response_format"] = json!({"type": "json_schema", "json_schema": {
                    "name": spec.name(), "schema": spec.schema(), "strict": spec.strict()}});
            }
            StructuredOutput::ToolCall => {
                let mut function = json!({"name": spec.name(),
                    "description": format!("Record your verdict: {}.", spec.describe()),
                    "parameters": spec.schema()});
                if spec.strict() {
                    function["strict"] = json!(true);
                }
                body["tools"] = json!([{"type": "function", "function": function}]);
                body["tool_choice"] =
                    json!({"type": "function", "function": {"name": spec.name()}});
            }
            _ => {}
        }
        let mut request = reqwest::Request::new(reqwest::Method::POST, inner.url.clone());
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(key) = &inner.api_key {
            let mut value = http::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                .map_err(|_| {
                    JudgeError::Config("the API key is not a valid header value".to_owned())
                })?;
            value.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, value);
        }
        *request.body_mut() = Some(body.to_string().into());
        Ok(request)
    }

    /// Sends one request and reads the answer's text, or the server's rejection of `via`.
    async fn send<S: VerdictSpec>(
        &self,
        prompt: &Prompt,
        spec: &S,
        via: StructuredOutput,
    ) -> Result<Answer, JudgeError> {
        let request = self.request(prompt, spec, via)?;
        let response = self.inner.transport.send(request).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| JudgeError::Server {
            model: self.inner.model.clone(),
            url: self.inner.url.to_string(),
            status: status.as_u16(),
            message: format!("the answer broke off: {e}"),
        })?;
        if !status.is_success() {
            let message = crate::model::error_message(status.as_u16(), &bytes);
            let rejects_form = self.inner.declared == StructuredOutput::Auto
                && matches!(status.as_u16(), 400 | 422 | 501)
                && {
                    let lower = message.to_lowercase();
                    via.rejection_words().iter().any(|w| lower.contains(w))
                };
            if rejects_form {
                return Ok(Answer::Rejected { message });
            }
            return Err(JudgeError::Server {
                model: self.inner.model.clone(),
                url: self.inner.url.to_string(),
                status: status.as_u16(),
                message,
            });
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| JudgeError::Unparsable {
            expected: spec.describe(),
            reason: format!("the server's answer is not a chat completion: {e}"),
            raw: String::from_utf8_lossy(&bytes).into_owned(),
            via,
        })?;
        let message = answer.pointer("/choices/0/message");
        let arguments = message
            .and_then(|m| m.pointer("/tool_calls/0/function/arguments"))
            .and_then(Value::as_str);
        let content = message
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str);
        Ok(match (arguments, content) {
            (Some(arguments), _) => Answer::Text {
                text: arguments.to_owned(),
                tool_call: true,
            },
            (None, Some(content)) => Answer::Text {
                text: content.to_owned(),
                tool_call: false,
            },
            (None, None) => Answer::Text {
                text: String::new(),
                tool_call: false,
            },
        })
    }
}

/// Reads the verdict of `spec` from `text`, answered to a request `via` a form: its JSON
/// (as asked), else tolerantly from text; the raw text in the error when neither holds it.
fn read<S: VerdictSpec>(
    spec: &S,
    via: StructuredOutput,
    text: String,
    tool_call: bool,
) -> Result<Judged<S::Verdict>, JudgeError> {
    let unparsable = |reason: String, text: String| JudgeError::Unparsable {
        expected: spec.describe(),
        reason,
        raw: text,
        via,
    };
    if text.trim().is_empty() {
        return Err(unparsable("the answer is empty".to_owned(), text));
    }
    let structured = via != StructuredOutput::Text;
    // The form asked for, as it should be: the whole text is the verdict's JSON.
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim()) {
        return match spec.read_json(&value) {
            Ok(verdict) => Ok(Judged {
                verdict,
                via,
                from_text: !structured || (via == StructuredOutput::ToolCall && !tool_call),
                raw: text,
            }),
            Err(reason) => Err(unparsable(reason, text)),
        };
    }
    // Tolerant: a JSON object in the text, then the answer line.
    let json_reason = match parse::json_object(&text) {
        Some((value, _)) => match spec.read_json(&value) {
            Ok(verdict) => {
                return Ok(Judged {
                    verdict,
                    via,
                    from_text: true,
                    raw: text,
                });
            }
            Err(reason) => Some(reason),
        },
        None => None,
    };
    // A tool call's arguments are JSON or nothing: they are no answer line.
    let as_text = if tool_call {
        Err("the tool call's arguments are not JSON".to_owned())
    } else {
        spec.read_text(&text)
    };
    match as_text {
        Ok(verdict) => Ok(Judged {
            verdict,
            via,
            from_text: true,
            raw: text,
        }),
        Err(text_reason) => {
            let reason = match json_reason {
                Some(json) => format!("its JSON object: {json}; as text: {text_reason}"),
                None => text_reason,
            };
            Err(unparsable(reason, text))
        }
    }
}

/// A [`Judge`] for sync code; see [`Judge::blocking`].
#[derive(Debug, Clone, Copy)]
pub struct BlockingJudge<'a> {
    judge: &'a Judge,
}

impl BlockingJudge<'_> {
    /// [`Judge::ask`], blocking.
    ///
    /// # Errors
    /// As [`Judge::ask`].
    pub fn ask<S: VerdictSpec>(
        &self,
        prompt: impl Into<Prompt>,
        spec: &S,
    ) -> Result<Judged<S::Verdict>, JudgeError>
    where
        S::Verdict: Send,
    {
        block_on(self.judge.ask(prompt.into(), spec))
    }

    /// [`Judge::classify`], blocking.
    ///
    /// # Errors
    /// As [`Judge::ask`].
    pub fn classify(
        &self,
        prompt: impl Into<Prompt>,
        choices: &Choices,
    ) -> Result<Choice, JudgeError> {
        block_on(self.judge.classify(prompt.into(), choices))
    }

    /// [`Judge::rate`], blocking.
    ///
    /// # Errors
    /// As [`Judge::ask`].
    pub fn rate(&self, prompt: impl Into<Prompt>, scale: Scale) -> Result<Rating, JudgeError> {
        block_on(self.judge.rate(prompt.into(), scale))
    }

    /// [`Judge::pass_fail`], blocking.
    ///
    /// # Errors
    /// As [`Judge::ask`].
    pub fn pass_fail(&self, prompt: impl Into<Prompt>) -> Result<Judgement, JudgeError> {
        block_on(self.judge.pass_fail(prompt.into()))
    }

    /// [`Judge::verdict`], blocking.
    ///
    /// # Errors
    /// As [`Judge::ask`].
    pub fn verdict<T>(&self, prompt: impl Into<Prompt>) -> Result<T, JudgeError>
    where
        T: DeserializeOwned + schemars::JsonSchema + Send,
    {
        block_on(self.judge.verdict(prompt.into()))
    }
}

/// Runs `future` to its end from sync code, in the caller's OpenTelemetry context: on a
/// multi-thread Tokio runtime's worker it blocks in place (the runtime moves its other
/// tasks away); anywhere else (no runtime, a current-thread one, which cannot block) on a
/// thread of its own with a small runtime.
fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let future = future.with_current_context();
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map(|runtime| runtime.block_on(future))
                })
                .join()
        })
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        .unwrap_or_else(|e| panic!("the judge could not start a runtime to block on: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_configures_the_judge_and_the_judges_names_win() {
        let env = Environment::from_pairs([
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
            ("OPENAI_API_KEY", "sk-app"),
            ("HH_JUDGE_API_KEY", "sk-judge"),
            ("HH_JUDGE_MODEL", "judge-model"),
            ("HH_JUDGE_STRUCTURED_OUTPUT", "tool_call"),
        ]);
        let judge = Judge::builder().environment(env).build().unwrap();
        assert_eq!(judge.url(), "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!(judge.model(), "judge-model");
        assert_eq!(judge.structured_output(), StructuredOutput::ToolCall);
        assert_eq!(judge.inner.api_key.as_ref().unwrap().expose(), "sk-judge");
        let shown = format!("{judge:?}");
        assert!(
            !shown.contains("sk-judge") && shown.contains("<redacted>"),
            "{shown}"
        );

        let defaults = Judge::builder()
            .environment(Environment::empty())
            .build()
            .unwrap();
        assert_eq!(defaults.url(), "https://api.openai.com/v1/chat/completions");
        assert_eq!(defaults.model(), DEFAULT_MODEL);
        assert!(defaults.inner.api_key.is_none());
    }

    #[test]
    fn configuration_errors_name_the_variable() {
        let bad = |pairs: &[(&str, &str)]| {
            Judge::builder()
                .environment(Environment::from_pairs(pairs.iter().copied()))
                .build()
                .unwrap_err()
                .to_string()
        };
        let e = bad(&[("HH_JUDGE_BASE_URL", "localhost:8080")]);
        assert!(e.contains("HH_JUDGE_BASE_URL \"localhost:8080\""), "{e}");
        let e = bad(&[("HH_JUDGE_STRUCTURED_OUTPUT", "xml")]);
        assert!(e.contains("auto, json_schema, tool_call, text"), "{e}");
        let e = bad(&[("HH_LLM_CACHE", "sometimes")]);
        assert!(e.contains("HH_LLM_CACHE"), "{e}");
    }

    #[test]
    fn read_takes_json_then_text_and_keeps_the_raw_answer() {
        let choices = Choices::new([("A", 1.0), ("B", 0.0)]);
        let json = read(
            &choices,
            StructuredOutput::JsonSchema,
            r#"{"choice": "A"}"#.into(),
            false,
        )
        .unwrap();
        assert!(!json.from_text);
        let text = read(
            &choices,
            StructuredOutput::JsonSchema,
            "Hmm.\nAnswer: B".into(),
            false,
        )
        .unwrap();
        assert_eq!((text.verdict.label.as_str(), text.from_text), ("B", true));
        let fenced = read(
            &choices,
            StructuredOutput::Text,
            "ok\n```json\n{\"choice\": \"B\"}\n```".into(),
            false,
        )
        .unwrap();
        assert_eq!(fenced.verdict.label, "B");
        let e = read(
            &choices,
            StructuredOutput::ToolCall,
            "{\"choice\": \"Z\"}".into(),
            true,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("\"Z\" is not one of the choices A, B"),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with(r#"the judge answered: "{\"choice\": \"Z\"}""#),
            "{e}"
        );
        let empty = read(&choices, StructuredOutput::Text, " ".into(), false).unwrap_err();
        assert!(empty.to_string().contains("the answer is empty"), "{empty}");
    }
}
