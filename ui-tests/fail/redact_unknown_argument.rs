#![allow(dead_code, unused_variables)]

use honeyhive::trace;

#[trace(redact(api_key))]
fn call(prompt: &str, key: &str) -> usize {
    prompt.len() + key.len()
}

struct Client;

impl Client {
    #[trace(redact(self))]
    fn ask(&self, question: &str) -> usize {
        question.len()
    }
}

fn main() {
    call("p", "k");
    Client.ask("q");
}
