//! What every built-in judge evaluator is made of: its judge (given, or the environment's),
//! its prompt template and the values it fills in (`input`, `output`, `expected`,
//! `context`, `criteria`, each read from the datapoint, a field of it when one is chosen),
//! its verdict spec, and its `repeat`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::verdict::VerdictSpec;
use super::{Judge, JudgeError, Prompt, Template};
use crate::evaluator::{Aggregate, EvalInput, EvaluatorOptions, Params, Score};
use crate::evaluators::json::{FieldPath, select};

/// The variables a built-in judge's template may use.
pub(crate) const VARIABLES: [&str; 5] = ["input", "output", "expected", "context", "criteria"];

/// Where a judge reads the context (retrieved documents) it is given.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ContextSource {
    /// A field of the output.
    Output(FieldPath),
    /// A field of the datapoint's inputs.
    Inputs(FieldPath),
}

/// A built-in judge evaluator's settings and its spec `S`.
#[derive(Debug, Clone)]
pub(crate) struct Core<S> {
    pub(crate) name: Cow<'static, str>,
    judge: Option<Judge>,
    template: Template,
    system: Option<String>,
    output: Option<FieldPath>,
    input: Option<FieldPath>,
    expected: Option<FieldPath>,
    context: Option<ContextSource>,
    criteria: Option<String>,
    /// Whether a datapoint without ground truth still gets a verdict (`expected` empty).
    expected_optional: bool,
    pub(crate) spec: S,
    options: EvaluatorOptions,
}

/// The judge of the process environment ([`Judge::from_env`], made once and shared), or
/// why it could not be made.
fn environment_judge() -> Result<Judge, String> {
    Judge::from_env().map_err(|e| {
        format!(
            "the judge of the environment could not be made: {e}; fix it, or give the \
             evaluator one with .judge(..)"
        )
    })
}

impl<S: VerdictSpec> Core<S>
where
    S::Verdict: Into<Score>,
{
    /// A judge evaluator named `name` asking `template` for a verdict of `spec`.
    pub(crate) fn new(name: &'static str, template: Template, spec: S) -> Core<S> {
        Core {
            name: Cow::Borrowed(name),
            judge: None,
            template,
            system: None,
            output: None,
            input: None,
            expected: None,
            context: None,
            criteria: None,
            expected_optional: false,
            spec,
            options: EvaluatorOptions::default(),
        }
    }

    pub(crate) fn judge(mut self, judge: Judge) -> Self {
        self.judge = Some(judge);
        self
    }

    #[track_caller]
    pub(crate) fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        assert!(
            !name.trim().is_empty(),
            "an evaluator's name must not be empty: it names the metric `honeyhive_metrics.<name>`"
        );
        self.name = name;
        self
    }

    pub(crate) fn try_template(mut self, source: impl Into<String>) -> Result<Self, JudgeError> {
        self.template = Template::new(source, &VARIABLES)?;
        Ok(self)
    }

    #[track_caller]
    pub(crate) fn template(self, source: impl Into<String>) -> Self {
        match self.try_template(source) {
            Ok(this) => this,
            Err(e) => panic!("{e}"),
        }
    }

    pub(crate) fn system(mut self, text: impl Into<String>) -> Self {
        self.system = Some(text.into());
        self
    }

    pub(crate) fn output_field(mut self, path: impl Into<String>) -> Self {
        self.output = Some(FieldPath::parse(path));
        self
    }

    pub(crate) fn input_field(mut self, path: impl Into<String>) -> Self {
        self.input = Some(FieldPath::parse(path));
        self
    }

    pub(crate) fn expected_field(mut self, path: impl Into<String>) -> Self {
        self.expected = Some(FieldPath::parse(path));
        self
    }

    pub(crate) fn context_field(mut self, path: impl Into<String>) -> Self {
        self.context = Some(ContextSource::Output(FieldPath::parse(path)));
        self
    }

    pub(crate) fn context_from_inputs(mut self, path: impl Into<String>) -> Self {
        self.context = Some(ContextSource::Inputs(FieldPath::parse(path)));
        self
    }

    pub(crate) fn criteria(mut self, text: impl Into<String>) -> Self {
        self.criteria = Some(text.into());
        self
    }

    #[track_caller]
    pub(crate) fn repeat(mut self, n: u32, aggregate: Aggregate) -> Self {
        assert!(n >= 1, "repeat: give at least 1 call per datapoint");
        self.options.repeat = n;
        self.options.aggregate = aggregate;
        self
    }

    pub(crate) fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    pub(crate) fn template_source(&self) -> &str {
        self.template.source()
    }

    pub(crate) fn options(&self) -> EvaluatorOptions {
        self.options
    }

    /// What the template reads.
    fn uses(&self, variable: &str) -> bool {
        self.template.uses(variable)
    }

    pub(crate) fn params(&self) -> Params {
        Params {
            output: self.uses("output")
                || matches!(self.context, Some(ContextSource::Output(_))) && self.uses("context"),
            inputs: self.uses("input")
                || matches!(self.context, Some(ContextSource::Inputs(_))) && self.uses("context"),
            ground_truth: self.uses("expected"),
            trace: false,
        }
    }

    /// Whether `ground_truth` suits: a template that reads `expected` needs one (with the
    /// chosen field).
    pub(crate) fn check_ground_truth(&self, ground_truth: Option<&Value>) -> Result<(), String> {
        if !self.uses("expected") || self.expected_optional {
            return Ok(());
        }
        match ground_truth {
            None | Some(Value::Null) => Err(format!(
                "`{}` compares the output with the ground truth, but this datapoint has none; \
                 give every datapoint a `ground_truth`, or leave this evaluator out",
                self.name
            )),
            Some(truth) => self
                .pick("ground truth", truth, self.expected.as_ref())
                .map(drop),
        }
    }

    /// A datapoint without ground truth gets a verdict too, with `expected` empty (the
    /// rubric's reference answer is optional).
    pub(crate) fn expected_optional(mut self) -> Self {
        self.expected_optional = true;
        self
    }

    fn pick<'v>(
        &self,
        what: &str,
        root: &'v Value,
        path: Option<&FieldPath>,
    ) -> Result<&'v Value, String> {
        match path {
            None => Ok(root),
            Some(path) => select(root, path).map_err(|reason| {
                format!(
                    "`{}` reads the field `{path}` of the {what}: {reason}",
                    self.name
                )
            }),
        }
    }

    /// The prompt for one datapoint, rendered before any await (nothing of `I` or `O` is
    /// held by the future).
    pub(crate) fn prompt<I: Serialize, O: Serialize>(
        &self,
        input: &EvalInput<'_, I, O>,
    ) -> Result<Prompt, String> {
        let json = |what: &str, value: Result<Value, serde_json::Error>| {
            value.map_err(|e| format!("the {what} cannot be turned into JSON: {e}"))
        };
        let output = json("output", serde_json::to_value(input.output))?;
        let inputs = if self.params().inputs {
            json("inputs", serde_json::to_value(input.inputs))?
        } else {
            Value::Null
        };
        let mut variables: Vec<(&str, String)> = Vec::with_capacity(5);
        if self.uses("output") {
            variables.push((
                "output",
                text(self.pick("output", &output, self.output.as_ref())?),
            ));
        }
        if self.uses("input") {
            variables.push((
                "input",
                text(self.pick("inputs", &inputs, self.input.as_ref())?),
            ));
        }
        if self.uses("expected") {
            let expected = match input.ground_truth {
                None | Some(Value::Null) if self.expected_optional => String::new(),
                None | Some(Value::Null) => {
                    return Err(format!(
                        "`{}` compares the output with the ground truth, but this datapoint \
                         has none",
                        self.name
                    ));
                }
                Some(truth) => text(self.pick("ground truth", truth, self.expected.as_ref())?),
            };
            variables.push(("expected", expected));
        }
        if self.uses("context") {
            let context = match &self.context {
                Some(ContextSource::Output(path)) => self.pick("output", &output, Some(path))?,
                Some(ContextSource::Inputs(path)) => self.pick("inputs", &inputs, Some(path))?,
                None => {
                    return Err(format!(
                        "`{}` reads the context its answer was written from: say where it is \
                         with .context_field(\"sources\") (a field of the output) or \
                         .context_from_inputs(\"documents\")",
                        self.name
                    ));
                }
            };
            variables.push(("context", text(context)));
        }
        if self.uses("criteria") {
            variables.push(("criteria", self.criteria.clone().unwrap_or_default()));
        }
        let rendered = self
            .template
            .render(&variables)
            .map_err(|e| e.to_string())?;
        let prompt = Prompt::user(rendered);
        Ok(match &self.system {
            Some(system) => prompt.system(system.clone()),
            None => prompt,
        })
    }

    /// Scores one datapoint: the prompt, the judge's verdict as a score.
    pub(crate) async fn score(&self, prompt: Result<Prompt, String>) -> Result<Score, String> {
        let prompt = prompt?;
        let judge = match &self.judge {
            Some(judge) => judge.clone(),
            None => environment_judge()?,
        };
        let judged = judge
            .ask(prompt, &self.spec)
            .await
            .map_err(|e| e.to_string())?;
        Ok(judged.verdict.into())
    }
}

/// A value as prompt text: text as it is, a list as one item per line, anything else as
/// pretty JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Implements `Evaluator<I, O>` (for `I` and `O` that serialise) and the builder methods
/// every built-in judge shares, on a type whose `core` field is a [`Core`].
macro_rules! judge_evaluator {
    ($ty:ident) => {
        impl $ty {
            /// The judge to ask (default: the environment's, [`Judge::from_env`], made once
            /// on first use).
            pub fn judge(mut self, judge: $crate::evaluators::judge::Judge) -> Self {
                self.core = self.core.judge(judge);
                self
            }

            /// The metric's name instead of the default.
            ///
            /// # Panics
            /// For an empty name.
            #[track_caller]
            pub fn named(mut self, name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
                self.core = self.core.named(name);
                self
            }

            /// Replaces the prompt template (Jinja syntax; the variables `input`, `output`,
            /// `expected`, `context` and `criteria`).
            ///
            /// # Panics
            /// For a template that does not parse or uses another variable; see
            /// [`try_template`](Self::try_template).
            #[track_caller]
            pub fn template(mut self, source: impl Into<String>) -> Self {
                self.core = self.core.template(source);
                self
            }

            /// Replaces the prompt template, or says why it cannot be one.
            ///
            /// # Errors
            /// [`JudgeError::Prompt`](crate::evaluators::judge::JudgeError::Prompt).
            pub fn try_template(
                mut self,
                source: impl Into<String>,
            ) -> Result<Self, $crate::evaluators::judge::JudgeError> {
                self.core = self.core.try_template(source)?;
                Ok(self)
            }

            /// The prompt template in use.
            pub fn template_source(&self) -> &str {
                self.core.template_source()
            }

            /// A system message before the prompt.
            pub fn system(mut self, text: impl Into<String>) -> Self {
                self.core = self.core.system(text);
                self
            }

            /// Reads `output` from this field of the output (a dotted path or a JSON
            /// Pointer) instead of all of it.
            pub fn output_field(mut self, path: impl Into<String>) -> Self {
                self.core = self.core.output_field(path);
                self
            }

            /// Reads `input` from this field of the datapoint's inputs.
            pub fn input_field(mut self, path: impl Into<String>) -> Self {
                self.core = self.core.input_field(path);
                self
            }

            /// Reads `expected` from this field of the ground truth.
            pub fn expected_field(mut self, path: impl Into<String>) -> Self {
                self.core = self.core.expected_field(path);
                self
            }

            /// Reads `context` (the documents the answer was written from) from this field
            /// of the output; a list of documents is one per line.
            pub fn context_field(mut self, path: impl Into<String>) -> Self {
                self.core = self.core.context_field(path);
                self
            }

            /// Reads `context` from this field of the datapoint's inputs.
            pub fn context_from_inputs(mut self, path: impl Into<String>) -> Self {
                self.core = self.core.context_from_inputs(path);
                self
            }

            /// Asks the judge `n` times per datapoint and combines the scores with
            /// `aggregate` (every score is kept, and the report shows their spread).
            ///
            /// # Panics
            /// For `n = 0`.
            #[track_caller]
            pub fn repeat(mut self, n: u32, aggregate: $crate::Aggregate) -> Self {
                self.core = self.core.repeat(n, aggregate);
                self
            }

            /// Longest one call may take (default: the experiment's evaluator timeout).
            pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.core = self.core.timeout(timeout);
                self
            }
        }

        impl<I: ::serde::Serialize, O: ::serde::Serialize> $crate::evaluator::Evaluator<I, O>
            for $ty
        {
            fn name(&self) -> ::std::borrow::Cow<'static, str> {
                self.core.name.clone()
            }

            fn params(&self) -> $crate::evaluator::Params {
                self.core.params()
            }

            fn options(&self) -> $crate::evaluator::EvaluatorOptions {
                self.core.options()
            }

            fn check_ground_truth(
                &self,
                ground_truth: ::std::option::Option<&::serde_json::Value>,
            ) -> ::std::result::Result<(), ::std::string::String> {
                self.core.check_ground_truth(ground_truth)
            }

            fn evaluate<'a>(
                &'a self,
                input: $crate::evaluator::EvalInput<'a, I, O>,
            ) -> $crate::evaluator::EvalFuture<'a> {
                let prompt = self.core.prompt(&input);
                ::std::boxed::Box::pin(self.core.score(prompt))
            }
        }
    };
}
pub(crate) use judge_evaluator;
