//! The tokens one model call used, as providers report them.

use serde::{Deserialize, Serialize};

/// Tokens of one model call. `input_tokens` includes the cached ones and `output_tokens`
/// the reasoning ones, as the GenAI conventions count them.
///
/// ```
/// use honeyhive::model::Usage;
///
/// let usage = Usage::new(1_000, 200).cached_input_tokens(400);
/// assert_eq!(usage.total_tokens(), 1_200);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input (prompt) tokens, cached ones included.
    pub input_tokens: u64,
    /// Output (completion) tokens, reasoning ones included.
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (billed at the cached price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    /// Output tokens the model spent reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_output_tokens: Option<u64>,
}

impl Usage {
    /// `input` tokens in, `output` tokens out.
    pub fn new(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: None,
            reasoning_output_tokens: None,
        }
    }

    /// With `n` of the input tokens served from the provider's prompt cache.
    pub fn cached_input_tokens(mut self, n: u64) -> Usage {
        self.cached_input_tokens = Some(n);
        self
    }

    /// With `n` of the output tokens spent reasoning.
    pub fn reasoning_output_tokens(mut self, n: u64) -> Usage {
        self.reasoning_output_tokens = Some(n);
        self
    }

    /// Input and output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}
