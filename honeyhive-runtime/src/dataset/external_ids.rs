//! External (`EXT-`) dataset and datapoint ids, byte-identical to the HoneyHive Python SDK's
//! (`docs/external-ids.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::Datapoint;
use super::canonical::canonical_array;
use super::error::kind;

const PREFIX: &str = "EXT-";

/// The members that may hold a datapoint's own id, in order of precedence.
const CUSTOM_ID_FIELDS: [&str; 2] = ["id", "datapoint_id"];

/// Canonical texts of the values Python treats as false. Canonical form leaves one spelling
/// for each (`-0` is `0`, `0e0` is `0.0`).
const FALSY: [&str; 8] = ["null", "false", "\"\"", "0", "0.0", "-0.0", "[]", "{}"];

/// The id of a dataset that is not hosted on HoneyHive.
///
/// A non-empty `custom` id is used as is when it starts with `EXT-` (case-sensitive) and
/// gets `EXT-` in front otherwise. Without one, the id is `EXT-` and the first 16 hex digits
/// of the SHA-256 of the canonical JSON of the whole list of datapoints.
///
/// # Example
/// ```
/// use honeyhive::dataset::{Dataset, dataset_id};
///
/// let dataset = Dataset::from_json(r#"[{"inputs": {"query": "test"}}]"#).unwrap();
/// assert_eq!(dataset_id(None, dataset.datapoints()), "EXT-6000ae9fa3f6ca4f");
/// assert_eq!(dataset_id(Some("qa"), dataset.datapoints()), "EXT-qa");
/// assert_eq!(dataset_id(Some("EXT-qa"), dataset.datapoints()), "EXT-qa");
/// assert_eq!(dataset_id(Some(""), dataset.datapoints()), "EXT-6000ae9fa3f6ca4f");
/// ```
pub fn dataset_id<'a>(
    custom: Option<&str>,
    datapoints: impl IntoIterator<Item = &'a Datapoint>,
) -> String {
    match custom.filter(|custom| !custom.is_empty()) {
        Some(custom) => prefixed(custom),
        None => hashed(&canonical_array(
            datapoints.into_iter().map(Datapoint::canonical),
        )),
    }
}

/// The id of the datapoint at 0-based position `index` of a dataset not hosted on HoneyHive.
///
/// The datapoint's own `id` member when it is truthy, else its `datapoint_id` member when
/// truthy (falsy: `null`, `false`, `0`, `0.0`, `""`, `[]`, `{}`), gets `EXT-` in front unless
/// it starts with `EXT-`; a number id is written in decimal (integers with all their digits).
/// Without one, the id is `EXT-` and the first 16 hex digits of the SHA-256 of the canonical
/// JSON of the whole datapoint followed by `index` in decimal.
///
/// [`Datapoint::id`] is this function at the datapoint's own position.
///
/// # Example
/// ```
/// use honeyhive::dataset::{Datapoint, datapoint_id};
/// use serde_json::json;
///
/// let plain = Datapoint::new(json!({"inputs": {"query": "test"}})).unwrap();
/// assert_eq!(datapoint_id(&plain, 0), "EXT-9842cacb60f7c166");
/// assert_ne!(datapoint_id(&plain, 1), datapoint_id(&plain, 0));
///
/// let named = Datapoint::new(json!({"inputs": {}, "id": "", "datapoint_id": 42})).unwrap();
/// assert_eq!(datapoint_id(&named, 7), "EXT-42");
/// ```
pub fn datapoint_id(datapoint: &Datapoint, index: usize) -> String {
    match datapoint.custom_id() {
        Some(custom) => prefixed(custom),
        None => hashed(&format!("{}{index}", datapoint.canonical())),
    }
}

/// A truthy `id`/`datapoint_id` member that is neither a string nor a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InvalidCustomId {
    /// `id` or `datapoint_id`.
    pub(super) field: &'static str,
    /// What it is, e.g. `a boolean`.
    pub(super) found: &'static str,
}

/// The datapoint's own id, without the `EXT-` prefix rule applied, read from the canonical
/// JSON of the datapoint object (a non-object has none). Numbers come out in their canonical
/// decimal form, so integers keep every digit.
pub(super) fn custom_id(canonical_datapoint: &str) -> Result<Option<String>, InvalidCustomId> {
    let Ok(members) = serde_json::from_str::<BTreeMap<String, &RawValue>>(canonical_datapoint)
    else {
        return Ok(None);
    };
    for field in CUSTOM_ID_FIELDS {
        let Some(text) = members.get(field).map(|value| value.get()) else {
            continue;
        };
        if FALSY.contains(&text) {
            continue;
        }
        return match text.as_bytes().first() {
            Some(b'"') => Ok(serde_json::from_str::<String>(text).ok()),
            Some(b'-' | b'0'..=b'9') => Ok(Some(text.to_owned())),
            _ => Err(InvalidCustomId {
                field,
                found: serde_json::from_str(text).map_or("an invalid value", |value| kind(&value)),
            }),
        };
    }
    Ok(None)
}

fn prefixed(custom: &str) -> String {
    if custom.starts_with(PREFIX) {
        custom.to_owned()
    } else {
        format!("{PREFIX}{custom}")
    }
}

/// `EXT-` and the first 16 lowercase hex digits of the SHA-256 of `text`.
fn hashed(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = String::with_capacity(PREFIX.len() + 16);
    id.push_str(PREFIX);
    for byte in &digest[..8] {
        // Writing to a String cannot fail.
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde::Deserialize;
    use serde_json::value::RawValue;

    use super::super::{Dataset, canonical};
    use super::*;

    /// The reference SDK's id vectors, kept in the repository (a copy of the shared
    /// contracts' `vectors/ext_ids.json`, byte for byte: see
    /// `the_vectors_are_the_shared_ones`).
    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ext_ids.json");

    #[derive(Deserialize)]
    struct Vectors<'a> {
        #[serde(borrow)]
        vectors: Vec<Vector<'a>>,
    }

    #[derive(Deserialize)]
    struct Vector<'a> {
        name: String,
        /// Kept as text, so it goes through the same loader as dataset files.
        #[serde(borrow)]
        input: &'a RawValue,
        custom_dataset_id: Option<String>,
        expected: Expected,
    }

    #[derive(Deserialize)]
    struct Expected {
        dataset_id: String,
        datapoint_ids: Vec<String>,
    }

    fn check(name: &str, dataset: &Dataset, expected: &Expected) {
        assert_eq!(dataset.id(), expected.dataset_id, "{name}: dataset id");
        let ids: Vec<&str> = dataset.datapoints().iter().map(Datapoint::id).collect();
        assert_eq!(ids, expected.datapoint_ids, "{name}: datapoint ids");
        for (index, datapoint) in dataset.datapoints().iter().enumerate() {
            assert_eq!(datapoint.index(), index, "{name}");
            assert_eq!(datapoint_id(datapoint, index), datapoint.id(), "{name}");
        }
    }

    fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("honeyhive-ext-ids-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn every_reference_vector() {
        let text = std::fs::read_to_string(VECTORS).unwrap();
        let vectors: Vectors = serde_json::from_str(&text).unwrap();
        assert!(vectors.vectors.len() >= 14, "the vector file lost vectors");
        for vector in &vectors.vectors {
            let dataset = Dataset::from_json(vector.input.get()).unwrap();
            let dataset = match &vector.custom_dataset_id {
                Some(custom) => dataset.with_id(custom),
                None => dataset,
            };
            check(&vector.name, &dataset, &vector.expected);
        }
    }

    /// Also as files: a pretty-printed `.json` array and a `.jsonl` file, loaded by path.
    #[test]
    fn reference_vectors_loaded_from_files() {
        let text = std::fs::read_to_string(VECTORS).unwrap();
        let vectors: Vectors = serde_json::from_str(&text).unwrap();
        for name in [
            "peer_qa_dataset",
            "escapes_quotes_backslash_newline",
            "floats_basic",
        ] {
            let vector = vectors
                .vectors
                .iter()
                .find(|vector| vector.name == name)
                .unwrap();
            let datapoints: Vec<&RawValue> = serde_json::from_str(vector.input.get()).unwrap();
            let jsonl: String = datapoints
                .iter()
                .map(|datapoint| {
                    let value: serde_json::Value = serde_json::from_str(datapoint.get()).unwrap();
                    format!("{value}\n\n")
                })
                .collect();
            let json_path = temp_file(&format!("{name}.json"), vector.input.get());
            let jsonl_path = temp_file(&format!("{name}.jsonl"), &jsonl);
            for path in [&json_path, &jsonl_path] {
                let dataset = Dataset::load(path).unwrap();
                std::fs::remove_file(path).unwrap();
                assert_eq!(dataset.source(), Some(Path::new(path)));
                check(name, &dataset, &vector.expected);
            }
        }
    }

    /// The in-repo vectors are the shared contracts' file, byte for byte, when the shared
    /// contracts sit next to the repository (`<repo>/../shared`); a clone of the repository
    /// alone has no such folder, and the test says it skipped.
    #[test]
    fn the_vectors_are_the_shared_ones() {
        let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the runtime crate is a folder of the repository");
        let shared = repository
            .parent()
            .map(|beside| beside.join("shared").join("vectors").join("ext_ids.json"));
        let Some(shared) = shared.filter(|path| path.is_file()) else {
            eprintln!(
                "skipped: no shared contracts next to the repository ({}); the in-repo \
                 vectors {VECTORS} are not compared",
                repository.display()
            );
            return;
        };
        let ours = std::fs::read(VECTORS).unwrap();
        let theirs = std::fs::read(&shared).unwrap();
        assert!(
            ours == theirs,
            "{VECTORS} differs from {}: copy the shared file over it",
            shared.display()
        );
    }

    #[test]
    fn custom_ids_follow_python_truthiness() {
        let cases = [
            (r#"{"id": "a"}"#, Ok(Some("a"))),
            (r#"{"id": "", "datapoint_id": "b"}"#, Ok(Some("b"))),
            (
                r#"{"id": null, "datapoint_id": "EXT-b"}"#,
                Ok(Some("EXT-b")),
            ),
            (r#"{"id": 0, "datapoint_id": 7}"#, Ok(Some("7"))),
            (r#"{"id": -0, "datapoint_id": 0.0}"#, Ok(None)),
            (r#"{"id": false, "datapoint_id": []}"#, Ok(None)),
            (r#"{"id": {}, "datapoint_id": ""}"#, Ok(None)),
            (
                r#"{"id": 123456789012345678901234567890}"#,
                Ok(Some("123456789012345678901234567890")),
            ),
            (r#"{"id": 1.50}"#, Ok(Some("1.5"))),
            (r#"{"id": 1e16}"#, Ok(Some("1e+16"))),
            (r#"{"id": "caf\u00e9"}"#, Ok(Some("café"))),
            (r#"{"inputs": {"id": "nested"}}"#, Ok(None)),
            (
                r#"{"id": true}"#,
                Err(InvalidCustomId {
                    field: "id",
                    found: "a boolean",
                }),
            ),
            (
                r#"{"id": "", "datapoint_id": [1]}"#,
                Err(InvalidCustomId {
                    field: "datapoint_id",
                    found: "an array",
                }),
            ),
            (
                r#"{"id": {"a": 1}}"#,
                Err(InvalidCustomId {
                    field: "id",
                    found: "an object",
                }),
            ),
        ];
        for (datapoint, expected) in cases {
            let found = custom_id(&canonical(datapoint).unwrap());
            assert_eq!(
                found.as_ref().map(Option::as_deref).map_err(|e| *e),
                expected,
                "{datapoint}"
            );
        }
    }

    #[test]
    fn prefix_is_case_sensitive_and_added_once() {
        assert_eq!(prefixed("EXT-x"), "EXT-x");
        assert_eq!(prefixed("ext-x"), "EXT-ext-x");
        assert_eq!(prefixed("EXTx"), "EXT-EXTx");
        assert_eq!(prefixed("EXT-"), "EXT-");
    }

    #[test]
    fn hash_is_sha256_prefix() {
        // sha256("") = e3b0c44298fc1c149afbf4c8996fb924...
        assert_eq!(hashed(""), "EXT-e3b0c44298fc1c14");
        // The empty dataset hashes "[]".
        assert_eq!(dataset_id(None, []), "EXT-4f53cda18c2baa0c");
    }
}
