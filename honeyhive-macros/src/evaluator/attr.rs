//! Parsing of `#[evaluator(...)]` options. Every error points at the user's token and says
//! what is accepted.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, LitStr, Path, Token};

use crate::options::{
    OptionTable, check_choice, crate_path, skip_value, string_value, timeout_value,
};

/// Every option, as written in error messages.
const OPTIONS: OptionTable = OptionTable {
    macro_name: "evaluator",
    options: &[
        ("name", "name = \"...\""),
        ("repeat", "repeat = n"),
        (
            "aggregate",
            "aggregate = \"mean\" | \"median\" | \"min\" | \"max\"",
        ),
        ("timeout", "timeout = \"30s\""),
        ("crate", "crate = path"),
    ],
    aliases: &[
        ("repeats", "repeat"),
        ("repetitions", "repeat"),
        ("runs", "repeat"),
        ("samples", "repeat"),
        ("n", "repeat"),
        ("aggregation", "aggregate"),
        ("reduce", "aggregate"),
        ("agg", "aggregate"),
        ("timeout_ms", "timeout"),
        ("time_limit", "timeout"),
        ("deadline", "timeout"),
    ],
};

/// The names `aggregate` accepts (those of `Aggregate::NAMES` in the runtime).
pub(crate) const AGGREGATES: &[&str] = &["mean", "median", "min", "max"];

/// Other words for them: `(word, aggregate)`.
const AGGREGATE_ALIASES: &[(&str, &str)] = &[
    ("average", "mean"),
    ("avg", "mean"),
    ("mean_score", "mean"),
    ("arithmetic_mean", "mean"),
    ("minimum", "min"),
    ("lowest", "min"),
    ("worst", "min"),
    ("maximum", "max"),
    ("highest", "max"),
    ("best", "max"),
    ("med", "median"),
    ("p50", "median"),
];

/// The longest `repeat`: more calls per datapoint than this is surely a typo.
const MAX_REPEAT: u64 = 1000;

/// The options of one `#[evaluator]`.
#[derive(Default)]
pub(crate) struct EvaluatorArgs {
    pub(crate) name: Option<LitStr>,
    /// `repeat = n`, with the literal's span.
    pub(crate) repeat: Option<(u32, Span)>,
    /// `aggregate = "..."`: one of [`AGGREGATES`].
    pub(crate) aggregate: Option<(String, Span)>,
    /// `timeout = "..."` in milliseconds.
    pub(crate) timeout_ms: Option<(u64, Span)>,
    pub(crate) krate: Option<Path>,
}

impl Parse for EvaluatorArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = EvaluatorArgs::default();
        // (A `repeat` given with a mistake has its own error.)
        let mut repeat_given = false;
        let mut errors = OPTIONS.parse_options(input, |option, key, input, errors| {
            match key {
                "name" => {
                    let lit = string_value(input, option, "name = \"answer_length\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "the evaluator name cannot be empty: give the metric a name, e.g. `name = \"answer_length\"`",
                        ));
                    }
                    args.name.get_or_insert(lit);
                }
                "repeat" => {
                    repeat_given = true;
                    match repeat_value(input, option) {
                        Ok(repeat) => {
                            args.repeat.get_or_insert(repeat);
                        }
                        Err(e) => errors.push(e),
                    }
                }
                "aggregate" => {
                    let lit = string_value(input, option, "aggregate = \"median\"")?;
                    match check_choice(&lit, "aggregate", "aggregate", AGGREGATES, AGGREGATE_ALIASES) {
                        Ok(()) => {
                            args.aggregate.get_or_insert((lit.value(), lit.span()));
                        }
                        Err(e) => errors.push(e),
                    }
                }
                "timeout" => match timeout_value(input, option) {
                    Ok(timeout) => {
                        args.timeout_ms.get_or_insert(timeout);
                    }
                    Err(e) => errors.push(e),
                },
                "crate" => {
                    args.krate.get_or_insert(crate_path(input, option)?);
                }
                _ => unreachable!("`{key}` is not in OPTIONS"),
            }
            Ok(())
        })?;
        if let (Some((_, span)), false) = (&args.aggregate, repeat_given) {
            errors.push(syn::Error::new(
                *span,
                "`aggregate` combines the scores of a repeated evaluator: add `repeat = n` \
                 (e.g. `repeat = 3, aggregate = \"median\"`) or remove `aggregate`",
            ));
        }
        errors.finish()?;
        Ok(args)
    }
}

/// `= n`, a positive integer literal.
fn repeat_value(input: ParseStream<'_>, option: &Ident) -> syn::Result<(u32, Span)> {
    let example = "`repeat = 3`";
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            option.span(),
            format!("`repeat` takes the number of calls per datapoint, e.g. {example}"),
        ));
    }
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let hint = match lit.value().trim().parse::<u64>() {
            Ok(n) => format!("write `repeat = {n}`, without quotes"),
            Err(_) => format!("e.g. {example}"),
        };
        return Err(syn::Error::new(
            lit.span(),
            format!("`repeat` takes an integer literal: {hint}"),
        ));
    }
    if !input.peek(LitInt) {
        let span = if input.is_empty() {
            option.span()
        } else {
            skip_value(input)
        };
        return Err(syn::Error::new(
            span,
            format!("`repeat` takes an integer literal, e.g. {example}"),
        ));
    }
    let lit: LitInt = input.parse()?;
    let n = lit.base10_parse::<u64>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`repeat` takes a whole number of calls, e.g. {example}"),
        )
    })?;
    if !matches!(lit.suffix(), "" | "u32" | "usize" | "u64" | "u16" | "u8") {
        return Err(syn::Error::new(
            lit.span(),
            format!("`repeat` takes a whole number of calls, e.g. {example}"),
        ));
    }
    if n == 0 {
        return Err(syn::Error::new(
            lit.span(),
            "`repeat = 0` would never call the evaluator: give at least 1 (the default)",
        ));
    }
    if n > MAX_REPEAT {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`repeat = {n}` calls the evaluator {n} times per datapoint: give at most {MAX_REPEAT}"
            ),
        ));
    }
    Ok((n as u32, lit.span()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<EvaluatorArgs> {
        syn::parse_str(s)
    }

    fn err(s: &str) -> String {
        crate::options::parse_error::<EvaluatorArgs>(s)
    }

    #[test]
    fn every_option() {
        let a = parse(
            "name = \"n\", repeat = 3, aggregate = \"median\", timeout = \"30s\", crate = hh",
        )
        .unwrap();
        assert_eq!(a.name.unwrap().value(), "n");
        assert_eq!(a.repeat.unwrap().0, 3);
        assert_eq!(a.aggregate.unwrap().0, "median");
        assert_eq!(a.timeout_ms.unwrap().0, 30_000);
        assert!(a.krate.unwrap().is_ident("hh"));
        assert!(parse("").is_ok());
        assert!(parse("repeat = 2,").is_ok());
        assert!(parse("crate = \"::hh\"").unwrap().krate.is_some());
    }

    #[test]
    fn errors_name_the_fix() {
        assert!(err("nmae = \"x\"").contains("did you mean `name`"));
        assert!(err("repeats = 3").contains("did you mean `repeat`"));
        assert!(err("level = 1").contains("valid options: `name = \"...\"`, `repeat = n`"));
        assert!(err("name = \"a\", name = \"b\"").contains("duplicate option `name`"));
        assert!(err("name = x").contains("takes a string literal"));
        assert!(err("name = \" \"").contains("cannot be empty"));
        assert!(err("repeat = 0").contains("at least 1"));
        assert!(err("repeat = \"3\"").contains("write `repeat = 3`, without quotes"));
        assert!(err("repeat = 2.5").contains("integer literal"));
        assert!(err("repeat = -1").contains("whole number"));
        assert!(err("repeat = 5000").contains("at most 1000"));
        assert!(err("repeat").contains("number of calls"));
        assert!(err("repeat = 3, aggregate = \"average\"").contains("did you mean `\"mean\"`"));
        assert!(err("repeat = 3, aggregate = mean").contains("takes a string literal"));
        assert!(err("aggregate = \"max\"").contains("add `repeat = n`"));
        // A `repeat` with a mistake is one error, not also "aggregate without repeat".
        let one = err("repeat = \"3\", aggregate = \"max\"");
        assert!(
            one.contains("without quotes") && !one.contains("add `repeat"),
            "{one}"
        );
        assert!(err("timeout = 30").contains("write `timeout = \"30s\"`"));
        assert!(err("timeout = \"30 sec\"").contains("write `\"30s\"`"));
        assert!(err("timeout = secs(3)").contains("duration string"));
        assert!(err("name = \"a\" repeat = 2").contains("expected `,`"));
        assert!(err("\"name\"").contains("expected an `#[evaluator]` option"));
        assert!(err("crate = 3").contains("renamed `honeyhive` dependency"));
        // Several mistakes are reported together.
        let both = err("repeat = 0, timeout = \"1 hour\"");
        assert!(
            both.contains("at least 1") && both.contains("`\"1h\"`"),
            "{both}"
        );
    }
}
