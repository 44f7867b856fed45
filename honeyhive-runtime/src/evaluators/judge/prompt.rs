//! What a judge is told: a [`Prompt`] (chat messages), usually rendered from a
//! [`Template`] (Jinja syntax, `{{ output }}`), which the built-in judges let you read and
//! replace.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::JudgeError;

/// The chat messages of one judge call.
///
/// ```
/// use honeyhive::evaluators::judge::Prompt;
///
/// let prompt = Prompt::user("Is this polite? Thanks a lot!").system("You grade tone.");
/// assert_eq!(prompt.messages().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    system: Option<String>,
    user: String,
}

impl Prompt {
    /// A prompt of one user message.
    pub fn user(text: impl Into<String>) -> Prompt {
        Prompt {
            system: None,
            user: text.into(),
        }
    }

    /// With a system message before the user message.
    pub fn system(mut self, text: impl Into<String>) -> Prompt {
        self.system = Some(text.into());
        self
    }

    /// The user message's text.
    pub fn text(&self) -> &str {
        &self.user
    }

    /// The messages as the chat completions API takes them, `instructions` appended to the
    /// user message.
    pub(crate) fn with_instructions(&self, instructions: &str) -> Vec<Value> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = &self.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        let user = if instructions.is_empty() {
            self.user.clone()
        } else {
            format!("{}\n\n{instructions}", self.user.trim_end())
        };
        messages.push(json!({"role": "user", "content": user}));
        messages
    }

    /// The messages as the chat completions API takes them.
    pub fn messages(&self) -> Vec<Value> {
        self.with_instructions("")
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Prompt {
        Prompt::user(text)
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Prompt {
        Prompt::user(text)
    }
}

/// A prompt template, in Jinja syntax (`{{ output }}`, `{% if context %}...{% endif %}`),
/// checked when it is made: every variable it uses must be one its evaluator gives, so a
/// typo is an error before any datapoint runs, not a prompt with a hole.
///
/// ```
/// use honeyhive::evaluators::judge::Template;
///
/// let template = Template::new(
///     "Question: {{ input }}\nAnswer: {{ output }}\nIs the answer polite?",
///     &["input", "output"],
/// )?;
/// let text = template.render(&[("input", "Hi?"), ("output", "Hello!")])?;
/// assert!(text.starts_with("Question: Hi?"));
///
/// let typo = Template::new("{{ ouptut }}", &["input", "output"]).unwrap_err();
/// assert!(typo.to_string().contains("`ouptut`"));
/// # Ok::<(), honeyhive::evaluators::judge::JudgeError>(())
/// ```
#[derive(Clone)]
pub struct Template {
    source: Arc<str>,
    /// The variables it uses.
    variables: Arc<[String]>,
    env: Arc<minijinja::Environment<'static>>,
}

const NAME: &str = "prompt";

impl Template {
    /// The template `source`, which may use the variables `allowed`.
    ///
    /// # Errors
    /// [`JudgeError::Prompt`] for a syntax error, or a variable not in `allowed`.
    pub fn new(source: impl Into<String>, allowed: &[&str]) -> Result<Template, JudgeError> {
        let source: String = source.into();
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned(NAME, source.clone())
            .map_err(|e| JudgeError::Prompt(e.to_string()))?;
        let template = env
            .get_template(NAME)
            .map_err(|e| JudgeError::Prompt(e.to_string()))?;
        let variables: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        let mut unknown: Vec<&String> = variables
            .iter()
            .filter(|v| !allowed.contains(&v.as_str()))
            .collect();
        unknown.sort();
        if let Some(first) = unknown.first() {
            return Err(JudgeError::Prompt(format!(
                "the template uses `{first}`, which this judge does not give; it gives {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(Template {
            source: source.into(),
            variables: variables.into(),
            env: Arc::new(env),
        })
    }

    /// Whether the template uses `variable`.
    pub fn uses(&self, variable: &str) -> bool {
        self.variables.iter().any(|v| v == variable)
    }

    /// The template's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text with `variables` filled in.
    ///
    /// # Errors
    /// [`JudgeError::Prompt`] when rendering fails (a variable it uses is not given).
    pub fn render<V: Serialize>(&self, variables: &[(&str, V)]) -> Result<String, JudgeError> {
        let context: BTreeMap<&str, &V> = variables.iter().map(|(k, v)| (*k, v)).collect();
        self.env
            .get_template(NAME)
            .and_then(|t| t.render(&context))
            .map_err(|e| JudgeError::Prompt(e.to_string()))
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_reject_unknown_variables() {
        let t = Template::new(
            "{% if context %}Context: {{ context }}\n{% endif %}Q: {{ input }}",
            &["input", "context"],
        )
        .unwrap();
        assert_eq!(
            t.render(&[("input", "x"), ("context", "")]).unwrap(),
            "Q: x"
        );
        assert_eq!(
            t.render(&[("input", "x"), ("context", "c")]).unwrap(),
            "Context: c\nQ: x"
        );
        let e = Template::new("{{ a }} {{ b }}", &["a"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("uses `b`, which this judge does not give; it gives `a`"),
            "{e}"
        );
        assert!(Template::new("{{ a", &["a"]).is_err());
    }

    #[test]
    fn instructions_go_after_the_user_message() {
        let messages = Prompt::user("Grade this.\n")
            .system("You grade.")
            .with_instructions("Answer: A or B.");
        assert_eq!(
            messages[0],
            json!({"role": "system", "content": "You grade."})
        );
        assert_eq!(messages[1]["content"], "Grade this.\n\nAnswer: A or B.");
    }
}
