//! Redaction before anything is written or sent: `Secret`, `#[trace(redact(..))]`, the
//! default rules (API keys, bearer tokens) and the configuration's rules (key names,
//! patterns, a function), on every destination a span reaches: HoneyHive (spans, session
//! starts, event updates), the OTLP destination, a user's exporter, the local store.

use honeyhive::opentelemetry::Value;
use honeyhive::{Config, ConfigBuilder, Enrichment, Environment, HoneyHiveTracer, Secret, trace};
use honeyhive_runtime::testing::{RecordedBody, RecordedSpan, TestServer};
use serde::Serialize;

use crate::common::{API_KEY, KeepSpans, PROJECT, fast_export, files_under, temp_dir};

/// What must never leave the process, each caught by a different rule.
const OPENAI_KEY: &str = "sk-proj-Zq8Xw2Lr5Tn7Vb1Mc4Kd9Hs3";
const BEARER: &str = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.Sig";
const SSN: &str = "078-05-1120";
const EMAIL: &str = "ada@example.org";
const PASSWORD: &str = "correct-horse-battery";
const TOKEN: &str = "tok_live_8d7f6e5a";
const PHONE: &str = "+1 555 0100 7788";
const SECRETS: [&str; 7] = [OPENAI_KEY, BEARER, SSN, EMAIL, PASSWORD, TOKEN, PHONE];

#[derive(Serialize)]
struct Contact {
    email: String,
    notes: Vec<String>,
    phone: String,
}

#[derive(Serialize)]
struct Customer {
    name: String,
    ssn: String,
    contact: Contact,
    password: Secret<String>,
}

fn customer() -> Customer {
    Customer {
        name: "Ada".into(),
        ssn: SSN.into(),
        contact: Contact {
            email: EMAIL.into(),
            notes: vec![format!("reach me at {EMAIL} any time")],
            phone: PHONE.into(),
        },
        password: Secret::new(PASSWORD.into()),
    }
}

#[trace(redact(token))]
fn lookup(customer: &Customer, token: &str, header: &str) -> Result<String, String> {
    let _ = (customer, token, header);
    honeyhive::enrich_span(
        Enrichment::new()
            .metadata("upstream", format!("called with {OPENAI_KEY}"))
            .metadata("contact", EMAIL),
    );
    honeyhive::enrich_session(Enrichment::new().feedback("note", format!("from {EMAIL}")));
    Err(format!("upstream rejected key {OPENAI_KEY}"))
}

/// The rules of every test: a key name, emails, and a function for phone numbers.
fn rules(builder: ConfigBuilder) -> ConfigBuilder {
    builder
        .redact_key("ssn")
        .redact_emails()
        .redact_with(|key, value| {
            key.ends_with(".phone")
                .then(|| format!("…{}", &value[value.len() - 2..]))
        })
}

fn run(tracer: &HoneyHiveTracer) {
    tracer.in_scope(|| {
        let _ = lookup(&customer(), TOKEN, BEARER);
    });
    tracer.flush().unwrap();
}

/// Panics naming the secret `text` shows, if any.
fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

/// The attributes of the `lookup` span, as its destination received them.
fn check_span(what: &str, get: impl Fn(&str) -> Option<String>) {
    let want = [
        ("honeyhive_inputs.customer.name", "Ada".to_owned()),
        ("honeyhive_inputs.customer.ssn", "[REDACTED]".to_owned()),
        (
            "honeyhive_inputs.customer.password",
            "[REDACTED]".to_owned(),
        ),
        (
            "honeyhive_inputs.customer.contact.email",
            "[REDACTED]".to_owned(),
        ),
        (
            "honeyhive_inputs.customer.contact.notes.0",
            "reach me at [REDACTED] any time".to_owned(),
        ),
        ("honeyhive_inputs.customer.contact.phone", "…88".to_owned()),
        ("honeyhive_inputs.token", "[REDACTED]".to_owned()),
        ("honeyhive_inputs.header", "[REDACTED]".to_owned()),
        (
            "honeyhive_error",
            "upstream rejected key [REDACTED]".to_owned(),
        ),
        (
            "honeyhive_metadata.upstream",
            "called with [REDACTED]".to_owned(),
        ),
        ("honeyhive_metadata.contact", "[REDACTED]".to_owned()),
    ];
    for (key, value) in want {
        assert_eq!(get(key).as_deref(), Some(value.as_str()), "{what}: {key}");
    }
}

fn recorded(span: &RecordedSpan) -> impl Fn(&str) -> Option<String> + '_ {
    |key| span.str_attr(key).map(str::to_owned)
}

/// Every string a recorded span holds: attributes, events, status.
fn span_text(span: &RecordedSpan) -> String {
    format!("{:?} {:?} {:?}", span.attributes, span.events, span.status)
}

#[test]
fn honeyhive_the_otlp_destination_and_a_user_exporter_receive_nothing_redacted() {
    let honeyhive = TestServer::start();
    let collector = TestServer::start();
    let kept = KeepSpans::default();
    let env = Environment::from_pairs([("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())]);
    let config = rules(Config::builder())
        .environment(env)
        .api_key(API_KEY)
        .project(PROJECT)
        .base_url(honeyhive.url())
        .export_settings(fast_export())
        .span_exporter(kept.clone())
        .build()
        .unwrap();
    let tracer = HoneyHiveTracer::builder()
        .config(config)
        .inputs(serde_json::json!({"question": format!("mail {EMAIL}"), "auth": {"password": PASSWORD}}))
        .metadata("api_key", OPENAI_KEY)
        .build()
        .unwrap();
    run(&tracer);

    for (what, server) in [
        ("HoneyHive", &honeyhive),
        ("the OTLP destination", &collector),
    ] {
        let spans = server.spans();
        let span = spans.iter().find(|s| s.name == "lookup").unwrap();
        check_span(what, recorded(span));
        for span in &spans {
            assert_no_secret(what, &span_text(span));
        }
        // Nothing in any request body either: spans, session start, event updates.
        for request in server.requests() {
            let body = match &request.body {
                RecordedBody::Json(value) => value.to_string(),
                other => format!("{other:?}"),
            };
            assert_no_secret(&format!("{what} {}", request.path), &body);
        }
    }
    let session = &honeyhive.sessions()[0];
    assert_eq!(session["inputs"]["question"], "mail [REDACTED]");
    assert_eq!(session["inputs"]["auth"]["password"], "[REDACTED]");
    assert_eq!(session["metadata"]["api_key"], "[REDACTED]");
    let update = &honeyhive.event_updates()[0];
    assert_eq!(update["feedback"]["note"], "from [REDACTED]");

    let spans = kept.0.lock().unwrap();
    let span = spans.iter().find(|s| s.name == "lookup").unwrap();
    let get = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| match &kv.value {
                Value::String(s) => s.as_str().to_owned(),
                other => other.to_string(),
            })
    };
    check_span("the user's exporter", get);
    for span in spans.iter() {
        assert_no_secret(
            "the user's exporter",
            &format!("{:?} {:?} {:?}", span.attributes, span.events, span.status),
        );
    }
}

#[test]
fn the_local_store_keeps_nothing_redacted_and_default_rules_apply_without_configuration() {
    let dir = temp_dir("redaction-local");
    let config = rules(Config::builder())
        .environment(Environment::empty())
        .local_dir(&dir)
        .export_settings(fast_export())
        .build()
        .unwrap();
    let tracer = HoneyHiveTracer::builder().config(config).build().unwrap();
    run(&tracer);
    let spans = honeyhive::local_store::read_spans(&dir).unwrap();
    let span = spans.iter().find(|s| s.name == "lookup").unwrap();
    check_span("the local store", |key| {
        span.attributes
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    });
    for file in files_under(&dir) {
        assert_no_secret(
            &file.display().to_string(),
            &std::fs::read_to_string(&file).unwrap(),
        );
    }

    // With no rules configured, the defaults still catch API keys and bearer tokens, and
    // `Secret` and `redact(..)` need no configuration at all.
    let plain = temp_dir("redaction-defaults");
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&plain)
        .export_settings(fast_export())
        .build()
        .unwrap();
    run(&tracer);
    let spans = honeyhive::local_store::read_spans(&plain).unwrap();
    let span = spans.iter().find(|s| s.name == "lookup").unwrap();
    let attr = |key: &str| span.attributes[key].as_str().unwrap().to_owned();
    assert_eq!(attr("honeyhive_inputs.header"), "[REDACTED]");
    assert_eq!(attr("honeyhive_inputs.token"), "[REDACTED]");
    assert_eq!(attr("honeyhive_inputs.customer.password"), "[REDACTED]");
    assert_eq!(attr("honeyhive_error"), "upstream rejected key [REDACTED]");
    // Not asked for: kept.
    assert_eq!(attr("honeyhive_inputs.customer.ssn"), SSN);
    assert_eq!(attr("honeyhive_inputs.customer.contact.email"), EMAIL);
}
