//! Helpers shared by the macros: the path generated code uses to reach the runtime, the
//! output of a macro that failed, the description of a misplaced item, types as written in
//! error messages, and "did you mean" suggestions.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned as _;
use syn::{Item, Type};

/// The path of the items generated code may use: `<crate>::__private`, with `<crate>`
/// `::honeyhive` unless the user renamed the dependency (`crate = path`).
pub(crate) fn private_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::honeyhive::__private),
    }
}

/// The error, then the item unchanged: emitted by a macro that failed, so that the rest of
/// the crate still compiles and only the real mistake is reported.
pub(crate) fn with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item)
}

/// Both values, or the errors of either or both (`a`'s first).
pub(crate) fn both<A, B>(a: syn::Result<A>, b: syn::Result<B>) -> syn::Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            Err(a)
        }
    }
}

/// What an item other than a function is, as in "not to a struct", and the span of its
/// keyword and name.
pub(crate) fn describe_item(item: &Item) -> (&'static str, Span) {
    match item {
        Item::Struct(s) => ("a struct", join(&s.struct_token, &s.ident)),
        Item::Enum(e) => ("an enum", join(&e.enum_token, &e.ident)),
        Item::Union(u) => ("a union", join(&u.union_token, &u.ident)),
        Item::Trait(t) => ("a trait", join(&t.trait_token, &t.ident)),
        Item::Impl(i) => ("an `impl` block", i.impl_token.span),
        Item::Mod(m) => ("a module", join(&m.mod_token, &m.ident)),
        Item::Const(c) => ("a constant", join(&c.const_token, &c.ident)),
        Item::Static(s) => ("a static", join(&s.static_token, &s.ident)),
        Item::Type(t) => ("a type alias", join(&t.type_token, &t.ident)),
        Item::Use(u) => ("a `use` item", u.use_token.span),
        Item::ExternCrate(e) => ("an `extern crate` item", e.extern_token.span),
        Item::ForeignMod(f) => ("an `extern` block", f.abi.span()),
        Item::Macro(m) => ("a macro", m.mac.path.span()),
        other => ("this item", other.span()),
    }
}

/// From the first token of `a` to the last of `b`.
fn join(a: &impl ToTokens, b: &impl ToTokens) -> Span {
    let tokens = quote!(#a #b);
    let mut spans = tokens.into_iter().map(|t| t.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    spans.last().and_then(|l| first.join(l)).unwrap_or(first)
}

/// The span of the first identifier `name` in `tokens`, at any depth of delimiters.
pub(crate) fn find_ident(tokens: TokenStream, name: &str) -> Option<Span> {
    tokens.into_iter().find_map(|t| match t {
        proc_macro2::TokenTree::Ident(i) if i == name => Some(i.span()),
        proc_macro2::TokenTree::Group(g) => find_ident(g.stream(), name),
        _ => None,
    })
}

/// A type as the user would write it in an error message.
pub(crate) fn show(ty: &Type) -> String {
    let text = ty.to_token_stream().to_string();
    // `Vec < String >` → `Vec<String>`, `& 'a str` → `&'a str`, `a :: b` → `a::b`.
    let mut out = String::new();
    for (i, part) in text.split(' ').enumerate() {
        let glue = i > 0
            && !out.ends_with(['<', '&', '(', '[', ':'])
            && !part.starts_with(['<', '>', ',', ')', ']', ':', ';'])
            && !out.ends_with("::");
        if glue {
            out.push(' ');
        }
        out.push_str(part);
    }
    out.replace(":: ", "::")
}

/// The candidate closest to `got` when it is plausibly a typo of it.
pub(crate) fn suggest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let got = got.to_ascii_lowercase();
    candidates
        .iter()
        .map(|&c| (edit_distance(&got, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3) || c.contains(got.as_str()) && got.len() >= 3)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let options = ["name", "event_type", "skip", "skip_all", "skip_output"];
        assert_eq!(suggest("nmae", &options), Some("name"));
        assert_eq!(suggest("eventtype", &options), Some("event_type"));
        assert_eq!(suggest("skipall", &options), Some("skip_all"));
        assert_eq!(suggest("output", &options), Some("skip_output"));
        assert_eq!(suggest("level", &options), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
