#![allow(dead_code, unused_variables)]

use honeyhive::trace;

struct Client;

#[trace]
fn argument(client: &Client, prompt: &str) -> usize {
    let _ = client;
    prompt.len()
}

#[trace]
fn output() -> Client {
    Client
}

#[trace]
fn ok_value() -> Result<Client, String> {
    Ok(Client)
}

#[trace(metadata(client = Client))]
fn metadata() {}

#[trace(metrics(client = Client), feedback(by = Client))]
fn metrics_and_feedback() {}

fn main() {
    argument(&Client, "p");
    output();
    let _ = ok_value();
    metadata();
    metrics_and_feedback();
}
