//! Parsing of `#[experiment(...)]` options. Every error points at the user's token and
//! says what is accepted.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{Expr, Ident, LitStr, Path, Token, Type};

use crate::options::{
    OptionTable, check_choice, crate_path, int_value, parenthesized, string_value, timeout_value,
};

/// Every option, as written in error messages.
const OPTIONS: OptionTable = OptionTable {
    macro_name: "experiment",
    options: &[
        ("dataset", "dataset = \"tests/data/qa.jsonl\""),
        ("dataset_id", "dataset_id = \"<hosted dataset id>\""),
        ("evaluators", "evaluators = [exact_match, ...]"),
        ("threshold", "threshold(exact_match >= 0.9, ...)"),
        (
            "regression",
            "regression(exact_match, max_drop = 0.05, ...)",
        ),
        (
            "baseline",
            "baseline = \"evals/baselines/qa.json\" | \"last\"",
        ),
        ("name", "name = \"...\""),
        ("max_concurrency", "max_concurrency = 8"),
        ("repetitions", "repetitions = 3"),
        ("timeout", "timeout = \"30s\""),
        (
            "aggregate",
            "aggregate = \"average\" | \"sum\" | \"min\" | \"max\"",
        ),
        ("allow_failures", "allow_failures = 1"),
        ("allow_evaluator_errors", "allow_evaluator_errors = 1"),
        ("ground_truth", "ground_truth = Type"),
        ("crate", "crate = path"),
    ],
    aliases: &[],
};

/// How HoneyHive may aggregate a metric over a run (the runtime's `AggregateFunction`).
pub(crate) const AGGREGATE_FUNCTIONS: &[&str] = &["average", "sum", "min", "max"];

/// Other words for them: `(word, aggregate function)`.
const AGGREGATE_FUNCTION_ALIASES: &[(&str, &str)] = &[
    ("mean", "average"),
    ("avg", "average"),
    ("total", "sum"),
    ("minimum", "min"),
    ("maximum", "max"),
];

/// The options of one `#[experiment]`.
#[derive(Default)]
pub(crate) struct ExperimentArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) dataset: Option<LitStr>,
    pub(crate) dataset_id: Option<LitStr>,
    pub(crate) evaluators: Vec<EvaluatorEntry>,
    pub(crate) thresholds: Vec<ThresholdEntry>,
    pub(crate) regressions: Vec<RegressionEntry>,
    pub(crate) baseline: Option<LitStr>,
    pub(crate) max_concurrency: Option<u64>,
    pub(crate) repetitions: Option<u64>,
    pub(crate) timeout_ms: Option<u64>,
    /// `aggregate = "..."`: one of [`AGGREGATE_FUNCTIONS`].
    pub(crate) aggregate: Option<LitStr>,
    pub(crate) allow_failures: Option<u64>,
    pub(crate) allow_evaluator_errors: Option<u64>,
    pub(crate) ground_truth: Option<Type>,
    pub(crate) krate: Option<Path>,
}

/// One entry of `evaluators = [..]`.
pub(crate) enum EvaluatorEntry {
    /// An `#[evaluator]` fn or a unit-struct built-in, by path: its value is `path {}` and
    /// its metric name is known at compile time when its type implements `KnownMetric`.
    Path(Path),
    /// Any other expression: an evaluator value (e.g. `Contains::new("Paris")`).
    Value(Expr),
}

impl From<Expr> for EvaluatorEntry {
    fn from(expr: Expr) -> Self {
        match expr {
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => {
                EvaluatorEntry::Path(p.path)
            }
            other => EvaluatorEntry::Value(other),
        }
    }
}

impl EvaluatorEntry {
    /// The last segment of its path: how the user refers to it.
    pub(crate) fn ident(&self) -> Option<&Ident> {
        match self {
            EvaluatorEntry::Path(p) => p.segments.last().map(|s| &s.ident),
            EvaluatorEntry::Value(_) => None,
        }
    }
}

/// The comparison of a threshold, named as the runtime's `Comparison` variants are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    /// `>=`
    AtLeast,
    /// `>`
    Above,
    /// `<=`
    AtMost,
    /// `<`
    Below,
}

impl Operator {
    /// As written in a threshold.
    fn symbol(self) -> &'static str {
        match self {
            Operator::AtLeast => ">=",
            Operator::Above => ">",
            Operator::AtMost => "<=",
            Operator::Below => "<",
        }
    }
}

/// One `metric >= value` of `threshold(..)`.
pub(crate) struct ThresholdEntry {
    /// The metric's name, as the summary table prints it (`r#` removed from an
    /// identifier; a string literal for a name that is not one).
    pub(crate) metric: String,
    /// Where the user wrote it: errors about the metric point there.
    pub(crate) span: Span,
    pub(crate) operator: Operator,
    pub(crate) value: f64,
    /// `>= 0.9` as written, for messages that show the threshold.
    pub(crate) bound: String,
}

impl Parse for ThresholdEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let example = "threshold(exact_match >= 0.9)";
        let (metric, span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            let ident = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected `<metric> <op> <number>`, e.g. `{example}` (a metric whose \
                         name is not an identifier is quoted: `\"answer length\" <= 50`)"
                    ),
                )
            })?;
            (ident.unraw().to_string(), ident.span())
        };
        let operator = if input.peek(Token![>=]) {
            input.parse::<Token![>=]>()?;
            Operator::AtLeast
        } else if input.peek(Token![<=]) {
            input.parse::<Token![<=]>()?;
            Operator::AtMost
        } else if input.peek(Token![>]) {
            input.parse::<Token![>]>()?;
            Operator::Above
        } else if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            Operator::Below
        } else {
            let span = if input.is_empty() {
                span
            } else {
                input.cursor().span()
            };
            return Err(syn::Error::new(
                span,
                format!(
                    "a threshold compares the metric's mean with `>=`, `>`, `<=` or `<`, e.g. `{example}`"
                ),
            ));
        };
        let negative = input.peek(Token![-]);
        if negative {
            input.parse::<Token![-]>()?;
        }
        let number_error = |span| {
            syn::Error::new(
                span,
                format!("a threshold's bound is a number literal, e.g. `{example}`"),
            )
        };
        let (value, written) = if input.peek(syn::LitFloat) {
            let lit: syn::LitFloat = input.parse()?;
            let value = lit
                .base10_parse::<f64>()
                .map_err(|_| number_error(lit.span()))?;
            (value, lit.to_string())
        } else if input.peek(syn::LitInt) {
            let lit: syn::LitInt = input.parse()?;
            let value = lit
                .base10_parse::<f64>()
                .map_err(|_| number_error(lit.span()))?;
            (value, lit.to_string())
        } else {
            let span = if input.is_empty() {
                span
            } else {
                input.cursor().span()
            };
            return Err(number_error(span));
        };
        let sign = if negative { "-" } else { "" };
        Ok(ThresholdEntry {
            metric,
            span,
            operator,
            value: if negative { -value } else { value },
            bound: format!("{} {sign}{written}", operator.symbol()),
        })
    }
}

/// Which way a regression gate's metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Worse {
    /// `max_drop`: higher is better.
    Drop,
    /// `max_rise`: lower is better.
    Rise,
}

/// One metric of `regression(..)`, with the tolerance written after it.
pub(crate) struct RegressionEntry {
    /// The metric's name, as the summary table prints it.
    pub(crate) metric: String,
    /// Where the user wrote it.
    pub(crate) span: Span,
    pub(crate) worse: Worse,
    pub(crate) tolerance: f64,
}

/// Parses the inside of `regression(..)`: metrics, each group followed by the tolerance
/// that applies to it (`regression(correct, judge, max_drop = 0.05, latency_ms, max_rise =
/// 50)`); a metric with none after it has `max_drop = 0`.
fn parse_regressions(
    input: ParseStream<'_>,
    option: &Ident,
    errors: &mut crate::options::Errors,
) -> syn::Result<Vec<RegressionEntry>> {
    let example = "regression(exact_match, max_drop = 0.05)";
    let list = parenthesized(input, option, example)?;
    let mut entries: Vec<RegressionEntry> = Vec::new();
    // Entries since the last tolerance: the next tolerance applies to them.
    let mut pending = 0;
    while !list.is_empty() {
        let is_setting =
            list.peek(Ident::peek_any) && list.peek2(Token![=]) && !list.peek2(Token![==]);
        if is_setting {
            let key = list.call(Ident::parse_any)?;
            list.parse::<Token![=]>()?;
            let worse = match key.to_string().as_str() {
                "max_drop" => Some(Worse::Drop),
                "max_rise" => Some(Worse::Rise),
                _ => None,
            };
            let negative = list.peek(Token![-]);
            if negative {
                list.parse::<Token![-]>()?;
            }
            let number = |span| {
                syn::Error::new(
                    span,
                    format!("a regression's tolerance is a number literal, e.g. `{example}`"),
                )
            };
            let value = if list.peek(syn::LitFloat) {
                let lit: syn::LitFloat = list.parse()?;
                lit.base10_parse::<f64>().map_err(|_| number(lit.span()))?
            } else if list.peek(syn::LitInt) {
                let lit: syn::LitInt = list.parse()?;
                lit.base10_parse::<f64>().map_err(|_| number(lit.span()))?
            } else {
                return Err(number(if list.is_empty() {
                    key.span()
                } else {
                    list.cursor().span()
                }));
            };
            match worse {
                None => errors.push(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown regression setting `{key}`: `max_drop = 0.05` (the metric's \
                         mean may fall by that much; higher is better) or `max_rise = 0.05` \
                         (it may rise by that much; lower is better)"
                    ),
                )),
                Some(_) if negative => errors.push(syn::Error::new(
                    key.span(),
                    format!("`{key}` cannot be negative: it is how much worse the mean may get"),
                )),
                Some(_) if pending == 0 => errors.push(syn::Error::new(
                    key.span(),
                    format!(
                        "`{key}` applies to the metrics written before it, and there are none: \
                         write `{example}`"
                    ),
                )),
                Some(worse) => {
                    let start = entries.len() - pending;
                    for entry in &mut entries[start..] {
                        entry.worse = worse;
                        entry.tolerance = value;
                    }
                }
            }
            pending = 0;
        } else {
            let (metric, span) = if list.peek(LitStr) {
                let lit: LitStr = list.parse()?;
                (lit.value(), lit.span())
            } else {
                let ident = list.call(Ident::parse_any).map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        format!(
                            "expected a metric or `max_drop = <number>`, e.g. `{example}` (a \
                             metric whose name is not an identifier is quoted)"
                        ),
                    )
                })?;
                (ident.unraw().to_string(), ident.span())
            };
            entries.push(RegressionEntry {
                metric,
                span,
                worse: Worse::Drop,
                tolerance: 0.0,
            });
            pending += 1;
        }
        if list.is_empty() {
            break;
        }
        list.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `,` between entries of `{example}`"),
            )
        })?;
    }
    if entries.is_empty() {
        errors.push(syn::Error::new(
            option.span(),
            format!("`regression()` is empty: name the metrics it guards, e.g. `{example}`"),
        ));
    }
    Ok(entries)
}

impl Parse for ExperimentArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = ExperimentArgs::default();
        let mut errors = OPTIONS.parse_options(input, |option, key, input, errors| {
            match key {
                "name" => {
                    let lit = string_value(input, option, "name = \"qa\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "the experiment name cannot be empty",
                        ));
                    }
                    args.name.get_or_insert(lit);
                }
                "dataset" => {
                    let lit = string_value(input, option, "dataset = \"tests/data/qa.jsonl\"")?;
                    let value = lit.value().to_ascii_lowercase();
                    if ![".json", ".jsonl", ".csv"]
                        .iter()
                        .any(|ext| value.ends_with(ext))
                    {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "a dataset file is `.json` (an array of datapoints), `.jsonl` (one \
                             datapoint per line) or `.csv` (inputs.<field>, ground_truth.<field> \
                             columns)",
                        ));
                    }
                    args.dataset.get_or_insert(lit);
                }
                "dataset_id" => {
                    let lit = string_value(input, option, "dataset_id = \"663a1f2e\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "the dataset id cannot be empty",
                        ));
                    }
                    args.dataset_id.get_or_insert(lit);
                }
                "evaluators" => {
                    let expected = |span| {
                        syn::Error::new(
                            span,
                            "`evaluators` takes a list in brackets, e.g. `evaluators = [exact_match, length]`",
                        )
                    };
                    if !input.peek(Token![=]) {
                        return Err(expected(option.span()));
                    }
                    input.parse::<Token![=]>()?;
                    let list: syn::ExprArray = input.parse().map_err(|e| expected(e.span()))?;
                    for expr in list.elems {
                        let entry = EvaluatorEntry::from(expr);
                        if let Some(ident) = entry.ident()
                            && args
                                .evaluators
                                .iter()
                                .any(|e| e.ident().is_some_and(|i| i == ident))
                        {
                            errors.push(syn::Error::new(
                                ident.span(),
                                format!("evaluator `{ident}` is listed twice"),
                            ));
                            continue;
                        }
                        args.evaluators.push(entry);
                    }
                }
                "threshold" => {
                    let list = parenthesized(input, option, "threshold(exact_match >= 0.9)")?;
                    let entries = list.parse_terminated(ThresholdEntry::parse, Token![,])?;
                    if entries.is_empty() {
                        errors.push(syn::Error::new(
                            option.span(),
                            "`threshold()` is empty: give bounds, e.g. `threshold(exact_match >= 0.9)`",
                        ));
                    }
                    for entry in entries {
                        if args.thresholds.iter().any(|t| t.metric == entry.metric) {
                            errors.push(syn::Error::new(
                                entry.span,
                                format!("`{}` has two thresholds: give one", entry.metric),
                            ));
                        } else {
                            args.thresholds.push(entry);
                        }
                    }
                }
                "regression" => {
                    for entry in parse_regressions(input, option, errors)? {
                        if args.regressions.iter().any(|r| r.metric == entry.metric) {
                            errors.push(syn::Error::new(
                                entry.span,
                                format!("`{}` has two regression gates: give one", entry.metric),
                            ));
                        } else {
                            args.regressions.push(entry);
                        }
                    }
                }
                "baseline" => {
                    let lit = string_value(
                        input,
                        option,
                        "baseline = \"evals/baselines/qa.json\"",
                    )?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "the baseline cannot be empty: a path (`evals/baselines/qa.json`), \
                             `last`, or a run id",
                        ));
                    }
                    args.baseline.get_or_insert(lit);
                }
                "max_concurrency" | "repetitions" | "allow_failures" | "allow_evaluator_errors" => {
                    // The bounds of the builder's parameter types (`usize` at its 32-bit
                    // size, so the same code builds everywhere), checked here since the
                    // generated code converts with `as`.
                    let (example, min, max, slot) = match key {
                        "max_concurrency" => (
                            "max_concurrency = 8",
                            1,
                            u64::from(u32::MAX),
                            &mut args.max_concurrency,
                        ),
                        "repetitions" => (
                            "repetitions = 3",
                            1,
                            u64::from(u32::MAX),
                            &mut args.repetitions,
                        ),
                        "allow_failures" => (
                            "allow_failures = 1",
                            0,
                            u64::from(u32::MAX),
                            &mut args.allow_failures,
                        ),
                        _ => (
                            "allow_evaluator_errors = 1",
                            0,
                            u64::from(u32::MAX),
                            &mut args.allow_evaluator_errors,
                        ),
                    };
                    let (value, span) = int_value(input, option, example, max)?;
                    if value < min {
                        errors.push(syn::Error::new(
                            span,
                            format!("`{key}` must be at least {min}, e.g. `{example}`"),
                        ));
                    }
                    slot.get_or_insert(value);
                }
                "timeout" => match timeout_value(input, option) {
                    Ok((ms, _)) => {
                        args.timeout_ms.get_or_insert(ms);
                    }
                    Err(e) => errors.push(e),
                },
                "aggregate" => {
                    let lit = string_value(input, option, "aggregate = \"max\"")?;
                    match check_choice(
                        &lit,
                        "aggregate",
                        "aggregate function",
                        AGGREGATE_FUNCTIONS,
                        AGGREGATE_FUNCTION_ALIASES,
                    ) {
                        Ok(()) => {
                            args.aggregate.get_or_insert(lit);
                        }
                        Err(e) => errors.push(e),
                    }
                }
                "ground_truth" => {
                    if !input.peek(Token![=]) {
                        return Err(syn::Error::new(
                            option.span(),
                            "`ground_truth` takes a type, e.g. `ground_truth = Answer`",
                        ));
                    }
                    input.parse::<Token![=]>()?;
                    args.ground_truth.get_or_insert(input.parse()?);
                }
                "crate" => {
                    args.krate.get_or_insert(crate_path(input, option)?);
                }
                _ => unreachable!("`{key}` is not in OPTIONS"),
            }
            Ok(())
        })?;

        match (&args.dataset, &args.dataset_id) {
            (Some(_), Some(id)) => errors.push(syn::Error::new(
                id.span(),
                "give either `dataset = \"file\"` or `dataset_id = \"id\"`, not both",
            )),
            (None, None) => errors.push(syn::Error::new(
                Span::call_site(),
                "`#[experiment]` needs a dataset: `dataset = \"tests/data/qa.jsonl\"` (a file in \
                 the crate) or `dataset_id = \"<id>\"` (a dataset hosted on HoneyHive)",
            )),
            _ => {}
        }
        errors.finish()?;
        Ok(args)
    }
}

/// The span of an evaluator entry, for errors and generated code.
pub(crate) fn entry_span(entry: &EvaluatorEntry) -> Span {
    match entry {
        EvaluatorEntry::Path(p) => p.span(),
        EvaluatorEntry::Value(e) => e.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<ExperimentArgs> {
        syn::parse_str(s)
    }

    fn err(s: &str) -> String {
        crate::options::parse_error::<ExperimentArgs>(s)
    }

    #[test]
    fn every_option() {
        let a = parse(
            "dataset = \"d.jsonl\", evaluators = [exact_match, m::length, Contains::new(\"x\")], \
             threshold(exact_match >= 0.9, length < -2), name = \"qa\", max_concurrency = 8, \
             repetitions = 2, timeout = \"30s\", allow_failures = 0, allow_evaluator_errors = 3, \
             ground_truth = Answer, aggregate = \"max\", crate = hh",
        )
        .unwrap();
        assert_eq!(a.evaluators.len(), 3);
        assert_eq!(a.thresholds.len(), 2);
        assert_eq!(a.thresholds[1].metric, "length");
        assert_eq!(
            (a.thresholds[1].operator, a.thresholds[1].value),
            (Operator::Below, -2.0)
        );
        assert_eq!(a.thresholds[1].bound, "< -2");
        // A metric is named as the summary table prints it, whatever the evaluators are
        // called (checked by the expansion): an identifier, a raw one, or a string.
        let named = parse(
            "dataset = \"d.jsonl\", evaluators = [judge], \
             threshold(relevance > 0.1, r#type >= 1, \"answer length\" <= 50.5)",
        )
        .unwrap();
        let metrics: Vec<(&str, &str)> = named
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.bound.as_str()))
            .collect();
        assert_eq!(
            metrics,
            [
                ("relevance", "> 0.1"),
                ("type", ">= 1"),
                ("answer length", "<= 50.5")
            ]
        );
        assert_eq!(a.timeout_ms, Some(30_000));
        assert_eq!(a.aggregate.unwrap().value(), "max");
        assert_eq!(
            (
                a.max_concurrency,
                a.repetitions,
                a.allow_failures,
                a.allow_evaluator_errors
            ),
            (Some(8), Some(2), Some(0), Some(3))
        );
        assert!(parse("dataset_id = \"abc\"").is_ok());
    }

    #[test]
    fn regression_gates_take_metrics_then_their_tolerance() {
        let a = parse(
            "dataset = \"d.jsonl\", evaluators = [a], baseline = \"last\", \
             regression(correct, judge, max_drop = 0.05, \"answer words\", max_rise = 3, r#type)",
        )
        .unwrap();
        let gates: Vec<(&str, Worse, f64)> = a
            .regressions
            .iter()
            .map(|r| (r.metric.as_str(), r.worse, r.tolerance))
            .collect();
        assert_eq!(
            gates,
            [
                ("correct", Worse::Drop, 0.05),
                ("judge", Worse::Drop, 0.05),
                ("answer words", Worse::Rise, 3.0),
                ("type", Worse::Drop, 0.0),
            ]
        );
        assert_eq!(a.baseline.unwrap().value(), "last");
        for (args, says) in [
            (
                "regression(max_drop = 0.1)",
                "applies to the metrics written before it",
            ),
            (
                "regression(a, max_fall = 0.1)",
                "unknown regression setting `max_fall`",
            ),
            (
                "regression(a, max_drop = -0.1)",
                "`max_drop` cannot be negative",
            ),
            (
                "regression(a, max_drop = x)",
                "tolerance is a number literal",
            ),
            ("regression(a, a)", "`a` has two regression gates"),
            ("regression()", "`regression()` is empty"),
            ("regression = a", "takes a list in parentheses"),
            ("baseline = \"\"", "the baseline cannot be empty"),
            ("baseline = last", "takes a string literal"),
        ] {
            let e = err(&format!("dataset = \"a.json\", evaluators = [a], {args}"));
            assert!(e.contains(says), "{args}: {e}");
        }
    }

    #[test]
    fn errors_name_the_fix() {
        assert!(err("").contains("needs a dataset"));
        assert!(err("dataset = \"a.txt\"").contains("`.json`"));
        assert!(err("dataset = \"a.json\", dataset_id = \"x\"").contains("not both"));
        assert!(err("datset = \"a.json\"").contains("did you mean `dataset`"));
        assert!(
            err("dataset = \"a.json\", aggregate = \"mean\"")
                .contains("unknown aggregate function `mean` (did you mean `\"average\"`?)")
        );
        assert!(err("dataset = \"a.json\", aggregate = max").contains("takes a string literal"));
        assert!(
            err("dataset = \"a.json\", evaluators = [a], threshold(a >= 1, b < 2, a > 0)")
                .contains("`a` has two thresholds: give one")
        );
        assert!(
            err("dataset = \"a.json\", evaluators = [a], threshold(3 >= 1)")
                .contains("expected `<metric> <op> <number>`")
        );
        assert!(
            err("dataset = \"a.json\", evaluators = [a], threshold(a == 1)")
                .contains("`>=`, `>`, `<=` or `<`")
        );
        assert!(
            err("dataset = \"a.json\", evaluators = [a], threshold(a >= x)")
                .contains("number literal")
        );
        assert!(err("dataset = \"a.json\", evaluators = [a, a]").contains("listed twice"));
        assert!(err("dataset = \"a.json\", max_concurrency = 0").contains("at least 1"));
        assert!(err("dataset = \"a.json\", timeout = \"30\"").contains("has no unit"));
        assert!(err("dataset = \"a.json\", timeout = 30").contains("write `timeout = \"30s\"`"));
        assert!(
            err("dataset = \"a.json\", name = \"a\", name = \"b\"")
                .contains("duplicate option `name`")
        );
        assert!(err("dataset = \"a.json\", evaluators = a").contains("list in brackets"));
    }
}
