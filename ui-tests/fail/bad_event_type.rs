#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(event_type = "llm")]
fn openinference_kind() {}

#[trace(event_type = "agentic")]
fn unknown_kind() {}

#[trace(event_type = model)]
fn not_a_string() {}

fn main() {
    openinference_kind();
    unknown_kind();
    not_a_string();
}
