//! The judges of `examples/judge.rs`: the quickstart's QA pipeline (`examples/qa/pipeline.rs`,
//! which the including file declares as `qa`) scored by `Factuality` and a classifier of
//! our own, both asking for a choice letter; and the rule the in-repo stand-in judge
//! answers by when no real model is given. Shared with the test that replays the example
//! from the committed cassettes (`tests/judges/example.rs`).

use honeyhive::evaluators::judge::{Choices, Classifier, Factuality, Judge};
use honeyhive::experiment::{Comparison, Experiment};
use honeyhive::testing::openai::Reply;
use serde_json::{Value, json};

pub use super::qa::{Answer, Question, answer};

/// Our own classifier: is the answer backed by what retrieval found? A choice letter per
/// verdict, each with its score, as autoevals' classifiers ask.
pub const GROUNDED: &str = "\
You are checking whether an answer is backed by the documents it was written from.

The question:
<question>
{{ input }}
</question>

The documents:
<documents>
{{ context }}
</documents>

The answer:
<answer>
{{ output }}
</answer>

Which is it?
(A) A document states what the answer says.
(B) The answer says something no document states.
(C) The answer declines to answer.";

/// The experiment: the quickstart's questions, answered by its pipeline, judged by
/// `judge` for factuality against the expected answer and for grounding in the sources.
pub fn experiment(judge: &Judge) -> Experiment<Question, Answer> {
    let factuality = Factuality::new()
        .input_field("question")
        .output_field("answer")
        .expected_field("answer")
        .judge(judge.clone());
    let grounded = Classifier::new(
        "grounded",
        GROUNDED,
        Choices::new([("A", 1.0), ("B", 0.0), ("C", 0.5)]),
    )
    .expect("the template is valid")
    .input_field("question")
    .output_field("answer")
    .context_field("sources")
    .judge(judge.clone());
    Experiment::new("judge")
        .dataset_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/qa.jsonl"
        ))
        .evaluator(factuality)
        .evaluator(grounded)
        .threshold("factuality", Comparison::AtLeast, 0.6)
        .threshold("grounded", Comparison::AtLeast, 0.8)
}

/// The stand-in judge's rule, for when no model server is named: it reads the prompt the
/// way a model would and picks its letter by plain text matching.
/// - Factuality: `A` (the expert's facts) when the answer contains the expert's answer,
///   ignoring case; `D` (contradicts it) otherwise.
/// - Grounded: `C` for "I don't know.", `A` when a document contains the answer, `B`
///   otherwise.
///
/// The verdict goes back in whatever form the judge asked for (a JSON schema, a tool call,
/// text).
pub fn stand_in_judge(request: &Value) -> Reply {
    let prompt = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let section = |tag: &str| -> String {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        prompt
            .split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&close))
            .map(|(inside, _)| inside.trim().to_owned())
            .unwrap_or_default()
    };
    let answer = section("answer");
    let (choice, reasoning) = if prompt.contains("<expert>") {
        let expert = section("expert");
        if answer.to_lowercase().contains(&expert.to_lowercase()) {
            (
                "A",
                format!("The answer states {expert:?}, as the expert does."),
            )
        } else {
            (
                "D",
                format!("The answer does not say {expert:?}: it contradicts the expert."),
            )
        }
    } else if answer == "I don't know." {
        ("C", "The answer declines.".to_owned())
    } else if section("documents")
        .lines()
        .any(|doc| doc.contains(&answer))
    {
        ("A", "A document says exactly this.".to_owned())
    } else {
        ("B", "No document says this.".to_owned())
    };
    Reply::structured(json!({"reasoning": reasoning, "choice": choice}))
}
