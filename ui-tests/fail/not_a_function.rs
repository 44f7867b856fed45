#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace]
struct Config {
    model: String,
}

#[trace]
const fn constant() -> u8 {
    1
}

trait Agent {
    #[trace]
    fn act(&self);
}

#[trace]
impl Config {}

fn main() {
    let _ = Config {
        model: String::new(),
    }
    .model;
    let _ = constant();
}
