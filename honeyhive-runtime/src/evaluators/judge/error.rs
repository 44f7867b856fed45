//! Why a judge gave no verdict. Every case is an evaluator error, never a score.

use crate::model::TransportError;

use super::StructuredOutput;

/// Most characters of a judge's answer an error carries (the rest is counted).
const RAW_LIMIT: usize = 4000;

/// Why a judge gave no verdict: its answer could not be read, its server refused or failed
/// the request, or the judge is misconfigured. An evaluator that returns it (with `?`)
/// records it as its error for the datapoint, with the judge's raw answer: the datapoint
/// is unscored, never scored 0.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeError {
    /// The judge answered, but not with a verdict of the asked form.
    #[error(
        "the judge's answer is not {expected} ({reason}; asked {via}); the judge answered: {raw}",
        raw = shown(raw)
    )]
    Unparsable {
        /// What was asked for (`one of the choices A, B, C`).
        expected: String,
        /// What is wrong with the answer.
        reason: String,
        /// The answer's text (the message content, or the tool call's arguments), whole.
        raw: String,
        /// How the verdict was asked for.
        via: StructuredOutput,
    },
    /// The model server answered the request with an error status (after the retries a
    /// 429 or 5xx gets).
    #[error("the judge's model server ({model} at {url}) answered HTTP {status}: {message}")]
    Server {
        /// The model asked.
        model: String,
        /// The chat completions URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// No answer at all: the server could not be reached, or (`HH_LLM_CACHE=replay`) the
    /// call has no cassette.
    #[error("the judge got no answer: {0}")]
    Transport(#[from] TransportError),
    /// The judge's configuration is invalid (a base URL that is not one, ...).
    #[error("the judge is misconfigured: {0}")]
    Config(String),
    /// A prompt template could not be rendered.
    #[error("the judge's prompt could not be rendered: {0}")]
    Prompt(String),
}

impl From<crate::Error> for JudgeError {
    /// A configuration error of the toolkit (a judge built from a bad environment).
    fn from(error: crate::Error) -> JudgeError {
        JudgeError::Config(error.to_string())
    }
}

/// The raw answer as an error shows it: quoted (one line, escapes visible), cut after
/// [`RAW_LIMIT`] characters.
fn shown(raw: &str) -> String {
    let count = raw.chars().count();
    if count <= RAW_LIMIT {
        return format!("{raw:?}");
    }
    let kept: String = raw.chars().take(RAW_LIMIT).collect();
    format!("{kept:?} ... ({} more characters)", count - RAW_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_answer_shows_the_raw_text_on_one_line() {
        let e = JudgeError::Unparsable {
            expected: "one of the choices A, B".into(),
            reason: "no choice on the last line".into(),
            raw: "I think\nmaybe".into(),
            via: StructuredOutput::Text,
        };
        assert_eq!(
            e.to_string(),
            "the judge's answer is not one of the choices A, B (no choice on the last line; \
             asked as text); the judge answered: \"I think\\nmaybe\""
        );
        let long = JudgeError::Unparsable {
            expected: "x".into(),
            reason: "y".into(),
            raw: "a".repeat(RAW_LIMIT + 5),
            via: StructuredOutput::JsonSchema,
        };
        assert!(long.to_string().ends_with("... (5 more characters)"));
    }
}
