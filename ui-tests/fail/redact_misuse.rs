#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(skip(key), redact(key))]
fn both(key: &str) {}

#[trace(skip_all, redact(key))]
fn nothing_captured(key: &str) {}

#[trace(redact(key, key))]
fn twice(key: &str) {}

#[trace(redact())]
fn empty(key: &str) {}

#[trace(redact = key)]
fn not_a_list(key: &str) {}

fn main() {}
