//! `summary.md`: the run in a few lines of Markdown (metrics with their changes, checks,
//! failures), for a pull request or a CI job's page: written to the run's folder always,
//! and appended to the file `$GITHUB_STEP_SUMMARY` names when it is set (GitHub Actions
//! shows it on the run's page).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::experiment::regression::format_p;
use crate::experiment::{ExperimentReport, FAILURE_SAMPLE, format_score};
use crate::{Environment, Error, Result};

/// The variable naming the file a CI step's summary is appended to.
pub(crate) const STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Writes `summary.md` into `dir`, and appends it to `$GITHUB_STEP_SUMMARY` when set.
pub(crate) fn write(
    report: &ExperimentReport,
    dir: &Path,
    environment: &Environment,
) -> Result<()> {
    let text = render(report);
    let path = dir.join(super::SUMMARY_MD);
    std::fs::write(&path, &text).map_err(|source| Error::LocalStore { path, source })?;
    if let Some(summary) = environment.get(STEP_SUMMARY) {
        let path = Path::new(&summary);
        // One write of the whole block: experiments of one test binary append at once.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(format!("{text}\n").as_bytes()))
            .map_err(|source| Error::LocalStore {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(())
}

/// Text in a Markdown table cell: `|` escaped, lines joined.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Text in inline code: backticks made quotes (a backtick would end it).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

pub(crate) fn render(report: &ExperimentReport) -> String {
    let verdict = report.check();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### {} experiment {}: {} datapoint(s), {} failed",
        if verdict.is_ok() { "✅" } else { "❌" },
        code(&report.name),
        report.datapoint_count,
        report.failed_count
    );
    let mut about = format!("run {}", code(&report.run_id));
    if let Some(url) = &report.url {
        let _ = write!(about, " ([on HoneyHive]({url}))");
    }
    if let Some(path) = &report.dataset_path {
        let _ = write!(about, " · dataset {}", code(&path.display().to_string()));
    }
    if let Some(git) = &report.git {
        let _ = write!(about, " · commit {}", code(&git.commit_hash_short));
    }
    let _ = write!(about, " · {:.1} s", report.duration_ms / 1000.0);
    if let Some(subset) = &report.subset {
        let _ = write!(about, " · **{}**", cell(&subset.to_string()));
    }
    let _ = writeln!(md, "\n{about}\n");
    if let Some(c) = &report.comparison {
        let _ = writeln!(
            md,
            "Compared with baseline {} (run {}): {} datapoint(s) paired, {} new, {} gone.\n",
            code(&c.baseline.named),
            code(&c.baseline.run_id),
            c.paired,
            c.new,
            c.gone
        );
    }
    if !report.metrics.is_empty() {
        let with_baseline = report.comparison.is_some();
        md.push_str("| metric | mean | p50 | p90 | scored | threshold | verdict |");
        if with_baseline {
            md.push_str(" change | improved | regressed | new | gone |");
        }
        md.push_str("\n|---|---:|---:|---:|---:|---|---|");
        if with_baseline {
            md.push_str("---:|---:|---:|---:|---:|");
        }
        md.push('\n');
        let f = |v: Option<f64>| v.map(format_score).unwrap_or_else(|| "-".into());
        for m in &report.metrics {
            let _ = write!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&m.name),
                f(m.mean),
                f(m.p50),
                f(m.p90),
                m.count,
                m.threshold
                    .as_ref()
                    .map(|t| format!("{} {}", t.comparison, t.value))
                    .unwrap_or_default(),
                match m.passed {
                    Some(true) => "pass",
                    Some(false) => "**FAIL**",
                    None => "",
                }
            );
            if let Some(c) = &report.comparison {
                match c.metric(&m.name) {
                    Some(change) => {
                        let _ = write!(
                            md,
                            " {} | {} | {} | {} | {} |",
                            change
                                .change
                                .map(|d| format!(
                                    "{}{}",
                                    if d > 0.0 { "+" } else { "" },
                                    format_score(d)
                                ))
                                .unwrap_or_else(|| "-".into()),
                            change.improved,
                            change.regressed,
                            change.new,
                            change.gone
                        );
                    }
                    None => md.push_str(" - | | | | |"),
                }
            }
            md.push('\n');
        }
        md.push('\n');
    }
    if let Some(c) = &report.comparison {
        for v in &c.regressions {
            let _ = writeln!(
                md,
                "- {} {}: {}{} (sign test p = {})",
                if v.failed && !c.accepting {
                    "❌"
                } else {
                    "✅"
                },
                code(&v.gate.to_string()),
                match (v.old_mean, v.new_mean) {
                    (Some(old), Some(new)) =>
                        format!("{} → {}", format_score(old), format_score(new)),
                    _ => "nothing paired".into(),
                },
                v.interval
                    .map(|(a, b)| format!(
                        ", 95% interval of the change [{}, {}]",
                        format_score(a),
                        format_score(b)
                    ))
                    .unwrap_or_default(),
                format_p(v.p_value)
            );
            if v.failed {
                for w in &v.worst {
                    let _ = writeln!(
                        md,
                        "  - {}: {} → {}",
                        cell(&w.label),
                        format_score(w.old),
                        format_score(w.new)
                    );
                }
            }
        }
    } else if !report.regressions.is_empty() {
        md.push_str("- regression gates not checked: no baseline\n");
    }
    if let Err(failure) = &verdict {
        md.push_str("\n**Failed:**\n\n");
        for reason in &failure.reasons {
            let first = reason.lines().next().unwrap_or_default();
            let _ = writeln!(md, "- {}", cell(first));
        }
    }
    if report.failed_count > 0 {
        let _ = writeln!(
            md,
            "\n<details><summary>failed datapoints ({})</summary>\n",
            report.failed_count
        );
        for d in report.failure_sample().iter().take(FAILURE_SAMPLE) {
            let _ = writeln!(
                md,
                "- {}: {}",
                cell(&d.label()),
                cell(d.error.as_deref().unwrap_or_default())
            );
        }
        md.push_str("\n</details>\n");
    }
    if let Some(dir) = &report.report_dir {
        let _ = writeln!(
            md,
            "\nReport: {} (also `junit.xml`, `datapoints.jsonl`)",
            code(&dir.join(super::REPORT_HTML).display().to_string())
        );
    }
    md
}
