//! One datapoint of a dataset, and where it came from.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::DatasetError;
use super::canonical::canonical;
use super::error::kind;
use super::external_ids::{self, datapoint_id};

/// What [`Datapoint::inputs`] returns for a datapoint without `inputs`.
static NULL: Value = Value::Null;

/// Where a datapoint (or an error) is in its source: file, line and column, each when known.
///
/// Its `Display` is `path:line:column` for files (parts that are unknown are left out),
/// `line L, column C` for JSON text given in code, and empty for datapoints built in code.
///
/// # Example
/// ```
/// use honeyhive::dataset::Dataset;
///
/// let dataset = Dataset::from_json("[\n  {\"inputs\": {\"q\": 1}},\n  {\"inputs\": {\"q\": 2}}\n]").unwrap();
/// let location = dataset.datapoints()[1].location();
/// assert_eq!((location.line(), location.column()), (Some(3), Some(3)));
/// assert_eq!(location.to_string(), "line 3, column 3");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    path: Option<Arc<Path>>,
    line: Option<usize>,
    column: Option<usize>,
}

impl Location {
    pub(super) fn new(path: Option<Arc<Path>>, line: Option<usize>, column: Option<usize>) -> Self {
        Self { path, line, column }
    }

    /// The dataset file, as the path was given to [`Dataset::load`](super::Dataset::load);
    /// `None` for text and datapoints given in code.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {}}]"#).unwrap();
    /// assert_eq!(dataset.datapoints()[0].location().path(), None);
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line: of the datapoint's line in JSONL, of its first character in a JSON
    /// array, of its record in CSV.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json("{\"inputs\": {}}\n\n{\"inputs\": {}}\n").unwrap();
    /// assert_eq!(dataset.datapoints()[1].location().line(), Some(3));
    /// ```
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The 1-based column of the datapoint's first character, counted in bytes as serde_json
    /// counts its error columns; known for datapoints of a JSON array and for JSON syntax
    /// errors.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {}}, {"inputs": {}}]"#).unwrap();
    /// assert_eq!(dataset.datapoints()[1].location().column(), Some(18));
    /// ```
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// The line, when the datapoint comes from a file: how reports name it.
    pub(crate) fn file_line(&self) -> Option<usize> {
        self.path.as_ref().and(self.line)
    }

    /// The same source, at another line and column.
    pub(super) fn moved_to(&self, line: usize, column: usize) -> Self {
        Self {
            path: self.path.clone(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// Nothing is known: the datapoint was built in code.
    pub(super) fn is_unknown(&self) -> bool {
        self.path.is_none() && self.line.is_none()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line, self.column) {
            (Some(path), line, column) => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                    if let Some(column) = column {
                        write!(f, ":{column}")?;
                    }
                }
                Ok(())
            }
            (None, Some(line), Some(column)) => write!(f, "line {line}, column {column}"),
            (None, Some(line), None) => write!(f, "line {line}"),
            (None, None, _) => Ok(()),
        }
    }
}

/// One datapoint: a JSON object with `inputs`, optionally `ground_truth`, `metadata` and its
/// own `id` or `datapoint_id`, plus its position in the dataset and its external id.
///
/// # Example
/// ```
/// use honeyhive::dataset::Datapoint;
/// use serde_json::json;
///
/// let datapoint = Datapoint::new(json!({
///     "inputs": {"question": "What is 2 + 2?"},
///     "ground_truth": {"answer": "4"},
/// }))
/// .unwrap();
/// assert_eq!(datapoint.inputs()["question"], "What is 2 + 2?");
/// assert_eq!(datapoint.ground_truth(), Some(&json!({"answer": "4"})));
/// assert_eq!(datapoint.id(), "EXT-7dd182d950fd936c");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    raw: Value,
    /// `canonical(raw)` computed from the source text, so it keeps every digit of integers.
    canonical: String,
    custom_id: Option<String>,
    /// The id HoneyHive gave a datapoint of a hosted dataset; it is the datapoint's id
    /// wherever the datapoint is placed, instead of a computed external id.
    hosted_id: Option<String>,
    index: usize,
    id: String,
    location: Location,
}

impl Datapoint {
    /// A datapoint built in code, at index 0 until a [`Dataset`](super::Dataset) places it.
    ///
    /// The value must be a JSON object; `inputs` is checked by
    /// [`Dataset::validate`](super::Dataset::validate) and
    /// [`Dataset::typed`](super::Dataset::typed), as for loaded datasets.
    ///
    /// # Errors
    /// [`DatasetError::NotAnObject`] when `value` is not an object;
    /// [`DatasetError::InvalidCustomId`] when its `id`/`datapoint_id` is truthy but neither a
    /// string nor a number.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Datapoint;
    /// use serde_json::json;
    ///
    /// let datapoint = Datapoint::new(json!({"inputs": {"q": 1}, "id": "q-1"})).unwrap();
    /// assert_eq!(datapoint.id(), "EXT-q-1");
    /// assert!(Datapoint::new(json!([1, 2])).is_err());
    /// ```
    pub fn new(value: Value) -> Result<Self, DatasetError> {
        // A `Value` holds no integer beyond 64 bits and writes floats with their shortest
        // digits, so its JSON text canonicalises to exactly what the value means.
        let text = value.to_string();
        let canonical = canonical(&text).map_err(|error| DatasetError::Json {
            at: Location::default(),
            message: error.to_string(),
            jsonl: false,
        })?;
        Self::from_parts(value, canonical, 0, Location::default())
    }

    /// A datapoint from its parsed value and the canonical JSON of its source text.
    pub(super) fn from_parts(
        raw: Value,
        canonical: String,
        index: usize,
        location: Location,
    ) -> Result<Self, DatasetError> {
        if !raw.is_object() {
            return Err(DatasetError::NotAnObject {
                at: location,
                index,
                found: kind(&raw),
            });
        }
        let custom_id = external_ids::custom_id(&canonical).map_err(|invalid| {
            DatasetError::InvalidCustomId {
                at: location.clone(),
                index,
                field: invalid.field,
                found: invalid.found,
            }
        })?;
        let mut datapoint = Self {
            raw,
            canonical,
            custom_id,
            hosted_id: None,
            index,
            id: String::new(),
            location,
        };
        datapoint.set_index(index);
        Ok(datapoint)
    }

    /// A datapoint of a dataset hosted on HoneyHive: `value` is the object the API returned,
    /// `id` the id HoneyHive knows it by.
    ///
    /// # Errors
    /// As [`Datapoint::new`].
    pub(super) fn hosted(value: Value, id: String) -> Result<Self, DatasetError> {
        let mut datapoint = Self::new(value)?;
        datapoint.hosted_id = Some(id);
        datapoint.set_index(0);
        Ok(datapoint)
    }

    /// Places the datapoint at `index` of its dataset, which its hashed id depends on.
    pub(super) fn set_index(&mut self, index: usize) {
        self.index = index;
        self.id = match &self.hosted_id {
            Some(hosted) => hosted.clone(),
            None => datapoint_id(self, index),
        };
    }

    /// The external id: `EXT-` + the datapoint's own `id`/`datapoint_id`, or a hash of the
    /// datapoint and its index (see [`datapoint_id`]). For a datapoint of a hosted dataset
    /// ([`Dataset::hosted`](super::Dataset::hosted)), the id HoneyHive gave it.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {"q": 1}, "id": "EXT-a"}, {"inputs": {"q": 2}}]"#)
    ///     .unwrap();
    /// assert_eq!(dataset.datapoints()[0].id(), "EXT-a");
    /// assert!(dataset.datapoints()[1].id().starts_with("EXT-"));
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The 0-based position in the dataset.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json("{\"inputs\": {}}\n{\"inputs\": {}}").unwrap();
    /// assert_eq!(dataset.datapoints()[1].index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `inputs` object passed to the function under test.
    ///
    /// Loading accepts any JSON object as a datapoint (the reference SDK computes ids for
    /// `{}` too); [`Dataset::validate`](super::Dataset::validate) and
    /// [`Dataset::typed`](super::Dataset::typed) reject a datapoint whose `inputs` is missing
    /// or not an object. Before that check, such a datapoint returns its `inputs` member as it
    /// is, or `Value::Null` when there is none.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Datapoint;
    /// use serde_json::json;
    ///
    /// let datapoint = Datapoint::new(json!({"inputs": {"q": "hi"}})).unwrap();
    /// assert_eq!(datapoint.inputs(), &json!({"q": "hi"}));
    /// ```
    pub fn inputs(&self) -> &Value {
        self.raw.get("inputs").unwrap_or(&NULL)
    }

    /// The `ground_truth` member; `None` when it is missing or `null`.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Datapoint;
    /// use serde_json::json;
    ///
    /// let with = Datapoint::new(json!({"inputs": {}, "ground_truth": "4"})).unwrap();
    /// let without = Datapoint::new(json!({"inputs": {}, "ground_truth": null})).unwrap();
    /// assert_eq!(with.ground_truth(), Some(&json!("4")));
    /// assert_eq!(without.ground_truth(), None);
    /// ```
    pub fn ground_truth(&self) -> Option<&Value> {
        self.member("ground_truth")
    }

    /// The `metadata` member; `None` when it is missing or `null`.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Datapoint;
    /// use serde_json::json;
    ///
    /// let datapoint = Datapoint::new(json!({"inputs": {}, "metadata": {"source": "faq"}})).unwrap();
    /// assert_eq!(datapoint.metadata().unwrap()["source"], "faq");
    /// ```
    pub fn metadata(&self) -> Option<&Value> {
        self.member("metadata")
    }

    /// The whole datapoint object as loaded, every member included.
    ///
    /// Integers beyond 64 bits are `f64` here, as everywhere in `serde_json::Value`; the ids
    /// are computed from the source text and keep every digit.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {}, "tags": ["a"]}]"#).unwrap();
    /// assert_eq!(dataset.datapoints()[0].raw()["tags"][0], "a");
    /// ```
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Where the datapoint came from: file, line (JSON, JSONL, CSV) and column (JSON array).
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json("\n{\"inputs\": {}}").unwrap();
    /// assert_eq!(dataset.datapoints()[0].location().line(), Some(2));
    /// ```
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Canonical JSON of the whole datapoint, as the ids hash it.
    pub(super) fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The datapoint's own id (before the `EXT-` rule), when it has a truthy one.
    pub(super) fn custom_id(&self) -> Option<&str> {
        self.custom_id.as_deref()
    }

    fn member(&self, name: &str) -> Option<&Value> {
        self.raw.get(name).filter(|value| !value.is_null())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn location_display() {
        let path: Arc<Path> = Arc::from(Path::new("data/qa.json"));
        let cases = [
            (
                Location::new(Some(path.clone()), Some(3), Some(5)),
                "data/qa.json:3:5",
            ),
            (
                Location::new(Some(path.clone()), Some(3), None),
                "data/qa.json:3",
            ),
            (Location::new(Some(path), None, None), "data/qa.json"),
            (Location::new(None, Some(3), Some(5)), "line 3, column 5"),
            (Location::new(None, Some(3), None), "line 3"),
            (Location::default(), ""),
        ];
        for (location, expected) in cases {
            assert_eq!(location.to_string(), expected);
        }
        assert!(Location::default().is_unknown());
    }

    #[test]
    fn new_checks_object_and_custom_id() {
        let error = Datapoint::new(json!("text")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "datapoint 1: a datapoint must be a JSON object like {\"inputs\": {...}, \
             \"ground_truth\": ...}, found a string"
        );
        let error = Datapoint::new(json!({"inputs": {}, "id": true})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "datapoint 1: `id` must be a string or a number, found a boolean"
        );
    }

    #[test]
    fn accessors() {
        let datapoint =
            Datapoint::new(json!({"ground_truth": null, "metadata": {"m": 1}})).unwrap();
        assert_eq!(datapoint.inputs(), &Value::Null);
        assert_eq!(datapoint.ground_truth(), None);
        assert_eq!(datapoint.metadata(), Some(&json!({"m": 1})));
        assert_eq!(datapoint.index(), 0);
        assert_eq!(datapoint.location(), &Location::default());
        assert_eq!(
            datapoint.canonical(),
            r#"{"ground_truth": null, "metadata": {"m": 1}}"#
        );
    }

    #[test]
    fn new_matches_loaded_text() {
        let built = Datapoint::new(json!({"inputs": {"x": 0.1, "n": 12, "s": "é"}})).unwrap();
        let loaded = super::super::Dataset::from_json(
            r#"[{"inputs": {"s": "\u00e9", "n": 12, "x": 1e-1}}]"#,
        )
        .unwrap();
        assert_eq!(built.id(), loaded.datapoints()[0].id());
    }
}
