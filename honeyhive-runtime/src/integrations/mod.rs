//! Integrations with other crates' clients, each behind a cargo feature of its own.
//!
//! - [`openai`] (feature `async-openai`): model calls made through an
//!   `async_openai::Client` become model spans, with cassettes.
//! - Crates that emit GenAI `tracing` spans (`rig`, `genai`): see
//!   `docs/model-calls.md` for the bridge through `tracing-opentelemetry`.

#[cfg(feature = "async-openai")]
pub mod openai;
