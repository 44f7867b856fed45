//! The server's views of runs: `GET /v1/runs/{id}/result` and
//! `GET /v1/runs/{new}/compare-with/{old}`, computed from the stored run (its `event_ids`), the
//! session starts (their `metadata.datapoint_id`) and the event updates of those sessions
//! (their `metrics`).
//!
//! The server has no pass criteria configured, so it judges as simply as it can: a datapoint
//! fails when one of its metrics is `false`, and passes otherwise. Scores are numbers and
//! booleans (`true` = 1.0); other metric values are listed but not aggregated. In a
//! comparison, a higher score is an improvement.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::backend::{Failure, bad_request, query_param};

/// How a metric's values are combined into its aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aggregate {
    Average,
    Sum,
    Median,
    Min,
    Max,
}

impl Aggregate {
    /// The `aggregate_function` query parameter (`average` when absent).
    pub(super) fn from_query(query: Option<&str>) -> Result<Aggregate, Failure> {
        let name = query.and_then(|q| query_param(q, "aggregate_function"));
        match name.as_deref() {
            None | Some("average") => Ok(Aggregate::Average),
            Some("sum") => Ok(Aggregate::Sum),
            Some("median") => Ok(Aggregate::Median),
            Some("min") => Ok(Aggregate::Min),
            Some("max") => Ok(Aggregate::Max),
            Some(other) => Err(bad_request(format!(
                "aggregate_function={other:?} is not supported: use average, sum, median, min or max"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Aggregate::Average => "average",
            Aggregate::Sum => "sum",
            Aggregate::Median => "median",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }

    /// The aggregate of `scores`; `None` when there are none.
    fn apply(self, scores: &[f64]) -> Option<f64> {
        if scores.is_empty() {
            return None;
        }
        let mut sorted = scores.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        Some(match self {
            Aggregate::Average => sorted.iter().sum::<f64>() / n as f64,
            Aggregate::Sum => sorted.iter().sum::<f64>(),
            Aggregate::Median if n % 2 == 1 => sorted[n / 2],
            Aggregate::Median => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
            Aggregate::Min => sorted[0],
            Aggregate::Max => sorted[n - 1],
        })
    }
}

/// One session of a run, borrowed from the server's records (a run of thousands of
/// sessions is answered without copying them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Row<'a> {
    /// `metadata.datapoint_id` of its session start, if it had one.
    pub(super) datapoint_id: Option<&'a str>,
    pub(super) session_id: &'a str,
    /// The metrics of its event updates.
    pub(super) metrics: &'a Map<String, Value>,
}

impl<'a> Row<'a> {
    /// The id the row is listed under: its datapoint, else its session.
    fn key(&self) -> &'a str {
        self.datapoint_id.unwrap_or(self.session_id)
    }

    fn passed(&self) -> bool {
        !self
            .metrics
            .values()
            .any(|value| *value == Value::Bool(false))
    }
}

/// A score: a number, or a bool with `true` = 1.0.
fn score(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Every metric name of `rows`, sorted.
fn metric_names<'a>(rows: impl IntoIterator<Item = &'a Row<'a>>) -> BTreeSet<&'a str> {
    rows.into_iter()
        .flat_map(|row| row.metrics.keys().map(String::as_str))
        .collect()
}

/// `metric`'s aggregate over `rows`; `None` (`null`) without scores.
fn aggregate_of(rows: &[Row<'_>], metric: &str, aggregate: Aggregate) -> Option<f64> {
    let scores: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.metrics.get(metric).and_then(score))
        .collect();
    aggregate.apply(&scores)
}

/// `boolean` when every value is a bool, else `numeric`.
fn metric_type<'a>(mut values: impl Iterator<Item = &'a Value>) -> &'static str {
    if values.all(Value::is_boolean) {
        "boolean"
    } else {
        "numeric"
    }
}

/// The body of `GET /v1/runs/{id}/result`, serialised from borrowed rows.
#[derive(Serialize)]
struct RunResultBody<'a> {
    run_id: Option<&'a Value>,
    status: &'a str,
    success: bool,
    passed: Vec<&'a str>,
    failed: Vec<&'a str>,
    metrics: MetricsBody<'a>,
    datapoints: Vec<DatapointBody<'a>>,
}

#[derive(Serialize)]
struct MetricsBody<'a> {
    aggregation_function: &'static str,
    details: Vec<MetricDetail<'a>>,
}

#[derive(Serialize)]
struct MetricDetail<'a> {
    metric_name: &'a str,
    metric_type: &'static str,
    aggregate: Option<f64>,
    values: Vec<&'a Value>,
    datapoints: PassedFailed<'a>,
}

#[derive(Serialize)]
struct PassedFailed<'a> {
    passed: Vec<&'a str>,
    failed: Vec<&'a str>,
}

#[derive(Serialize)]
struct DatapointBody<'a> {
    datapoint_id: Option<&'a str>,
    session_id: &'a str,
    metrics: &'a Map<String, Value>,
    passed: bool,
}

/// The body of `GET /v1/runs/{id}/result`, as JSON text.
pub(super) fn result<'a>(
    run: &'a Map<String, Value>,
    rows: &'a [Row<'a>],
    aggregate: Aggregate,
) -> String {
    let status = run
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("pending");
    let (passed, failed): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|row| row.passed());
    let details = metric_names(rows)
        .into_iter()
        .map(|name| {
            let with: Vec<(&Row, &Value)> = rows
                .iter()
                .filter_map(|row| row.metrics.get(name).map(|value| (row, value)))
                .collect();
            let (metric_passed, metric_failed): (Vec<_>, Vec<_>) = with
                .iter()
                .partition(|(_, value)| **value != Value::Bool(false));
            let ids = |list: Vec<&(&Row<'a>, &'a Value)>| -> Vec<&'a str> {
                list.iter().map(|(row, _)| row.key()).collect()
            };
            MetricDetail {
                metric_name: name,
                metric_type: metric_type(with.iter().map(|(_, value)| *value)),
                aggregate: aggregate_of(rows, name, aggregate),
                values: with.iter().map(|(_, value)| *value).collect(),
                datapoints: PassedFailed {
                    passed: ids(metric_passed),
                    failed: ids(metric_failed),
                },
            }
        })
        .collect();
    let body = RunResultBody {
        run_id: run.get("run_id"),
        status,
        success: status == "completed" && failed.is_empty(),
        passed: passed.iter().map(|r| r.key()).collect(),
        failed: failed.iter().map(|r| r.key()).collect(),
        metrics: MetricsBody {
            aggregation_function: aggregate.name(),
            details,
        },
        datapoints: rows
            .iter()
            .map(|row| DatapointBody {
                datapoint_id: row.datapoint_id,
                session_id: row.session_id,
                metrics: row.metrics,
                passed: row.passed(),
            })
            .collect(),
    };
    serde_json::to_string(&body).expect("a run result serialises")
}

/// The body of `GET /v1/runs/{new}/compare-with/{old}`. Datapoints are matched by
/// datapoint id; sessions without one are in neither run's common set.
/// The metrics of `rows` by datapoint id.
fn by_datapoint<'a>(rows: &[Row<'a>]) -> BTreeMap<&'a str, &'a Map<String, Value>> {
    rows.iter()
        .filter_map(|row| Some((row.datapoint_id?, row.metrics)))
        .collect()
}

pub(super) fn compare(
    (new_run, new_rows): (&Map<String, Value>, &[Row<'_>]),
    (old_run, old_rows): (&Map<String, Value>, &[Row<'_>]),
    aggregate: Aggregate,
) -> Value {
    let old_by_datapoint = by_datapoint(old_rows);
    let mut common: Vec<&str> = Vec::new();
    for row in new_rows {
        if let Some(id) = row.datapoint_id
            && old_by_datapoint.contains_key(id)
            && !common.contains(&id)
        {
            common.push(id);
        }
    }
    let new_by_datapoint = by_datapoint(new_rows);
    let metrics: Vec<Value> = metric_names(new_rows.iter().chain(old_rows))
        .into_iter()
        .map(|name| {
            let (mut improved, mut degraded, mut same) = (Vec::new(), Vec::new(), Vec::new());
            for id in &common {
                let pair = new_by_datapoint[*id]
                    .get(name)
                    .and_then(score)
                    .zip(old_by_datapoint[*id].get(name).and_then(score));
                match pair {
                    Some((new, old)) if new > old => improved.push(*id),
                    Some((new, old)) if new < old => degraded.push(*id),
                    Some(_) => same.push(*id),
                    None => {}
                }
            }
            let values = new_rows
                .iter()
                .chain(old_rows)
                .filter_map(|row| row.metrics.get(name));
            json!({
                "metric_name": name,
                "metric_type": metric_type(values),
                "old_aggregate": aggregate_of(old_rows, name, aggregate),
                "new_aggregate": aggregate_of(new_rows, name, aggregate),
                "found_count": improved.len() + degraded.len() + same.len(),
                "improved_count": improved.len(),
                "degraded_count": degraded.len(),
                "same_count": same.len(),
                "improved": improved,
                "degraded": degraded,
                "same": same,
            })
        })
        .collect();
    json!({
        "metrics": metrics,
        "commonDatapoints": common,
        "old_run": old_run,
        "new_run": new_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates() {
        let scores = [4.0, 1.0, 3.0, 2.0];
        let apply = |aggregate: Aggregate| aggregate.apply(&scores);
        assert_eq!(apply(Aggregate::Average), Some(2.5));
        assert_eq!(apply(Aggregate::Median), Some(2.5));
        assert_eq!(Aggregate::Median.apply(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(apply(Aggregate::Min), Some(1.0));
        assert_eq!(apply(Aggregate::Max), Some(4.0));
        assert_eq!(apply(Aggregate::Sum), Some(10.0));
        assert_eq!(Aggregate::Average.apply(&[]), None);
    }

    #[test]
    fn aggregate_function_from_the_query() {
        assert_eq!(Aggregate::from_query(None), Ok(Aggregate::Average));
        assert_eq!(
            Aggregate::from_query(Some("x=1&aggregate_function=max")),
            Ok(Aggregate::Max)
        );
        assert_eq!(
            Aggregate::from_query(Some("aggregate_function=sum")),
            Ok(Aggregate::Sum)
        );
        let (status, message) = Aggregate::from_query(Some("aggregate_function=mode")).unwrap_err();
        assert_eq!(status, http::StatusCode::BAD_REQUEST);
        assert!(message.contains("\"mode\""), "{message}");
        assert!(
            message.contains("average, sum, median, min or max"),
            "{message}"
        );
    }
}
