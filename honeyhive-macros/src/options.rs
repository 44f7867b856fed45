//! Parsing primitives shared by the attribute macros' option lists: each error points at
//! the user's token and shows the form that is accepted.

use syn::parse::ParseStream;
use syn::{Ident, LitStr, Path, Token};

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

/// `= <integer>` after `option`. Syntax errors are returned; the value is the caller's
/// to check, so that its errors can be collected with the others.
pub(crate) fn int_value(
    input: ParseStream<'_>,
    option: &Ident,
    example: &str,
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
    Ok((value, lit.span()))
}

/// `= "30s"` after `option`: the literal, and its milliseconds or the error saying how to
/// write a duration.
pub(crate) fn duration_value(
    input: ParseStream<'_>,
    option: &Ident,
) -> syn::Result<Result<u64, syn::Error>> {
    let example = format!("{option} = \"30s\"");
    let lit = string_value(input, option, &example)?;
    Ok(parse_duration(&lit.value()).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!(
                "`{}` is not a duration: write a whole number followed by `ms`, `s`, `m` or `h`, e.g. `{example}`",
                lit.value()
            ),
        )
    }))
}

/// Milliseconds of `"500ms"`, `"30s"`, `"2m"`, `"1h"`; `None` for anything else or zero.
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor).filter(|&ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("30s"), Some(30_000));
        assert_eq!(parse_duration(" 2m "), Some(120_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        for bad in ["", "30", "s", "1.5s", "0s", "3 days", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
