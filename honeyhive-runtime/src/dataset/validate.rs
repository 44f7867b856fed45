//! Checking every datapoint before the experiment calls anything: `inputs` present and an
//! object, and, for typed experiments, `inputs` and `ground_truth` of the expected types.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{MAX_REPORTED_ERRORS, kind, serde_message};
use super::{Datapoint, Dataset, DatasetError};

/// A datapoint whose `inputs` and `ground_truth` have been read as the experiment's types.
///
/// # Example
/// ```
/// use honeyhive::dataset::{Dataset, TypedDatapoint};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Question { question: String }
/// #[derive(Deserialize)]
/// struct Answer { answer: String }
///
/// let dataset = Dataset::from_json(
///     r#"[{"inputs": {"question": "2 + 2?"}, "ground_truth": {"answer": "4"}}]"#,
/// )
/// .unwrap();
/// let typed: Vec<TypedDatapoint<Question, Answer>> = dataset.typed().unwrap();
/// assert_eq!(typed[0].inputs.question, "2 + 2?");
/// assert_eq!(typed[0].ground_truth.as_ref().unwrap().answer, "4");
/// assert_eq!(typed[0].datapoint.id(), dataset.datapoints()[0].id());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TypedDatapoint<I, G> {
    /// The `inputs` object as `I`.
    pub inputs: I,
    /// The `ground_truth` as `G`; `None` when the datapoint has none (missing or `null`).
    pub ground_truth: Option<G>,
    /// The datapoint itself: id, index, metadata, location.
    pub datapoint: Datapoint,
}

impl Dataset {
    /// Checks that every datapoint has an `inputs` object, for experiments that take inputs
    /// as `serde_json::Value`; [`typed`](Self::typed) makes the same check.
    ///
    /// Every datapoint is checked; the error lists the first
    /// [`MAX_REPORTED_ERRORS`] failures and counts them all.
    ///
    /// # Errors
    /// [`DatasetError::Invalid`] listing [`DatasetError::MissingInputs`] and
    /// [`DatasetError::InputsNotAnObject`] errors.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let good = Dataset::from_json(r#"[{"inputs": {"q": 1}}]"#).unwrap();
    /// assert!(good.validate().is_ok());
    ///
    /// let bad = Dataset::from_json("{\"inputs\": {}}\n{\"ground_truth\": 1}\n").unwrap();
    /// assert_eq!(
    ///     bad.validate().unwrap_err().to_string(),
    ///     "1 of 2 datapoints are invalid:\n  line 2: missing `inputs`: \
    ///      every datapoint needs an `inputs` object"
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), DatasetError> {
        self.check_all(check_inputs).map(drop)
    }

    /// Reads every datapoint's `inputs` as `I` and its `ground_truth` (when present and not
    /// `null`) as `G`, before any function is called.
    ///
    /// Every datapoint is checked, so one run shows all the datapoints to fix: the error lists
    /// the first [`MAX_REPORTED_ERRORS`] failures (one per
    /// datapoint, `inputs` first) with file, line, column (JSON arrays), index and serde's
    /// message, and counts the rest. Use `serde::de::IgnoredAny` as `G` to skip ground truth.
    ///
    /// # Errors
    /// [`DatasetError::Invalid`] listing [`DatasetError::MissingInputs`],
    /// [`DatasetError::InputsNotAnObject`] and [`DatasetError::Type`] errors.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    /// use serde::Deserialize;
    ///
    /// #[derive(Debug, Deserialize)]
    /// struct Question { question: String }
    ///
    /// let dataset = Dataset::from_json(
    ///     "{\"inputs\": {\"question\": \"hi\"}}\n{\"inputs\": {\"prompt\": \"hi\"}}\n",
    /// )
    /// .unwrap();
    /// let error = dataset.typed::<Question, String>().unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "1 of 2 datapoints are invalid:\n  line 2: inputs: missing field `question`"
    /// );
    /// ```
    pub fn typed<I, G>(&self) -> Result<Vec<TypedDatapoint<I, G>>, DatasetError>
    where
        I: DeserializeOwned,
        G: DeserializeOwned,
    {
        self.check_all(|datapoint| {
            check_inputs(datapoint)?;
            let inputs = read_as(datapoint, "inputs", datapoint.inputs())?;
            let ground_truth = match datapoint.ground_truth() {
                Some(value) => Some(read_as(datapoint, "ground_truth", value)?),
                None => None,
            };
            Ok(TypedDatapoint {
                inputs,
                ground_truth,
                datapoint: datapoint.clone(),
            })
        })
    }

    /// Runs `check` on every datapoint; all results, or the collected failures.
    pub(crate) fn check_all<T>(
        &self,
        check: impl Fn(&Datapoint) -> Result<T, DatasetError>,
    ) -> Result<Vec<T>, DatasetError> {
        let mut checked = Vec::with_capacity(self.len());
        let mut errors = Vec::new();
        let mut failed = 0;
        for datapoint in self.datapoints() {
            match check(datapoint) {
                Ok(value) => checked.push(value),
                Err(error) => {
                    failed += 1;
                    if errors.len() < MAX_REPORTED_ERRORS {
                        errors.push(error);
                    }
                }
            }
        }
        if failed == 0 {
            Ok(checked)
        } else {
            Err(DatasetError::Invalid {
                errors,
                failed,
                total: self.len(),
            })
        }
    }
}

pub(crate) fn check_inputs(datapoint: &Datapoint) -> Result<(), DatasetError> {
    let at = || datapoint.location().clone();
    match datapoint.raw().get("inputs") {
        Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(DatasetError::InputsNotAnObject {
            at: at(),
            index: datapoint.index(),
            found: kind(other),
        }),
        None => Err(DatasetError::MissingInputs {
            at: at(),
            index: datapoint.index(),
        }),
    }
}

pub(crate) fn read_as<T: DeserializeOwned>(
    datapoint: &Datapoint,
    part: &'static str,
    value: &Value,
) -> Result<T, DatasetError> {
    T::deserialize(value).map_err(|error| type_error(datapoint, part, serde_message(&error)))
}

/// `datapoint`'s `part` (`inputs` or `ground_truth`) does not fit the expected type, as
/// `message` says. A field missing from a CSV datapoint may be a cell left empty (an empty
/// cell is no value): the message then says how to fix either.
pub(crate) fn type_error(
    datapoint: &Datapoint,
    part: &'static str,
    message: String,
) -> DatasetError {
    let from_csv = datapoint
        .location()
        .path()
        .and_then(|path| path.extension())
        .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
    let missing = message
        .rfind("missing field `")
        .map(|at| &message[at + "missing field `".len()..])
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field.to_owned());
    let message = match missing {
        Some(field) if from_csv => format!(
            "{message} (an empty CSV cell is no value: fill the `{part}.{field}` cell, or make \
             the field an `Option<_>` or `#[serde(default)]`)"
        ),
        _ => message,
    };
    DatasetError::Type {
        at: datapoint.location().clone(),
        index: datapoint.index(),
        part,
        message,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde::de::IgnoredAny;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inputs {
        question: String,
        #[serde(default)]
        limit: Option<u128>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Truth {
        answer: String,
    }

    #[test]
    fn typed_reads_inputs_and_optional_ground_truth() {
        let dataset = Dataset::from_json(
            r#"[
                {"inputs": {"question": "a", "limit": 18446744073709551615}, "ground_truth": {"answer": "A"}},
                {"inputs": {"question": "b"}},
                {"inputs": {"question": "c"}, "ground_truth": null, "metadata": {"m": 1}}
            ]"#,
        )
        .unwrap();
        let typed = dataset.typed::<Inputs, Truth>().unwrap();
        assert_eq!(typed.len(), 3);
        assert_eq!(
            typed[0].inputs,
            Inputs {
                question: "a".into(),
                limit: Some(u64::MAX.into())
            }
        );
        assert_eq!(typed[0].ground_truth, Some(Truth { answer: "A".into() }));
        assert_eq!(typed[1].ground_truth, None);
        assert_eq!(typed[2].ground_truth, None);
        assert_eq!(&typed[2].datapoint, &dataset.datapoints()[2]);
        assert!(dataset.typed::<Inputs, IgnoredAny>().is_ok());
        assert!(dataset.validate().is_ok());
    }

    #[test]
    fn typed_reports_every_bad_datapoint_with_location() {
        let dataset = Dataset::from_json(
            "[\n  {\"inputs\": {\"question\": \"ok\"}},\n  {\"inputs\": {\"q\": 1}},\n  \
             {\"inputs\": {\"question\": 7}},\n  {\"inputs\": {\"question\": \"x\"}, \
             \"ground_truth\": {\"answer\": false}},\n  {\"inputs\": \"text\"},\n  {}\n]",
        )
        .unwrap();
        let error = dataset.typed::<Inputs, Truth>().unwrap_err();
        let DatasetError::Invalid {
            errors,
            failed,
            total,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!((errors.len(), *failed, *total), (5, 5, 6));
        assert!(matches!(
            errors[0],
            DatasetError::Type {
                index: 1,
                part: "inputs",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "5 of 6 datapoints are invalid:\n\
             \x20 line 3, column 3: inputs: missing field `question`\n\
             \x20 line 4, column 3: inputs: invalid type: integer `7`, expected a string\n\
             \x20 line 5, column 3: ground_truth: invalid type: boolean `false`, expected a string\n\
             \x20 line 6, column 3: `inputs` must be a JSON object, found a string\n\
             \x20 line 7, column 3: missing `inputs`: every datapoint needs an `inputs` object"
        );
        let error = dataset.validate().unwrap_err();
        assert!(
            matches!(
                error,
                DatasetError::Invalid {
                    failed: 2,
                    total: 6,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn typed_caps_the_listed_errors() {
        let text = "{\"inputs\": {}}\n".repeat(MAX_REPORTED_ERRORS + 5);
        let dataset = Dataset::from_json(&text).unwrap();
        let error = dataset.typed::<Inputs, IgnoredAny>().unwrap_err();
        let DatasetError::Invalid { errors, failed, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(
            (errors.len(), *failed),
            (MAX_REPORTED_ERRORS, MAX_REPORTED_ERRORS + 5)
        );
        assert!(error.to_string().ends_with("\n  ... and 5 more"), "{error}");
    }

    #[test]
    fn typed_and_validate_on_datapoints_built_in_code() {
        let datapoint = Datapoint::new(serde_json::json!({"inputs": {"question": 1}})).unwrap();
        let dataset = Dataset::from_datapoints(vec![datapoint]);
        assert_eq!(
            dataset.typed::<Inputs, Truth>().unwrap_err().to_string(),
            "1 of 1 datapoints are invalid:\n  datapoint 1: inputs: invalid type: integer `1`, \
             expected a string"
        );
        assert!(
            Dataset::from_datapoints(vec![])
                .typed::<Inputs, Truth>()
                .unwrap()
                .is_empty()
        );
    }
}
