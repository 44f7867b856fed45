//! The pipeline of `examples/model_calls.rs`: the quickstart's retrieval
//! (`examples/qa/pipeline.rs`, which the including file declares as `qa`), then one plain
//! and one streamed chat completion through `async-openai`, each a model span under the
//! `#[trace]` step that makes it. Shared with the test that replays it from the committed
//! cassettes (`tests/model_calls/example.rs`).

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    ChatCompletionStreamOptions, CreateChatCompletionRequestArgs,
};
use futures_util::StreamExt as _;
use honeyhive::experiment::{Comparison, Experiment};
use honeyhive::integrations::openai::async_openai;
use honeyhive::{Score, evaluator, evaluators, trace};
use serde::{Deserialize, Serialize};

/// The model client (built through the integration) and the model's name.
#[derive(Clone)]
pub struct Rag {
    pub client: async_openai::Client<OpenAIConfig>,
    pub model: String,
}

/// The quickstart's questions (`examples/data/qa.jsonl`) and retrieval.
pub use super::qa::{Expected, Question, retrieve};

/// What the pipeline answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub answer: String,
    pub follow_up: String,
    pub sources: Vec<String>,
}

/// The answer, from the retrieved documents: one chat completion.
#[trace(skip(rag))]
pub async fn generate(
    rag: &Rag,
    question: &str,
    documents: &[String],
) -> Result<String, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model(&rag.model)
        .temperature(0.0)
        .max_completion_tokens(100u32)
        .messages([
            ChatCompletionRequestSystemMessageArgs::default()
                .content(format!(
                    "Answer in one sentence from this context only:\n{}",
                    documents.join("\n")
                ))
                .build()?
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(question)
                .build()?
                .into(),
        ])
        .build()?;
    let response = rag.client.chat().create(request).await?;
    Ok(response
        .choices
        .first()
        .and_then(|c| c.message.content.clone())
        .unwrap_or_default())
}

/// A follow-up question, streamed: the model span stays open until the last chunk, and
/// records the time to the first one.
#[trace(skip(rag))]
pub async fn follow_up(rag: &Rag, answer: &str) -> Result<String, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model(&rag.model)
        .temperature(0.0)
        .max_completion_tokens(40u32)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        })
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content(format!("Ask one short follow-up question about: {answer}"))
            .build()?
            .into()])
        .build()?;
    let mut stream = rag.client.chat().create_stream(request).await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        if let Some(delta) = chunk?.choices.first().and_then(|c| c.delta.content.clone()) {
            text.push_str(&delta);
        }
    }
    Ok(text)
}

/// The pipeline the experiment evaluates.
#[trace(event_type = "chain", skip(rag))]
pub async fn answer(rag: &Rag, question: Question) -> Result<Answer, OpenAIError> {
    let sources = retrieve(&question.question);
    let answer = generate(rag, &question.question, &sources).await?;
    let follow_up = follow_up(rag, &answer).await?;
    Ok(Answer {
        answer,
        follow_up,
        sources,
    })
}

/// The example's experiment: the quickstart's questions scored by [`correct`], with a cost
/// budget per datapoint.
pub fn experiment() -> Experiment<Question, Answer> {
    Experiment::new("model_calls")
        .dataset_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/qa.jsonl"
        ))
        .evaluators(evaluators![correct])
        .threshold("correct", Comparison::AtLeast, 0.6)
        .threshold("cost_usd", Comparison::AtMost, 0.01)
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

/// What the in-repo test model answers when no real server is given: the context
/// sentence that shares the most words with the question (a deterministic stand-in for
/// a model that answers from its context), or the question back for follow-ups.
pub fn stand_in_reply(request: &serde_json::Value) -> String {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let text = |m: &serde_json::Value| m["content"].as_str().unwrap_or_default().to_owned();
    let question = messages.last().map(text).unwrap_or_default().to_lowercase();
    let Some(system) = messages.iter().find(|m| m["role"] == "system") else {
        let topic = question.trim_start_matches("ask one short follow-up question about: ");
        return format!(
            "What else should I know about \"{}\"?",
            topic.trim_end_matches('.')
        );
    };
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(str::to_owned)
        .collect();
    text(system)
        .lines()
        .skip(1)
        .max_by_key(|line| {
            let line = line.to_lowercase();
            words.iter().filter(|w| line.contains(w.as_str())).count()
        })
        .map(str::to_owned)
        .unwrap_or_else(|| "I don't know.".to_owned())
}
