//! What a run leaves in its folder for people and for CI, beside `summary.json` and
//! `datapoints.jsonl`:
//!
//! * [`REPORT_HTML`]: one self-contained page (no server, no network, no CDN): the run's
//!   metadata, each metric's distribution, the checks and regression gates, and every
//!   datapoint in a paged, filterable, sortable table with its inputs, output (next to the
//!   baseline's, differences marked), scores, errors and span tree;
//! * [`JUNIT_XML`]: one test case per datapoint and repetition, for CI's test views;
//! * [`SUMMARY_MD`]: metrics, changes, checks and failures, also appended to
//!   `$GITHUB_STEP_SUMMARY` when it is set.
//!
//! All three come from one pass over the run's `datapoints.jsonl` (and its `spans.jsonl`,
//! in local mode), after the run: the run itself keeps nothing per datapoint, and the pass
//! holds one datapoint at a time (the rows of the page and the cases of the JUnit file wait
//! in a file beside them until what comes before them is written: `spill.rs`).
//! [`ExperimentReport::write_reports`](crate::experiment::ExperimentReport::write_reports)
//! writes them again.
//!
//! ```
//! use honeyhive::experiment::Experiment;
//! use honeyhive::{Dataset, Environment, evaluators};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Question {
//!     text: String,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("honeyhive-doc-reports-{}", std::process::id()));
//! let runtime = tokio::runtime::Runtime::new()?;
//! let report = runtime.block_on(
//!     Experiment::new("echo")
//!         .environment(Environment::empty())
//!         .local_dir(&dir)
//!         .dataset(Dataset::from_json(r#"[{"inputs": {"text": "hi"}, "ground_truth": "hi"}]"#)?)
//!         .evaluators(evaluators![honeyhive::evaluators::ExactMatch])
//!         .quiet()
//!         .run(|q: Question| async move { q.text }),
//! )?;
//! let folder = report.report_dir.clone().unwrap();
//! for file in [honeyhive::report::REPORT_HTML, honeyhive::report::JUNIT_XML, honeyhive::report::SUMMARY_MD] {
//!     assert!(folder.join(file).is_file());
//! }
//! let page = std::fs::read_to_string(folder.join(honeyhive::report::REPORT_HTML))?;
//! assert!(page.contains("exact_match") && !page.contains("http://cdn"));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod html;
mod junit;
mod markdown;
mod rows;
mod spans;
mod spill;

use std::path::Path;

use crate::experiment::ExperimentReport;
use crate::experiment::baseline::Baseline;
use crate::{Environment, Result};

/// The file names, in the run's folder.
pub const REPORT_HTML: &str = "report.html";
/// See [`REPORT_HTML`].
pub const JUNIT_XML: &str = "junit.xml";
/// See [`REPORT_HTML`].
pub const SUMMARY_MD: &str = "summary.md";

/// Now, as RFC 3339 in UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp_millis(now.as_millis() as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes `report.html`, `junit.xml` and `summary.md` into `dir` (the run's folder, whose
/// `datapoints.jsonl` is complete), and appends the summary to the file
/// `$GITHUB_STEP_SUMMARY` of `environment` names, when it does.
pub(crate) fn write(
    report: &ExperimentReport,
    dir: &Path,
    baseline: Option<&Baseline>,
    environment: &Environment,
) -> Result<()> {
    let mut html = html::Page::new(report, baseline, dir)?;
    let mut junit = junit::Suite::new(report, dir)?;
    // Two threads: the span trees are read while the datapoints are, then the page and the
    // JUnit file are written at once (a 10,000-datapoint run's reports take half the time).
    std::thread::scope(|scope| {
        let trees = scope.spawn(|| spans::trees_json(dir));
        rows::each(report, dir, baseline, |row| {
            html.row(row)?;
            junit.row(row)
        })?;
        let trees = trees
            .join()
            .map_err(|_| crate::Error::Background("reading the run's spans panicked".into()))??;
        let junit = scope.spawn(|| junit.write(report, &dir.join(JUNIT_XML)));
        let page = html.write(&dir.join(REPORT_HTML), trees);
        junit
            .join()
            .map_err(|_| crate::Error::Background("writing junit.xml panicked".into()))??;
        page
    })?;
    markdown::write(report, dir, environment)
}
