//! `#[trace]` on a small retrieval-augmented answer: async and sync functions, a method,
//! an error, options. Run with `cargo run --example trace`.
//!
//! Without `HH_API_KEY` the spans go to the local store (`target/honeyhive/`, or
//! `HH_LOCAL_DIR`), and this example prints them; with a key they go to HoneyHive.

use honeyhive::{HoneyHiveTracer, trace};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
struct Document {
    id: u32,
    text: String,
}

struct Retriever {
    corpus: Vec<Document>,
}

impl Retriever {
    /// Named `Retriever::search` on its span.
    #[trace]
    async fn search(&self, query: &str, top_k: usize) -> Vec<Document> {
        let mut hits: Vec<Document> = self
            .corpus
            .iter()
            .filter(|d| score(&d.text, query) > 0)
            .cloned()
            .collect();
        hits.truncate(top_k);
        hits
    }
}

#[trace]
fn score(text: &str, query: &str) -> usize {
    query
        .split_whitespace()
        .filter(|word| text.contains(word))
        .count()
}

#[derive(Debug)]
struct EmptyContext;

impl std::fmt::Display for EmptyContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no document matched the question")
    }
}

impl std::error::Error for EmptyContext {}

/// A stand-in for an LLM call: `event_type = "model"`, the model in `config`, the API key
/// never captured.
#[trace(
    event_type = "model",
    skip(api_key),
    config(model = "demo-model", temperature = 0.0)
)]
async fn generate(
    api_key: &str,
    question: &str,
    context: &[Document],
) -> Result<String, EmptyContext> {
    let _ = api_key;
    if context.is_empty() {
        return Err(EmptyContext);
    }
    Ok(format!(
        "{question} -> {}",
        context
            .iter()
            .map(|d| d.text.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

#[trace(event_type = "chain", skip(retriever), metadata(pipeline = "rag-v1"))]
async fn answer(retriever: &Retriever, question: &str) -> Result<String, EmptyContext> {
    let context = retriever.search(question, 2).await;
    generate("sk-not-recorded", question, &context).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tracer = HoneyHiveTracer::builder()
        .session_name("trace-example")
        .start()
        .await?;
    let retriever = Retriever {
        corpus: vec![
            Document {
                id: 1,
                text: "rust has ownership".into(),
            },
            Document {
                id: 2,
                text: "spans nest".into(),
            },
        ],
    };
    for question in ["rust ownership", "python"] {
        match tracer.instrument(answer(&retriever, question)).await {
            Ok(text) => println!("answer: {text}"),
            Err(e) => println!("error (recorded on the span): {e}"),
        }
    }
    tracer.flush_async().await?;

    if !tracer.config().is_connected() && tracer.is_enabled() {
        let dir = tracer.config().local_dir().to_owned();
        for span in honeyhive::local_store::read_spans(&dir)?
            .iter()
            .filter(|s| s.attributes["honeyhive.session_id"] == tracer.session_id())
        {
            println!(
                "{:<18} status={:<5} {}",
                span.name,
                span.status,
                serde_json::to_string(&span.attributes)?
            );
        }
    }
    Ok(())
}
