//! Offline quickstart: three support-bot sessions traced concurrently, no account needed.
//!
//! Run it with `cargo run --example quickstart`. Without `HH_API_KEY` everything is written
//! under `target/honeyhive/`; with `HH_API_KEY` and `HH_PROJECT` set, the same code sends
//! the sessions and spans to HoneyHive.

use std::collections::BTreeMap;
use std::time::Duration;

use honeyhive::opentelemetry::trace::{TraceContextExt, Tracer};
use honeyhive::opentelemetry::{Context, context::FutureExt};
use honeyhive::{Enrichment, HoneyHiveTracer, attributes as attr};

/// A deterministic stand-in for retrieval: it runs on a blocking thread, as a real vector
/// search client might, and its span still belongs to the session.
fn retrieve(question: &str) -> Vec<&'static str> {
    let tracer = HoneyHiveTracer::current().expect("called inside a session");
    tracer.otel_tracer().unwrap().in_span("retrieve", |_| {
        honeyhive::enrich_span(Enrichment::new().metadata("question_chars", question.len()));
        if question.contains("capital") {
            vec!["Paris is the capital of France."]
        } else {
            vec!["2 + 2 = 4."]
        }
    })
}

/// A deterministic stand-in for the model call.
async fn generate(question: String, documents: Vec<&'static str>) -> String {
    let tracer = HoneyHiveTracer::current().expect("called inside a session");
    let span = tracer.otel_tracer().unwrap().start("generate");
    let cx = Context::current_with_span(span);
    async move {
        tokio::time::sleep(Duration::from_millis(20)).await; // "the model thinks"
        let answer = format!("{} (answering {question:?})", documents.join(" "));
        honeyhive::enrich_span(
            Enrichment::new()
                .outputs(&answer)
                .config("model", "stand-in"),
        );
        Context::current().span().end();
        answer
    }
    .with_context(cx)
    .await
}

async fn answer(question: &'static str) -> String {
    let tracer = HoneyHiveTracer::current().expect("called inside a session");
    let root = tracer.otel_tracer().unwrap().start("answer");
    async move {
        let documents = honeyhive::spawn_blocking(move || retrieve(question))
            .await
            .unwrap();
        let answer = honeyhive::spawn(generate(question.to_owned(), documents))
            .await
            .unwrap();
        honeyhive::enrich_session(
            Enrichment::new()
                .outputs(&answer)
                .metric("answer_chars", answer.len()),
        );
        Context::current().span().end();
        answer
    }
    .with_context(Context::current_with_span(root))
    .await
}

#[tokio::main]
async fn main() -> Result<(), honeyhive::Error> {
    let questions = [
        "What is the capital of France?",
        "What is 2 + 2?",
        "What is the capital of Peru?",
    ];
    let mut sessions = Vec::new();
    for (i, question) in questions.into_iter().enumerate() {
        let tracer = HoneyHiveTracer::builder()
            .session_name(format!("quickstart-{i}"))
            .inputs(serde_json::json!({ "question": question }))
            .start()
            .await?;
        let work = tracer.instrument(answer(question));
        sessions.push((tracer, tokio::spawn(work)));
    }
    for (tracer, handle) in &mut sessions {
        let answer = handle.await.expect("session task");
        println!("{} -> {answer}", tracer.session_id());
    }
    let tracer = &sessions[0].0;
    tracer.flush_async().await?;

    if tracer.config().is_connected() {
        println!(
            "\nSent {} spans to {}",
            tracer.export_stats().exported_spans,
            tracer.config().base_url()
        );
        return Ok(());
    }
    let dir = tracer.config().local_dir();
    let spans = honeyhive::local_store::read_spans(dir)?;
    let mut per_session: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, _) in &sessions {
        for span in spans.iter().filter(|s| {
            s.attributes.get(attr::SESSION_ID).and_then(|v| v.as_str()) == Some(t.session_id())
        }) {
            per_session
                .entry(t.session_id().to_owned())
                .or_default()
                .push(span.name.clone());
        }
    }
    println!("\nNo HH_API_KEY: recorded locally in {}", dir.display());
    for (session, names) in per_session {
        println!("  session {session}: spans {}", names.join(", "));
    }
    Ok(())
}
