#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(name = "first", name = "second")]
fn named() {}

#[trace(skip_output, skip_output)]
fn flags() -> u8 {
    1
}

#[trace(metadata(model = "a", model = "b"))]
fn metadata() {}

#[trace(skip_all, skip(x))]
fn skips(x: u8) -> u8 {
    x
}

fn main() {
    named();
    flags();
    metadata();
    skips(1);
}
