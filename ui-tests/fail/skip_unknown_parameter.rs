#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(skip(api_key))]
fn call(prompt: &str, key: &str) -> usize {
    prompt.len() + key.len()
}

#[trace(skip(self))]
fn free(x: u8) -> u8 {
    x
}

fn main() {
    call("p", "k");
    free(1);
}
