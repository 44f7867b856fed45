//! Errors of loading, identifying and validating datasets.

use std::io;
use std::path::PathBuf;

use serde_json::Value;

use super::Location;

/// Most datapoint errors [`DatasetError::Invalid`] lists one by one; it counts the rest.
///
/// # Example
/// ```
/// use honeyhive::dataset::{Dataset, DatasetError, MAX_REPORTED_ERRORS};
///
/// let dataset = Dataset::from_json(&"{\"input\": {}}\n".repeat(50))?;
/// let DatasetError::Invalid { errors, failed, .. } = dataset.validate().unwrap_err() else {
///     unreachable!()
/// };
/// assert_eq!((errors.len(), failed), (MAX_REPORTED_ERRORS, 50));
/// # Ok::<(), DatasetError>(())
/// ```
pub const MAX_REPORTED_ERRORS: usize = 20;

/// Why a dataset could not be loaded or validated.
///
/// Every message starts with where the problem is (`path:line[:column]` for files,
/// `line L, column C` for JSON text, `datapoint N` counting from 1 for datapoints built in
/// code) and says what to fix. The `index` fields are 0-based positions.
///
/// # Example
/// ```
/// use honeyhive::dataset::{Dataset, DatasetError};
///
/// let error = Dataset::from_json("{\"inputs\": {}}\n{\"inputs\": }\n").unwrap_err();
/// assert!(matches!(error, DatasetError::Json { .. }));
/// assert_eq!(
///     error.to_string(),
///     "line 2, column 12: invalid JSON: expected value \
///      (each line of a JSONL dataset holds one whole datapoint object)"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The dataset file does not exist.
    #[error(
        "dataset file {} not found: looked for {}{}",
        path.display(),
        resolved.display(),
        if resolution.is_empty() { String::new() } else { format!(" ({resolution})") }
    )]
    NotFound {
        /// The path as given.
        path: PathBuf,
        /// The file that was looked for.
        resolved: PathBuf,
        /// How a relative path was resolved, e.g. `relative paths resolve against
        /// CARGO_MANIFEST_DIR`; empty for an absolute path.
        resolution: &'static str,
    },

    /// The dataset file exists but could not be read (permissions, not UTF-8, ...).
    #[error("cannot read dataset file {}: {source}", path.display())]
    Read {
        /// The file, as the path was given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The file name does not end in a supported extension.
    #[error(
        "unsupported dataset file {}: use a .json file (a JSON array of datapoints), \
         a .jsonl file (one datapoint object per line) or a .csv file \
         (columns inputs.<field>, ground_truth.<field>, metadata.<field>, id)",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },

    /// The JSON (or a line of JSONL) is not well-formed.
    #[error(
        "{}invalid JSON: {message}{}",
        prefix(at),
        if *jsonl { " (each line of a JSONL dataset holds one whole datapoint object)" } else { "" }
    )]
    Json {
        /// Where the parser stopped.
        at: Location,
        /// The parser's message.
        message: String,
        /// Whether the text was read as JSONL (one datapoint per line).
        jsonl: bool,
    },

    /// A `.json` dataset is valid JSON but not an array.
    #[error(
        "{}a .json dataset must be a JSON array of datapoint objects, found {found} \
         (for one datapoint per line, use a .jsonl file)",
        prefix(at)
    )]
    NotAnArray {
        /// Where the value starts.
        at: Location,
        /// What was found instead, e.g. `an object`.
        found: &'static str,
    },

    /// A datapoint is not a JSON object.
    #[error(
        "{}a datapoint must be a JSON object like \
         {{\"inputs\": {{...}}, \"ground_truth\": ...}}, found {found}",
        datapoint_prefix(at, *index)
    )]
    NotAnObject {
        /// Where the datapoint starts.
        at: Location,
        /// Its 0-based position in the dataset.
        index: usize,
        /// What was found instead, e.g. `an array`.
        found: &'static str,
    },

    /// A datapoint's `id` (or `datapoint_id`) is truthy but neither a string nor a number.
    #[error(
        "{}`{field}` must be a string or a number, found {found}",
        datapoint_prefix(at, *index)
    )]
    InvalidCustomId {
        /// Where the datapoint starts.
        at: Location,
        /// Its 0-based position in the dataset.
        index: usize,
        /// `id` or `datapoint_id`.
        field: &'static str,
        /// What was found, e.g. `a boolean`.
        found: &'static str,
    },

    /// A CSV file could not be read as datapoints.
    #[error("{}invalid CSV: {message}", prefix(at))]
    Csv {
        /// The file and line.
        at: Location,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A datapoint has no `inputs` member.
    #[error(
        "{}missing `inputs`: every datapoint needs an `inputs` object",
        datapoint_prefix(at, *index)
    )]
    MissingInputs {
        /// Where the datapoint starts.
        at: Location,
        /// Its 0-based position in the dataset.
        index: usize,
    },

    /// A datapoint's `inputs` member is not a JSON object.
    #[error(
        "{}`inputs` must be a JSON object, found {found}",
        datapoint_prefix(at, *index)
    )]
    InputsNotAnObject {
        /// Where the datapoint starts.
        at: Location,
        /// Its 0-based position in the dataset.
        index: usize,
        /// What was found, e.g. `a string`.
        found: &'static str,
    },

    /// A datapoint's `inputs` or `ground_truth` does not fit the type the experiment expects.
    #[error("{}{part}: {message}", datapoint_prefix(at, *index))]
    Type {
        /// Where the datapoint starts.
        at: Location,
        /// Its 0-based position in the dataset.
        index: usize,
        /// `inputs` or `ground_truth`.
        part: &'static str,
        /// What serde said, e.g. ``missing field `question` ``.
        message: String,
    },

    /// The dataset has no datapoints, so an experiment over it would show nothing.
    #[error(
        "{}has no datapoints: an experiment needs at least one",
        match path {
            Some(path) => format!("{}: the dataset ", path.display()),
            None => format!("the dataset {id} "),
        }
    )]
    Empty {
        /// The dataset file, as the path was given; `None` for a dataset not loaded from a
        /// file.
        path: Option<PathBuf>,
        /// The dataset's id.
        id: String,
    },

    /// Validation found invalid datapoints; the first [`MAX_REPORTED_ERRORS`] are listed.
    #[error("{failed} of {total} datapoints are invalid:{}", list(errors, *failed))]
    Invalid {
        /// The errors of the first invalid datapoints, in dataset order.
        errors: Vec<DatasetError>,
        /// How many datapoints are invalid in all.
        failed: usize,
        /// How many datapoints the dataset has.
        total: usize,
    },
}

/// `"<location>: "`, or nothing when the location is unknown.
fn prefix(at: &Location) -> String {
    if at.is_unknown() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

/// Where a datapoint's error is: its location when it has a line (`path:line[:column]` for
/// files, `line L[, column C]` for text), else `datapoint N` counting from 1 (as progress
/// counts) for datapoints built in code.
fn datapoint_prefix(at: &Location, index: usize) -> String {
    match at.line() {
        Some(_) => prefix(at),
        None => format!("{}datapoint {}: ", prefix(at), index + 1),
    }
}

/// The listed errors of [`DatasetError::Invalid`], one per line.
fn list(errors: &[DatasetError], failed: usize) -> String {
    let mut out = String::new();
    for error in errors {
        out.push_str("\n  ");
        out.push_str(&error.to_string());
    }
    if failed > errors.len() {
        out.push_str(&format!("\n  ... and {} more", failed - errors.len()));
    }
    out
}

/// A serde_json error's message without the ` at line L column C` it appends, for errors
/// whose position is reported separately.
pub(super) fn serde_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(bare) if error.line() != 0 => bare.to_owned(),
        _ => message,
    }
}

/// The kind of a JSON value, as the error messages name it.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_message_drops_only_the_position() {
        let error = serde_json::from_str::<Value>("[1,\n 2,]").unwrap_err();
        assert_eq!(error.to_string(), "trailing comma at line 2 column 4");
        assert_eq!(serde_message(&error), "trailing comma");
        let error = serde_json::from_value::<u8>(Value::Bool(true)).unwrap_err();
        assert_eq!(
            serde_message(&error),
            "invalid type: boolean `true`, expected u8"
        );
    }

    #[test]
    fn kinds() {
        let kinds: Vec<_> = [
            Value::Null,
            Value::Bool(true),
            Value::from(1),
            Value::from("s"),
            Value::Array(vec![]),
            Value::Object(serde_json::Map::new()),
        ]
        .iter()
        .map(kind)
        .collect();
        assert_eq!(
            kinds,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[test]
    fn invalid_lists_errors_and_counts_the_rest() {
        let error = DatasetError::Invalid {
            errors: vec![DatasetError::MissingInputs {
                at: Location::default(),
                index: 3,
            }],
            failed: 4,
            total: 10,
        };
        assert_eq!(
            error.to_string(),
            "4 of 10 datapoints are invalid:\n  datapoint 4: missing `inputs`: every datapoint \
             needs an `inputs` object\n  ... and 3 more"
        );
    }
}
