//! `async-openai` (feature `async-openai`): chat completions (plain and streamed),
//! completions and embeddings made through an `async_openai::Client` become model spans
//! under the current span, with tokens, cost and time to first token, and go through the
//! record/replay cache (`HH_LLM_CACHE`).
//!
//! The only change to the user's code is where the client is built: [`client`] (or
//! [`instrument`] for a client built elsewhere) returns a plain `async_openai::Client`
//! whose HTTP service is a [`ModelService`]; every call site stays as it is.
//!
//! Why the client's HTTP service: `async-openai` sends every request of every API group
//! through it (`Client::with_http_service`, its `middleware` feature), with the request
//! still whole and the response still unread, streams included. A wrapper type around the
//! client would have to copy its whole API and change the user's types; the `Config`
//! trait only sets URLs and headers; a `reqwest::Client` has no hook at all. And below the
//! client, the seam is [`ModelTransport`], which knows nothing of `async-openai`: the
//! judges and any other OpenAI-compatible client use the same spans and cassettes.
//!
//! ```no_run
//! use honeyhive::integrations::openai::async_openai; // also `honeyhive::async_openai`
//! use async_openai::config::OpenAIConfig;
//! use async_openai::types::chat::{
//!     ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
//! };
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // OPENAI_BASE_URL and OPENAI_API_KEY as usual; HH_LLM_CACHE=replay answers from
//! // tests/cassettes with no server at all.
//! let client = honeyhive::integrations::openai::client(OpenAIConfig::new())?;
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("gpt-4o-mini")
//!     .messages([ChatCompletionRequestUserMessageArgs::default()
//!         .content("What is the capital of France?")
//!         .build()?
//!         .into()])
//!     .build()?;
//! let answer = client.chat().create(request).await?; // a model span, under the current span
//! # Ok(()) }
//! ```
//!
//! Retries: the service retries 429 (honouring `Retry-After`), 5xx and connection
//! failures with the crate's [`RetryPolicy`](crate::RetryPolicy), inside one model span,
//! in place of `async-openai`'s own retry layer (which a client's HTTP service replaces).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use crate::model::ModelTransport;

/// The `async-openai` crate this integration is built for, so that its request and
/// response types need no separately versioned dependency (also `honeyhive::async_openai`
/// with the facade's `async-openai` feature).
pub use async_openai;

/// An `async_openai::Client` on `config` whose requests go through a [`ModelTransport`]
/// configured by the environment (`HH_LLM_CACHE`, `HH_LLM_CACHE_DIR`).
///
/// # Errors
/// [`Error::Config`](crate::Error::Config) for an `HH_LLM_CACHE` that is not a mode.
pub fn client<C: Config>(config: C) -> crate::Result<async_openai::Client<C>> {
    Ok(instrument(
        async_openai::Client::with_config(config),
        ModelTransport::from_env()?,
    ))
}

/// `client` with its requests going through `transport` (its own HTTP service is
/// replaced).
pub fn instrument<C: Config>(
    client: async_openai::Client<C>,
    transport: ModelTransport,
) -> async_openai::Client<C> {
    client.with_http_service(ModelService::new(transport))
}

/// The `tower` service that sends an `async-openai` client's requests through a
/// [`ModelTransport`]; [`instrument`] installs it. Public so that it can sit under other
/// `tower` layers (a concurrency limit, a timeout) in `Client::with_http_service`.
#[derive(Clone, Debug)]
pub struct ModelService {
    transport: ModelTransport,
}

impl ModelService {
    /// The service of `transport`.
    pub fn new(transport: ModelTransport) -> ModelService {
        ModelService { transport }
    }
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

impl tower_service::Service<HttpRequestFactory> for ModelService {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> ServiceFuture {
        let transport = self.transport.clone();
        // Polled inside the caller's future: the current context (the caller's span and
        // session) is the model span's parent.
        Box::pin(async move {
            let request = factory.build().await?;
            transport
                .send(request)
                .await
                .map_err(|e| OpenAIError::Boxed(Box::new(e)))
        })
    }
}
