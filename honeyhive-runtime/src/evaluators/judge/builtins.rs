//! The ready-made judges: [`Factuality`], [`ClosedQa`], [`Faithfulness`], [`Rubric`] and
//! [`Classifier`]. Each renders its prompt template (in `prompts/`, readable and
//! replaceable with `.template(..)`) and asks its judge for a verdict; the verdict's score
//! is the metric, its reasoning the explanation.

use super::core::{Core, VARIABLES, judge_evaluator};
use super::verdict::{Choices, PassFail, Scale};
use super::{JudgeError, Template};

/// The built-in template `source`, checked.
fn builtin(source: &str) -> Template {
    Template::new(source, &VARIABLES).expect("the built-in templates are valid")
}

/// Whether the output states the facts of the expected answer (the ground truth), asked as
/// a choice letter: metric `factuality`.
///
/// | choice | the answer ... | score |
/// |---|---|---|
/// | A | states the expert's facts, and no others | 1 |
/// | B | states some of them, and nothing against them | 0.4 |
/// | C | states all of them and more, nothing against them | 0.6 |
/// | D | contradicts them | 0 |
/// | E | differs only in ways that do not change the facts | 1 |
///
/// Reads `output`, `expected` (the ground truth, required) and `input` (the question),
/// each whole or the field chosen with `.output_field(..)`, `.expected_field(..)`,
/// `.input_field(..)`.
///
/// ```
/// use honeyhive::evaluators::judge::Factuality;
///
/// let factuality = Factuality::new().output_field("answer").expected_field("answer");
/// assert!(factuality.template_source().contains("{{ expected }}"));
/// ```
#[derive(Debug, Clone)]
pub struct Factuality {
    core: Core<Choices>,
}

impl Factuality {
    /// The default prompt template.
    pub const TEMPLATE: &'static str = include_str!("prompts/factuality.jinja");

    /// With the environment's judge and the default template.
    pub fn new() -> Factuality {
        let choices = Choices::new([("A", 1.0), ("B", 0.4), ("C", 0.6), ("D", 0.0), ("E", 1.0)]);
        Factuality {
            core: Core::new("factuality", builtin(Self::TEMPLATE), choices),
        }
    }
}

impl Default for Factuality {
    fn default() -> Self {
        Factuality::new()
    }
}

judge_evaluator!(Factuality);

/// Whether the output answers its question by a criterion you state (`Y` or `N`): metric
/// `closed_qa`. Reads `input` (the question) and `output`.
///
/// ```
/// use honeyhive::evaluators::judge::ClosedQa;
///
/// let names_a_city = ClosedQa::new("The answer names a city.").input_field("question");
/// # let _ = names_a_city;
/// ```
#[derive(Debug, Clone)]
pub struct ClosedQa {
    core: Core<Choices>,
}

impl ClosedQa {
    /// The default prompt template.
    pub const TEMPLATE: &'static str = include_str!("prompts/closed_qa.jinja");

    /// Checks `criteria`, with the environment's judge.
    pub fn new(criteria: impl Into<String>) -> ClosedQa {
        let choices = Choices::new([("Y", 1.0), ("N", 0.0)]);
        ClosedQa {
            core: Core::new("closed_qa", builtin(Self::TEMPLATE), choices).criteria(criteria),
        }
    }
}

judge_evaluator!(ClosedQa);

/// Whether everything the output says is supported by the context it was given (the
/// retrieved documents): pass (1) or fail (0), the unsupported claims as the explanation;
/// metric `faithfulness`. Reads `output`, the context (a field of the output with
/// `.context_field("sources")`, or of the inputs with `.context_from_inputs(..)`), and
/// `input` (the question).
///
/// ```
/// use honeyhive::evaluators::judge::Faithfulness;
///
/// let faithful = Faithfulness::new().output_field("answer").context_field("sources");
/// # let _ = faithful;
/// ```
#[derive(Debug, Clone)]
pub struct Faithfulness {
    core: Core<PassFail>,
}

impl Faithfulness {
    /// The default prompt template.
    pub const TEMPLATE: &'static str = include_str!("prompts/faithfulness.jinja");

    /// With the environment's judge; say where the context is with
    /// [`context_field`](Self::context_field) or [`context_from_inputs`](Self::context_from_inputs).
    pub fn new() -> Faithfulness {
        Faithfulness {
            core: Core::new("faithfulness", builtin(Self::TEMPLATE), PassFail),
        }
    }
}

impl Default for Faithfulness {
    fn default() -> Self {
        Faithfulness::new()
    }
}

judge_evaluator!(Faithfulness);

/// A grade on a scale (1 to 5 by default) by a free-form rubric: metric `rubric`, the
/// grade mapped to 0..1 (`(grade - min) / (max - min)`), the grade itself as
/// `rubric_rating`, the reasoning as the explanation. Reads `input`, `output`, and the
/// ground truth as a reference answer when the datapoint has one.
///
/// ```
/// use honeyhive::evaluators::judge::Rubric;
///
/// let clear = Rubric::new("Short, plain sentences; no jargon.").scale(0.0, 10.0).named("clarity");
/// # let _ = clear;
/// ```
#[derive(Debug, Clone)]
pub struct Rubric {
    core: Core<Scale>,
}

impl Rubric {
    /// The default prompt template.
    pub const TEMPLATE: &'static str = include_str!("prompts/rubric.jinja");

    /// Grades by `rubric` on a scale from 1 to 5, with the environment's judge.
    pub fn new(rubric: impl Into<String>) -> Rubric {
        Rubric {
            core: Core::new("rubric", builtin(Self::TEMPLATE), Scale::new(1.0, 5.0))
                .criteria(rubric)
                .expected_optional(),
        }
    }

    /// Grades on a scale from `min` to `max` instead.
    ///
    /// # Panics
    /// Unless `min < max`, both finite.
    #[track_caller]
    pub fn scale(mut self, min: f64, max: f64) -> Self {
        self.core.spec = Scale::new(min, max);
        self
    }
}

judge_evaluator!(Rubric);

/// A classifier of your own: a prompt template and the choices it offers, each with its
/// score (the autoevals `LLMClassifier` shape). The judge answers a choice; its score is
/// the metric, the choice the label, the reasoning the explanation. The template may use
/// `input`, `output`, `expected` (the ground truth), `context` and `criteria`; what it
/// uses is what the evaluator reads.
///
/// ```
/// use honeyhive::evaluators::judge::{Choices, Classifier};
///
/// let tone = Classifier::new(
///     "tone",
///     "How does this reply sound?\n{{ output }}\n(A) polite (B) neutral (C) rude",
///     Choices::new([("A", 1.0), ("B", 0.5), ("C", 0.0)]),
/// )?;
/// assert_eq!(tone.choices().labels(), ["A", "B", "C"]);
/// # Ok::<(), honeyhive::evaluators::judge::JudgeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Classifier {
    core: Core<Choices>,
}

impl Classifier {
    /// Metric `name`, asking `template` for one of `choices`.
    ///
    /// # Errors
    /// [`JudgeError::Prompt`] for a template that does not parse or uses a variable
    /// other than `input`, `output`, `expected`, `context`, `criteria`.
    pub fn new(
        name: &'static str,
        template: impl Into<String>,
        choices: Choices,
    ) -> Result<Classifier, JudgeError> {
        let template = Template::new(template, &VARIABLES)?;
        Ok(Classifier {
            core: Core::new("classifier", template, choices).named(name),
        })
    }

    /// Its choices.
    pub fn choices(&self) -> &Choices {
        &self.core.spec
    }

    /// The text `{{ criteria }}` renders as.
    pub fn criteria(mut self, text: impl Into<String>) -> Self {
        self.core = self.core.criteria(text);
        self
    }
}

judge_evaluator!(Classifier);
