//! `report.html`: one self-contained page per run.
//!
//! The page is static HTML written here (metadata, checks, metric charts: it reads without
//! JavaScript) plus the datapoints as JSON in a `<script type="application/json">`
//! element, which a small script of our own (`report.js`, inlined) turns into a paged,
//! filterable, sortable table: only a page of rows is ever in the DOM, so 10,000
//! datapoints open as fast as 10. The view's state (filter, search, sort, page, open row)
//! lives in the URL fragment (`report.html#filter=failed&open=3`), so a view can be linked
//! to, and comes back on reload.
//!
//! Charts are inline SVG drawn here: a histogram per metric, the baseline's outlined over
//! it. Why not a charting library inlined from npm: the page would carry tens of
//! kilobytes of third-party script to audit and update, for bar charts a few lines of Rust
//! draw, and the charts would need JavaScript to appear; SVG from Rust is small, has no
//! dependency, renders with scripts off, and is tested like the rest of the crate.
//!
//! Everything that comes from the user (names, inputs, outputs, errors, explanations) is
//! escaped: in the HTML by [`escape`], in the JSON by escaping `<`, `>`, `&` and the line
//! separators (so no text can close the script element), and the script only ever puts
//! text into the page as text (`textContent`), never as markup.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::ser::SerializeMap as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::rows::Row;
use super::spill::Spill;
use crate::experiment::baseline::Baseline;
use crate::experiment::regression::{Direction, direction_of, format_p};
use crate::experiment::{ExperimentReport, MetricSummary, format_score};
use crate::{Error, Result};

const SCRIPT: &str = include_str!("assets/report.js");
const STYLE: &str = include_str!("assets/report.css");

/// `text` escaped for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON made safe inside a `<script>` element, written to `out`: `<`, `>`, `&` and
/// U+2028/U+2029 as `\u` escapes (valid JSON inside strings, and they occur nowhere else in
/// JSON).
pub(super) fn write_script_safe(json: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    // The runs between the five sequences are written as they are.
    let mut from = 0;
    let mut i = 0;
    while i < json.len() {
        // Bytes, not characters: the five sequences are found without decoding the rest.
        let replacement: Option<(&[u8], usize)> = match json[i] {
            b'<' => Some((b"\\u003c", 1)),
            b'>' => Some((b"\\u003e", 1)),
            b'&' => Some((b"\\u0026", 1)),
            0xE2 if json[i..].starts_with(&[0xE2, 0x80, 0xA8]) => Some((b"\\u2028", 3)),
            0xE2 if json[i..].starts_with(&[0xE2, 0x80, 0xA9]) => Some((b"\\u2029", 3)),
            _ => None,
        };
        match replacement {
            Some((with, len)) => {
                out.write_all(&json[from..i])?;
                out.write_all(with)?;
                i += len;
                from = i;
            }
            None => i += 1,
        }
    }
    out.write_all(&json[from..])
}

/// The page being written: its rows as JSON, and each metric's values for the charts.
pub(crate) struct Page<'r> {
    report: &'r ExperimentReport,
    baseline: Option<&'r Baseline>,
    /// The table's metric columns: the report's metrics.
    columns: Vec<(String, Direction)>,
    column_of: HashMap<String, usize>,
    values: Vec<Vec<f64>>,
    /// The rows as the page holds them (script-safe JSON), until the charts above them are
    /// written.
    rows: Spill,
    /// The row being serialised.
    row: Vec<u8>,
    count: usize,
}

/// A row of the table, as the script reads it (short keys: 10,000 of them).
#[derive(Serialize)]
struct RowJson<'a> {
    /// Dataset position, name in messages, id, repetition.
    i: usize,
    n: String,
    id: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    r: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    inputs: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gt: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<&'a RawValue>,
    /// Scores, labels, explanations, evaluator errors.
    s: Scores<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_object")]
    lb: Vec<(String, &'a str)>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    x: &'a serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_object")]
    ee: Vec<(&'a str, &'a [String])>,
    d: f64,
    f: u8,
    /// The baseline's scores, error and (when there is no diff to show it) output.
    #[serde(skip_serializing_if = "Option::is_none")]
    o: Option<OldJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    df: Option<&'a [(i8, String)]>,
    /// Its session: the key of its span tree.
    #[serde(skip_serializing_if = "str::is_empty")]
    sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mo: Option<&'a crate::model::ModelTotals>,
}

#[derive(Serialize)]
struct OldJson<'a> {
    #[serde(serialize_with = "as_scores")]
    s: Vec<(String, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<&'a Value>,
}

/// Metric values as a JSON object (non-finite ones as `null`).
struct Scores<'a>(&'a [(String, f64)]);

impl Serialize for Scores<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &v.is_finite().then_some(*v))?;
        }
        map.end()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Pairs as a JSON object.
fn as_object<S: Serializer, K: Serialize, V: Serialize>(
    items: &[(K, V)],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_map(items.iter().map(|(k, v)| (k, v)))
}

/// Scores as a JSON object.
fn as_scores<S: Serializer>(
    items: &[(String, f64)],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    Scores(items).serialize(serializer)
}

impl<'r> Page<'r> {
    /// A page of `report` to be written into `dir` (the run's folder).
    pub(crate) fn new(
        report: &'r ExperimentReport,
        baseline: Option<&'r Baseline>,
        dir: &Path,
    ) -> Result<Page<'r>> {
        let thresholds: Vec<_> = report
            .metrics
            .iter()
            .filter_map(|m| m.threshold.clone())
            .collect();
        let columns: Vec<(String, Direction)> = report
            .metrics
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    direction_of(&m.name, &report.regressions, &thresholds),
                )
            })
            .collect();
        let column_of = columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        Ok(Page {
            report,
            baseline,
            values: vec![Vec::new(); columns.len()],
            columns,
            column_of,
            rows: Spill::create(dir, super::REPORT_HTML)?,
            row: Vec::new(),
            count: 0,
        })
    }

    /// Adds a datapoint's row.
    pub(crate) fn row(&mut self, row: &Row<'_>) -> Result<()> {
        let line = &row.line;
        let scores: Vec<(String, f64)> = line.metrics().collect();
        for (name, value) in &scores {
            if let Some(&i) = self.column_of.get(name)
                && value.is_finite()
            {
                self.values[i].push(*value);
            }
        }
        let old = row.old.map(|old| OldJson {
            s: old.metrics().collect(),
            e: old.error.as_deref(),
            out: if row.diff.is_some() {
                None
            } else {
                old.output.as_ref()
            },
        });
        let json = RowJson {
            i: line.index,
            n: line.label(),
            id: &line.datapoint_id,
            r: line.repetition,
            e: line.error.as_deref(),
            inputs: line.inputs,
            gt: line.ground_truth,
            out: line.output,
            s: Scores(&scores),
            lb: line.labels().collect(),
            x: &line.explanations,
            ee: line.evaluator_errors().collect(),
            d: line.duration_ms,
            f: row.flags,
            o: old,
            df: row.diff.as_deref(),
            sid: &line.session_id,
            m: line.merged_from.as_deref(),
            mo: line.model.as_ref(),
        };
        self.row.clear();
        if self.count > 0 {
            self.row.push(b',');
        }
        self.row.push(b'\n');
        let serialised = serde_json::to_writer(&mut self.row, &json);
        serialised.map_err(|source| Error::Serialize {
            what: "a row of the report",
            source,
        })?;
        let row = &self.row;
        self.rows.write_with(|out| write_script_safe(row, out))?;
        self.count += 1;
        Ok(())
    }

    /// Writes the page to `path`, with the run's span trees (a JSON object by session).
    pub(crate) fn write(self, path: &Path, trees: Option<Spill>) -> Result<()> {
        let io = |source| Error::LocalStore {
            path: path.to_owned(),
            source,
        };
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path).map_err(io)?);
        self.render(&mut out, trees, &io)?;
        out.flush().map_err(io)
    }

    /// The page into `out`: everything above the rows, then the rows as they were written,
    /// then the script. `io` names the page in a write's error.
    fn render(
        self,
        out: &mut BufWriter<File>,
        trees: Option<Spill>,
        io: &dyn Fn(std::io::Error) -> Error,
    ) -> Result<()> {
        let r = self.report;
        let verdict = r.check();
        let mut page = String::with_capacity(64 * 1024);
        let _ = write!(
            page,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} · honeyhive report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
            escape(&r.name)
        );
        // Header and verdict.
        let _ = writeln!(
            page,
            "<header><h1>Experiment <code>{}</code></h1><span id=\"verdict\" class=\"verdict {}\">{}</span></header>",
            escape(&r.name),
            if verdict.is_ok() { "pass" } else { "fail" },
            if verdict.is_ok() { "PASS" } else { "FAIL" }
        );
        if let Err(failure) = &verdict {
            page.push_str("<section id=\"reasons\"><h2>Why it failed</h2><ul>");
            for reason in &failure.reasons {
                let _ = write!(page, "<li><pre>{}</pre></li>", escape(reason));
            }
            page.push_str("</ul></section>\n");
        }
        self.metadata(&mut page);
        self.checks(&mut page);
        self.charts(&mut page);
        // The datapoints: controls and table, filled by the script.
        page.push_str(
            "<section id=\"datapoints\"><h2>Datapoints</h2>\n\
             <noscript><p>The datapoint table needs JavaScript; datapoints.jsonl beside this \
             file has every row.</p></noscript>\n\
             <div id=\"controls\"></div>\n<div id=\"table-wrap\"><table id=\"rows\"><thead></thead><tbody></tbody></table></div>\n\
             <nav id=\"pager\"></nav>\n</section>\n",
        );
        // The data, then the script that reads it.
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|(name, direction)| {
                serde_json::json!({
                    "name": name,
                    "lower": *direction == Direction::LowerIsBetter,
                    // Dollars of a call are fractions of a cent.
                    "digits": if name == crate::model::COST_USD { 6 } else { 4 },
                })
            })
            .collect();
        let head = serde_json::to_vec(&serde_json::json!({
            "metrics": columns,
            "baseline": self.baseline.is_some(),
        }))
        .map_err(|source| Error::Serialize {
            what: "the report's data",
            source,
        })?;
        // `{"metrics":..,"spans":{..},"rows":[..]}`: the trees and rows spliced in as they
        // were written.
        page.push_str("<script type=\"application/json\" id=\"hh-data\">");
        out.write_all(page.as_bytes())
            .and_then(|()| write_script_safe(&head[..head.len() - 1], out))
            .map_err(io)?;
        if let Some(trees) = trees {
            out.write_all(b",\"spans\":").map_err(io)?;
            trees.copy_to(out)?;
        }
        out.write_all(b",\"rows\":[").map_err(io)?;
        self.rows.copy_to(out)?;
        out.write_all(b"\n]}</script>\n<script>\n")
            .and_then(|()| out.write_all(SCRIPT.as_bytes()))
            .and_then(|()| out.write_all(b"</script>\n</body>\n</html>\n"))
            .map_err(io)
    }

    fn metadata(&self, page: &mut String) {
        let r = self.report;
        let mut items: Vec<(&str, String)> = Vec::new();
        let run = match &r.url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => format!(
                "<code>{}</code> · <a href=\"{}\">on HoneyHive</a>",
                escape(&r.run_id),
                escape(url)
            ),
            _ => format!("<code>{}</code> (local)", escape(&r.run_id)),
        };
        items.push(("run", run));
        let dataset = match &r.dataset_path {
            Some(path) => format!(
                "<code>{}</code> ({})",
                escape(&path.display().to_string()),
                escape(&r.dataset_id)
            ),
            None => format!("<code>{}</code>", escape(&r.dataset_id)),
        };
        items.push(("dataset", dataset));
        if let Some(started) = &r.started_at {
            items.push(("started", escape(started)));
        }
        items.push(("duration", format!("{:.1} s", r.duration_ms / 1000.0)));
        if let Some(git) = &r.git {
            let first_line = git.commit_message.lines().next().unwrap_or_default();
            items.push((
                "git",
                format!(
                    "<code>{}</code> on {}{} · {}",
                    escape(&git.commit_hash_short),
                    escape(&git.branch),
                    if git.is_dirty {
                        " (uncommitted changes)"
                    } else {
                        ""
                    },
                    escape(first_line)
                ),
            ));
        }
        items.push((
            "datapoints",
            format!(
                "{} ({} failed, {} allowed)",
                r.datapoint_count, r.failed_count, r.allow_failures
            ),
        ));
        if let Some(shard) = &r.shard {
            items.push(("shard", escape(shard)));
        }
        if let Some(subset) = &r.subset {
            items.push((
                "subset",
                format!("<strong>{}</strong>", escape(&subset.to_string())),
            ));
        }
        // Tokens and cost, when the run made model calls: the application's, then the
        // evaluators' (judges), which are not counted in the former.
        if let Some(model) = &r.model {
            items.push((
                "model calls",
                escape(&crate::experiment::model_totals(model)),
            ));
        }
        if let Some(judges) = &r.evaluation_model {
            items.push((
                "evaluators' model calls",
                escape(&format!(
                    "{} (judges: the evaluation cost, not in the above)",
                    crate::experiment::model_totals(judges)
                )),
            ));
        }
        if let Some(c) = &r.comparison {
            let b = &c.baseline;
            let mut text = format!(
                "<code>{}</code>: run <code>{}</code>",
                escape(&b.named),
                escape(&b.run_id)
            );
            if let Some(started) = &b.started_at {
                let _ = write!(text, " of {}", escape(started));
            }
            if let Some(commit) = &b.git_commit {
                let _ = write!(
                    text,
                    ", commit <code>{}</code>",
                    escape(&commit[..commit.len().min(12)])
                );
            }
            let _ = write!(
                text,
                " · {} paired, {} new, {} gone",
                c.paired, c.new, c.gone
            );
            if let Some(url) = b.url.as_deref().filter(|u| u.starts_with("http")) {
                let _ = write!(text, " · <a href=\"{}\">on HoneyHive</a>", escape(url));
            }
            items.push(("baseline", text));
        }
        page.push_str("<section id=\"meta\"><dl>");
        for (key, value) in items {
            let _ = write!(page, "<dt>{key}</dt><dd>{value}</dd>");
        }
        page.push_str("</dl></section>\n");
    }

    fn checks(&self, page: &mut String) {
        let r = self.report;
        page.push_str("<section id=\"checks\"><h2>Checks</h2><table><thead><tr><th>check</th><th>rule</th><th>measured</th><th>verdict</th></tr></thead><tbody>");
        let verdict = |ok: bool| {
            if ok {
                "<td class=\"pass\">pass</td>"
            } else {
                "<td class=\"fail\">FAIL</td>"
            }
        };
        for m in &r.metrics {
            if let Some(t) = &m.threshold {
                let ok = m.passed != Some(false);
                let _ = write!(
                    page,
                    "<tr><td>threshold <code>{}</code></td><td>mean {} {}</td><td>{}{}</td>{}</tr>",
                    escape(&m.name),
                    t.comparison,
                    t.value,
                    m.mean.map(format_score).unwrap_or_else(|| "-".into()),
                    m.pass_rate
                        .map(|p| format!(" (pass rate {:.1}%)", p * 100.0))
                        .unwrap_or_default(),
                    verdict(ok)
                );
            }
            if m.errors > 0 {
                let ok = m.errors <= r.allow_evaluator_errors;
                let _ = write!(
                    page,
                    "<tr><td>evaluator <code>{}</code></td><td>at most {} unscored</td><td>{} unscored</td>{}</tr>",
                    escape(&m.name),
                    r.allow_evaluator_errors,
                    m.errors,
                    verdict(ok)
                );
            }
        }
        let _ = write!(
            page,
            "<tr><td>failed datapoints</td><td>at most {}</td><td>{}</td>{}</tr>",
            r.allow_failures,
            r.failed_count,
            verdict(!r.run_failed())
        );
        match &r.comparison {
            Some(c) => {
                for v in &c.regressions {
                    let measured = match (v.old_mean, v.new_mean, v.change) {
                        (Some(old), Some(new), Some(change)) => format!(
                            "{} → {} ({}{}) over {} paired; 95% interval [{}]; {} worse, {} better; sign test p = {}",
                            format_score(old),
                            format_score(new),
                            if change > 0.0 { "+" } else { "" },
                            format_score(change),
                            v.paired,
                            v.interval
                                .map(|(a, b)| format!("{}, {}", format_score(a), format_score(b)))
                                .unwrap_or_default(),
                            v.worse,
                            v.better,
                            format_p(v.p_value)
                        ),
                        _ => "no datapoint in both runs".into(),
                    };
                    let cell = match (v.failed, c.accepting) {
                        (false, _) => verdict(true).to_owned(),
                        (true, false) => verdict(false).to_owned(),
                        (true, true) => {
                            "<td class=\"fail\">regressed (accepted: baseline updated)</td>"
                                .to_owned()
                        }
                    };
                    let _ = write!(
                        page,
                        "<tr class=\"gate\"><td>regression <code>{}</code></td><td>{}; real when the exact sign test p &lt; 0.05</td><td>{}</td>{}</tr>",
                        escape(&v.gate.metric),
                        escape(&v.gate.to_string()),
                        escape(&measured),
                        cell
                    );
                    if v.failed && !v.worst.is_empty() {
                        page.push_str("<tr class=\"worst\"><td colspan=\"4\"><ul>");
                        for w in &v.worst {
                            let _ = write!(
                                page,
                                "<li><a href=\"#filter=regressed&amp;q={}\">{}</a>: {} → {}</li>",
                                escape(&fragment_value(&w.datapoint_id)),
                                escape(&w.label),
                                format_score(w.old),
                                format_score(w.new)
                            );
                        }
                        page.push_str("</ul></td></tr>");
                    }
                }
            }
            None => {
                for gate in &r.regressions {
                    let _ = write!(
                        page,
                        "<tr class=\"gate\"><td>regression <code>{}</code></td><td>{}</td><td>no baseline: not checked</td><td class=\"muted\">-</td></tr>",
                        escape(&gate.metric),
                        escape(&gate.to_string())
                    );
                }
            }
        }
        page.push_str("</tbody></table></section>\n");
    }

    fn charts(&self, page: &mut String) {
        let r = self.report;
        page.push_str("<section id=\"metrics\"><h2>Metrics</h2>");
        if self.baseline.is_some() {
            page.push_str("<p class=\"legend\"><span class=\"key new\"></span> this run <span class=\"key old\"></span> baseline</p>");
        }
        page.push_str("<div class=\"cards\">");
        let old_values = self.baseline.map(|b| {
            let mut values: HashMap<String, Vec<f64>> = HashMap::new();
            for record in &b.records {
                for (name, value) in record.metrics() {
                    if value.is_finite() {
                        values.entry(name).or_default().push(value);
                    }
                }
            }
            values
        });
        for (i, m) in r.metrics.iter().enumerate() {
            let change = r
                .comparison
                .as_ref()
                .and_then(|c| c.metric(&m.name))
                .map(|c| match (c.change, c.old_mean) {
                    (Some(d), Some(old)) => format!(
                        " <span class=\"delta {}\">{}{} from {}</span>",
                        match crate::experiment::regression::worse(c.direction, old, old + d) {
                            Some(true) => "worse",
                            Some(false) => "better",
                            None => "same",
                        },
                        if d > 0.0 { "+" } else { "" },
                        format_score(d),
                        format_score(old)
                    ),
                    _ => String::new(),
                })
                .unwrap_or_default();
            let _ = write!(
                page,
                "<div class=\"card\" data-metric=\"{}\"><h3>{}</h3><p class=\"mean\">mean {}{}</p>{}",
                escape(&m.name),
                escape(&m.name),
                m.mean
                    .map(|v| figure(&m.name, v))
                    .unwrap_or_else(|| "-".into()),
                change,
                stats(m)
            );
            let old = old_values
                .as_ref()
                .map(|v| v.get(&m.name).map(Vec::as_slice).unwrap_or(&[]));
            if m.labels.is_empty() || !self.values[i].is_empty() {
                page.push_str(&histogram(&self.values[i], old));
            }
            if !m.labels.is_empty() {
                page.push_str("<ul class=\"labels\">");
                for (label, n) in &m.labels {
                    let _ = write!(page, "<li><code>{}</code> {n}</li>", escape(label));
                }
                page.push_str("</ul>");
            }
            page.push_str("</div>");
        }
        page.push_str("</div></section>\n");
    }
}

/// A value of the URL fragment (`key=value&..`): percent-encoded where it must be.
fn fragment_value(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// A value of metric `name` as the page shows it: dollars with 6 decimals, others 4.
fn figure(name: &str, value: f64) -> String {
    if name == crate::model::COST_USD {
        crate::experiment::format_cost(value)
    } else {
        format_score(value)
    }
}

/// A metric's figures under its chart.
fn stats(m: &MetricSummary) -> String {
    let f = |v: Option<f64>| v.map(|v| figure(&m.name, v)).unwrap_or_else(|| "-".into());
    format!(
        "<p class=\"stats\">min {} · p50 {} · p90 {} · max {} · {} scored{}</p>",
        f(m.min),
        f(m.p50),
        f(m.p90),
        f(m.max),
        m.count,
        if m.errors > 0 {
            format!(", {} unscored", m.errors)
        } else {
            String::new()
        }
    )
}

/// A histogram of `new` as inline SVG, with `old` (the baseline's) outlined over it: bars
/// are shares of each run's values, so runs of different sizes compare. 0/1 metrics get
/// one bar each; others 12 bins between the smallest and largest value of either run.
pub(crate) fn histogram(new: &[f64], old: Option<&[f64]>) -> String {
    let all = || new.iter().chain(old.unwrap_or(&[])).copied();
    if all().next().is_none() {
        return "<p class=\"muted\">no values</p>".into();
    }
    let binary = all().all(|v| v == 0.0 || v == 1.0);
    let (low, high) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let bins = if binary {
        2
    } else if low == high {
        1
    } else {
        12
    };
    let bin_of = |v: f64| -> usize {
        if binary {
            usize::from(v == 1.0)
        } else if low == high {
            0
        } else {
            (((v - low) / (high - low) * bins as f64) as usize).min(bins - 1)
        }
    };
    let count = |values: &[f64]| {
        let mut counts = vec![0usize; bins];
        for &v in values {
            counts[bin_of(v)] += 1;
        }
        counts
    };
    let share = |counts: &[usize], total: usize| -> Vec<f64> {
        counts
            .iter()
            .map(|&c| {
                if total == 0 {
                    0.0
                } else {
                    c as f64 / total as f64
                }
            })
            .collect()
    };
    let new_counts = count(new);
    let new_share = share(&new_counts, new.len());
    let old_share = old.map(|old| (count(old), share(&count(old), old.len())));
    let top = new_share
        .iter()
        .chain(old_share.iter().flat_map(|(_, s)| s.iter()))
        .copied()
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let (left, width, base, height) = (8.0, 284.0, 92.0, 80.0);
    let step = width / bins as f64;
    let edge = |i: usize| {
        if binary {
            if i == 0 {
                "0".to_owned()
            } else {
                "1".to_owned()
            }
        } else if low == high {
            format_score(low)
        } else {
            let from = low + (high - low) * i as f64 / bins as f64;
            let to = low + (high - low) * (i + 1) as f64 / bins as f64;
            format!("{} to {}", format_score(from), format_score(to))
        }
    };
    let mut svg = String::from(
        "<svg class=\"histogram\" viewBox=\"0 0 300 112\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    // One bar per bin, its share of the run's values as its height and what it holds as
    // its tooltip.
    let mut bars = |class: &str, shares: &[f64], title: &dyn Fn(usize) -> String| {
        for (i, share) in shares.iter().enumerate() {
            let h = share / top * height;
            let _ = write!(
                svg,
                "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                left + step * i as f64 + 1.0,
                base - h,
                (step - 2.0).max(1.0),
                h,
                escape(&title(i)),
            );
        }
    };
    bars("new", &new_share, &|i| {
        format!(
            "{}: {} of {} datapoint values ({:.0}%)",
            edge(i),
            new_counts[i],
            new.len(),
            new_share[i] * 100.0
        )
    });
    if let Some((counts, shares)) = &old_share {
        bars("old", shares, &|i| {
            format!(
                "baseline, {}: {} ({:.0}%)",
                edge(i),
                counts[i],
                shares[i] * 100.0
            )
        });
    }
    let (first, last) = if binary {
        ("0".to_owned(), "1".to_owned())
    } else {
        (format_score(low), format_score(high))
    };
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" class=\"axis\"/><text x=\"{left}\" y=\"106\">{}</text><text x=\"{}\" y=\"106\" text-anchor=\"end\">{}</text></svg>",
        left + width,
        escape(&first),
        left + width,
        escape(&last)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script_safe(json: &[u8]) -> String {
        let mut out = Vec::new();
        write_script_safe(json, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn user_text_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let json =
            serde_json::to_vec(&serde_json::json!({"out": "</script><b>\u{2028}&"})).unwrap();
        let safe = script_safe(&json);
        assert!(
            !safe.contains('<') && !safe.contains('>') && !safe.contains('&'),
            "{safe}"
        );
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["out"], "</script><b>\u{2028}&");
    }

    #[test]
    fn histograms_bin_binary_and_continuous_values() {
        let binary = histogram(&[1.0, 1.0, 0.0, 1.0], Some(&[1.0, 0.0]));
        assert_eq!(binary.matches("<rect class=\"new\"").count(), 2);
        assert_eq!(binary.matches("<rect class=\"old\"").count(), 2);
        assert!(
            binary.contains("<title>1: 3 of 4 datapoint values (75%)</title>"),
            "{binary}"
        );
        let continuous = histogram(&[0.0, 0.5, 1.2, 3.0], None);
        assert_eq!(continuous.matches("<rect class=\"new\"").count(), 12);
        assert!(!continuous.contains("class=\"old\""));
        assert!(continuous.contains(">3</text>"), "{continuous}");
        assert_eq!(histogram(&[], None), "<p class=\"muted\">no values</p>");
        assert_eq!(histogram(&[2.0, 2.0], None).matches("<rect").count(), 1);
    }

    #[test]
    fn fragment_values_are_percent_encoded() {
        assert_eq!(fragment_value("EXT-a1&b=c d"), "EXT-a1%26b%3Dc%20d");
    }
}
