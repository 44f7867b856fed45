#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(name)]
fn no_value() {}

#[trace(skip = prompt)]
fn skip_without_list(prompt: &str) {}

#[trace(skip_output = true)]
fn flag_with_value() {}

#[trace(metadata(model))]
fn entry_without_value() {}

#[trace(name = "a" event_type = "tool")]
fn missing_comma() {}

#[trace("answer")]
fn bare_string() {}

fn main() {}
