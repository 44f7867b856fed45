//! `junit.xml`: the run as CI systems show tests.
//!
//! One test suite named after the experiment, with one test case per datapoint and
//! repetition (named as messages name it, `line 5 (EXT-..)`): failed (`<failure>`) when
//! its function failed, in error (`<error>`) when an evaluator erred on it, passed
//! otherwise; its scores and labels are the case's `<properties>`, with its output and the
//! evaluators' explanations in `<system-out>`. A second suite, `<name> checks`, has a case
//! per threshold, evaluator allowance, the failed datapoints' allowance and regression gate
//! (skipped without a baseline), so the reason a job failed shows as a failed test too.
//!
//! The format is the Jenkins xUnit schema `junit-10.xsd` (what Jenkins, GitLab and the
//! GitHub test-report actions read), with the one element it does not declare:
//! `<properties>` inside `<testcase>`, which Jenkins' JUnit plugin reads and pytest and
//! GoogleTest write. The repository's `tests/data/junit/` has the schema; a test validates
//! every element and attribute written here against it. The file is written as text, with
//! `quick-xml`'s escaping, rather than with a JUnit crate: the one we tried (`quick-junit`)
//! writes attributes on `<testsuites>` that the schema refuses.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use quick_xml::escape::escape;

use super::rows::Row;
use super::spill::Spill;
use crate::experiment::{ExperimentReport, format_score};
use crate::{Error, Result};

/// How much of an output a case's `<system-out>` shows.
const OUTPUT_SHOWN: usize = 2_000;

/// `text` without the characters XML 1.0 cannot hold, even escaped (most control
/// characters): they become U+FFFD.
fn xml_text(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        text.into()
    } else {
        text.chars()
            .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
            .collect::<String>()
            .into()
    }
}

/// `text` as XML text or attribute value: what XML cannot hold replaced, escaped.
fn xml(text: &str) -> String {
    escape(xml_text(text).as_ref()).into_owned()
}

/// A duration in seconds as the schema's `SUREFIRE_TIME` (3 decimals at most).
fn seconds(ms: f64) -> String {
    format!("{:.3}", ms.max(0.0) / 1000.0)
}

/// A test case as it is written (the XML is written as text).
struct Case<'a> {
    name: &'a str,
    classname: &'a str,
    time_ms: Option<f64>,
    properties: &'a [(String, String)],
    /// `failure`, `error` or `skipped`, with its message and type.
    outcome: Option<(&'static str, &'a str, Option<&'static str>)>,
    out: Option<&'a str>,
}

/// Appends `case` to `xml`, indented as a suite's child.
fn write_case(xml: &mut String, case: &Case<'_>) {
    let _ = write!(
        xml,
        "    <testcase name=\"{}\" classname=\"{}\"",
        self::xml(case.name),
        self::xml(case.classname)
    );
    if let Some(ms) = case.time_ms {
        let _ = write!(xml, " time=\"{}\"", seconds(ms));
    }
    if case.properties.is_empty() && case.outcome.is_none() && case.out.is_none() {
        xml.push_str("/>\n");
        return;
    }
    xml.push_str(">\n");
    if !case.properties.is_empty() {
        xml.push_str("      <properties>\n");
        for (name, value) in case.properties {
            let _ = writeln!(
                xml,
                "        <property name=\"{}\" value=\"{}\"/>",
                self::xml(name),
                self::xml(value)
            );
        }
        xml.push_str("      </properties>\n");
    }
    if let Some((tag, message, kind)) = case.outcome {
        let message = self::xml(message);
        let _ = write!(xml, "      <{tag} message=\"{message}\"");
        if let Some(kind) = kind {
            let _ = write!(xml, " type=\"{kind}\"");
        }
        let _ = writeln!(xml, ">{message}</{tag}>");
    }
    if let Some(out) = case.out {
        let _ = writeln!(xml, "      <system-out>{}</system-out>", self::xml(out));
    }
    xml.push_str("    </testcase>\n");
}

/// The datapoints' suite, its cases written as they come (until the suite's counts above
/// them are known).
pub(crate) struct Suite {
    classname: String,
    cases: Spill,
    /// The case being written.
    case: String,
    tests: usize,
    failures: usize,
    errors: usize,
}

impl Suite {
    /// The suite of `report`, to be written into `dir` (the run's folder).
    pub(crate) fn new(report: &ExperimentReport, dir: &Path) -> Result<Suite> {
        Ok(Suite {
            classname: report.name.clone(),
            cases: Spill::create(dir, super::JUNIT_XML)?,
            case: String::new(),
            tests: 0,
            failures: 0,
            errors: 0,
        })
    }

    /// Adds a datapoint's case.
    pub(crate) fn row(&mut self, row: &Row<'_>) -> Result<()> {
        let line = &row.line;
        let errors: Vec<String> = line
            .evaluator_errors()
            .map(|(name, errors)| {
                format!(
                    "evaluator `{name}`: {}",
                    if errors.is_empty() {
                        "no score".to_owned()
                    } else {
                        errors.join("; ")
                    }
                )
            })
            .collect();
        let evaluator_errors = errors.join("\n");
        let outcome = match (&line.error, errors.is_empty()) {
            (Some(error), _) => {
                self.failures += 1;
                Some(("failure", error.as_ref(), Some("datapoint failed")))
            }
            (None, false) => {
                self.errors += 1;
                Some(("error", evaluator_errors.as_str(), Some("evaluator error")))
            }
            (None, true) => None,
        };
        let mut properties = vec![
            ("datapoint_id".to_owned(), line.datapoint_id.to_string()),
            ("repetition".to_owned(), line.repetition.to_string()),
        ];
        let mut out = String::new();
        for (name, value) in line.metrics() {
            let value = if value.is_finite() {
                format_score(value)
            } else {
                value.to_string()
            };
            let _ = writeln!(out, "{name} = {value}");
            properties.push((name, value));
        }
        for (name, label) in line.labels() {
            let _ = writeln!(out, "{name} = {label:?}");
            properties.push((name, label.to_owned()));
        }
        for (name, explanation) in &line.explanations {
            match explanation.as_str() {
                Some(text) => {
                    let _ = writeln!(out, "{name}: {text}");
                }
                None => {
                    let _ = writeln!(out, "{name}: {explanation}");
                }
            }
        }
        if let Some(output) = line.output {
            let text = output.get();
            match text.char_indices().nth(OUTPUT_SHOWN) {
                Some((cut, _)) => {
                    let _ = writeln!(out, "output: {}…", &text[..cut]);
                }
                None => {
                    let _ = writeln!(out, "output: {text}");
                }
            }
        }
        if let Some(from) = &line.merged_from {
            let _ = writeln!(out, "taken from run {from} (HH_RERUN=failed)");
        }
        self.case.clear();
        write_case(
            &mut self.case,
            &Case {
                name: &line.label(),
                classname: &self.classname,
                time_ms: Some(line.duration_ms),
                properties: &properties,
                outcome,
                out: Some(&out),
            },
        );
        self.cases.write(self.case.as_bytes())?;
        self.tests += 1;
        Ok(())
    }

    /// Writes the file, with the checks' suite, to `path`.
    pub(crate) fn write(self, report: &ExperimentReport, path: &Path) -> Result<()> {
        let (checks, [check_tests, check_failures, check_skipped]) = checks(report);
        let time = seconds(report.duration_ms);
        let mut properties = vec![
            ("run_id", report.run_id.clone()),
            ("dataset_id", report.dataset_id.clone()),
        ];
        if let Some(url) = &report.url {
            properties.push(("url", url.clone()));
        }
        if let Some(subset) = &report.subset {
            properties.push(("subset", subset.to_string()));
        }
        if let Some(c) = &report.comparison {
            properties.push(("baseline", c.baseline.named.clone()));
            properties.push(("baseline_run_id", c.baseline.run_id.clone()));
        }
        let mut text = String::with_capacity(checks.len() + 4096);
        let _ = writeln!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"honeyhive\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{time}\">",
            self.tests + check_tests,
            self.failures + check_failures,
            self.errors
        );
        // A suite's start tag and properties; its cases and end tag follow.
        let suite = |text: &mut String,
                     name: &str,
                     counts: [usize; 4],
                     properties: &[(&str, String)]| {
            let [tests, failures, errors, skipped] = counts;
            let _ = write!(
                text,
                "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\"",
                xml(name)
            );
            if let Some(started) = &report.started_at {
                let _ = write!(text, " timestamp=\"{}\"", xml(started));
            }
            text.push_str(">\n");
            if !properties.is_empty() {
                text.push_str("    <properties>\n");
                for (name, value) in properties {
                    let _ = writeln!(
                        text,
                        "      <property name=\"{}\" value=\"{}\"/>",
                        xml(name),
                        xml(value)
                    );
                }
                text.push_str("    </properties>\n");
            }
        };
        suite(
            &mut text,
            &report.name,
            [self.tests, self.failures, self.errors, 0],
            &properties,
        );
        // The datapoints' cases go between this and the rest.
        let head = std::mem::take(&mut text);
        text.push_str("  </testsuite>\n");
        suite(
            &mut text,
            &format!("{} checks", report.name),
            [check_tests, check_failures, 0, check_skipped],
            &[],
        );
        text.push_str(&checks);
        text.push_str("  </testsuite>\n");
        text.push_str("</testsuites>\n");
        let io = |source| Error::LocalStore {
            path: path.to_owned(),
            source,
        };
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path).map_err(io)?);
        out.write_all(head.as_bytes()).map_err(io)?;
        self.cases.copy_to(&mut out)?;
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(io)
    }
}

/// A case per check of the run: thresholds, evaluator allowances, failed datapoints,
/// regression gates (skipped without a baseline), written; and how many there are, failed
/// and skipped.
fn checks(report: &ExperimentReport) -> (String, [usize; 3]) {
    let classname = format!("{} checks", report.name);
    let mut text = String::new();
    let mut counts = [0; 3];
    let mut add = |name: String, outcome: Option<(&'static str, String)>| {
        counts[0] += 1;
        match outcome.as_ref().map(|o| o.0) {
            Some("failure") => counts[1] += 1,
            Some("skipped") => counts[2] += 1,
            _ => {}
        }
        write_case(
            &mut text,
            &Case {
                name: &name,
                classname: &classname,
                time_ms: None,
                properties: &[],
                outcome: outcome
                    .as_ref()
                    .map(|(tag, message)| (*tag, message.as_str(), None)),
                out: None,
            },
        );
    };
    for m in &report.metrics {
        if let Some(t) = &m.threshold {
            let measured = m.mean.map(format_score).unwrap_or_else(|| "-".into());
            let outcome = match m.passed {
                Some(false) => Some(("failure", format!("mean {measured} misses {t}"))),
                _ => None,
            };
            add(
                format!("threshold {} {} {}", m.name, t.comparison, t.value),
                outcome,
            );
        }
        if m.errors > 0 {
            let outcome = (m.errors > report.allow_evaluator_errors).then(|| {
                (
                    "failure",
                    format!(
                        "{} unscored, {} allowed",
                        m.errors, report.allow_evaluator_errors
                    ),
                )
            });
            add(
                format!("evaluator {} scored every datapoint", m.name),
                outcome,
            );
        }
    }
    let outcome = report.run_failed().then(|| {
        (
            "failure",
            format!(
                "{} datapoint(s) failed, {} allowed",
                report.failed_count, report.allow_failures
            ),
        )
    });
    add("failed datapoints within allow_failures".into(), outcome);
    match &report.comparison {
        Some(c) => {
            for v in &c.regressions {
                let outcome = (v.failed && !c.accepting).then(|| ("failure", v.describe()));
                add(v.gate.to_string(), outcome);
            }
        }
        None => {
            for gate in &report.regressions {
                add(
                    gate.to_string(),
                    Some(("skipped", "no baseline: not checked".into())),
                );
            }
        }
    }
    (text, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_xml_cannot_hold_is_replaced_and_times_have_three_decimals() {
        assert_eq!(xml_text("a\u{1b}[0mb\u{0}"), "a\u{FFFD}[0mb\u{FFFD}");
        assert_eq!(xml_text("tab\tnew\nline é 😀"), "tab\tnew\nline é 😀");
        assert_eq!(seconds(1234.5678), "1.235");
        assert_eq!(seconds(-1.0), "0.000");
    }
}
