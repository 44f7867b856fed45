//! What a threshold or a regression gate may name, and the error when it names nothing.
//!
//! A threshold (and a regression gate: both go by this one rule) names a metric exactly as
//! the summary table prints it:
//!
//! * an evaluator's metric, its [`Evaluator::name`](crate::Evaluator::name): an
//!   `#[evaluator]`'s `name = ".."` (else its function's name), a built-in's metric name
//!   (`exact_match`, `contains`, ...) or the one given to its `.named(..)`;
//! * an extra score an evaluator reports with [`Score::extra`](crate::Score::extra),
//!   recorded as `<metric>_<key>`. Which keys come back is known only once scores do, so
//!   before the run only the `<metric>_` part is checked; a threshold on an extra that no
//!   datapoint reports fails after the run (no datapoint has a score).
//!
//! The rule is written in `const fn`s so that one piece of code decides everywhere:
//! `#[experiment]` applies it at compile time to the evaluators whose metric names are
//! known then (`#[evaluator]` functions and built-ins named by path), and the runner
//! applies it to every evaluator before any datapoint runs. Both write the same message.

use std::fmt;
use std::marker::PhantomData;

/// One evaluator of an experiment, as the check sees it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    /// How `evaluators = [..]` writes it (the last segment of its path); empty for an
    /// evaluator value or one added with the builder.
    pub written: &'a str,
    /// Its metric name; `None` when it is not known yet (at compile time, an evaluator
    /// value's or a hand-written evaluator's).
    pub metric: Option<&'a str>,
}

/// The metric name of an evaluator type, known at compile time: implemented by the structs
/// of `#[evaluator]` and by the built-ins a bare path names.
#[doc(hidden)]
pub trait KnownMetric {
    /// The metric's name.
    const METRIC: &'static str;
}

/// The metric name of an evaluator given by path in `#[experiment(evaluators = [..])]`,
/// when its type implements [`KnownMetric`], at compile time and whatever the path names (a
/// struct, a unit struct, an enum variant): `#[experiment]` writes
/// `metric(|| (&Probe::of(&path {})).metric_kind())` with [`ProbeKnown`] and
/// [`ProbeNotKnown`] in scope. Method resolution picks `ProbeKnown` when the type
/// implements `KnownMetric` (it takes the probe by value) and `ProbeNotKnown` otherwise (by
/// reference), and the closure is never called: only its return type is read. The path is
/// resolved as the experiment's own `path {}` is, so a wrong path is one error, not two.
#[doc(hidden)]
pub const fn metric<K: MetricOf>(_: fn() -> K) -> Option<&'static str> {
    K::METRIC
}

/// See [`metric`].
#[doc(hidden)]
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// A probe of `evaluator`'s type.
    pub fn of(evaluator: &T) -> Probe<T> {
        let _ = evaluator;
        Probe(PhantomData)
    }
}

/// See [`metric`].
#[doc(hidden)]
pub trait ProbeKnown<T> {
    /// The metric of `T`: known.
    fn metric_kind(&self) -> Known<T>;
}

impl<T: KnownMetric> ProbeKnown<T> for Probe<T> {
    fn metric_kind(&self) -> Known<T> {
        Known(PhantomData)
    }
}

/// See [`metric`].
#[doc(hidden)]
pub trait ProbeNotKnown {
    /// The metric of any other type: known only at run time.
    fn metric_kind(&self) -> NotKnown;
}

impl<T> ProbeNotKnown for &Probe<T> {
    fn metric_kind(&self) -> NotKnown {
        NotKnown
    }
}

/// The metric of `T`, which implements [`KnownMetric`].
#[doc(hidden)]
pub struct Known<T>(PhantomData<T>);

/// A metric known only at run time.
#[doc(hidden)]
pub struct NotKnown;

/// What [`metric`] reads off the probe's answer.
#[doc(hidden)]
pub trait MetricOf {
    /// The metric's name, if known at compile time.
    const METRIC: Option<&'static str>;
}

impl<T: KnownMetric> MetricOf for Known<T> {
    const METRIC: Option<&'static str> = Some(T::METRIC);
}

impl MetricOf for NotKnown {
    const METRIC: Option<&'static str> = None;
}

/// What a threshold's name refers to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// The metric of the evaluator at this index.
    Metric(usize),
    /// An extra score (`<metric>_<key>`) of the evaluator at this index: the longest
    /// metric name it starts with.
    Extra(usize),
    /// A metric the run computes from its model calls (`cost_usd`, ...).
    Model,
    /// No known metric, but some evaluator's metric is not known yet.
    Undecided,
    /// No metric of the experiment.
    Nothing,
}

/// What the threshold on `name` refers to among `evaluators`' metrics.
#[doc(hidden)]
pub const fn named(evaluators: &[Listed<'_>], name: &str) -> Named {
    let mut m = 0;
    while m < super::statistics::MODEL_METRICS.len() {
        if bytes_eq(
            super::statistics::MODEL_METRICS[m].as_bytes(),
            name.as_bytes(),
        ) {
            return Named::Model;
        }
        m += 1;
    }
    let mut extra: Option<(usize, usize)> = None;
    let mut undecided = false;
    let mut i = 0;
    while i < evaluators.len() {
        match evaluators[i].metric {
            Some(metric) if bytes_eq(metric.as_bytes(), name.as_bytes()) => {
                return Named::Metric(i);
            }
            Some(metric) => {
                let (name, metric) = (name.as_bytes(), metric.as_bytes());
                let longer = match extra {
                    Some((_, len)) => metric.len() > len,
                    None => true,
                };
                if longer
                    && name.len() > metric.len() + 1
                    && name[metric.len()] == b'_'
                    && starts_with(name, metric)
                {
                    extra = Some((i, metric.len()));
                }
            }
            None => undecided = true,
        }
        i += 1;
    }
    match extra {
        Some((i, _)) => Named::Extra(i),
        None if undecided => Named::Undecided,
        None => Named::Nothing,
    }
}

/// The length of the error for a `what` (`threshold`, `regression`) on `name` written
/// `name <bound>` (e.g. `>= 0.9`; empty for a regression gate), or 0 when it names a
/// metric or cannot be decided yet.
#[doc(hidden)]
pub const fn metric_error_len(
    what: &str,
    evaluators: &[Listed<'_>],
    name: &str,
    bound: &str,
) -> usize {
    let mut text = Text {
        buf: &mut [],
        len: 0,
    };
    write_error(&mut text, what, evaluators, name, bound);
    text.len
}

/// The error for a `what` on `name`, `N` bytes of UTF-8 (`N` from [`metric_error_len`]).
#[doc(hidden)]
pub const fn metric_error<const N: usize>(
    what: &str,
    evaluators: &[Listed<'_>],
    name: &str,
    bound: &str,
) -> [u8; N] {
    let mut buf = [0u8; N];
    let mut text = Text {
        buf: &mut buf,
        len: 0,
    };
    write_error(&mut text, what, evaluators, name, bound);
    buf
}

/// The text of [`metric_error`] (whole UTF-8 strings joined, so always valid).
#[doc(hidden)]
pub const fn utf8(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => "",
    }
}

/// The error of a threshold (or regression gate) that names no metric, found before any
/// datapoint ran: what the runner returns for `Experiment::threshold("..", ..)`,
/// `Experiment::regression(..)` and for `#[experiment]` ones that could not be checked at
/// compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetric {
    /// What named it: `threshold` or `regression`.
    pub what: &'static str,
    /// The name the threshold (or gate) gave.
    pub metric: String,
    /// The metrics of the experiment's evaluators, in their order.
    pub metrics: Vec<String>,
}

impl UnknownMetric {
    /// The error of the first of `names` (each a `what`: `threshold`, `regression`) that
    /// names no metric of `metrics`, if any.
    pub(crate) fn check<'a>(
        what: &'static str,
        names: impl IntoIterator<Item = &'a str>,
        metrics: &[String],
    ) -> Result<(), UnknownMetric> {
        let listed: Vec<Listed<'_>> = metrics
            .iter()
            .map(|metric| Listed {
                written: "",
                metric: Some(metric),
            })
            .collect();
        for name in names {
            if let Named::Nothing = named(&listed, name) {
                return Err(UnknownMetric {
                    what,
                    metric: name.to_owned(),
                    metrics: metrics.to_vec(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed: Vec<Listed<'_>> = self
            .metrics
            .iter()
            .map(|metric| Listed {
                written: "",
                metric: Some(metric),
            })
            .collect();
        let len = metric_error_len(self.what, &listed, &self.metric, "");
        let mut buf = vec![0u8; len];
        write_error(
            &mut Text {
                buf: &mut buf,
                len: 0,
            },
            self.what,
            &listed,
            &self.metric,
            "",
        );
        f.write_str(utf8(&buf))
    }
}

impl std::error::Error for UnknownMetric {}

/// Text written into a buffer, or only measured when the buffer is too short.
struct Text<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Text<'_> {
    const fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if self.len < self.buf.len() {
                self.buf[self.len] = bytes[i];
            }
            self.len += 1;
            i += 1;
        }
    }

    /// `name` as a threshold writes it: bare when it is an identifier, else quoted.
    const fn push_as_written(&mut self, name: &str) {
        if is_identifier(name.as_bytes()) {
            self.push(name);
        } else {
            self.push("\"");
            self.push(name);
            self.push("\"");
        }
    }
}

/// What a threshold or regression gate may name, as the errors say it (after "a
/// threshold").
const RULE: &str = " names a metric as the summary table prints it: an \
                    `#[evaluator]`'s `name` (else its function's name), a built-in's metric \
                    name such as `exact_match`, `<metric>_<key>` for an extra score an \
                    evaluator reports with `Score::extra`, or a metric of the run's model \
                    calls: `cost_usd`, `input_tokens`, `output_tokens`, `model_latency_ms`";

/// Writes the error for a `what` (`threshold`, `regression`) on `name` (nothing when it
/// names a metric or cannot be decided yet).
const fn write_error(
    text: &mut Text<'_>,
    what: &str,
    evaluators: &[Listed<'_>],
    name: &str,
    bound: &str,
) {
    if !matches!(named(evaluators, name), Named::Nothing) {
        return;
    }
    text.push(what);
    text.push(" `");
    text.push(name);
    if evaluators.is_empty() {
        text.push("` names no metric: this experiment has no evaluators; add the evaluator that records `");
        text.push(name);
        text.push("` to `evaluators = [..]`");
        return;
    }
    // The evaluator named instead of its metric (`judge` for `name = "relevance"`,
    // `ExactMatch` for `exact_match`).
    let mut i = 0;
    while i < evaluators.len() {
        if let Some(metric) = evaluators[i].metric
            && bytes_eq(evaluators[i].written.as_bytes(), name.as_bytes())
        {
            text.push("` names the evaluator `");
            text.push(name);
            text.push("`, whose metric is `");
            text.push(metric);
            text.push("`: a ");
            text.push(what);
            text.push(" names the metric, as the summary table prints it; write `");
            text.push_as_written(metric);
            if !bound.is_empty() {
                text.push(" ");
                text.push(bound);
            }
            text.push("`");
            return;
        }
        i += 1;
    }
    text.push("` names no metric of this experiment");
    if let Some(metric) = closest(evaluators, name) {
        text.push(" (did you mean `");
        text.push(metric);
        text.push("`?)");
    }
    text.push("; its metrics: ");
    let mut i = 0;
    let mut first = true;
    while i < evaluators.len() {
        if let Some(metric) = evaluators[i].metric {
            if !first {
                text.push(", ");
            }
            first = false;
            text.push("`");
            text.push(metric);
            text.push("`");
        }
        i += 1;
    }
    text.push("; a ");
    text.push(what);
    text.push(RULE);
}

/// The longest name compared for a "did you mean" (longer ones get no suggestion).
const MAX_COMPARED: usize = 64;

/// The known metric closest to `name` when `name` is plausibly a typo of it (compared
/// without case and without `_`, so `ExactMatch` suggests `exact_match`).
const fn closest<'a>(evaluators: &[Listed<'a>], name: &str) -> Option<&'a str> {
    let mut best: Option<(&'a str, usize)> = None;
    let mut i = 0;
    while i < evaluators.len() {
        if let Some(metric) = evaluators[i].metric
            && let Some(distance) = distance(name.as_bytes(), metric.as_bytes())
        {
            let close = distance <= 2 || distance <= metric.len() / 3;
            let better = match best {
                Some((_, d)) => distance < d,
                None => true,
            };
            if close && better {
                best = Some((metric, distance));
            }
        }
        i += 1;
    }
    match best {
        Some((metric, _)) => Some(metric),
        None => None,
    }
}

/// The edit distance of `a` and `b`, ignoring ASCII case and `_`; `None` for names
/// longer than [`MAX_COMPARED`].
const fn distance(a: &[u8], b: &[u8]) -> Option<usize> {
    let (a, a_len) = folded(a);
    let (b, b_len) = folded(b);
    if a_len > MAX_COMPARED || b_len > MAX_COMPARED {
        return None;
    }
    let mut row = [0usize; MAX_COMPARED + 1];
    let mut j = 0;
    while j <= b_len {
        row[j] = j;
        j += 1;
    }
    let mut i = 0;
    while i < a_len {
        let mut diagonal = row[0];
        row[0] = i + 1;
        let mut j = 0;
        while j < b_len {
            let substitution = diagonal + if a[i] == b[j] { 0 } else { 1 };
            diagonal = row[j + 1];
            let deletion = row[j + 1] + 1;
            let insertion = row[j] + 1;
            row[j + 1] = min(substitution, min(deletion, insertion));
            j += 1;
        }
        i += 1;
    }
    Some(row[b_len])
}

/// The bytes of `name` in lower case without `_`, and how many there are (names longer
/// than [`MAX_COMPARED`] are cut there and reported longer).
const fn folded(name: &[u8]) -> ([u8; MAX_COMPARED], usize) {
    let mut out = [0u8; MAX_COMPARED];
    let mut len = 0;
    let mut i = 0;
    while i < name.len() {
        if name[i] != b'_' {
            if len < MAX_COMPARED {
                out[len] = name[i].to_ascii_lowercase();
            }
            len += 1;
        }
        i += 1;
    }
    (out, len)
}

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

/// Whether `text` starts with `prefix`.
const fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    if prefix.len() > text.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if text[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `name` can be written bare in `threshold(..)`: an ASCII identifier.
const fn is_identifier(name: &[u8]) -> bool {
    if name.is_empty() || name[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if !(name[i].is_ascii_alphanumeric() || name[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn known(metric: &str) -> Listed<'_> {
        Listed {
            written: "",
            metric: Some(metric),
        }
    }

    fn error(evaluators: &[Listed<'_>], name: &str, bound: &str) -> String {
        error_of("threshold", evaluators, name, bound)
    }

    fn error_of(what: &str, evaluators: &[Listed<'_>], name: &str, bound: &str) -> String {
        let mut buf = vec![0u8; metric_error_len(what, evaluators, name, bound)];
        write_error(
            &mut Text {
                buf: &mut buf,
                len: 0,
            },
            what,
            evaluators,
            name,
            bound,
        );
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn the_model_metrics_are_always_named_even_without_evaluators() {
        for metric in super::super::statistics::MODEL_METRICS {
            assert_eq!(named(&[], metric), Named::Model);
            assert_eq!(named(&[known("judge")], metric), Named::Model);
            assert_eq!(error(&[], metric, "<= 1"), "");
        }
        assert_eq!(named(&[], "cost"), Named::Nothing);
    }

    #[test]
    fn a_threshold_names_a_metric_or_an_extra_of_one() {
        let evaluators = [
            known("judge"),
            known("judge_strict"),
            Listed {
                written: "exact",
                metric: Some("exact_match"),
            },
        ];
        assert_eq!(named(&evaluators, "judge"), Named::Metric(0));
        assert_eq!(named(&evaluators, "judge_strict"), Named::Metric(1));
        assert_eq!(named(&evaluators, "exact_match"), Named::Metric(2));
        // The longest metric the extra's name starts with.
        assert_eq!(named(&evaluators, "judge_tokens"), Named::Extra(0));
        assert_eq!(named(&evaluators, "judge_strict_tokens"), Named::Extra(1));
        // `<metric>_` alone names no key; the evaluator's name is not its metric.
        assert_eq!(named(&evaluators, "judge_"), Named::Nothing);
        assert_eq!(named(&evaluators, "exact"), Named::Nothing);
        assert_eq!(named(&evaluators, "judgement"), Named::Nothing);
        assert_eq!(named(&[], "judge"), Named::Nothing);
        // A metric not known yet (an evaluator value at compile time) leaves it open.
        let open = [
            known("judge"),
            Listed {
                written: "",
                metric: None,
            },
        ];
        assert_eq!(named(&open, "contains"), Named::Undecided);
        assert_eq!(named(&open, "judge"), Named::Metric(0));
        assert_eq!(metric_error_len("threshold", &open, "contains", ">= 1"), 0);
    }

    #[test]
    fn the_error_lists_the_metrics_and_says_what_to_write() {
        let evaluators = [
            Listed {
                written: "judge",
                metric: Some("relevance"),
            },
            Listed {
                written: "ExactMatch",
                metric: Some("exact_match"),
            },
            Listed {
                written: "length",
                metric: Some("answer length"),
            },
        ];
        assert_eq!(
            error(&evaluators, "judge", "> 0.1"),
            String::from(
                "threshold `judge` names the evaluator `judge`, whose metric is `relevance`: a \
                 threshold names the metric, as the summary table prints it; write \
                 `relevance > 0.1`"
            )
        );
        assert!(
            error(&evaluators, "length", "<= 20").ends_with("; write `\"answer length\" <= 20`")
        );
        assert_eq!(
            error(&evaluators, "exact_mach", ">= 0.9"),
            format!(
                "threshold `exact_mach` names no metric of this experiment (did you mean \
                 `exact_match`?); its metrics: `relevance`, `exact_match`, `answer length`; \
                 a threshold{RULE}"
            )
        );
        // A regression gate goes by the same rule, and its error says so.
        assert_eq!(
            error_of("regression", &evaluators, "exact_mach", ""),
            format!(
                "regression `exact_mach` names no metric of this experiment (did you mean \
                 `exact_match`?); its metrics: `relevance`, `exact_match`, `answer length`; \
                 a regression{RULE}"
            )
        );
        assert!(error_of("regression", &evaluators, "judge", "").ends_with(
            "a regression names the metric, as the summary table prints it; write `relevance`"
        ));
        // Compared without case and `_`: a type name suggests the metric.
        assert!(error(&evaluators[2..], "ExactMatch", "").contains("its metrics"));
        assert!(
            error(&[known("exact_match")], "ExactMatch", "")
                .contains("(did you mean `exact_match`?)")
        );
        assert!(!error(&evaluators, "latency", "").contains("did you mean"));
        assert_eq!(
            error(&[], "judge", ">= 1"),
            "threshold `judge` names no metric: this experiment has no evaluators; add the \
             evaluator that records `judge` to `evaluators = [..]`"
        );
        assert_eq!(error(&evaluators, "relevance", ">= 1"), "");
    }

    #[test]
    fn the_const_error_is_the_runtime_error() {
        const EVALUATORS: &[Listed<'static>] = &[known("relevance"), known("exact_match")];
        const LEN: usize = metric_error_len("threshold", EVALUATORS, "relevence", ">= 1");
        const TEXT: [u8; LEN] = metric_error::<LEN>("threshold", EVALUATORS, "relevence", ">= 1");
        let runtime = UnknownMetric::check(
            "threshold",
            ["relevance", "exact_match_tokens", "relevence"],
            &["relevance".to_owned(), "exact_match".to_owned()],
        )
        .unwrap_err();
        assert_eq!(runtime.metric, "relevence");
        assert_eq!(utf8(&TEXT), runtime.to_string());
        assert!(runtime.to_string().contains("(did you mean `relevance`?)"));
    }

    #[test]
    fn distances_ignore_case_and_underscores() {
        assert_eq!(distance(b"kitten", b"sitting"), Some(3));
        assert_eq!(distance(b"ExactMatch", b"exact_match"), Some(0));
        assert_eq!(distance(&[b'a'; 65], b"a"), None);
        assert!(is_identifier(b"r2_d2") && !is_identifier(b"2d") && !is_identifier(b"a-b"));
    }
}
