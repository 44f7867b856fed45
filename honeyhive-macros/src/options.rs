//! Parsing primitives shared by the attribute macros' option lists: each error points at
//! the user's token and shows the form that is accepted.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::ParseStream;
use syn::{Ident, LitInt, LitStr, Path, Token};

use crate::common::suggest;

/// The options one attribute macro accepts, and the loop that reads them.
pub(crate) struct OptionTable {
    /// The macro's name, as in `#[trace]`.
    pub(crate) macro_name: &'static str,
    /// Every option: its name, and its form as written in error messages.
    pub(crate) options: &'static [(&'static str, &'static str)],
    /// Names users plausibly write for an option that are not typos of it:
    /// `(alias, option)`, suggested before the closest name.
    pub(crate) aliases: &'static [(&'static str, &'static str)],
}

impl OptionTable {
    /// The forms of every option: `` `name = "..."`, `skip(arg, ...)` ``.
    pub(crate) fn valid_options(&self) -> String {
        self.options
            .iter()
            .map(|(_, form)| format!("`{form}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The article before the macro's name: "a `#[trace]`", "an `#[evaluator]`".
    fn article(&self) -> &'static str {
        match self.macro_name.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
            _ => "a",
        }
    }

    /// The error for an option not in the table, with a "did you mean" when one fits.
    pub(crate) fn unknown_option_error(&self, option: &Ident) -> syn::Error {
        let got = option.to_string();
        let names: Vec<&str> = self.options.iter().map(|(name, _)| *name).collect();
        let hint = self
            .aliases
            .iter()
            .find(|(alias, _)| *alias == got)
            .map(|(_, name)| *name)
            .or_else(|| suggest(&got, &names));
        let hint = match hint {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => String::new(),
        };
        syn::Error::new(
            option.span(),
            format!(
                "unknown `#[{}]` option `{got}`{hint}; valid options: {}",
                self.macro_name,
                self.valid_options()
            ),
        )
    }

    /// Reads `option, option, ..`: each name must be in the table and given once, and
    /// options are separated by `,`. `each(option, name, input, errors)` parses what
    /// follows the name; the errors it pushes are collected, an error it returns ends
    /// parsing (reported after those collected). Returns the collected errors, for the
    /// caller's checks of the options together.
    pub(crate) fn parse_options(
        &self,
        input: ParseStream<'_>,
        mut each: impl FnMut(&Ident, &str, ParseStream<'_>, &mut Errors) -> syn::Result<()>,
    ) -> syn::Result<Errors> {
        let mut errors = Errors::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let option = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected {} `#[{}]` option; valid options: {}",
                        self.article(),
                        self.macro_name,
                        self.valid_options()
                    ),
                )
            })?;
            let key = option.to_string();
            if !self.options.iter().any(|(name, _)| *name == key) {
                return Err(errors.finish_with(self.unknown_option_error(&option)));
            }
            if seen.contains(&key) {
                errors.push(syn::Error::new(
                    option.span(),
                    format!("duplicate option `{key}`: give it once"),
                ));
            } else {
                seen.push(key.clone());
            }
            each(&option, &key, input, &mut errors).map_err(|e| errors.take_and(e))?;
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                errors.take_and(syn::Error::new(
                    e.span(),
                    format!("expected `,` between `#[{}]` options", self.macro_name),
                ))
            })?;
        }
        Ok(errors)
    }
}

/// `= "literal"` after `option`.
pub(crate) fn string_value(
    input: ParseStream<'_>,
    option: &Ident,
    example: &str,
) -> syn::Result<LitStr> {
    let expected = || {
        syn::Error::new(
            option.span(),
            format!("`{option}` takes a string literal, e.g. `{example}`"),
        )
    };
    if !input.peek(Token![=]) {
        return Err(expected());
    }
    input.parse::<Token![=]>()?;
    if !input.peek(LitStr) {
        let got = if input.is_empty() {
            option.span()
        } else {
            input.cursor().span()
        };
        return Err(syn::Error::new(
            got,
            format!("`{option}` takes a string literal, e.g. `{example}`"),
        ));
    }
    input.parse()
}

/// The contents of `( .. )` after `option`.
pub(crate) fn parenthesized<'a>(
    input: ParseStream<'a>,
    option: &Ident,
    example: &str,
) -> syn::Result<syn::parse::ParseBuffer<'a>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            option.span(),
            format!("`{option}` takes a list in parentheses, e.g. `{example}`"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    Ok(content)
}

/// A flag option: nothing may follow it but `,` or the end.
pub(crate) fn flag(input: ParseStream<'_>, option: &Ident) -> syn::Result<()> {
    if input.is_empty() || input.peek(Token![,]) {
        Ok(())
    } else {
        Err(syn::Error::new(
            input.cursor().span(),
            format!("`{option}` takes no value: write just `{option}`"),
        ))
    }
}

/// `crate = path` or `crate = "path"`.
pub(crate) fn crate_path(input: ParseStream<'_>, option: &Ident) -> syn::Result<Path> {
    let expected = |span| {
        syn::Error::new(
            span,
            "`crate` takes the path of the renamed `honeyhive` dependency, e.g. `crate = hh`",
        )
    };
    if !input.peek(Token![=]) {
        return Err(expected(option.span()));
    }
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return lit
            .parse_with(Path::parse_mod_style)
            .map_err(|_| expected(lit.span()));
    }
    let span = input.cursor().span();
    input
        .call(Path::parse_mod_style)
        .map_err(|_| expected(span))
}

/// Errors collected while parsing, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The collected errors followed by `last`.
    pub(crate) fn finish_with(mut self, last: syn::Error) -> syn::Error {
        self.push(last);
        self.0.expect("just pushed")
    }

    pub(crate) fn take_and(&mut self, last: syn::Error) -> syn::Error {
        std::mem::take(self).finish_with(last)
    }
}

/// `= <integer>` after `option`, at most `max`. Syntax errors and a value above `max` are
/// returned; a lower bound is the caller's to check, so that its errors can be collected
/// with the others.
pub(crate) fn int_value(
    input: ParseStream<'_>,
    option: &Ident,
    example: &str,
    max: u64,
) -> syn::Result<(u64, proc_macro2::Span)> {
    let expected = |span| {
        syn::Error::new(
            span,
            format!("`{option}` takes a whole number, e.g. `{example}`"),
        )
    };
    if !input.peek(Token![=]) {
        return Err(expected(option.span()));
    }
    input.parse::<Token![=]>()?;
    if !input.peek(syn::LitInt) {
        let span = if input.is_empty() {
            option.span()
        } else {
            input.cursor().span()
        };
        return Err(expected(span));
    }
    let lit: syn::LitInt = input.parse()?;
    let value: u64 = lit.base10_parse().map_err(|_| expected(lit.span()))?;
    if value > max {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{option} = {value}` is too large: give at most {max}, e.g. `{example}`"),
        ));
    }
    Ok((value, lit.span()))
}

/// Checks that `lit` is one of `choices`, the values of `option`; else the error names
/// them, with a "did you mean" from `aliases` (`(alias, choice)`, matched without case)
/// or the closest choice.
pub(crate) fn check_choice(
    lit: &LitStr,
    option: &str,
    noun: &str,
    choices: &[&str],
    aliases: &[(&str, &str)],
) -> syn::Result<()> {
    let value = lit.value();
    if choices.contains(&value.as_str()) {
        return Ok(());
    }
    let lower = value.trim().to_ascii_lowercase();
    let hint = choices
        .iter()
        .find(|c| **c == lower)
        .or_else(|| aliases.iter().find(|(a, _)| *a == lower).map(|(_, c)| c))
        .copied()
        .or_else(|| suggest(&lower, choices));
    let hint = match hint {
        Some(h) => format!(" (did you mean `\"{h}\"`?)"),
        None => String::new(),
    };
    let choices = choices
        .iter()
        .map(|c| format!("`\"{c}\"`"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(syn::Error::new(
        lit.span(),
        format!("unknown {noun} `{value}`{hint}; `{option}` is one of {choices}"),
    ))
}

/// The tokens of one option value: up to the next `,` at this level. Consumed so that
/// parsing goes on with the next option after an error.
pub(crate) fn skip_value(input: ParseStream<'_>) -> Span {
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

/// `= "30s"` after `option`: a positive whole number of `ms`, `s`, `m` or `h`, in
/// milliseconds, with the literal's span. A wrong value is consumed, so that the error can
/// be collected and parsing go on.
pub(crate) fn timeout_value(input: ParseStream<'_>, option: &Ident) -> syn::Result<(u64, Span)> {
    let expected = format!(
        "`{option}` takes a duration string: a whole number followed by `ms`, `s`, `m` or `h`, \
         e.g. `{option} = \"30s\"`"
    );
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
                "`{option}` takes a duration string with its unit: write `{option} = \"{}{unit}\"`",
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

/// The message of the error `T`'s parser reports for `s`, several joined by ` | `.
#[cfg(test)]
pub(crate) fn parse_error<T: syn::parse::Parse>(s: &str) -> String {
    match syn::parse_str::<T>(s) {
        Ok(_) => panic!("`{s}` parsed"),
        Err(e) => e
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

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
        for bad in ["", "s", "-1s", "3 days", "0ms"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
