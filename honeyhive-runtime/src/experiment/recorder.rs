//! What a run keeps of its finished datapoints, taken in dataset order: each result goes
//! to the stored results, the metric statistics and the failure counts, and is dropped,
//! so the run's memory does not grow with its finished datapoints.

use std::io;
use std::path::Path;

use super::report::{DatapointResult, Failures, Threshold};
use super::results::{ResultsWriter, StoredResults};
use super::statistics::{MetricSummary, Statistics};
use crate::{Error, Result};

/// Takes the finished results of a run, in dataset order.
pub(crate) struct Recorder {
    writer: ResultsWriter,
    statistics: Statistics,
    failures: Failures,
    datapoint_count: usize,
    failed_count: usize,
    /// A store error was already returned (and reported): the read back at the end would
    /// only repeat it.
    store_failed: bool,
}

/// What the report is made of, once the run is over.
pub(crate) struct Recorded {
    pub(crate) results: StoredResults,
    pub(crate) metrics: Vec<MetricSummary>,
    pub(crate) model: Option<crate::model::ModelTotals>,
    pub(crate) evaluation_model: Option<crate::model::ModelTotals>,
    pub(crate) failures: Failures,
    pub(crate) datapoint_count: usize,
    pub(crate) failed_count: usize,
}

impl Recorder {
    /// A recorder storing its results under `local_dir` (see [`ResultsWriter::create`]),
    /// with the error of a store that could not be created: the run goes on, every figure
    /// but the percentiles stays exact, and reading the results back returns that error.
    /// Each evaluator may leave `allowed_errors` datapoints unscored without failing its
    /// metric.
    pub(crate) fn new(
        local_dir: &Path,
        thresholds: &[Threshold],
        allowed_errors: usize,
    ) -> (Recorder, Option<Error>) {
        let (writer, error) = ResultsWriter::create(local_dir);
        let recorder = Recorder {
            writer,
            statistics: Statistics::new(thresholds, allowed_errors),
            failures: Failures::default(),
            datapoint_count: 0,
            failed_count: 0,
            store_failed: error.is_some(),
        };
        (recorder, error)
    }

    /// Takes the next result in dataset order. The error is the store's (once): the result
    /// still counts in every figure.
    pub(crate) fn record(&mut self, result: DatapointResult) -> Result<()> {
        self.datapoint_count += 1;
        if result.failed() {
            self.failed_count += 1;
        }
        self.statistics.add(&result);
        self.failures.add(&result);
        let stored = self.writer.append(&result);
        if stored.is_err() {
            self.store_failed = true;
        }
        stored
    }

    /// Flushes the store and reads the results back once, for the metrics' percentiles.
    /// The error is the first the store met here (the percentiles are then `None`; every
    /// other figure is exact).
    pub(crate) fn finish(self) -> (Recorded, Option<Error>) {
        let (results, mut error) = self.writer.finish();
        let values = match &error {
            Some(_) => None,
            None if self.store_failed => None,
            None => {
                let read = results
                    .read()
                    .and_then(|r| self.statistics.values(r))
                    .and_then(|values| {
                        values.ok_or_else(|| Error::LocalStore {
                            path: results.path().unwrap_or(Path::new("")).to_owned(),
                            source: io::Error::new(
                                io::ErrorKind::InvalidData,
                                "the stored results are not the ones the run recorded",
                            ),
                        })
                    });
                read.map_err(|e| error = Some(e)).ok()
            }
        };
        let model = self.statistics.model_totals();
        let evaluation_model = self.statistics.evaluation_totals();
        let recorded = Recorded {
            model,
            evaluation_model,
            metrics: self.statistics.finish(values),
            results,
            failures: self.failures,
            datapoint_count: self.datapoint_count,
            failed_count: self.failed_count,
        };
        (recorded, error)
    }
}
