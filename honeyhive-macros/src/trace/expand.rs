//! Code generation of `#[trace]`.
//!
//! The function keeps its signature and attributes; its body becomes:
//! 1. `Call::begin` (inert unless an enabled tracer is current), then, only when
//!    recording, the captured inputs, metadata and config;
//! 2. the original body, in a `move` closure run by `Call::run` (sync) or an `async move`
//!    block awaited through `Call::instrument` (async), so that `return` and `?` end the
//!    body, not the function, and the output can still be recorded;
//! 3. the output or the error recorded on the call, which ends the span when dropped.
//!
//! Generated code names runtime items only through `<crate>::__private` and `::core`.
//! Its locals have mixed-site hygiene, so they can neither shadow nor be seen by user
//! code; capture statements are located at the user's token (the argument, the value, the
//! return type) so that a type error points there.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{
    AttrStyle, FnArg, GenericArgument, Ident, Item, ItemFn, LitStr, Pat, PathArguments, ReturnType,
    Signature, TraitItemFn, Type,
};

use super::attr::TraceArgs;
use crate::common::{both, describe_item, find_ident, private_path, with_item};
use crate::options::Errors;

/// The whole attribute: on any error, the errors are emitted next to the unchanged item,
/// so that the rest of the crate still compiles and only the real mistake is reported.
pub(crate) fn trace(args: TokenStream, item: TokenStream) -> TokenStream {
    both(syn::parse2::<TraceArgs>(args), function(item.clone()))
        .and_then(|(args, func)| expand(args, func))
        .unwrap_or_else(|e| with_item(e, item))
}

/// The item as a function with a body, or an error saying why `#[trace]` cannot go there.
fn function(item: TokenStream) -> syn::Result<ItemFn> {
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(item) => item,
        Err(e) => {
            return Err(match syn::parse2::<TraitItemFn>(item) {
                Ok(f) if f.default.is_none() => bodyless(&f.sig),
                _ => syn::Error::new(
                    e.span(),
                    "`#[trace]` applies to functions and methods with a body",
                ),
            });
        }
    };
    let (what, span) = match &item {
        Item::Fn(f) => {
            if let Some(c) = &f.sig.constness {
                return Err(syn::Error::new(
                    c.span(),
                    "`#[trace]` cannot instrument a `const fn`: a span cannot be recorded \
                     during constant evaluation; remove `const` or `#[trace]`",
                ));
            }
            return Ok(f.clone());
        }
        Item::Verbatim(tokens) => match syn::parse2::<TraitItemFn>(tokens.clone()) {
            Ok(f) if f.default.is_none() => return Err(bodyless(&f.sig)),
            _ => ("this item", tokens.span()),
        },
        other => describe_item(other),
    };
    Err(syn::Error::new(
        span,
        format!(
            "`#[trace]` applies to functions and methods (`fn`, `async fn`), not to {what}; \
             put it on the functions to record"
        ),
    ))
}

fn bodyless(sig: &Signature) -> syn::Error {
    syn::Error::new(
        sig.ident.span(),
        format!(
            "`#[trace]` needs a function body: put it on the implementations of `{}` (or give \
             the trait method a default body)",
            sig.ident
        ),
    )
}

/// What the return type of the function is, for recording the output.
enum Output {
    /// No value worth recording: `()`, or `!`.
    Nothing,
    /// A `Result` (any type whose last path segment is `Result`, such as `io::Result<T>`):
    /// `Ok` is the output, `Err` the error. The span locates errors about the `Ok` type.
    Result(Span),
    /// Any other value. The span locates errors about the type.
    Value(Span),
    /// `impl Stream<Item = T>`: the span ends with the stream, its items folded into the
    /// output. The span locates errors about `T`; `results` when `T` is a `Result` (an
    /// `Err` item fails the span).
    Stream { span: Span, results: bool },
}

/// The `Stream` bound of an `impl Trait` return type (`impl Stream<Item = T> + Send`, any
/// path ending in `Stream`), as [`Output::Stream`].
fn stream_output(ty: &syn::TypeImplTrait) -> Option<Output> {
    ty.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(t) = bound else {
            return None;
        };
        let last = t.path.segments.last()?;
        if last.ident != "Stream" {
            return None;
        }
        let item = match &last.arguments {
            PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
                _ => None,
            }),
            _ => None,
        };
        let results = matches!(
            item,
            Some(Type::Path(p)) if p.path.segments.last().is_some_and(|s| s.ident == "Result")
        );
        Some(Output::Stream {
            span: item.map_or_else(|| ty.span(), |item| item.span()),
            results,
        })
    })
}

fn output_kind(sig: &Signature) -> Output {
    let ReturnType::Type(_, ty) = &sig.output else {
        return Output::Nothing;
    };
    let mut ty: &Type = ty;
    while let Type::Paren(p) = ty {
        ty = &p.elem;
    }
    match ty {
        Type::Tuple(t) if t.elems.is_empty() => Output::Nothing,
        Type::Never(_) => Output::Nothing,
        Type::ImplTrait(t) => stream_output(t).unwrap_or_else(|| Output::Value(ty.span())),
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last() {
            Some(last) if last.ident == "Result" => {
                let ok = match &last.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                        GenericArgument::Type(t) => Some(t.span()),
                        _ => None,
                    }),
                    _ => None,
                };
                Output::Result(ok.unwrap_or_else(|| ty.span()))
            }
            _ => Output::Value(ty.span()),
        },
        _ => Output::Value(ty.span()),
    }
}

/// The declared return type with every `impl Trait` replaced by `_`, for the inference
/// hint at the top of the body; `None` when nothing would be left to hint.
fn return_type_hint(sig: &Signature) -> Option<Type> {
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    if matches!(**ty, Type::Never(_)) {
        return None;
    }
    let mut ty = (**ty).clone();
    EraseImplTrait.visit_type_mut(&mut ty);
    if matches!(ty, Type::Infer(_)) {
        return None;
    }
    Some(ty)
}

struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(t) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](t.impl_token.span),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// The names bound by the function's parameters, `self` excluded, each with whether it
/// is declared as a reference (`x: &T`, `x: &mut T`): those are captured as they are, so
/// that an error names `T`, not `&T`.
fn parameter_names(sig: &Signature) -> Vec<(Ident, bool)> {
    let mut names = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(t) = input else { continue };
        let mut bound = Vec::new();
        bindings(&t.pat, &mut bound);
        let reference = matches!(
            (&*t.pat, &*t.ty),
            (Pat::Ident(p), Type::Reference(_)) if p.by_ref.is_none() && p.subpat.is_none()
        );
        names.extend(bound.into_iter().map(|name| (name, reference)));
    }
    names
}

fn bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Reference(r) => bindings(&r.pat, out),
        Pat::Paren(p) => bindings(&p.pat, out),
        Pat::Type(t) => bindings(&t.pat, out),
        _ => {}
    }
}

/// Whether the function is a method or an associated function that says so: it takes
/// `self` or mentions `Self` in its signature. Its span is then named `Type::method`.
fn is_associated(sig: &Signature) -> bool {
    let mentions_self = |tokens: TokenStream| find_ident(tokens, "Self").is_some();
    sig.receiver().is_some()
        || mentions_self(sig.inputs.to_token_stream())
        || mentions_self(sig.output.to_token_stream())
        || mentions_self(sig.generics.to_token_stream())
        || sig
            .generics
            .where_clause
            .as_ref()
            .is_some_and(|w| mentions_self(w.to_token_stream()))
}

/// The parameter names, quoted and joined for an error message; `None` when there are none.
fn listed(names: &[(Ident, bool)]) -> Option<String> {
    let listed: Vec<String> = names
        .iter()
        .map(|(n, _)| format!("`{}`", n.unraw()))
        .collect();
    (!listed.is_empty()).then(|| listed.join(", "))
}

fn expand(args: TraceArgs, func: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let p = private_path(args.krate.as_ref());
    let names = parameter_names(&sig);

    // `skip(..)` may only name parameters (`self` included); `redact(..)` only captured
    // ones.
    let mut errors = Errors::default();
    for redacted in &args.redact {
        if names.iter().any(|(n, _)| n.unraw() == redacted.unraw()) {
            continue;
        }
        let listed = match listed(&names) {
            None => format!("`{}` captures no argument", sig.ident),
            Some(listed) => format!("the arguments it captures are {listed}"),
        };
        errors.push(syn::Error::new(
            redacted.span(),
            format!(
                "`redact({redacted})`: `{}` has no argument named `{redacted}` to redact; {listed}",
                sig.ident
            ),
        ));
    }
    for skipped in &args.skip {
        let known = names.iter().any(|(n, _)| n.unraw() == skipped.unraw())
            || (skipped == "self" && sig.receiver().is_some());
        if !known {
            let listed = match listed(&names) {
                None => format!("`{}` has no parameter to skip", sig.ident),
                Some(listed) => format!("its parameters are {listed}"),
            };
            errors.push(syn::Error::new(
                skipped.span(),
                format!(
                    "`skip({skipped})`: `{}` has no parameter named `{skipped}`; {listed}",
                    sig.ident
                ),
            ));
        }
    }
    errors.finish()?;

    let call = Ident::new("__honeyhive_call", Span::mixed_site());
    let rec = Ident::new("__honeyhive_rec", Span::mixed_site());
    let out = Ident::new("__honeyhive_out", Span::mixed_site());
    let ok = Ident::new("__honeyhive_ok", Span::mixed_site());
    let err = Ident::new("__honeyhive_err", Span::mixed_site());
    let fake = Ident::new("__honeyhive_return", Span::mixed_site());
    // Located at a user token (errors point there), resolved in the macro (lints and
    // hygiene treat it as generated code).
    let at = |span: Span| Span::mixed_site().located_at(span);
    // One of the locals above, located at a user token: every token of a capture
    // statement is located there, so an error spans that token only.
    let local = |ident: &Ident, span: Span| Ident::new(&ident.to_string(), at(span));

    let fn_name = sig.ident.unraw().to_string();
    let name = match &args.name {
        Some(lit) => quote!(#p::Name::Static(#lit)),
        None if is_associated(&sig) => {
            quote!(#p::Name::Method(#fn_name, ::core::any::type_name::<Self>))
        }
        None => quote!(#p::Name::Static(#fn_name)),
    };
    let event_type = match &args.event_type {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };

    let mut captures = Vec::new();
    if args.skip_all.is_none() {
        for (ident, reference) in &names {
            if args.skip.iter().any(|s| s.unraw() == ident.unraw()) {
                continue;
            }
            let key = attribute_name(&p, "inputs", &ident.unraw().to_string(), ident.span());
            let rec = local(&rec, ident.span());
            if args.redact.iter().any(|r| r.unraw() == ident.unraw()) {
                // Recorded as the marker alone: the value is never serialised.
                captures.push(quote_spanned!(at(ident.span())=> #rec.input(#key, #p::REDACTED);));
                continue;
            }
            let borrow = (!reference).then(|| quote_spanned!(at(ident.span())=> &));
            captures.push(quote_spanned!(at(ident.span())=> #rec.input(#key, #borrow #ident);));
        }
    }
    for (kind, entries) in args.entries() {
        for entry in entries {
            let key = attribute_name(&p, kind, &entry.key, entry.key_span);
            let method = Ident::new("entry", at(entry.value.span()));
            let expr = &entry.value;
            // The value in an invisible group: it keeps its precedence (`&a + b` stays
            // `&(a + b)`), a place is borrowed, not moved (`self.name`), and a type error
            // points at the user's expression.
            let mut grouped = Group::new(Delimiter::None, expr.to_token_stream());
            grouped.set_span(expr.span());
            let rec = local(&rec, expr.span());
            captures.push(quote_spanned!(at(expr.span())=> #rec.#method(#key, &#grouped);));
        }
    }
    let begin = if captures.is_empty() {
        quote!(let #call = #p::Call::begin(#name, #event_type);)
    } else {
        quote! {
            let mut #call = #p::Call::begin(#name, #event_type);
            if let ::core::option::Option::Some(#rec) = #call.recorder() {
                #(#captures)*
            }
        }
    };

    let output = output_kind(&sig);
    // A returned stream: the call goes with it, and its span ends with the stream.
    let stream = match &output {
        Output::Stream { span, results } => {
            // Every token at the item type, so that an item the fold cannot take is an
            // error there, not at the attribute.
            let fold = match (args.skip_output.is_some(), results) {
                (true, _) => quote!(#p::fold_nothing),
                (false, true) => respan(quote!(#p::fold_result), at(*span)),
                (false, false) => respan(quote!(#p::fold_value), at(*span)),
            };
            Some(quote!(#p::TracedStream::new(#out, #call, #fold)))
        }
        _ => None,
    };
    let record = match output {
        Output::Nothing | Output::Stream { .. } => None,
        Output::Value(_) if args.skip_output.is_some() => None,
        Output::Value(span) => {
            let (rec, out) = (local(&rec, span), local(&out, span));
            Some(quote_spanned!(at(span)=> #rec.output(&#out);))
        }
        Output::Result(span) => {
            let ok_arm = if args.skip_output.is_some() {
                quote!(::core::result::Result::Ok(_) => {})
            } else {
                let (rec, ok_at) = (local(&rec, span), local(&ok, span));
                let output = quote_spanned!(at(span)=> #rec.output(#ok_at));
                quote!(::core::result::Result::Ok(#ok) => #output,)
            };
            Some(quote! {
                match &#out {
                    #ok_arm
                    ::core::result::Result::Err(#err) => {
                        use #p::{ErrorTextDebug as _, ErrorTextDisplay as _, ErrorTextName as _};
                        #rec.error(
                            ::core::any::type_name_of_val(#err),
                            (&&&#p::ErrorRef(#err)).__honeyhive_error_text(),
                        );
                    }
                }
            })
        }
    };
    let (finished, record) = match record {
        None if stream.is_some() => (quote!(#call), None),
        None => (quote!(_), None),
        Some(record) => (
            quote!(mut #call),
            Some(quote! {
                if let ::core::option::Option::Some(#rec) = #call.recorder() {
                    #record
                }
            }),
        ),
    };

    // The declared return type, stated first in the body so that `return` and `?` in it
    // are checked against it (closures and async blocks would otherwise infer their own).
    let hint = return_type_hint(&sig).map(|ty| {
        quote! {
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                let #fake: #ty = loop {};
                return #fake;
            }
        }
    });
    let stmts = &block.stmts;
    let body = quote_spanned!(block.brace_token.span=> { #hint #(#stmts)* });
    let run = if sig.asyncness.is_some() {
        quote!(#call.instrument(async move #body).await)
    } else {
        quote!(#call.run(move || #body))
    };

    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|a| matches!(a.style, AttrStyle::Outer));
    let result = stream.unwrap_or_else(|| quote!(#out));
    Ok(quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #begin
            let (#out, #finished) = #run;
            #record
            #result
        }
    })
}

/// `tokens` with every token (and group) at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = proc_macro2::TokenTree::Group(group);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The attribute name `honeyhive_<prefix>.<name>` as one `&'static str` literal, joined
/// at compile time from the runtime's prefix (so the spec's names are written once, in the
/// runtime), spanned at the user's `name`.
fn attribute_name(p: &TokenStream, prefix: &str, name: &str, span: Span) -> TokenStream {
    let prefix = Ident::new(prefix, span);
    let name = LitStr::new(&format!(".{name}"), span);
    quote_spanned!(span=> ::core::concat!(#p::attribute_prefix!(#prefix), #name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: &str, item: &str) -> String {
        trace(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn generated_code_names_no_other_crate() {
        let code = expanded(
            "metadata(k = 1), config(c = \"x\")",
            "pub async fn f(a: u32) -> Result<u32, String> { Ok(a) }",
        );
        let tokens: Vec<&str> = code.split_whitespace().collect();
        for other in [
            "std",
            "serde",
            "serde_json",
            "opentelemetry",
            "tokio",
            "honeyhive_runtime",
        ] {
            assert!(!tokens.contains(&other), "`{other}` in {code}");
        }
        // Every absolute path starts at `::honeyhive` or `::core`.
        for (i, t) in tokens.iter().enumerate() {
            if *t == "::"
                && (i == 0 || ["(", "<", "{", ";", "=", ",", "use", "&"].contains(&tokens[i - 1]))
            {
                assert!(
                    ["honeyhive", "core"].contains(&tokens[i + 1]),
                    "{} in {code}",
                    tokens[i + 1]
                );
            }
        }
        assert!(code.contains(":: honeyhive :: __private :: Call :: begin"));
    }

    #[test]
    fn attributes_and_signature_are_kept() {
        let code = expanded(
            "",
            "/// Docs.\n#[must_use]\npub(crate) unsafe extern \"C\" fn f<'a, T: Copy>(x: &'a T) -> &'a T where T: Sized { #![allow(unused)] x }",
        );
        assert!(code.starts_with("# [doc = \" Docs.\"] # [must_use] pub (crate) unsafe extern \"C\" fn f < 'a , T : Copy > (x : & 'a T) -> & 'a T where T : Sized { # ! [allow (unused)]"), "{code}");
    }

    #[test]
    fn methods_are_named_by_self_type() {
        assert!(
            expanded("", "fn f(&self) {}")
                .contains("Name :: Method (\"f\" , :: core :: any :: type_name :: < Self >)")
        );
        assert!(expanded("", "fn new() -> Self { Self }").contains("Name :: Method"));
        assert!(expanded("", "fn free(x: u8) {}").contains("Name :: Static (\"free\")"));
        assert!(expanded("name = \"n\"", "fn g(&self) {}").contains("Name :: Static (\"n\")"));
    }

    #[test]
    fn crate_option_replaces_the_path() {
        let code = expanded("crate = hh", "fn f() {}");
        assert!(code.contains("hh :: __private :: Call :: begin"), "{code}");
        assert!(!code.contains(":: honeyhive"));
    }

    #[test]
    fn errors_keep_the_item() {
        let code = expanded("bogus", "fn kept() {}");
        assert!(code.contains("compile_error"));
        assert!(code.ends_with("fn kept () { }"), "{code}");
    }
}
