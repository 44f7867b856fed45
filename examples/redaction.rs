//! Redaction before anything is written or sent: a `Secret` field, `#[trace(redact(..))]`,
//! the configuration's rules (a key name, emails, a function) and the default rules (API
//! keys, bearer tokens). Run with `cargo run --example redaction`.
//!
//! Without `HH_API_KEY` the spans go to the local store (`target/honeyhive/`, or
//! `HH_LOCAL_DIR`), and this example prints what was recorded; with a key they go to
//! HoneyHive, redacted the same way.

use honeyhive::{Config, HoneyHiveTracer, Secret, trace};
use serde::Serialize;

#[derive(Serialize)]
struct Customer {
    name: String,
    ssn: String,
    email: String,
    phone: String,
    /// Used by the code, recorded as `[REDACTED]`.
    card: Secret<String>,
}

/// `token` is recorded as `[REDACTED]`; `customer` is flattened and every field checked.
#[trace(redact(token))]
fn open_ticket(customer: &Customer, token: &str, message: &str) -> String {
    let _ = token;
    format!(
        "ticket for {} (card ending {}): {message}",
        customer.name,
        &customer.card.expose()[customer.card.expose().len() - 4..]
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::builder()
        .redact_key("ssn")
        .redact_emails()
        // Keep the last two digits of phone numbers.
        .redact_with(|key, value| {
            key.ends_with(".phone")
                .then(|| format!("***{}", &value[value.len().saturating_sub(2)..]))
        })
        .session_name("redaction-example")
        .build()?;
    let local_dir = config.local_dir().to_owned();
    let connected = config.is_connected();
    let tracer = HoneyHiveTracer::builder().config(config).build()?;
    let customer = Customer {
        name: "Ada".into(),
        ssn: "078-05-1120".into(),
        email: "ada@example.org".into(),
        phone: "+1 555 0100 7788".into(),
        card: Secret::new("4111 1111 1111 1111".into()),
    };
    let ticket = tracer.in_scope(|| {
        open_ticket(
            &customer,
            "tok_live_8d7f6e5a",
            "my key sk-proj-Zq8Xw2Lr5Tn7Vb1Mc4Kd9Hs3 stopped working, write to ada@example.org",
        )
    });
    tracer.flush()?;
    println!("the function returned: {ticket}");
    if connected {
        println!("spans sent to HoneyHive, redacted");
        return Ok(());
    }
    println!("recorded in {}:", local_dir.display());
    let session = tracer.session_id().to_owned();
    for span in honeyhive::local_store::read_spans(&local_dir)? {
        let ours = span
            .attributes
            .get("honeyhive.session_id")
            .and_then(|v| v.as_str())
            == Some(session.as_str());
        if !ours || span.name != "open_ticket" {
            continue;
        }
        for (key, value) in &span.attributes {
            if key.starts_with("honeyhive_inputs") || key.starts_with("honeyhive_outputs") {
                println!("  {key} = {value}");
            }
        }
    }
    Ok(())
}
