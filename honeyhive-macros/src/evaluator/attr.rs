//! Parsing of `#[evaluator(...)]` options. Every error points at the user's token and says
//! what is accepted.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, LitStr, Path, Token};

use crate::common::suggest;
use crate::options::{Errors, crate_path, string_value};

/// Every option, as written in error messages.
const OPTIONS: &[(&str, &str)] = &[
    ("name", "name = \"...\""),
    ("repeat", "repeat = n"),
    (
        "aggregate",
        "aggregate = \"mean\" | \"median\" | \"min\" | \"max\"",
    ),
    ("timeout", "timeout = \"30s\""),
    ("crate", "crate = path"),
];

/// The names `aggregate` accepts (those of `Aggregate::NAMES` in the runtime).
pub(crate) const AGGREGATES: &[&str] = &["mean", "median", "min", "max"];

/// The longest `repeat`: more calls per datapoint than this is surely a typo.
const MAX_REPEAT: u64 = 1000;

fn valid_options() -> String {
    OPTIONS
        .iter()
        .map(|(_, form)| format!("`{form}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

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
        let mut seen: Vec<String> = Vec::new();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let option = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected an `#[evaluator]` option; valid options: {}",
                        valid_options()
                    ),
                )
            })?;
            let key = option.to_string();
            if OPTIONS.iter().any(|(name, _)| *name == key) {
                if seen.contains(&key) {
                    errors.push(syn::Error::new(
                        option.span(),
                        format!("duplicate option `{key}`: give it once"),
                    ));
                }
                seen.push(key.clone());
            }
            match key.as_str() {
                "name" => {
                    let lit = string_value(input, &option, "name = \"answer_length\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(
                            lit.span(),
                            "the evaluator name cannot be empty: give the metric a name, e.g. `name = \"answer_length\"`",
                        ));
                    }
                    args.name.get_or_insert(lit);
                }
                "repeat" => match repeat_value(input, &option) {
                    Ok(repeat) => {
                        args.repeat.get_or_insert(repeat);
                    }
                    Err(e) => errors.push(e),
                },
                "aggregate" => {
                    let lit = string_value(input, &option, "aggregate = \"median\"")?;
                    match check_aggregate(&lit) {
                        Ok(()) => {
                            args.aggregate.get_or_insert((lit.value(), lit.span()));
                        }
                        Err(e) => errors.push(e),
                    }
                }
                "timeout" => match timeout_value(input, &option) {
                    Ok(timeout) => {
                        args.timeout_ms.get_or_insert(timeout);
                    }
                    Err(e) => errors.push(e),
                },
                "crate" => {
                    let path = crate_path(input, &option)?;
                    args.krate.get_or_insert(path);
                }
                other => {
                    let names: Vec<&str> = OPTIONS.iter().map(|(name, _)| *name).collect();
                    let hint = match other {
                        "repeats" | "repetitions" | "runs" | "samples" | "n" => Some("repeat"),
                        "aggregation" | "reduce" | "agg" => Some("aggregate"),
                        "timeout_ms" | "time_limit" | "deadline" => Some("timeout"),
                        _ => suggest(other, &names),
                    };
                    let hint = match hint {
                        Some(s) => format!(" (did you mean `{s}`?)"),
                        None => String::new(),
                    };
                    return Err(errors.finish_with(syn::Error::new(
                        option.span(),
                        format!(
                            "unknown `#[evaluator]` option `{other}`{hint}; valid options: {}",
                            valid_options()
                        ),
                    )));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                errors.take_and(syn::Error::new(
                    e.span(),
                    "expected `,` between `#[evaluator]` options",
                ))
            })?;
        }
        // (A `repeat` given with a mistake has its own error.)
        let repeat_given = seen.iter().any(|k| k == "repeat");
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

/// The tokens of one option value: up to the next `,` at this level. Consumed so that
/// parsing goes on with the next option after an error.
fn skip_value(input: ParseStream<'_>) -> Span {
    let first = input.cursor().span();
    let mut last = first;
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<proc_macro2::TokenTree>() {
            Ok(t) => last = t.span(),
            Err(_) => break,
        }
    }
    first.join(last).unwrap_or(first)
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

/// `= "30s"`: a positive whole number of `ms`, `s`, `m` or `h`, in milliseconds.
fn timeout_value(input: ParseStream<'_>, option: &Ident) -> syn::Result<(u64, Span)> {
    let expected = "`timeout` takes a duration string: a whole number followed by `ms`, `s`, `m` or `h`, \
                    e.g. `timeout = \"30s\"`";
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(option.span(), expected));
    }
    input.parse::<Token![=]>()?;
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let unit = if lit.suffix().is_empty() {
            "s"
        } else {
            lit.suffix()
        };
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`timeout` takes a duration string with its unit: write `timeout = \"{}{unit}\"`",
                lit.base10_digits()
            ),
        ));
    }
    if !input.peek(LitStr) {
        let span = if input.is_empty() {
            option.span()
        } else {
            skip_value(input)
        };
        return Err(syn::Error::new(span, expected));
    }
    let lit: LitStr = input.parse()?;
    parse_duration(&lit.value())
        .map(|ms| (ms, lit.span()))
        .map_err(|why| syn::Error::new(lit.span(), why))
}

/// A humane duration (`"250ms"`, `"30s"`, `"2m"`, `"1h"`) in milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let example = "e.g. `\"500ms\"`, `\"30s\"` or `\"2m\"`";
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let unit_text = unit.trim();
    let number: String = number.chars().filter(|&c| c != '_').collect();
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a duration: give a whole number followed by `ms`, `s`, `m` or `h`, {example}"
        ));
    }
    if unit_text.starts_with('.') || unit_text.starts_with(',') {
        return Err(format!(
            "`{text}`: the timeout is a whole number of `ms`, `s`, `m` or `h`; write fractions in a \
             smaller unit, e.g. `\"1500ms\"` for 1.5 s"
        ));
    }
    let factor: u64 = match unit_text {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "`{text}` has no unit: write `\"{number}s\"` for seconds, or `ms` / `m`"
            ));
        }
        other => {
            let hint = match other.to_ascii_lowercase().as_str() {
                "millis" | "msec" | "msecs" | "millisecond" | "milliseconds" => {
                    format!(" (write `\"{number}ms\"`)")
                }
                "sec" | "secs" | "second" | "seconds" => format!(" (write `\"{number}s\"`)"),
                "min" | "mins" | "minute" | "minutes" => format!(" (write `\"{number}m\"`)"),
                "hr" | "hrs" | "hour" | "hours" => format!(" (write `\"{number}h\"`)"),
                "us" | "µs" | "ns" => " (the smallest unit is `ms`)".to_owned(),
                _ => String::new(),
            };
            return Err(format!(
                "unknown unit `{other}` in `{text}`{hint}; the unit is `ms`, `s`, `m` or `h`"
            ));
        }
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("`{text}` is too long a timeout"))?;
    if ms == 0 {
        return Err(format!(
            "a timeout of `{text}` would fail every call: give a positive duration, {example}"
        ));
    }
    Ok(ms)
}

fn check_aggregate(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    if AGGREGATES.contains(&value.as_str()) {
        return Ok(());
    }
    let lower = value.trim().to_ascii_lowercase();
    let hint = match lower.as_str() {
        v if AGGREGATES.contains(&v) => Some(v),
        "average" | "avg" | "mean_score" | "arithmetic_mean" => Some("mean"),
        "minimum" | "lowest" | "worst" => Some("min"),
        "maximum" | "highest" | "best" => Some("max"),
        "med" | "p50" => Some("median"),
        other => suggest(other, AGGREGATES),
    };
    let hint = match hint {
        Some(h) => format!(" (did you mean `\"{h}\"`?)"),
        None => String::new(),
    };
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown aggregate `{value}`{hint}; `aggregate` is one of `\"mean\"`, `\"median\"`, `\"min\"`, `\"max\"`"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<EvaluatorArgs> {
        syn::parse_str::<EvaluatorArgs>(s)
    }

    fn err(s: &str) -> String {
        match parse(s) {
            Ok(_) => panic!("`{s}` parsed"),
            Err(e) => e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
        }
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
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("2m"), Ok(120_000));
        assert_eq!(parse_duration(" 1_000 ms "), Ok(1_000));
        assert!(parse_duration("30").unwrap_err().contains("`\"30s\"`"));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert!(parse_duration("2 hours").unwrap_err().contains("`\"2h\"`"));
        assert!(
            parse_duration("5 seconds")
                .unwrap_err()
                .contains("`\"5s\"`")
        );
        assert!(parse_duration("1.5s").unwrap_err().contains("1500ms"));
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration("99999999999999999999m")
                .unwrap_err()
                .contains("too long")
        );
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
