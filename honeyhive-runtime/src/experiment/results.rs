//! Where a run's per-datapoint results live once they finish: a spill file of the run's
//! own, one JSON line per result in dataset order, read back on demand and deleted with
//! the last clone of the report. A run's memory then does not grow with its finished
//! datapoints.
//!
//! The file is private to the report rather than the report's `datapoints.jsonl`: that
//! one is the user's (it may be moved or edited), it is shared by every run joining the
//! same `HH_RUN_ID` in the same local store, and its lines carry inputs and outputs that
//! reading the results back does not need.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::report::{DatapointResult, EvaluationResult};
use crate::model::ModelTotals;
use crate::{Error, Result};

/// The spill file: deleted when dropped, so when the last report (or reader) holding it
/// is gone.
#[derive(Debug)]
struct SpillFile {
    path: PathBuf,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        // Nothing to do about a file that is already gone (its directory removed).
        let _ = fs::remove_file(&self.path);
    }
}

/// Why the results cannot be read back, kept to answer every later read with it.
#[derive(Debug)]
struct Unreadable {
    path: PathBuf,
    kind: io::ErrorKind,
    reason: String,
}

impl Unreadable {
    fn new(path: &Path, error: &io::Error) -> Unreadable {
        Unreadable {
            path: path.to_owned(),
            kind: error.kind(),
            reason: format!(
                "the run could not store every datapoint result here ({error}), so they \
                 cannot be read back"
            ),
        }
    }

    fn error(&self) -> Error {
        Error::LocalStore {
            path: self.path.clone(),
            source: io::Error::new(self.kind, self.reason.clone()),
        }
    }
}

/// Appends finished results to the spill file, in the order given (the runner gives
/// dataset order).
pub(crate) struct ResultsWriter {
    file: Option<Arc<SpillFile>>,
    out: Option<BufWriter<File>>,
    written: usize,
    unreadable: Option<Arc<Unreadable>>,
}

impl ResultsWriter {
    /// A new spill file in `<local_dir>/tmp`, or in the system's temporary directory when
    /// that one cannot be written. The local store comes first because it is on disk,
    /// where `/tmp` is often memory. When neither works, the writer still takes results
    /// (and drops them) and the error is in every read of them.
    pub(crate) fn create(local_dir: &Path) -> (ResultsWriter, Option<Error>) {
        let name = format!("results-{}.jsonl", uuid::Uuid::new_v4());
        let local = local_dir.join("tmp");
        let created = open(&local, &name)
            .or_else(|first| open(&std::env::temp_dir(), &name).map_err(|_| first));
        match created {
            Ok((path, file)) => (
                ResultsWriter {
                    file: Some(Arc::new(SpillFile { path })),
                    out: Some(BufWriter::new(file)),
                    written: 0,
                    unreadable: None,
                },
                None,
            ),
            Err((path, error)) => {
                let unreadable = Unreadable::new(&path, &error);
                (
                    ResultsWriter {
                        file: None,
                        out: None,
                        written: 0,
                        unreadable: Some(Arc::new(unreadable)),
                    },
                    Some(Error::LocalStore {
                        path,
                        source: error,
                    }),
                )
            }
        }
    }

    /// Appends one result. After the first error (returned once) the rest are dropped:
    /// the file would have a hole, and every read says so instead.
    pub(crate) fn append(&mut self, result: &DatapointResult) -> Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let written = serde_json::to_writer(&mut *out, &Line::of(result))
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        match written {
            Ok(()) => {
                self.written += 1;
                Ok(())
            }
            Err(error) => Err(self.fail(error)),
        }
    }

    fn fail(&mut self, error: io::Error) -> Error {
        self.out = None;
        let path = self.path().to_owned();
        self.unreadable = Some(Arc::new(Unreadable::new(&path, &error)));
        Error::LocalStore {
            path,
            source: error,
        }
    }

    fn path(&self) -> &Path {
        self.file
            .as_ref()
            .map(|f| f.path.as_path())
            .unwrap_or(Path::new(""))
    }

    /// Flushes the file and hands it to the report. A flush error is returned, and is
    /// also in every read of the results.
    pub(crate) fn finish(mut self) -> (StoredResults, Option<Error>) {
        let error = match self.out.take().map(|mut out| out.flush()) {
            Some(Err(error)) => Some(self.fail(error)),
            _ => None,
        };
        let results = StoredResults {
            file: self.file,
            len: self.written,
            unreadable: self.unreadable,
        };
        (results, error)
    }
}

/// `dir/name`, created new (never an existing file).
fn open(dir: &Path, name: &str) -> std::result::Result<(PathBuf, File), (PathBuf, io::Error)> {
    fs::create_dir_all(dir).map_err(|e| (dir.to_owned(), e))?;
    let path = dir.join(name);
    match File::options().write(true).create_new(true).open(&path) {
        Ok(file) => Ok((path, file)),
        Err(e) => Err((path, e)),
    }
}

/// The report's handle on its stored results. Clones share the file, which is deleted
/// with the last of them.
#[derive(Debug, Clone)]
pub(crate) struct StoredResults {
    file: Option<Arc<SpillFile>>,
    len: usize,
    unreadable: Option<Arc<Unreadable>>,
}

impl StoredResults {
    /// The spill file, while it exists.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// The results, read from the start of the file.
    pub(crate) fn read(&self) -> Result<DatapointResults> {
        if let Some(unreadable) = &self.unreadable {
            return Err(unreadable.error());
        }
        let Some(file) = &self.file else {
            return Ok(DatapointResults::empty());
        };
        let reader = File::open(&file.path).map_err(|source| Error::LocalStore {
            path: file.path.clone(),
            source,
        })?;
        Ok(DatapointResults {
            file: Some(Arc::clone(file)),
            reader: Some(BufReader::new(reader)),
            line: String::new(),
            read: 0,
            len: self.len,
        })
    }
}

/// The results of a run read back from its spill file, one at a time, in dataset order
/// (see [`ExperimentReport::read_datapoints`](super::ExperimentReport::read_datapoints)).
/// Holds the file, so it outlives the report it was read from.
#[derive(Debug)]
pub struct DatapointResults {
    file: Option<Arc<SpillFile>>,
    reader: Option<BufReader<File>>,
    line: String,
    read: usize,
    len: usize,
}

impl DatapointResults {
    fn empty() -> DatapointResults {
        DatapointResults {
            file: None,
            reader: None,
            line: String::new(),
            read: 0,
            len: 0,
        }
    }

    fn next_result(&mut self) -> Result<DatapointResult> {
        let path = self
            .file
            .as_ref()
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let invalid = |message: String| Error::LocalStore {
            path: path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, message),
        };
        let Some(reader) = self.reader.as_mut() else {
            return Err(invalid("no results file".into()));
        };
        self.line.clear();
        match reader.read_line(&mut self.line) {
            Ok(0) => Err(invalid(format!(
                "the file ends after {} of the run's {} results",
                self.read, self.len
            ))),
            Ok(_) => serde_json::from_str::<Line<'static>>(&self.line)
                .map(Line::into_result)
                .map_err(|e| invalid(format!("result {}: {e}", self.read + 1))),
            Err(source) => Err(Error::LocalStore {
                path: path.clone(),
                source,
            }),
        }
    }
}

impl Iterator for DatapointResults {
    type Item = Result<DatapointResult>;

    /// The next result; after an error, nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        if self.read >= self.len {
            return None;
        }
        let result = self.next_result();
        self.read = match result {
            Ok(_) => self.read + 1,
            Err(_) => self.len,
        };
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.read;
        (left.min(1), Some(left))
    }
}

/// One line of the spill file: a [`DatapointResult`] with every number stored by its bits,
/// since JSON numbers hold neither NaN nor infinities (an evaluator may return them) and
/// the statistics read back from here must be exact.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    index: usize,
    line: Option<usize>,
    datapoint_id: Cow<'a, str>,
    repetition: u32,
    session_id: Cow<'a, str>,
    error: Option<Cow<'a, str>>,
    evaluations: Vec<Evaluation<'a>>,
    duration_ms: Bits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<Model>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evaluation_model: Option<Model>,
}

/// [`ModelTotals`] with its numbers by their bits.
#[derive(Serialize, Deserialize)]
struct Model {
    calls: u64,
    cached_calls: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: Bits,
    unpriced_calls: u64,
    latencies_ms: Vec<Bits>,
}

impl Model {
    fn of(totals: &ModelTotals) -> Model {
        Model {
            calls: totals.calls,
            cached_calls: totals.cached_calls,
            input_tokens: totals.input_tokens,
            output_tokens: totals.output_tokens,
            cost_usd: totals.cost_usd.into(),
            unpriced_calls: totals.unpriced_calls,
            latencies_ms: totals
                .latencies_ms
                .iter()
                .copied()
                .map(Bits::from)
                .collect(),
        }
    }

    fn into_totals(self) -> ModelTotals {
        ModelTotals {
            calls: self.calls,
            cached_calls: self.cached_calls,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_usd: self.cost_usd.into(),
            unpriced_calls: self.unpriced_calls,
            latencies_ms: self.latencies_ms.into_iter().map(f64::from).collect(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Evaluation<'a> {
    name: Cow<'a, str>,
    score: Option<Bits>,
    scores: Vec<Bits>,
    extra: Vec<(Cow<'a, str>, Bits)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    errors: Vec<Cow<'a, str>>,
}

/// An `f64` as its bit pattern.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct Bits(u64);

impl From<f64> for Bits {
    fn from(value: f64) -> Bits {
        Bits(value.to_bits())
    }
}

impl From<Bits> for f64 {
    fn from(bits: Bits) -> f64 {
        f64::from_bits(bits.0)
    }
}

impl<'a> Line<'a> {
    fn of(result: &'a DatapointResult) -> Line<'a> {
        Line {
            index: result.index,
            line: result.line,
            datapoint_id: Cow::Borrowed(&result.datapoint_id),
            repetition: result.repetition,
            session_id: Cow::Borrowed(&result.session_id),
            error: result.error.as_deref().map(Cow::Borrowed),
            evaluations: result
                .evaluations
                .iter()
                .map(|e| Evaluation {
                    name: Cow::Borrowed(&e.name),
                    score: e.score.map(Bits::from),
                    scores: e.scores.iter().copied().map(Bits::from).collect(),
                    extra: e
                        .extra
                        .iter()
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Bits::from(*v)))
                        .collect(),
                    label: e.label.as_deref().map(Cow::Borrowed),
                    labels: e
                        .labels
                        .iter()
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                        .collect(),
                    errors: e.errors.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
                })
                .collect(),
            duration_ms: result.duration_ms.into(),
            model: result.model.as_ref().map(Model::of),
            evaluation_model: result.evaluation_model.as_ref().map(Model::of),
        }
    }

    fn into_result(self) -> DatapointResult {
        DatapointResult {
            index: self.index,
            line: self.line,
            datapoint_id: self.datapoint_id.into_owned(),
            repetition: self.repetition,
            session_id: self.session_id.into_owned(),
            error: self.error.map(Cow::into_owned),
            evaluations: self
                .evaluations
                .into_iter()
                .map(|e| EvaluationResult {
                    name: e.name.into_owned(),
                    score: e.score.map(f64::from),
                    scores: e.scores.into_iter().map(f64::from).collect(),
                    extra: e
                        .extra
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v.into()))
                        .collect(),
                    label: e.label.map(Cow::into_owned),
                    labels: e
                        .labels
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect(),
                    errors: e.errors.into_iter().map(Cow::into_owned).collect(),
                })
                .collect(),
            duration_ms: self.duration_ms.into(),
            model: self.model.map(Model::into_totals),
            evaluation_model: self.evaluation_model.map(Model::into_totals),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("honeyhive-results-{name}-{}", uuid::Uuid::new_v4()))
    }

    fn result(index: usize, score: f64) -> DatapointResult {
        DatapointResult {
            index,
            line: (!index.is_multiple_of(3)).then_some(index + 2),
            datapoint_id: format!("dp \"{index}\"\n"),
            repetition: 1,
            session_id: format!("s{index}"),
            error: (index % 2 == 1).then(|| "boom".to_owned()),
            evaluations: vec![EvaluationResult {
                name: "m".into(),
                score: Some(score),
                scores: vec![score, -0.0],
                extra: vec![("tokens".into(), f64::INFINITY)],
                label: Some("label \"quoted\"\n".into()),
                labels: vec![("tone".into(), "polite".into())],
                errors: vec!["late".into()],
            }],
            duration_ms: 0.1 + 0.2,
            model: index.is_multiple_of(2).then(|| ModelTotals {
                calls: 3,
                cached_calls: 1,
                input_tokens: 10,
                output_tokens: 4,
                cost_usd: 0.1 + 0.2,
                unpriced_calls: 1,
                latencies_ms: vec![f64::NAN, 1.0 / 3.0],
            }),
            evaluation_model: (index % 3 == 1).then(|| ModelTotals {
                calls: 2,
                cached_calls: 2,
                input_tokens: 7,
                output_tokens: 1,
                cost_usd: 0.3 + 0.6,
                unpriced_calls: 0,
                latencies_ms: vec![],
            }),
        }
    }

    #[test]
    fn results_come_back_exactly_in_order_and_the_file_goes_with_the_last_handle() {
        let dir = temp_dir("roundtrip");
        let (mut writer, error) = ResultsWriter::create(&dir);
        assert!(error.is_none());
        let written: Vec<DatapointResult> = [0.1, f64::NAN, 1.0 / 3.0, 5e-324]
            .iter()
            .enumerate()
            .map(|(i, s)| result(i, *s))
            .collect();
        for r in &written {
            writer.append(r).unwrap();
        }
        let (stored, error) = writer.finish();
        assert!(error.is_none());
        let path = stored.path().unwrap().to_owned();
        assert!(path.starts_with(dir.join("tmp")), "{}", path.display());
        let read: Vec<DatapointResult> = stored.read().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(read.len(), written.len());
        for (r, w) in read.iter().zip(&written) {
            // Bit for bit, NaN included (which `PartialEq` cannot say).
            assert_eq!(format!("{r:?}"), format!("{w:?}"));
            let bits = |d: &DatapointResult| d.evaluations[0].score.map(f64::to_bits);
            assert_eq!(bits(r), bits(w));
            assert_eq!(r.evaluations[0].scores[1].to_bits(), (-0.0f64).to_bits());
        }
        let clone = stored.clone();
        let mut reader = clone.read().unwrap();
        drop(stored);
        drop(clone);
        // A reader keeps the file until it is done.
        assert!(path.exists());
        assert_eq!(reader.next().unwrap().unwrap().index, 0);
        drop(reader);
        assert!(!path.exists());
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_an_error_not_a_panic() {
        let dir = temp_dir("corrupt");
        let (mut writer, _) = ResultsWriter::create(&dir);
        writer.append(&result(0, 1.0)).unwrap();
        writer.append(&result(1, 1.0)).unwrap();
        let (stored, _) = writer.finish();
        let path = stored.path().unwrap().to_owned();
        let text = fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        fs::write(&path, format!("{first}\n")).unwrap();
        let read: Vec<Result<DatapointResult>> = stored.read().unwrap().collect();
        assert_eq!(read.len(), 2);
        let error = read[1].as_ref().unwrap_err().to_string();
        assert!(
            error.contains("ends after 1 of the run's 2 results"),
            "{error}"
        );
        fs::write(&path, "{not json\n").unwrap();
        let error = stored.read().unwrap().next().unwrap().unwrap_err();
        assert!(error.to_string().contains("result 1:"), "{error}");
        drop(stored);
        assert!(!path.exists());
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_store_falls_back_to_the_system_temp_dir_and_reports_failed_writes() {
        let dir = temp_dir("unwritable");
        fs::create_dir_all(&dir).unwrap();
        // `<dir>/tmp` is a file: no spill can go there. The system temporary directory
        // is the fallback, so the store still works.
        fs::write(dir.join("tmp"), "").unwrap();
        let (mut writer, error) = ResultsWriter::create(&dir);
        assert!(error.is_none());
        writer.append(&result(0, 1.0)).unwrap();
        let (stored, _) = writer.finish();
        assert!(stored.path().unwrap().starts_with(std::env::temp_dir()));
        assert_eq!(stored.read().unwrap().count(), 1);

        // A write that fails is returned once, then every read reports it.
        let (mut writer, _) = ResultsWriter::create(&dir);
        let error = writer.fail(io::Error::other("disk full"));
        assert!(matches!(error, Error::LocalStore { .. }));
        writer.append(&result(1, 1.0)).unwrap();
        let (stored, _) = writer.finish();
        let error = stored.read().unwrap_err().to_string();
        assert!(
            error.contains("disk full") && error.contains("cannot be read back"),
            "{error}"
        );
        fs::remove_dir_all(&dir).ok();
    }
}
