//! The question-answering pipeline of the quickstart: retrieval over a tiny knowledge base
//! and a deterministic stand-in for the model, each a `#[trace]` step, and the two
//! evaluators that score it. Shared by `examples/quickstart.rs` (the `Experiment`
//! builder) and the `#[experiment]` test of the same experiment in
//! `tests/experiment/fixtures.rs`.

use honeyhive::{Score, evaluator, trace};
use serde::{Deserialize, Serialize};

/// A datapoint's `inputs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    pub question: String,
}

/// What the pipeline answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub answer: String,
    pub sources: Vec<String>,
}

/// A datapoint's `ground_truth`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expected {
    pub answer: String,
}

const KNOWLEDGE: &[(&str, &str)] = &[
    ("capital france", "Paris is the capital of France."),
    ("hamlet wrote", "Hamlet was written by William Shakespeare."),
    (
        "boiling water",
        "Water boils at 100 degrees Celsius at sea level.",
    ),
    ("red planet", "Mars is called the Red Planet."),
    ("ocean", "The Atlantic Ocean separates Europe from America."),
];

/// Retrieval: the documents sharing a keyword with the question.
#[trace]
pub fn retrieve(question: &str) -> Vec<String> {
    let question = question.to_lowercase();
    KNOWLEDGE
        .iter()
        .filter(|(keys, _)| keys.split(' ').any(|k| question.contains(k)))
        .map(|(_, doc)| (*doc).to_owned())
        .collect()
}

/// The stand-in model: answers with the first retrieved document (so the ocean question,
/// whose only document is about another ocean, comes out wrong: the evaluators see a
/// realistic miss).
#[trace(event_type = "model", metadata(model = "stand-in", temperature = 0.0))]
pub async fn generate(question: &str, documents: &[String]) -> String {
    // A real model call would await the network here.
    tokio::task::yield_now().await;
    let _ = question;
    documents
        .first()
        .cloned()
        .unwrap_or_else(|| "I don't know.".to_owned())
}

/// The pipeline the experiment evaluates.
#[trace(event_type = "chain")]
pub async fn answer(question: Question) -> Answer {
    let sources = retrieve(&question.question);
    let answer = generate(&question.question, &sources).await;
    Answer { answer, sources }
}

/// 1 when the answer contains the expected one.
#[evaluator]
pub fn correct(output: &Answer, ground_truth: &Expected) -> Score {
    let hit = output
        .answer
        .to_lowercase()
        .contains(&ground_truth.answer.to_lowercase());
    Score::new(hit).explanation(format!("expected {:?}", ground_truth.answer))
}

/// Answer length in words (shorter is better).
#[evaluator(name = "answer_words")]
pub fn concise(output: &Answer) -> usize {
    output.answer.split_whitespace().count()
}
