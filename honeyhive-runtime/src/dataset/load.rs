//! Reading datasets from files and text: JSON arrays, JSONL and CSV.
//!
//! Every format ends up as the JSON text of each datapoint, which is parsed into a
//! `serde_json::Value` (for the user) and canonicalised from the text itself (for the ids), so
//! integers of any size and float spellings reach the ids exactly as written.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::canonical::canonical;
use super::error::{kind, serde_message};
use super::{Datapoint, DatasetError, Location};

/// The environment variable relative dataset paths resolve against (cargo sets it to the
/// crate directory for `cargo test` and `cargo run`).
const MANIFEST_DIR: &str = "CARGO_MANIFEST_DIR";

/// The file formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Jsonl,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(Self::Json),
            "jsonl" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// A dataset file's datapoints, the file they were read from, and its path as given.
pub(super) struct Loaded {
    pub(super) datapoints: Vec<Datapoint>,
    pub(super) source: PathBuf,
    pub(super) path: Arc<Path>,
}

/// Reads the dataset file at `path` (relative paths resolve against `CARGO_MANIFEST_DIR` when
/// it is set, else the current directory).
pub(super) fn load_file(path: &Path) -> Result<Loaded, DatasetError> {
    let format =
        Format::of(path).ok_or_else(|| DatasetError::UnsupportedFormat { path: path.into() })?;
    let (source, resolution) = resolve_path(path);
    let text = fs::read_to_string(&source).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => DatasetError::NotFound {
            path: path.into(),
            resolved: source.clone(),
            resolution,
        },
        _ => DatasetError::Read {
            path: path.into(),
            source: error,
        },
    })?;
    let shown: Arc<Path> = Arc::from(path);
    let datapoints = match format {
        Format::Json => parse_json_array(&text, Some(shown.clone())),
        Format::Jsonl => parse_jsonl(&text, Some(shown.clone())),
        Format::Csv => parse_csv(&text, Some(shown.clone())),
    }?;
    Ok(Loaded {
        datapoints,
        source,
        path: shown,
    })
}

/// The file `path` names as a dataset path does (relative to `CARGO_MANIFEST_DIR` when it
/// is set, else to the current directory), and how a relative path was resolved (empty
/// when it is absolute): what other files named in an experiment (its baseline) resolve
/// by too.
pub(crate) fn resolve_path(path: &Path) -> (PathBuf, &'static str) {
    resolve(path, std::env::var_os(MANIFEST_DIR))
}

/// The file a dataset path names, and how a relative path was resolved (empty when it is
/// absolute).
fn resolve(path: &Path, manifest_dir: Option<OsString>) -> (PathBuf, &'static str) {
    if path.is_absolute() {
        return (path.to_owned(), "");
    }
    match manifest_dir {
        Some(dir) => (
            Path::new(&dir).join(path),
            "relative paths resolve against CARGO_MANIFEST_DIR",
        ),
        None => (
            std::env::current_dir().map_or_else(|_| path.to_owned(), |dir| dir.join(path)),
            "relative paths resolve against the current directory",
        ),
    }
}

/// Datapoints from JSON text: a JSON array when it starts with `[`, else JSONL.
pub(super) fn parse_json_or_jsonl(text: &str) -> Result<Vec<Datapoint>, DatasetError> {
    if without_bom(text).trim_start().starts_with('[') {
        parse_json_array(text, None)
    } else {
        parse_jsonl(text, None)
    }
}

/// Datapoints from a JSON array.
fn parse_json_array(text: &str, path: Option<Arc<Path>>) -> Result<Vec<Datapoint>, DatasetError> {
    let text = without_bom(text);
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with('[') {
        return Err(match serde_json::from_str::<Value>(text) {
            Ok(value) => DatasetError::NotAnArray {
                at: location_at(text, start, path),
                found: kind(&value),
            },
            Err(error) => syntax_error(&error, &Location::new(path, Some(1), None), false),
        });
    }
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|error| {
        syntax_error(&error, &Location::new(path.clone(), Some(1), None), false)
    })?;
    let mut locator = Locator::new(text);
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let offset = item.get().as_ptr() as usize - text.as_ptr() as usize;
            parse_datapoint(item.get(), index, locator.at(offset, path.clone()), false)
        })
        .collect()
}

/// Datapoints from JSONL: one JSON object per line, blank lines skipped.
fn parse_jsonl(text: &str, path: Option<Arc<Path>>) -> Result<Vec<Datapoint>, DatasetError> {
    let mut datapoints = Vec::new();
    for (number, line) in without_bom(text).split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let at = Location::new(path.clone(), Some(number + 1), None);
        datapoints.push(parse_datapoint(line, datapoints.len(), at, true)?);
    }
    Ok(datapoints)
}

/// A CSV column: the datapoint's `id`, or a field of one of its objects.
enum Column {
    Id,
    Field { object: &'static str, name: String },
}

const CSV_OBJECTS: [&str; 3] = ["inputs", "ground_truth", "metadata"];

/// Datapoints from CSV: a header row of `inputs.<field>`, `ground_truth.<field>`,
/// `metadata.<field>` and optionally `id`, then one datapoint per record.
pub(super) fn parse_csv(
    text: &str,
    path: Option<Arc<Path>>,
) -> Result<Vec<Datapoint>, DatasetError> {
    let at_line = |line: Option<u64>| {
        Location::new(
            path.clone(),
            line.and_then(|line| usize::try_from(line).ok()),
            None,
        )
    };
    let csv_error = |error: csv::Error| {
        let line = error.position().map(csv::Position::line);
        let message = match error.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!(
                "this row has {len} fields but the header has {expected_len} \
                 (quote values that contain commas)"
            ),
            _ => error.to_string(),
        };
        DatasetError::Csv {
            at: at_line(line),
            message,
        }
    };

    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let header_error = |message: String| DatasetError::Csv {
        at: at_line(Some(1)),
        message,
    };
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        let header = header.trim();
        if !seen.insert(header) {
            return Err(header_error(format!("column `{header}` appears twice")));
        }
        columns.push(csv_column(header).map_err(header_error)?);
    }

    let mut datapoints = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map(csv::Position::line);
        let mut members: Vec<String> = Vec::new();
        for object in CSV_OBJECTS {
            // An empty cell is no value: its field is left out, so it reads as `None` for
            // an `Option` field (an empty string would be `Some("")`, or a type error).
            let fields: Vec<String> = columns
                .iter()
                .zip(&record)
                .filter_map(|(column, cell)| match column {
                    Column::Field { object: of, name } if *of == object && !cell.is_empty() => {
                        Some(format!("{}: {}", json_string(name), csv_cell(cell)))
                    }
                    _ => None,
                })
                .collect();
            // Every datapoint gets `inputs`; the other objects only when the row gives
            // them a value (a row with every ground truth cell empty has no ground truth).
            if object == "inputs" || !fields.is_empty() {
                members.push(format!(
                    "{}: {{{}}}",
                    json_string(object),
                    fields.join(", ")
                ));
            }
        }
        let id = columns
            .iter()
            .zip(&record)
            .find(|(column, _)| matches!(column, Column::Id));
        if let Some((_, id)) = id.filter(|(_, id)| !id.is_empty()) {
            members.push(format!("\"id\": {}", json_string(id)));
        }
        let datapoint = format!("{{{}}}", members.join(", "));
        datapoints.push(parse_datapoint(
            &datapoint,
            datapoints.len(),
            at_line(line),
            false,
        )?);
    }
    Ok(datapoints)
}

fn csv_column(header: &str) -> Result<Column, String> {
    if header == "id" {
        return Ok(Column::Id);
    }
    let expected = "expected `inputs.<field>`, `ground_truth.<field>`, `metadata.<field>` or `id`";
    let (object, name) = header
        .split_once('.')
        .ok_or_else(|| format!("column `{header}`: {expected}"))?;
    let object = CSV_OBJECTS
        .into_iter()
        .find(|known| *known == object)
        .ok_or_else(|| format!("column `{header}`: {expected}"))?;
    if name.is_empty() {
        return Err(format!(
            "column `{header}`: the field name after `{object}.` is missing"
        ));
    }
    Ok(Column::Field {
        object,
        name: name.to_owned(),
    })
}

/// A non-empty CSV value as JSON: `true`/`false` and JSON numbers (finite) keep their type
/// and exact spelling, anything else is a string.
fn csv_cell(cell: &str) -> String {
    if cell == "true" || cell == "false" || is_json_number(cell) {
        cell.to_owned()
    } else {
        json_string(cell)
    }
}

/// Whether `text` is exactly a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`)
/// that fits a double.
fn is_json_number(text: &str) -> bool {
    fn digits(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    }
    let bytes = text.as_bytes();
    let mut at = usize::from(bytes.first() == Some(&b'-'));
    match digits(&bytes[at..]) {
        0 => return false,
        1 => at += 1,
        n if bytes[at] == b'0' => return n == 1,
        n => at += n,
    }
    let mut float = false;
    if bytes.get(at) == Some(&b'.') {
        let n = digits(&bytes[at + 1..]);
        if n == 0 {
            return false;
        }
        at += 1 + n;
        float = true;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let n = digits(&bytes[at..]);
        if n == 0 {
            return false;
        }
        at += n;
        float = true;
    }
    at == bytes.len() && (!float || text.parse::<f64>().is_ok_and(f64::is_finite))
}

fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}

/// Parses one datapoint's JSON text, which starts at `at` in its source.
fn parse_datapoint(
    text: &str,
    index: usize,
    at: Location,
    jsonl: bool,
) -> Result<Datapoint, DatasetError> {
    let raw: Value =
        serde_json::from_str(text).map_err(|error| syntax_error(&error, &at, jsonl))?;
    let canonical = canonical(text).map_err(|error| syntax_error(&error, &at, jsonl))?;
    Datapoint::from_parts(raw, canonical, index, at)
}

/// A JSON error in text that starts at `start` of its source, placed in the source.
fn syntax_error(error: &serde_json::Error, start: &Location, jsonl: bool) -> DatasetError {
    let at = if error.line() == 0 {
        start.clone()
    } else {
        let first_line = start.line().unwrap_or(1);
        let column = match (error.line(), start.column()) {
            (1, Some(first_column)) => first_column + error.column().saturating_sub(1),
            _ => error.column(),
        };
        start.moved_to(first_line + error.line() - 1, column)
    };
    DatasetError::Json {
        at,
        message: serde_message(error),
        jsonl,
    }
}

/// The location of byte `offset` of `text`: 1-based line and column (in bytes, as
/// serde_json counts them in its errors).
fn location_at(text: &str, offset: usize, path: Option<Arc<Path>>) -> Location {
    Locator::new(text).at(offset, path)
}

/// Lines and columns of increasing offsets in `text`, each part of the text scanned once:
/// counting from the start for every item of a JSON array made loading quadratic.
struct Locator<'a> {
    text: &'a str,
    scanned: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator {
            text,
            scanned: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The location of `offset`, at or after the previous one.
    fn at(&mut self, offset: usize, path: Option<Arc<Path>>) -> Location {
        let part = &self.text[self.scanned..offset];
        self.line += part.matches('\n').count();
        if let Some(newline) = part.rfind('\n') {
            self.line_start = self.scanned + newline + 1;
        }
        self.scanned = offset;
        Location::new(path, Some(self.line), Some(offset - self.line_start + 1))
    }
}

fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Dataset;
    use super::*;

    /// A file in the temp directory, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("honeyhive-load-{}-{name}", std::process::id()));
            fs::write(&path, contents).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }

    fn message(error: DatasetError) -> String {
        error.to_string()
    }

    #[test]
    fn json_array_with_big_integers_and_locations() {
        let text = "[\n  {\"inputs\": {\"n\": 123456789012345678901234567890, \"x\": 1.10}},\n  \
                    {\"inputs\": {\"n\": -0}, \"metadata\": null}\n]\n";
        let dataset = Dataset::from_json(text).unwrap();
        let [first, second] = dataset.datapoints() else {
            panic!()
        };
        assert_eq!(
            first.canonical(),
            r#"{"inputs": {"n": 123456789012345678901234567890, "x": 1.1}}"#
        );
        assert_eq!(
            second.canonical(),
            r#"{"inputs": {"n": 0}, "metadata": null}"#
        );
        assert_eq!(
            (first.location().line(), first.location().column()),
            (Some(2), Some(3))
        );
        assert_eq!(
            (second.location().line(), second.location().column()),
            (Some(3), Some(3))
        );
        assert_eq!(second.metadata(), None);
        // Python: json.dumps([{"inputs": {"n": 123456789012345678901234567890, "x": 1.1}}, ...])
        assert_eq!(first.id(), "EXT-87c813e4f4c4f88b");
        assert_eq!(dataset.id(), "EXT-05de8310226ab1d0");
    }

    #[test]
    fn jsonl_skips_blank_lines_and_keeps_line_numbers() {
        let text =
            "\u{feff}{\"inputs\": {\"q\": 1}}\r\n\r\n   \n{\"inputs\": {\"q\": 2}, \"id\": 5}\n";
        let dataset = Dataset::from_json(text).unwrap();
        assert_eq!(dataset.len(), 2);
        let lines: Vec<_> = dataset
            .datapoints()
            .iter()
            .map(|d| d.location().line())
            .collect();
        assert_eq!(lines, [Some(1), Some(4)]);
        assert_eq!(dataset.datapoints()[1].id(), "EXT-5");
        assert_eq!(dataset.datapoints()[1].index(), 1);
        assert!(Dataset::from_json("").unwrap().is_empty());
        assert!(Dataset::from_json(" [ ] ").unwrap().is_empty());
    }

    #[test]
    fn load_each_format() {
        let rows = [
            json!({"inputs": {"q": "a"}, "ground_truth": "A"}),
            json!({"inputs": {"q": "b"}}),
        ];
        let array = TempFile::new(
            "formats.json",
            &serde_json::to_string_pretty(&rows).unwrap(),
        );
        let lines = TempFile::new("formats.JSONL", &format!("{}\n{}\n", rows[0], rows[1]));
        let from_array = Dataset::load(&array.0).unwrap();
        let from_lines = Dataset::load(&lines.0).unwrap();
        assert_eq!(from_array.id(), from_lines.id());
        assert_eq!(from_array.source(), Some(array.0.as_path()));
        assert_eq!(
            from_lines.datapoints()[1].location().path(),
            Some(lines.0.as_path())
        );
        assert_eq!(from_lines.datapoints()[1].location().line(), Some(2));
        assert_eq!(from_array.datapoints()[0].ground_truth(), Some(&json!("A")));
    }

    #[test]
    fn csv_columns_and_typed_values() {
        let file = TempFile::new(
            "qa.csv",
            "\u{feff}id, inputs.question,inputs.n,ground_truth.answer,metadata.ok,inputs.a.b\n\
             q1,\"What is 2, plus 2?\",4,4,true,x\n\
             ,Big,123456789012345678901234567890,1e400,TRUE,\n\
             q3,\"multi\nline\",-0.50,007,null,1.5e3\n",
        );
        let dataset = Dataset::load(&file.0).unwrap();
        let datapoints = dataset.datapoints();
        assert_eq!(datapoints.len(), 3);
        assert_eq!(
            datapoints[0].raw(),
            &json!({"id": "q1", "inputs": {"question": "What is 2, plus 2?", "n": 4, "a.b": "x"},
                    "ground_truth": {"answer": 4}, "metadata": {"ok": true}})
        );
        assert_eq!(datapoints[0].id(), "EXT-q1");
        assert_eq!(
            datapoints[1].canonical(),
            // The empty `inputs.a.b` cell is no value: the field is left out.
            r#"{"ground_truth": {"answer": "1e400"}, "inputs": {"n": 123456789012345678901234567890, "question": "Big"}, "metadata": {"ok": "TRUE"}}"#
        );
        assert!(datapoints[1].id().starts_with("EXT-") && datapoints[1].id().len() == 20);
        assert_eq!(
            datapoints[2].raw(),
            &json!({"id": "q3", "inputs": {"question": "multi\nline", "n": -0.5, "a.b": 1500.0},
                    "ground_truth": {"answer": "007"}, "metadata": {"ok": "null"}})
        );
        let lines: Vec<_> = datapoints.iter().map(|d| d.location().line()).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4)]);
        assert_eq!(
            datapoints[2].location().to_string(),
            format!("{}:4", file.0.display())
        );
    }

    /// An empty cell is no value: an `Option` field reads `None` (not `Some("")`), a
    /// `#[serde(default)]` field its default, a row with every ground truth cell empty has
    /// no ground truth, and a required field left empty is an error that says what to do.
    #[test]
    fn csv_empty_cells_are_no_value() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Inputs {
            question: String,
            context: Option<String>,
            #[serde(default)]
            tags: String,
        }
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Truth {
            answer: String,
        }
        let file = TempFile::new(
            "optional.csv",
            "inputs.question,inputs.context,inputs.tags,ground_truth.answer\n\
             What is 2 + 2?,,,4\n\
             Capital of France?,geography,x,\n",
        );
        let dataset = Dataset::load(&file.0).unwrap();
        assert_eq!(
            dataset.datapoints()[0].raw(),
            &json!({"inputs": {"question": "What is 2 + 2?"}, "ground_truth": {"answer": 4}})
        );
        assert_eq!(dataset.datapoints()[1].ground_truth(), None);
        let typed = dataset.typed::<Inputs, Value>().unwrap();
        assert_eq!(
            typed[0].inputs,
            Inputs {
                question: "What is 2 + 2?".into(),
                context: None,
                tags: String::new(),
            }
        );
        assert_eq!(typed[1].inputs.context.as_deref(), Some("geography"));
        assert_eq!(typed[1].ground_truth, None);

        let file = TempFile::new(
            "required.csv",
            "inputs.question,inputs.context,inputs.tags,ground_truth.answer\n\
             ,,,4\n\
             Capital of France?,,,\n\
             Who wrote Hamlet?,,,\n",
        );
        let error = Dataset::load(&file.0)
            .unwrap()
            .typed::<Inputs, Truth>()
            .unwrap_err();
        assert_eq!(
            message(error),
            format!(
                "1 of 3 datapoints are invalid:\n  {}:2: inputs: missing field \
                 `question` (an empty CSV cell is no value: fill the `inputs.question` cell, or \
                 make the field an `Option<_>` or `#[serde(default)]`)",
                file.0.display()
            )
        );
    }

    #[test]
    fn csv_without_optional_columns() {
        let file = TempFile::new("plain.csv", "inputs.q\nhi\n");
        let dataset = Dataset::load(&file.0).unwrap();
        assert_eq!(
            dataset.datapoints()[0].raw(),
            &json!({"inputs": {"q": "hi"}})
        );
        let empty = TempFile::new("empty.csv", "inputs.q\n");
        assert!(Dataset::load(&empty.0).unwrap().is_empty());
    }

    #[test]
    fn csv_errors() {
        let cases = [
            (
                "bad-column.csv",
                "inputs.q,question\n1,2\n",
                "1: invalid CSV: column `question`: expected `inputs.<field>`, `ground_truth.<field>`, `metadata.<field>` or `id`",
            ),
            (
                "bad-object.csv",
                "input.q\n1\n",
                "1: invalid CSV: column `input.q`: expected",
            ),
            (
                "no-field.csv",
                "inputs.\n1\n",
                "1: invalid CSV: column `inputs.`: the field name after `inputs.` is missing",
            ),
            (
                "twice.csv",
                "inputs.q,inputs.q\n1,2\n",
                "1: invalid CSV: column `inputs.q` appears twice",
            ),
            (
                "ragged.csv",
                "inputs.q,inputs.r\n1,2\n1,2,3\n",
                "3: invalid CSV: this row has 3 fields but the header has 2 (quote values that contain commas)",
            ),
        ];
        for (name, contents, expected) in cases {
            let file = TempFile::new(name, contents);
            let error = message(Dataset::load(&file.0).unwrap_err());
            let expected = format!("{}:{expected}", file.0.display());
            assert!(
                error.starts_with(&expected),
                "{error}\nexpected: {expected}"
            );
        }
    }

    #[test]
    fn is_json_number_follows_the_grammar() {
        for yes in [
            "0",
            "-0",
            "7",
            "-12",
            "1.5",
            "0.25",
            "1e5",
            "1E+5",
            "2.5e-3",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in [
            "", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "0x10", "1_000", " 1", "1 ",
            "NaN", "inf", "1e400", "--1",
        ] {
            assert!(!is_json_number(no), "{no}");
        }
    }

    #[test]
    fn missing_file_names_the_resolved_path() {
        let error = Dataset::load("no/such/dataset.jsonl").unwrap_err();
        let DatasetError::NotFound { resolved, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(
            resolved,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("no/such/dataset.jsonl")
        );
        assert_eq!(
            message(error),
            format!(
                "dataset file no/such/dataset.jsonl not found: looked for {}/no/such/dataset.jsonl \
                 (relative paths resolve against CARGO_MANIFEST_DIR)",
                env!("CARGO_MANIFEST_DIR")
            )
        );
        let absolute = std::env::temp_dir().join("honeyhive-no-such-dataset.json");
        assert_eq!(
            message(Dataset::load(&absolute).unwrap_err()),
            format!(
                "dataset file {0} not found: looked for {0}",
                absolute.display()
            )
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_manifest_dir() {
        let (resolved, _) = resolve(Path::new("data/qa.json"), Some("/crate".into()));
        assert_eq!(resolved, Path::new("/crate/data/qa.json"));
        let (resolved, how) = resolve(Path::new("data/qa.json"), None);
        assert_eq!(
            resolved,
            std::env::current_dir().unwrap().join("data/qa.json")
        );
        assert_eq!(how, "relative paths resolve against the current directory");
        let (resolved, how) = resolve(Path::new("/abs/qa.json"), Some("/crate".into()));
        assert_eq!((resolved.as_path(), how), (Path::new("/abs/qa.json"), ""));
        // Through `load`: the vector file is a JSON object, found via the manifest dir.
        let error = Dataset::load("tests/data/ext_ids.json").unwrap_err();
        assert_eq!(
            message(error),
            "tests/data/ext_ids.json:1:1: a .json dataset must be a JSON array of datapoint \
             objects, found an object (for one datapoint per line, use a .jsonl file)"
        );
    }

    #[test]
    fn unsupported_extension_and_unreadable_file() {
        assert_eq!(
            message(Dataset::load("data/qa.yaml").unwrap_err()),
            "unsupported dataset file data/qa.yaml: use a .json file (a JSON array of \
             datapoints), a .jsonl file (one datapoint object per line) or a .csv file \
             (columns inputs.<field>, ground_truth.<field>, metadata.<field>, id)"
        );
        assert!(matches!(
            Dataset::load("no-extension").unwrap_err(),
            DatasetError::UnsupportedFormat { .. }
        ));
        let file = TempFile::new("latin1.jsonl", "");
        fs::write(&file.0, b"{\"inputs\": {\"q\": \"caf\xe9\"}}\n").unwrap();
        let error = Dataset::load(&file.0).unwrap_err();
        assert!(matches!(error, DatasetError::Read { .. }), "{error:?}");
        assert!(
            message(error).starts_with(&format!("cannot read dataset file {}: ", file.0.display()))
        );
    }

    #[test]
    fn malformed_json_line_reports_file_line_and_column() {
        let file = TempFile::new(
            "broken.jsonl",
            "{\"inputs\": {}}\n\n{\"inputs\": {\"q\": 1,}}\n",
        );
        assert_eq!(
            message(Dataset::load(&file.0).unwrap_err()),
            format!(
                "{}:3:20: invalid JSON: trailing comma (each line of a JSONL dataset holds one \
                 whole datapoint object)",
                file.0.display()
            )
        );
        assert_eq!(
            message(Dataset::from_json("{\"inputs\": {}}\n{\"inputs\":\n").unwrap_err()),
            "line 2, column 10: invalid JSON: EOF while parsing a value (each line of a JSONL \
             dataset holds one whole datapoint object)"
        );
    }

    #[test]
    fn malformed_json_array_reports_position_in_file() {
        assert_eq!(
            message(
                Dataset::from_json("[\n  {\"inputs\": {}},\n  {\"inputs\" {}}\n]").unwrap_err()
            ),
            "line 3, column 13: invalid JSON: expected `:`"
        );
        // Found by the datapoint parser, placed in the file.
        assert_eq!(
            message(
                Dataset::from_json("[{\"inputs\": {}},\n  {\"inputs\": {\"x\": 1e400}}]")
                    .unwrap_err()
            ),
            "line 2, column 24: invalid JSON: number out of range"
        );
        assert_eq!(
            message(Dataset::from_json("[{\"inputs\": {}}] x").unwrap_err()),
            "line 1, column 18: invalid JSON: trailing characters"
        );
        let file = TempFile::new("object.json", "{\"inputs\": {}}");
        assert_eq!(
            message(Dataset::load(&file.0).unwrap_err()),
            format!(
                "{}:1:1: a .json dataset must be a JSON array of datapoint objects, found an \
                 object (for one datapoint per line, use a .jsonl file)",
                file.0.display()
            )
        );
        let file = TempFile::new("empty.json", "");
        assert_eq!(
            message(Dataset::load(&file.0).unwrap_err()),
            format!(
                "{}:1:0: invalid JSON: EOF while parsing a value",
                file.0.display()
            )
        );
    }

    #[test]
    fn datapoints_must_be_objects_with_usable_ids() {
        assert_eq!(
            message(Dataset::from_json("[{\"inputs\": {}}, [1]]").unwrap_err()),
            "line 1, column 18: a datapoint must be a JSON object like \
             {\"inputs\": {...}, \"ground_truth\": ...}, found an array"
        );
        assert_eq!(
            message(
                Dataset::from_json("{\"inputs\": {}}\n{\"inputs\": {}, \"id\": true}").unwrap_err()
            ),
            "line 2: `id` must be a string or a number, found a boolean"
        );
    }

    #[test]
    fn missing_inputs_is_reported_by_validation_with_the_file_line() {
        let file = TempFile::new(
            "no-inputs.jsonl",
            "{\"inputs\": {\"q\": 1}}\n{\"input\": {\"q\": 2}}\n",
        );
        let dataset = Dataset::load(&file.0).unwrap();
        assert_eq!(
            message(dataset.validate().unwrap_err()),
            format!(
                "1 of 2 datapoints are invalid:\n  {}:2: missing `inputs`: every \
                 datapoint needs an `inputs` object",
                file.0.display()
            )
        );
    }

    #[test]
    fn typed_errors_name_file_line_index_and_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Question {
            question: String,
        }
        let file = TempFile::new(
            "qa.jsonl",
            "{\"inputs\": {\"question\": \"a\"}}\n{\"inputs\": {\"question\": \"b\"}}\n\
             {\"inputs\": {\"prompt\": \"c\"}}\n",
        );
        let error = Dataset::load(&file.0)
            .unwrap()
            .typed::<Question, Value>()
            .unwrap_err();
        assert_eq!(
            message(error),
            format!(
                "1 of 3 datapoints are invalid:\n  {}:3: inputs: missing field `question`",
                file.0.display()
            )
        );
    }
}
