//! What a judge is asked for: a [`VerdictSpec`] describes a verdict's JSON schema (for the
//! structured answer forms), how to write it as text (for servers without them), and how
//! to read it back from either. The built-in shapes: [`Choices`] (a classifier: one choice
//! of a list, a score per choice), [`Scale`] (a number on a stated scale), [`PassFail`]
//! (pass or fail with reasons), and [`Typed`] (any `serde` type with a JSON schema).

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::StructuredOutput;
use super::parse;
use crate::evaluator::Score;

/// A verdict a [`Judge`](super::Judge) can be asked for: its schema, its instructions, and
/// how to read it. Implemented by [`Choices`], [`Scale`], [`PassFail`] and [`Typed`];
/// implement it for a shape of your own.
pub trait VerdictSpec: Send + Sync {
    /// What the answer is read into.
    type Verdict: Send;

    /// The name of the schema and of the forced tool (letters, digits, `_`).
    fn name(&self) -> &str {
        "verdict"
    }

    /// The JSON schema of the verdict object (`{"type": "object", ...}`).
    fn schema(&self) -> Value;

    /// Whether the schema meets OpenAI's strict mode (every property required, no other
    /// properties, no unsupported keywords): the server then guarantees it.
    fn strict(&self) -> bool {
        false
    }

    /// What the verdict is, for errors: `one of the choices A, B, C`.
    fn describe(&self) -> String;

    /// What the prompt adds to say how to answer when asked `via` a form.
    fn instructions(&self, via: StructuredOutput) -> String;

    /// Reads the verdict from its JSON object.
    ///
    /// # Errors
    /// What is missing or wrong in it.
    fn read_json(&self, value: &Value) -> Result<Self::Verdict, String>;

    /// Reads the verdict from free text that holds no JSON object of it (the answer line of
    /// [`instructions`](Self::instructions) for [`StructuredOutput::Text`]).
    ///
    /// # Errors
    /// Why the text holds no verdict. The default reads nothing.
    fn read_text(&self, text: &str) -> Result<Self::Verdict, String> {
        let _ = text;
        Err("no JSON object in it".to_owned())
    }
}

/// `value`'s `reasoning` field, when it is non-empty text.
fn reasoning_of(value: &Value) -> Option<String> {
    value
        .get("reasoning")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The choices of a classifier: labels (`A`, `B`, ... or words), each with its score. The
/// judge answers with one label; its score is the metric, the label is the score's label
/// and the judge's reasoning its explanation.
///
/// ```
/// use honeyhive::evaluators::judge::Choices;
///
/// let choices = Choices::new([("A", 1.0), ("B", 0.5), ("C", 0.0)]);
/// assert_eq!(choices.score_of("B"), Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    choices: Vec<(String, f64)>,
    reasoning: bool,
}

impl Choices {
    /// Choices and their scores, in the order the prompt lists them.
    ///
    /// # Panics
    /// With no choices, an empty or repeated label, or a score that is not finite: a
    /// mistake in the code, caught before any datapoint runs.
    #[track_caller]
    pub fn new<L: Into<String>>(choices: impl IntoIterator<Item = (L, f64)>) -> Choices {
        let choices: Vec<(String, f64)> = choices
            .into_iter()
            .map(|(label, score)| (label.into().trim().to_owned(), score))
            .collect();
        assert!(
            !choices.is_empty(),
            "Choices::new: give at least one choice"
        );
        for (i, (label, score)) in choices.iter().enumerate() {
            assert!(!label.is_empty(), "Choices::new: a choice label is empty");
            assert!(
                score.is_finite(),
                "Choices::new: the score of choice {label:?} is not a finite number"
            );
            assert!(
                !choices[..i].iter().any(|(l, _)| l == label),
                "Choices::new: the choice {label:?} is given twice"
            );
        }
        Choices {
            choices,
            reasoning: true,
        }
    }

    /// Whether the judge writes its reasoning before its choice (default: yes; it makes
    /// verdicts steadier and is kept as the score's explanation).
    pub fn reasoning(mut self, reasoning: bool) -> Choices {
        self.reasoning = reasoning;
        self
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.choices.iter().map(|(l, _)| l.clone()).collect()
    }

    /// The score of `label`.
    pub fn score_of(&self, label: &str) -> Option<f64> {
        self.choices
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, score)| *score)
    }

    fn list(&self) -> String {
        self.labels().join(", ")
    }

    fn choice(&self, label: &str, reasoning: Option<String>) -> Result<Choice, String> {
        let label = label
            .trim()
            .trim_matches(|c: char| "()[]*`'\".".contains(c));
        let exact = self.choices.iter().find(|(l, _)| l == label);
        let found = exact.or_else(|| {
            let mut folded = self
                .choices
                .iter()
                .filter(|(l, _)| l.eq_ignore_ascii_case(label));
            match (folded.next(), folded.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        });
        match found {
            Some((label, score)) => Ok(Choice {
                label: label.clone(),
                score: *score,
                reasoning,
            }),
            None => Err(format!(
                "{label:?} is not one of the choices {}",
                self.list()
            )),
        }
    }
}

/// A classifier's verdict: the chosen label and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The label the judge chose.
    pub label: String,
    /// Its score.
    pub score: f64,
    /// The judge's reasoning, when it gave some.
    pub reasoning: Option<String>,
}

impl From<Choice> for Score {
    /// The choice's score, labelled with the choice, explained by the reasoning.
    fn from(choice: Choice) -> Score {
        let score = Score::new(choice.score).label(choice.label);
        match choice.reasoning {
            Some(reasoning) => score.explanation(reasoning),
            None => score,
        }
    }
}

impl VerdictSpec for Choices {
    type Verdict = Choice;

    fn schema(&self) -> Value {
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        if self.reasoning {
            properties.insert(
                "reasoning".into(),
                json!({"type": "string", "description": "Your reasoning, step by step, before you choose."}),
            );
            required.push("reasoning");
        }
        properties.insert(
            "choice".into(),
            json!({"type": "string", "enum": self.labels(), "description": "The label of your choice."}),
        );
        required.push("choice");
        json!({"type": "object", "properties": properties, "required": required,
            "additionalProperties": false})
    }

    fn strict(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("one of the choices {}", self.list())
    }

    fn instructions(&self, via: StructuredOutput) -> String {
        match (via, self.reasoning) {
            (StructuredOutput::Text, true) => format!(
                "Explain your reasoning step by step, then write your answer alone on the last \
                 line as `Answer: <choice>`, where <choice> is one of {}.",
                self.list()
            ),
            (StructuredOutput::Text, false) => format!(
                "Write only your answer, as `Answer: <choice>`, where <choice> is one of {}.",
                self.list()
            ),
            (_, true) => {
                "Give your reasoning step by step in `reasoning`, then your choice in `choice`."
                    .to_owned()
            }
            (_, false) => "Give your choice in `choice`.".to_owned(),
        }
    }

    fn read_json(&self, value: &Value) -> Result<Choice, String> {
        let label = match value.get("choice") {
            Some(Value::String(label)) => label,
            Some(other) => return Err(format!("`choice` is {other}, not a label")),
            None => return Err("it has no `choice`".to_owned()),
        };
        self.choice(label, reasoning_of(value))
    }

    fn read_text(&self, text: &str) -> Result<Choice, String> {
        let (label, reasoning) = parse::label_on_last_line(text, &self.labels())
            .ok_or_else(|| format!("its last line names none of the choices {}", self.list()))?;
        self.choice(&label, non_empty(reasoning))
    }
}

/// A numeric scale: the judge answers a number from `min` to `max`.
///
/// ```
/// use honeyhive::evaluators::judge::Scale;
///
/// let stars = Scale::new(1.0, 5.0);
/// assert_eq!(stars.normalize(4.0), 0.75);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    min: f64,
    max: f64,
}

impl Scale {
    /// The scale from `min` to `max`.
    ///
    /// # Panics
    /// When `min` is not below `max` or either is not finite.
    #[track_caller]
    pub fn new(min: f64, max: f64) -> Scale {
        assert!(
            min.is_finite() && max.is_finite() && min < max,
            "Scale::new: the scale must go from a finite minimum up to a larger finite maximum, \
             not from {min} to {max}"
        );
        Scale { min, max }
    }

    /// The lowest value.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The highest value.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// `value` on a scale from 0 to 1.
    pub fn normalize(&self, value: f64) -> f64 {
        (value - self.min) / (self.max - self.min)
    }

    fn rating(&self, value: f64, reasoning: Option<String>) -> Result<Rating, String> {
        if !(self.min..=self.max).contains(&value) {
            return Err(format!(
                "{value} is outside the scale from {} to {}",
                self.min, self.max
            ));
        }
        Ok(Rating {
            value,
            scale: *self,
            reasoning,
        })
    }
}

/// A rating on a [`Scale`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// The number the judge gave.
    pub value: f64,
    /// Its scale.
    pub scale: Scale,
    /// The judge's reasoning, when it gave some.
    pub reasoning: Option<String>,
}

impl From<Rating> for Score {
    /// The rating from 0 to 1 (`(value - min) / (max - min)`), the rating itself as the
    /// extra metric `rating`, the reasoning as the explanation.
    fn from(rating: Rating) -> Score {
        let score = Score::new(rating.scale.normalize(rating.value)).extra("rating", rating.value);
        match rating.reasoning {
            Some(reasoning) => score.explanation(reasoning),
            None => score,
        }
    }
}

impl VerdictSpec for Scale {
    type Verdict = Rating;

    fn schema(&self) -> Value {
        // No `minimum`/`maximum`: strict mode does not take them; the range is checked
        // when the answer is read.
        json!({"type": "object",
            "properties": {
                "reasoning": {"type": "string", "description": "Your reasoning, step by step, before you rate."},
                "score": {"type": "number", "description": format!("Your rating, from {} to {}.", self.min, self.max)}
            },
            "required": ["reasoning", "score"],
            "additionalProperties": false})
    }

    fn strict(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("a score from {} to {}", self.min, self.max)
    }

    fn instructions(&self, via: StructuredOutput) -> String {
        match via {
            StructuredOutput::Text => format!(
                "Explain your reasoning step by step, then write your rating alone on the last \
                 line as `Score: <number>`, a number from {} to {}.",
                self.min, self.max
            ),
            _ => format!(
                "Give your reasoning step by step in `reasoning`, then your rating in `score`, \
                 a number from {} to {}.",
                self.min, self.max
            ),
        }
    }

    fn read_json(&self, value: &Value) -> Result<Rating, String> {
        let number = match value.get("score") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(|| "it has no numeric `score`".to_owned())?;
        self.rating(number, reasoning_of(value))
    }

    fn read_text(&self, text: &str) -> Result<Rating, String> {
        let (value, reasoning) = parse::number_on_last_line(text)
            .ok_or_else(|| "its last line holds no score".to_owned())?;
        self.rating(value, non_empty(reasoning))
    }
}

/// Pass or fail, with the judge's reasons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassFail;

/// A pass/fail verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// Whether it passes.
    pub pass: bool,
    /// Why (each reason one item).
    pub reasons: Vec<String>,
}

impl From<Judgement> for Score {
    /// 1 for pass, 0 for fail, the reasons (one per line) as the explanation.
    fn from(judgement: Judgement) -> Score {
        let score = Score::new(judgement.pass);
        if judgement.reasons.is_empty() {
            score
        } else {
            score.explanation(judgement.reasons.join("\n"))
        }
    }
}

impl VerdictSpec for PassFail {
    type Verdict = Judgement;

    fn schema(&self) -> Value {
        json!({"type": "object",
            "properties": {
                "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "Each reason for your verdict, one per item."},
                "pass": {"type": "boolean", "description": "Whether it passes."}
            },
            "required": ["reasons", "pass"],
            "additionalProperties": false})
    }

    fn strict(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        "a pass or fail verdict".to_owned()
    }

    fn instructions(&self, via: StructuredOutput) -> String {
        match via {
            StructuredOutput::Text => "List your reasons, one per line, then write `PASS` or \
                                       `FAIL` alone on the last line."
                .to_owned(),
            _ => "List your reasons in `reasons`, then give your verdict in `pass`.".to_owned(),
        }
    }

    fn read_json(&self, value: &Value) -> Result<Judgement, String> {
        let pass = match value.get("pass") {
            Some(Value::Bool(pass)) => *pass,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("pass") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("fail") => false,
            _ => return Err("it has no boolean `pass`".to_owned()),
        };
        let reasons = match value.get("reasons") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().and_then(non_empty))
                .collect(),
            Some(Value::String(s)) => non_empty(s).into_iter().collect(),
            _ => reasoning_of(value).into_iter().collect(),
        };
        Ok(Judgement { pass, reasons })
    }

    fn read_text(&self, text: &str) -> Result<Judgement, String> {
        let (pass, reasoning) = parse::pass_on_last_line(text)
            .ok_or_else(|| "its last line says neither PASS nor FAIL".to_owned())?;
        let reasons = reasoning
            .lines()
            .map(|l| l.trim().trim_start_matches(['-', '*', '•']).trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Judgement { pass, reasons })
    }
}

/// A verdict of your own type: any `serde` type with a JSON schema (`schemars`), asked for
/// by its schema and read by `serde`. A `reasoning` field, if it has one, is where the
/// judge puts its reasoning.
///
/// ```
/// use honeyhive::evaluators::judge::{Typed, VerdictSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Tone {
///     reasoning: String,
///     polite: bool,
/// }
///
/// let spec = Typed::<Tone>::new();
/// let tone = spec.read_json(&serde_json::json!({"reasoning": "says please", "polite": true}))?;
/// assert!(tone.polite);
/// # Ok::<(), String>(())
/// ```
pub struct Typed<T> {
    name: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> Typed<T> {
    /// The spec of `T`.
    pub fn new() -> Typed<T> {
        Typed {
            name: "verdict".to_owned(),
            _type: PhantomData,
        }
    }
}

impl<T> Default for Typed<T> {
    fn default() -> Self {
        Typed::new()
    }
}

impl<T> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Typed<{}>", std::any::type_name::<T>())
    }
}

impl<T: DeserializeOwned + schemars::JsonSchema + Send> VerdictSpec for Typed<T> {
    type Verdict = T;

    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> Value {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let mut schema = generator.into_root_schema_for::<T>().to_value();
        if let Value::Object(map) = &mut schema {
            map.remove("$schema");
            map.remove("title");
        }
        schema
    }

    fn describe(&self) -> String {
        format!(
            "a JSON object of `{}`",
            crate::trace::call::short_type_name(std::any::type_name::<T>())
        )
    }

    fn instructions(&self, via: StructuredOutput) -> String {
        match via {
            StructuredOutput::Text => format!(
                "Answer with one JSON object that follows this JSON schema, and nothing \
                 after it:\n{}",
                self.schema()
            ),
            _ => "Answer with the verdict's fields.".to_owned(),
        }
    }

    fn read_json(&self, value: &Value) -> Result<T, String> {
        T::deserialize(value).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_labels_from_json_and_text() {
        let choices = Choices::new([("A", 1.0), ("B", 0.0)]);
        let choice = choices
            .read_json(&json!({"reasoning": "fits", "choice": "(b)"}))
            .unwrap();
        assert_eq!(
            choice,
            Choice {
                label: "B".into(),
                score: 0.0,
                reasoning: Some("fits".into())
            }
        );
        assert!(
            choices
                .read_json(&json!({"choice": "C"}))
                .unwrap_err()
                .contains("not one of")
        );
        assert!(
            choices
                .read_json(&json!({"choice": 1}))
                .unwrap_err()
                .contains("not a label")
        );
        let text = choices.read_text("It fits.\nAnswer: A").unwrap();
        assert_eq!(
            (text.label.as_str(), text.reasoning.as_deref()),
            ("A", Some("It fits."))
        );
        assert!(choices.read_text("unsure").is_err());
        let schema = choices.schema();
        assert_eq!(schema["properties"]["choice"]["enum"], json!(["A", "B"]));
        assert_eq!(schema["required"], json!(["reasoning", "choice"]));
        let score = Score::from(text);
        assert_eq!(
            (score.score, score.label.as_deref()),
            (Some(1.0), Some("A"))
        );
        assert_eq!(score.explanation.as_deref(), Some("It fits."));
    }

    #[test]
    #[should_panic(expected = "given twice")]
    fn repeated_choices_are_a_mistake() {
        let _ = Choices::new([("A", 1.0), ("A", 0.0)]);
    }

    #[test]
    fn scales_check_the_range() {
        let scale = Scale::new(1.0, 5.0);
        let rating = scale
            .read_json(&json!({"reasoning": "ok", "score": 4}))
            .unwrap();
        let score = Score::from(rating);
        assert_eq!(score.score, Some(0.75));
        assert_eq!(score.extra, vec![("rating".to_owned(), 4.0)]);
        assert!(
            scale
                .read_json(&json!({"score": 9}))
                .unwrap_err()
                .contains("outside")
        );
        assert_eq!(scale.read_text("Fine.\nScore: 2").unwrap().value, 2.0);
        assert!(scale.read_text("Fine.").is_err());
    }

    #[test]
    fn pass_fail_keeps_its_reasons() {
        let j = PassFail
            .read_json(&json!({"reasons": ["cites the source"], "pass": true}))
            .unwrap();
        assert_eq!(
            j,
            Judgement {
                pass: true,
                reasons: vec!["cites the source".into()]
            }
        );
        let t = PassFail
            .read_text("- invents a date\n- no source\nFAIL")
            .unwrap();
        assert_eq!(t.reasons, ["invents a date", "no source"]);
        assert!(!t.pass);
        assert_eq!(
            Score::from(t).explanation.as_deref(),
            Some("invents a date\nno source")
        );
    }

    #[test]
    fn typed_verdicts_use_their_schema() {
        #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
        #[allow(dead_code)]
        struct Tone {
            reasoning: String,
            polite: bool,
        }
        let spec = Typed::<Tone>::new();
        let schema = spec.schema();
        assert_eq!(schema["type"], "object");
        assert!(schema.get("$schema").is_none());
        assert_eq!(schema["properties"]["polite"]["type"], "boolean");
        assert!(
            spec.read_json(&json!({"polite": true}))
                .unwrap_err()
                .contains("reasoning")
        );
        assert!(spec.read_text("polite").is_err());
        assert_eq!(spec.describe(), "a JSON object of `Tone`");
    }
}
