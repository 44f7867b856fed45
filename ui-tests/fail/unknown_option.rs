#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(nmae = "answer")]
fn typo() {}

#[trace(level = "info")]
fn unknown() {}

fn main() {
    typo();
    unknown();
}
