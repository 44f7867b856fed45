//! Datasets kept in the user's repository: loading, external ids and validation.
//!
//! # Files
//! [`Dataset::load`] picks the format by extension (case-insensitive):
//!
//! * `.json`: a JSON array of datapoint objects;
//! * `.jsonl`: one datapoint object per line; blank lines are skipped;
//! * `.csv`: a header row, then one datapoint per record. Columns are `inputs.<field>`,
//!   `ground_truth.<field>`, `metadata.<field>` (the field name is everything after the first
//!   dot, so `inputs.a.b` is the field `a.b`) and optionally `id`; any other column is an error.
//!   A value that is exactly `true`, `false` or a JSON number (`-12`, `0.5`, `1e3`,
//!   `123456789012345678901234567890`; not `+1`, `01`, `.5` or numbers too large for a
//!   double) keeps that type, with the number's exact spelling; anything else, `null`
//!   included, is a string. An empty cell is no value: its field is left out of the object,
//!   so an `Option<T>` field reads it as `None` and a `#[serde(default)]` field as its
//!   default, while a field of any other type is reported missing, with the fix. Every
//!   datapoint gets an `inputs` object; `ground_truth` and `metadata` objects only when the
//!   row has a non-empty cell in such columns (a row whose ground truth cells are all empty
//!   has no ground truth). The `id` value is always a string, and an empty one means the
//!   datapoint has no id of its own.
//!
//! Relative paths resolve against the `CARGO_MANIFEST_DIR` environment variable when it is
//! set (cargo sets it to the crate directory for `cargo test` and `cargo run`), else against
//! the current directory. Loading stops at the first malformed datapoint and says where it is.
//!
//! # Datapoints
//! Each datapoint is a JSON object with `inputs` (an object), optionally `ground_truth`,
//! `metadata` and its own `id` or `datapoint_id`. Loading accepts any object, as the reference
//! SDK does when it computes ids; [`Dataset::validate`] and [`Dataset::typed`] check every
//! datapoint before an experiment calls anything.
//!
//! # Ids
//! Datasets and datapoints get `EXT-` ids identical to the HoneyHive Python SDK's
//! ([`dataset_id`], [`datapoint_id`]). They hash the [`canonical`](fn@canonical) JSON of the data, computed
//! from the source text so that integers of any size keep every digit.
//!
//! # Hosted datasets
//! [`Dataset::hosted`] fetches a dataset kept on HoneyHive (it needs `HH_API_KEY`). Its id and
//! its datapoints' ids are the ones HoneyHive gave them, not `EXT-` ids.
//!
//! # Example
//! ```
//! use honeyhive::dataset::Dataset;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Question { question: String }
//! #[derive(Deserialize)]
//! struct Answer { answer: String }
//!
//! let dataset = Dataset::from_json(
//!     r#"[
//!         {"inputs": {"question": "What is the capital of France?"}, "ground_truth": {"answer": "Paris"}},
//!         {"inputs": {"question": "What is 2 + 2?"}, "ground_truth": {"answer": "4"}},
//!         {"inputs": {"question": "Who wrote Hamlet?"}, "ground_truth": {"answer": "William Shakespeare"}}
//!     ]"#,
//! )?;
//! assert_eq!(dataset.id(), "EXT-8861a957df7dd383");
//! assert_eq!(dataset.datapoints()[0].id(), "EXT-4729527ea1601cce");
//!
//! for datapoint in dataset.typed::<Question, Answer>()? {
//!     assert!(!datapoint.inputs.question.is_empty());
//!     assert!(datapoint.ground_truth.is_some());
//! }
//! # Ok::<(), honeyhive::dataset::DatasetError>(())
//! ```

mod canonical;
mod datapoint;
mod error;
mod external_ids;
mod hosted;
mod load;
pub(crate) mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use self::canonical::{canonical, python_float_repr};
pub use self::datapoint::{Datapoint, Location};
pub use self::error::{DatasetError, MAX_REPORTED_ERRORS};
pub use self::external_ids::{datapoint_id, dataset_id};
pub(crate) use self::load::resolve_path;
pub use self::validate::TypedDatapoint;

/// A list of datapoints with its external dataset id.
///
/// # Example
/// ```
/// use honeyhive::dataset::Dataset;
///
/// let dataset = Dataset::from_json(r#"{"inputs": {"query": "test"}}"#)?;
/// assert_eq!(dataset.len(), 1);
/// assert_eq!(dataset.id(), "EXT-6000ae9fa3f6ca4f");
/// assert_eq!(dataset.datapoints()[0].id(), "EXT-9842cacb60f7c166");
/// # Ok::<(), honeyhive::dataset::DatasetError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    datapoints: Vec<Datapoint>,
    id: String,
    /// The file, after resolving a relative path.
    source: Option<PathBuf>,
    /// The file's path as given, for messages.
    path: Option<Arc<Path>>,
}

impl Dataset {
    /// Loads a `.json`, `.jsonl` or `.csv` dataset file (see the [module docs](self) for the
    /// formats). A relative path resolves against `CARGO_MANIFEST_DIR` when it is set, else
    /// the current directory; error messages show the path as given.
    ///
    /// # Errors
    /// [`DatasetError::UnsupportedFormat`], [`DatasetError::NotFound`],
    /// [`DatasetError::Read`], and the errors of malformed content: [`DatasetError::Json`],
    /// [`DatasetError::NotAnArray`], [`DatasetError::Csv`], [`DatasetError::NotAnObject`],
    /// [`DatasetError::InvalidCustomId`].
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let path = std::env::temp_dir().join(format!("honeyhive-doc-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, "{\"inputs\": {\"query\": \"test\"}}\n")?;
    /// let dataset = Dataset::load(&path)?;
    /// assert_eq!(dataset.id(), "EXT-6000ae9fa3f6ca4f");
    /// assert_eq!(dataset.source(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DatasetError> {
        let loaded = load::load_file(path.as_ref())?;
        Ok(Self {
            source: Some(loaded.source),
            path: Some(loaded.path),
            ..Self::new(loaded.datapoints)
        })
    }

    /// Reads datapoints from JSON text: a JSON array of datapoint objects when the text starts
    /// with `[`, else JSONL (one datapoint object per line, blank lines skipped).
    ///
    /// # Errors
    /// [`DatasetError::Json`], [`DatasetError::NotAnObject`],
    /// [`DatasetError::InvalidCustomId`]; locations are `line L, column C` of the text.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let array = Dataset::from_json(r#"[{"inputs": {"q": 1}}, {"inputs": {"q": 2}}]"#)?;
    /// let lines = Dataset::from_json("{\"inputs\": {\"q\": 1}}\n\n{\"inputs\": {\"q\": 2}}\n")?;
    /// assert_eq!(array.id(), lines.id());
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self, DatasetError> {
        Ok(Self::new(load::parse_json_or_jsonl(json)?))
    }

    /// Reads datapoints from CSV text, as [`load`](Self::load) reads a `.csv` file: a header
    /// row of `inputs.<field>`, `ground_truth.<field>`, `metadata.<field>` and optionally
    /// `id`, then one datapoint per row (`true`/`false` and JSON numbers keep their type,
    /// an empty cell is no value).
    ///
    /// # Errors
    /// [`DatasetError::Csv`] for a malformed header or row (locations are `line L` of the
    /// text), [`DatasetError::InvalidCustomId`].
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_csv("inputs.q,ground_truth.a\nwhy?,because\nhow?,\n")?;
    /// assert_eq!(dataset.len(), 2);
    /// assert_eq!(dataset.datapoints()[0].inputs()["q"], "why?");
    /// let error = Dataset::from_csv("question\nwhy?\n").unwrap_err();
    /// assert!(error.to_string().contains("expected `inputs.<field>`"), "{error}");
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn from_csv(csv: &str) -> Result<Self, DatasetError> {
        Ok(Self::new(load::parse_csv(csv, None)?))
    }

    /// A dataset of datapoints built in code; each is placed at its position (its
    /// [`index`](Datapoint::index) and hashed id follow).
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::{Datapoint, Dataset};
    /// use serde_json::json;
    ///
    /// let datapoints = vec![
    ///     Datapoint::new(json!({"inputs": {"q": "a"}}))?,
    ///     Datapoint::new(json!({"inputs": {"q": "b"}}))?,
    /// ];
    /// let dataset = Dataset::from_datapoints(datapoints);
    /// assert_eq!(dataset.datapoints()[1].index(), 1);
    /// assert_eq!(dataset.datapoints()[1].id(), "EXT-9b4757b7c8df6b28");
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn from_datapoints(mut datapoints: Vec<Datapoint>) -> Self {
        for (index, datapoint) in datapoints.iter_mut().enumerate() {
            datapoint.set_index(index);
        }
        Self::new(datapoints)
    }

    /// Gives the dataset a custom id: used as is when it starts with `EXT-`, else with `EXT-`
    /// in front. An empty id restores the hashed one.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {"q": "a"}}]"#)?;
    /// assert_eq!(dataset.clone().with_id("my-dataset").id(), "EXT-my-dataset");
    /// assert_eq!(dataset.clone().with_id("EXT-my-dataset").id(), "EXT-my-dataset");
    /// assert_eq!(dataset.clone().with_id("").id(), dataset.id());
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    #[must_use]
    pub fn with_id(mut self, custom: &str) -> Self {
        self.id = dataset_id(Some(custom), &self.datapoints);
        self
    }

    /// The external dataset id: the custom one (see [`with_id`](Self::with_id)), else `EXT-`
    /// and a hash of all datapoints (see [`dataset_id`]).
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// assert_eq!(Dataset::from_json("[]")?.id(), "EXT-4f53cda18c2baa0c");
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The datapoints, in dataset order.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dataset = Dataset::from_json(r#"[{"inputs": {"q": 1}}, {"inputs": {"q": 2}}]"#)?;
    /// let qs: Vec<_> = dataset.datapoints().iter().map(|d| d.inputs()["q"].clone()).collect();
    /// assert_eq!(qs, [1, 2]);
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn datapoints(&self) -> &[Datapoint] {
        &self.datapoints
    }

    /// The number of datapoints.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// assert_eq!(Dataset::from_json("{\"inputs\": {}}\n{\"inputs\": {}}")?.len(), 2);
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.datapoints.len()
    }

    /// Whether the dataset has no datapoints.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// assert!(Dataset::from_json("[]")?.is_empty());
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.datapoints.is_empty()
    }

    /// The file the dataset was loaded from (after resolving a relative path); `None` when it
    /// was not loaded from a file.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// assert_eq!(Dataset::from_json("[]")?.source(), None);
    /// # Ok::<(), honeyhive::dataset::DatasetError>(())
    /// ```
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The file the dataset was loaded from, as the path was given to
    /// [`load`](Self::load) (a relative path stays relative): what messages show.
    ///
    /// # Example
    /// ```
    /// use honeyhive::dataset::Dataset;
    ///
    /// let dir = std::env::temp_dir();
    /// let path = dir.join(format!("honeyhive-doc-path-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, "{\"inputs\": {\"q\": 1}}\n")?;
    /// let dataset = Dataset::load(&path)?;
    /// assert_eq!(dataset.path(), Some(path.as_path()));
    /// assert_eq!(Dataset::from_json("[]")?.path(), None);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Errs when the dataset has no datapoints: an experiment over it would show nothing.
    pub(crate) fn check_not_empty(&self) -> Result<(), DatasetError> {
        if self.is_empty() {
            return Err(DatasetError::Empty {
                path: self.path().map(Path::to_owned),
                id: self.id.clone(),
            });
        }
        Ok(())
    }

    fn new(datapoints: Vec<Datapoint>) -> Self {
        let id = dataset_id(None, &datapoints);
        Self {
            datapoints,
            id,
            source: None,
            path: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn from_datapoints_places_each_datapoint() {
        let loaded =
            Dataset::from_json(r#"[{"inputs": {"q": "a"}}, {"inputs": {"q": "b"}}]"#).unwrap();
        let mut reversed = loaded.datapoints().to_vec();
        reversed.reverse();
        let dataset = Dataset::from_datapoints(reversed);
        assert_eq!(dataset.datapoints()[0].index(), 0);
        assert_eq!(
            dataset.datapoints()[0].raw(),
            &json!({"inputs": {"q": "b"}})
        );
        // Position-aware: "b" at index 0 has the id Python gives it there.
        assert_eq!(
            dataset.datapoints()[0].id(),
            datapoint_id(&loaded.datapoints()[1], 0)
        );
        assert_ne!(dataset.datapoints()[0].id(), loaded.datapoints()[1].id());
        assert_ne!(dataset.id(), loaded.id());
        // Locations stay with the datapoints.
        assert_eq!(dataset.datapoints()[0].location().column(), Some(26));
        assert_eq!(
            Dataset::from_datapoints(loaded.datapoints().to_vec()),
            loaded
        );
    }

    #[test]
    fn custom_dataset_id_keeps_datapoint_ids() {
        let dataset = Dataset::from_json(r#"[{"inputs": {"q": "a"}}]"#).unwrap();
        let custom = dataset.clone().with_id("ext-lower");
        assert_eq!(custom.id(), "EXT-ext-lower");
        assert_eq!(custom.datapoints(), dataset.datapoints());
        assert_eq!(custom.with_id("").id(), dataset.id());
    }
}
