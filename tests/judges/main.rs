//! LLM judges end to end against the in-repo OpenAI-compatible test server on 127.0.0.1:
//! the structured output ladder, unreadable answers as evaluator errors with their raw
//! text, rate limits, repeats, spans, evaluation cost, the built-ins, cassettes.

mod builtins;
mod cassettes;
#[path = "../runtime/common.rs"]
#[allow(dead_code)]
mod common;
mod example;
mod experiments;
// The quickstart's pipeline: its types are the tests' (support), its experiment the
// example's (example).
#[path = "../../examples/qa/pipeline.rs"]
#[allow(dead_code)]
mod qa;
mod structured_output;
mod support;
