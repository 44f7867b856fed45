//! Model calls end to end: `async-openai` through the integration against the in-repo
//! OpenAI-compatible test server, spans to the HoneyHive test server, both on 127.0.0.1;
//! the recording API used directly; cassettes recorded and replayed; experiments adding up
//! tokens, cost and latency.

mod bridge;
mod cassettes;
#[path = "../runtime/common.rs"]
#[allow(dead_code)]
mod common;
mod example;
mod experiments;
mod recording_api;
mod spans;
mod support;
mod trace_evaluators;
