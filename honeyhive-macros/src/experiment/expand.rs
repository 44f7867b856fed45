//! Expansion of `#[experiment]`: the user's function, kept as written inside a `#[test]`
//! of the same name that runs it over the dataset through `Experiment`.

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{
    Expr, FnArg, GenericArgument, Ident, ItemFn, LitStr, PathArguments, ReturnType, Token, Type,
};

use super::attr::{EvaluatorEntry, ExperimentArgs, Operator, Worse, entry_span};
use crate::common::{both, find_ident, private_path, show, with_item};
use crate::options::Errors;

/// The whole attribute; `source` is the file it is written in, when the compiler says.
pub(crate) fn experiment(
    args: TokenStream,
    item: TokenStream,
    source: Option<&Path>,
) -> TokenStream {
    // Read before parsing, so that even an attribute that does not parse keeps its
    // evaluators used.
    let references = evaluator_references(&args);
    let written_args = args.clone();
    let args = syn::parse2::<ExperimentArgs>(args).and_then(|args| {
        let dataset = match &args.dataset {
            Some(path) => dataset_file(path)?,
            None => None,
        };
        Ok((args, dataset))
    });
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            // The item stays as written, so the one error is the only one: without it,
            // every use of the item would be an error of its own.
            let error = syn::Error::new(
                first_token_span(&item),
                "`#[experiment]` goes on a function taking the datapoint's inputs, e.g. \
                 `async fn qa(input: Question) -> Answer { .. }`",
            );
            let error = match args {
                Err(mut e) => {
                    e.combine(error);
                    e
                }
                Ok(_) => error,
            };
            return failed(error, item, references);
        }
    };
    let above = source
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| test_attribute_above(&text, &function.sig.ident, &written_args));
    match both(args, Shape::of(&function, above.as_deref()))
        .map(|((args, dataset), shape)| expand(args, dataset, &function, shape))
    {
        Ok(tokens) => tokens,
        Err(e) => {
            // The function as written, minus test attributes, which would only add errors
            // of their own about the same mistake.
            let mut function = function;
            function.attrs.retain(|a| !is_test_attribute(a));
            failed(e, quote!(#function), references)
        }
    }
}

/// What a failed `#[experiment]` expands to: the errors, the item, and a use of every
/// evaluator the attribute lists, so that their imports are not reported unused on top of
/// the real mistake.
fn failed(error: syn::Error, item: TokenStream, references: TokenStream) -> TokenStream {
    let mut tokens = with_item(error, item);
    tokens.extend(references);
    tokens
}

/// A function never called that uses each entry of `evaluators = [..]` as the expansion
/// does (`path {}`, or the expression), found in the attribute's tokens without parsing the
/// rest; empty when there is no such list.
fn evaluator_references(args: &TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = args.clone().into_iter().collect();
    let list = tokens.windows(3).find_map(|w| match w {
        [
            TokenTree::Ident(key),
            TokenTree::Punct(eq),
            TokenTree::Group(list),
        ] if key == "evaluators"
            && eq.as_char() == '='
            && list.delimiter() == Delimiter::Bracket =>
        {
            Some(list.stream())
        }
        _ => None,
    });
    let Some(entries) = list.and_then(|list| {
        Punctuated::<Expr, Token![,]>::parse_terminated
            .parse2(list)
            .ok()
    }) else {
        return TokenStream::new();
    };
    if entries.is_empty() {
        return TokenStream::new();
    }
    let uses = entries.into_iter().map(|expr| {
        let span = expr.span();
        match EvaluatorEntry::from(expr) {
            EvaluatorEntry::Path(path) => quote_spanned!(span=> let _ = #path {};),
            EvaluatorEntry::Value(expr) => quote_spanned!(span=> let _ = #expr;),
        }
    });
    quote! {
        const _: () = {
            #[allow(dead_code, deprecated)]
            fn __honeyhive_evaluators() {
                #(#uses)*
            }
        };
    }
}

fn first_token_span(item: &TokenStream) -> Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// The file of `dataset = "path"`, checked at compile time as the run will look for it: a
/// relative path against the crate's directory (`CARGO_MANIFEST_DIR`, which cargo sets for
/// the compiler as for `cargo test`). Returns a constant that includes the file, so that
/// cargo rebuilds the test when the file changes, appears or goes; `None` when the
/// compiler runs without cargo (the run checks the path then).
fn dataset_file(path: &LitStr) -> syn::Result<Option<TokenStream>> {
    let written = path.value();
    let (file, include) = if Path::new(&written).is_absolute() {
        (
            PathBuf::from(&written),
            quote!(::core::include_bytes!(#path)),
        )
    } else {
        let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
            return Ok(None);
        };
        let include = quote! {
            ::core::include_bytes!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #path))
        };
        (Path::new(&dir).join(&written), include)
    };
    if file.is_file() {
        return Ok(Some(quote! {
            const _: &[u8] = #include;
        }));
    }
    let crate_dir = match std::env::var("CARGO_PKG_NAME") {
        Ok(package) => format!("the directory of package `{package}`"),
        Err(_) => "the crate's directory".to_owned(),
    };
    let looked = if Path::new(&written).is_absolute() {
        String::new()
    } else {
        format!(
            ": looked in {crate_dir} (relative paths resolve against CARGO_MANIFEST_DIR, \
             the directory of the crate's Cargo.toml)"
        )
    };
    let what = if file.exists() {
        "is not a file"
    } else {
        "not found"
    };
    Err(syn::Error::new(
        path.span(),
        format!(
            "dataset file `{written}` {what}{looked}; create it, or fix the path (a path known \
             only at run time goes to `Experiment::dataset_file`)"
        ),
    ))
}

/// What the function's signature says about the experiment.
struct Shape {
    input: Type,
    /// The output type (the `Ok` type of a `Result`); `_` where it holds `impl Trait`.
    output: Type,
    fallible: bool,
}

impl Shape {
    /// Every mistake of the signature, each at its token; `above` is a test attribute
    /// written above `#[experiment]` (see [`test_attribute_above`]).
    fn of(function: &ItemFn, above: Option<&str>) -> syn::Result<Shape> {
        let mut errors = Errors::default();
        let sig = &function.sig;
        // The generated function is the test; the user's own test attributes would make a
        // second one (or nest a runtime). Above or below `#[experiment]`, the same hint.
        // (`#[tokio::test]` above leaves a `#[test]` of its own on the function, which is
        // the same mistake.)
        if let Some(attr) = above {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("remove `{attr}` above `#[experiment]`: {ALREADY_A_TEST}"),
            ));
        }
        for attr in function.attrs.iter().filter(|_| above.is_none()) {
            if is_test_attribute(attr) {
                errors.push(syn::Error::new_spanned(
                    attr,
                    format!("remove `{}`: {ALREADY_A_TEST}", attribute_text(attr)),
                ));
            }
        }
        if let Some(c) = &sig.constness {
            errors.push(syn::Error::new(
                c.span(),
                "an experiment function cannot be `const`",
            ));
        }
        if let Some(u) = &sig.unsafety {
            errors.push(syn::Error::new(
                u.span(),
                "an experiment function cannot be `unsafe`: call the unsafe code from a safe \
                 function",
            ));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.push(syn::Error::new(
                sig.generics.span(),
                "an experiment function cannot be generic: name the input and output types",
            ));
        }
        let input = match sig.inputs.iter().collect::<Vec<_>>().as_slice() {
            [FnArg::Typed(arg)] => match by_value(&arg.ty) {
                Ok(()) => Some((*arg.ty).clone()),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            [FnArg::Receiver(r)] => {
                errors.push(syn::Error::new(
                    r.span(),
                    "an experiment function is a free function: take the datapoint's inputs, \
                     e.g. `input: Question`, not `self`",
                ));
                None
            }
            [] => {
                errors.push(syn::Error::new(
                    sig.paren_token.span.join(),
                    "an experiment function takes one parameter, the datapoint's `inputs`, e.g. \
                     `fn qa(input: Question) -> Answer` (use `serde_json::Value` to take them \
                     as JSON)",
                ));
                None
            }
            [_, second, ..] => {
                errors.push(syn::Error::new_spanned(
                    second,
                    "an experiment function takes one parameter, the datapoint's `inputs`: put \
                     the fields in one type, e.g. `fn qa(input: Question) -> Answer`",
                ));
                None
            }
        };
        errors.finish()?;
        let (output, fallible) = match &sig.output {
            ReturnType::Default => (syn::parse_quote!(()), false),
            ReturnType::Type(_, ty) => match result_ok_type(ty) {
                Some(ok) => (ok, true),
                None => ((**ty).clone(), false),
            },
        };
        let output = if contains_impl_trait(&output) {
            syn::parse_quote!(_)
        } else {
            output
        };
        Ok(Shape {
            input: input.expect("an input type when there are no errors"),
            output,
            fallible,
        })
    }
}

/// The error for an input parameter taken by reference: the function receives the
/// datapoint's inputs as a value of its own.
fn by_value(ty: &Type) -> syn::Result<()> {
    let Type::Reference(reference) = ty else {
        return Ok(());
    };
    let owned = match &*reference.elem {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => "String".to_owned(),
        Type::Slice(slice) => format!("Vec<{}>", show(&slice.elem)),
        elem => show(elem),
    };
    Err(syn::Error::new_spanned(
        ty,
        format!(
            "an experiment function takes the datapoint's inputs by value: write `{owned}`, not \
             a reference (each datapoint's inputs are deserialised into a value the function \
             owns)"
        ),
    ))
}

fn expand(
    args: ExperimentArgs,
    dataset_include: Option<TokenStream>,
    function: &ItemFn,
    shape: Shape,
) -> TokenStream {
    let p = private_path(args.krate.as_ref());
    let sig = &function.sig;
    let name = &sig.ident;
    let Shape {
        input: input_ty,
        output: output_ty,
        fallible,
    } = shape;

    let experiment_name = match &args.name {
        Some(lit) => lit.value(),
        None => name.to_string(),
    };
    let dataset = match (&args.dataset, &args.dataset_id) {
        (Some(path), _) => quote! {
            // Relative to the crate: `Dataset::load` resolves against CARGO_MANIFEST_DIR.
            .dataset_file(#path)
        },
        (None, Some(id)) => quote!(.hosted_dataset(#id)),
        (None, None) => unreachable!("the parser requires a dataset"),
    };
    let evaluators = args.evaluators.iter().map(|entry| {
        let span = entry_span(entry);
        let value = match entry {
            EvaluatorEntry::Path(path) => quote_spanned!(span=> #path {}),
            EvaluatorEntry::Value(expr) => quote_spanned!(span=> #expr),
        };
        quote_spanned!(span=> .evaluator(#value))
    });
    let thresholds = args.thresholds.iter().map(|t| {
        let metric = &t.metric;
        let value = t.value;
        let comparison = match t.operator {
            Operator::AtLeast => quote!(AtLeast),
            Operator::Above => quote!(Above),
            Operator::AtMost => quote!(AtMost),
            Operator::Below => quote!(Below),
        };
        quote!(.threshold(#metric, #p::Comparison::#comparison, #value))
    });
    let regressions = args.regressions.iter().map(|r| {
        let (metric, tolerance) = (&r.metric, r.tolerance);
        let constructor = match r.worse {
            Worse::Drop => quote!(max_drop),
            Worse::Rise => quote!(max_rise),
        };
        quote!(.regression(#p::Regression::#constructor(#metric, #tolerance)))
    });
    let baseline = args.baseline.as_ref().map(|lit| quote!(.baseline(#lit)));
    let metric_check = metric_check(&p, &args);
    let settings = [
        args.max_concurrency
            .map(|n| quote!(.max_concurrency(#n as usize))),
        args.repetitions.map(|n| quote!(.repetitions(#n as u32))),
        args.allow_failures
            .map(|n| quote!(.allow_failures(#n as usize))),
        args.allow_evaluator_errors
            .map(|n| quote!(.allow_evaluator_errors(#n as usize))),
        args.timeout_ms
            .map(|ms| quote!(.timeout(::std::time::Duration::from_millis(#ms)))),
        args.aggregate.as_ref().map(|lit| {
            let variant = match lit.value().as_str() {
                "sum" => quote!(Sum),
                "min" => quote!(Min),
                "max" => quote!(Max),
                _ => quote!(Average),
            };
            quote_spanned!(lit.span()=> .aggregate_function(#p::AggregateFunction::#variant))
        }),
        args.ground_truth
            .as_ref()
            .map(|ty| quote_spanned!(ty.span()=> .ground_truth::<#ty>())),
    ]
    .into_iter()
    .flatten();
    let call = match (sig.asyncness.is_some(), fallible) {
        (true, false) => quote!(.run(#name)),
        (true, true) => quote!(.try_run(#name)),
        (false, false) => quote!(.run(|input| #p::blocking(move || #name(input)))),
        (false, true) => quote!(.try_run(|input| #p::blocking(move || #name(input)))),
    };

    // Test attributes go on the test; the rest stay on the user's function.
    let (outer, inner): (Vec<_>, Vec<_>) = function.attrs.iter().partition(|a| {
        let path = a.path();
        ["ignore", "should_panic", "doc", "cfg", "cfg_attr"]
            .iter()
            .any(|n| path.is_ident(n))
    });
    let vis = &function.vis;
    let block = &function.block;
    let user_fn = quote! {
        #(#inner)*
        #sig #block
    };
    let experiment_name = syn::LitStr::new(&experiment_name, name.span());
    // The run lives in a plain function next to the test, so that it is type-checked in
    // every build (a `#[test]` fn is compiled only under `--test`) and doc examples can
    // call it.
    let runner = quote::format_ident!("__honeyhive_experiment_{}", name);
    // `run_test` is `#[track_caller]`: a failed experiment's panic points at the user's
    // function, whose name this call is made of.
    let run_test = respan(quote!(#p::run_test), name.span());
    let run = quote_spanned! {name.span()=>
        #run_test(
            #p::Experiment::<#input_ty, #output_ty>::new(#experiment_name)
                #dataset
                #(#evaluators)*
                #(#thresholds)*
                #(#regressions)*
                #baseline
                #(#settings)*
                #call,
        )
    };
    quote! {
        #(#outer)*
        #[test]
        #vis fn #name() {
            #runner()
        }

        #[doc(hidden)]
        #[allow(dead_code, non_snake_case)]
        #vis fn #runner() {
            #user_fn
            #dataset_include
            #run
        }

        #metric_check
    }
}

/// The compile-time check of the thresholds and regression gates: a constant per threshold
/// (and gate) whose evaluation fails, at its metric, when it names no metric of the
/// evaluators whose metric names are known at compile time (those whose type implements `KnownMetric`:
/// `#[evaluator]` structs and the built-ins named by path; other evaluators leave the check
/// to the run, which makes it before any datapoint). The rule and the message are the
/// runtime's `const fn`s, so both say the same.
fn metric_check(p: &TokenStream, args: &ExperimentArgs) -> Option<TokenStream> {
    if args.thresholds.is_empty() && args.regressions.is_empty() {
        return None;
    }
    let listed = args.evaluators.iter().map(|entry| match entry {
        EvaluatorEntry::Path(path) => {
            let written = entry
                .ident()
                .map(|i| i.unraw().to_string())
                .unwrap_or_default();
            let span = path.span();
            let value = quote_spanned!(span=> #path {});
            quote! {
                #p::Listed {
                    written: #written,
                    metric: #p::metric(|| (&#p::Probe::of(&#value)).metric_kind()),
                }
            }
        }
        EvaluatorEntry::Value(_) => {
            quote!(#p::Listed { written: "", metric: ::core::option::Option::None })
        }
    });
    // Thresholds and regression gates name metrics by one rule, checked by one `const fn`.
    let named = args
        .thresholds
        .iter()
        .map(|t| ("threshold", &t.metric, t.bound.as_str(), t.span))
        .chain(
            args.regressions
                .iter()
                .map(|r| ("regression", &r.metric, "", r.span)),
        );
    let checks = named.map(|(what, metric, bound, span)| {
        let fail = quote_spanned!(span=> ::core::panic!("{}", #p::utf8(&TEXT)));
        quote! {
            const _: () = {
                const LEN: usize = #p::metric_error_len(#what, EVALUATORS, #metric, #bound);
                const TEXT: [u8; LEN] = #p::metric_error::<LEN>(#what, EVALUATORS, #metric, #bound);
                if LEN > 0 {
                    #fail
                }
            };
        }
    });
    Some(quote! {
        #[allow(deprecated)]
        const _: () = {
            #[allow(unused_imports)]
            use #p::{ProbeKnown as _, ProbeNotKnown as _};
            const EVALUATORS: &[#p::Listed<'static>] = &[#(#listed),*];
            #(#checks)*
        };
    })
}

/// `tokens`, every one at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Why a test attribute must go.
const ALREADY_A_TEST: &str =
    "`#[experiment]` already makes the function a test, with its own multi-thread runtime";

/// The test attribute written above this `#[experiment]` in `source`, the text of the file,
/// as the user wrote it (`#[test]`, `#[tokio::test(..)]`).
///
/// The compiler expands the attributes of an item in order: a `#[test]` above
/// `#[experiment]` runs first, reports (under `--test`) that the function cannot be a test
/// (`async functions cannot be used for tests`, or its parameter), and hands the function
/// on without itself; `#[tokio::test]` does the same. So it cannot be seen in the item:
/// it is looked for in the file, on the function of the same name whose `#[experiment]`
/// has the same options.
fn test_attribute_above(source: &str, name: &Ident, args: &TokenStream) -> Option<String> {
    // Most files have no test attribute that could be one: no parsing then.
    if !source.contains("test") {
        return None;
    }
    let file = syn::parse_file(source).ok()?;
    let args = without_spaces(args);
    let mut items: Vec<&syn::Item> = file.items.iter().collect();
    while let Some(item) = items.pop() {
        match item {
            syn::Item::Mod(m) => {
                items.extend(m.content.iter().flat_map(|(_, items)| items));
            }
            syn::Item::Fn(f) if f.sig.ident == *name => {
                let Some(ours) = f.attrs.iter().position(|a| {
                    a.path()
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "experiment")
                        && match &a.meta {
                            syn::Meta::List(list) => without_spaces(&list.tokens) == args,
                            _ => args.is_empty(),
                        }
                }) else {
                    continue;
                };
                if let Some(test) = f.attrs[..ours].iter().find(|a| is_test_attribute(a)) {
                    return Some(attribute_text(test));
                }
            }
            _ => {}
        }
    }
    None
}

fn without_spaces(tokens: &TokenStream) -> String {
    tokens.to_string().split_whitespace().collect()
}

/// An attribute as the user wrote it, its arguments elided: `#[tokio::test(..)]`; the
/// standard library's test attribute as `#[test]`, however a macro spelled it.
fn attribute_text(attr: &syn::Attribute) -> String {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let path = match segments.first().map(String::as_str) {
        Some("core" | "std") => segments.last().cloned().unwrap_or_default(),
        _ => segments.join("::"),
    };
    match attr.meta {
        syn::Meta::Path(_) => format!("#[{path}]"),
        _ => format!("#[{path}(..)]"),
    }
}

/// `#[test]`, `#[tokio::test]`, `#[rstest::test]`...
fn is_test_attribute(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "test")
}

/// `T` of a return type spelled `Result<T, ..>` (any path ending in `Result`, such as
/// `honeyhive::Result<T>` or `anyhow::Result<T>`).
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

fn contains_impl_trait(ty: &Type) -> bool {
    find_ident(quote!(#ty), "impl").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_that_is_not_a_function_stays_next_to_the_error() {
        let out = experiment(
            "dataset = \"d.jsonl\"".parse().unwrap(),
            "pub struct Qa { k: u32 }".parse().unwrap(),
            None,
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("pub struct Qa"), "the item is kept: {out}");
    }

    fn expanded(args: &str, item: &str) -> String {
        experiment(args.parse().unwrap(), item.parse().unwrap(), None).to_string()
    }

    #[test]
    fn a_failed_expansion_still_uses_the_evaluators() {
        let uses = "fn __honeyhive_evaluators () { let _ = exact_match { } ; \
                    let _ = m :: judge { } ; let _ = Contains :: new (\"x\") ; }";
        // Options that do not parse, a signature mistake, no function at all.
        for (args, item) in [
            (
                "dataset = \"tests/data/sums.jsonl\", evaluators = [exact_match, m::judge, Contains::new(\"x\")], nope = 1",
                "async fn qa(input: u8) -> u8 { input }",
            ),
            (
                "evaluators = [exact_match, m::judge, Contains::new(\"x\")], dataset = \"tests/data/sums.jsonl\"",
                "async fn qa(a: u8, b: u8) -> u8 { a }",
            ),
            (
                "evaluators = [exact_match, m::judge, Contains::new(\"x\")], dataset = \"tests/data/sums.jsonl\"",
                "struct Qa;",
            ),
        ] {
            let out = expanded(args, item);
            assert!(out.contains("compile_error"), "{out}");
            assert!(out.contains(uses), "{out}");
        }
        // Nothing to use: nothing added.
        let out = expanded("nope = 1", "async fn qa(input: u8) -> u8 { input }");
        assert!(!out.contains("__honeyhive_evaluators"), "{out}");
        // A successful expansion uses them itself.
        let out = expanded(
            "dataset = \"tests/data/sums.jsonl\", evaluators = [exact_match]",
            "async fn qa(input: u8) -> u8 { input }",
        );
        assert!(!out.contains("__honeyhive_evaluators"), "{out}");
    }

    #[test]
    fn thresholds_are_checked_against_the_evaluators_metrics() {
        let out = expanded(
            "dataset = \"tests/data/sums.jsonl\", evaluators = [judge, Contains::new(\"x\")], \
             threshold(relevance > 0.1, \"answer words\" <= 5)",
            "async fn qa(input: u8) -> u8 { input }",
        );
        // By name, at run time too.
        assert!(
            out.contains(". threshold (\"relevance\" , :: honeyhive :: __private :: Comparison :: Above , 0.1f64)"),
            "{out}"
        );
        assert!(out.contains(". threshold (\"answer words\" ,"), "{out}");
        // At compile time: the path's metric through the probe, a value's left to the run.
        assert!(
            out.contains("written : \"judge\" , metric : :: honeyhive :: __private :: metric (|| (& :: honeyhive :: __private :: Probe :: of (& judge { })) . metric_kind ())"),
            "{out}"
        );
        assert!(
            out.contains("written : \"\" , metric : :: core :: option :: Option :: None"),
            "{out}"
        );
        assert!(
            out.contains(
                "metric_error_len (\"threshold\" , EVALUATORS , \"relevance\" , \"> 0.1\")"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "metric_error_len (\"threshold\" , EVALUATORS , \"answer words\" , \"<= 5\")"
            ),
            "{out}"
        );
        let out = expanded(
            "dataset = \"tests/data/sums.jsonl\", evaluators = [judge]",
            "async fn qa(input: u8) -> u8 { input }",
        );
        assert!(
            !out.contains("EVALUATORS"),
            "no thresholds, no check: {out}"
        );
        // Regression gates go by the same check, and to the builder with their baseline.
        let out = expanded(
            "dataset = \"tests/data/sums.jsonl\", evaluators = [judge], baseline = \"last\", \
             regression(relevance, max_drop = 0.1, cost, max_rise = 2)",
            "async fn qa(input: u8) -> u8 { input }",
        );
        assert!(
            out.contains("metric_error_len (\"regression\" , EVALUATORS , \"relevance\" , \"\")"),
            "{out}"
        );
        assert!(
            out.contains(". regression (:: honeyhive :: __private :: Regression :: max_drop (\"relevance\" , 0.1f64))"),
            "{out}"
        );
        assert!(
            out.contains(". regression (:: honeyhive :: __private :: Regression :: max_rise (\"cost\" , 2f64))"),
            "{out}"
        );
        assert!(out.contains(". baseline (\"last\")"), "{out}");
    }

    #[test]
    fn a_dataset_file_is_checked_and_included() {
        // Relative to this crate, as the run resolves it.
        let lit = |s: &str| LitStr::new(s, Span::call_site());
        let include = dataset_file(&lit("tests/data/sums.jsonl"))
            .unwrap()
            .unwrap();
        assert_eq!(
            include.to_string(),
            "const _ : & [u8] = :: core :: include_bytes ! (:: core :: concat ! (:: core :: env ! \
             (\"CARGO_MANIFEST_DIR\") , \"/\" , \"tests/data/sums.jsonl\")) ;"
        );
        let missing = dataset_file(&lit("tests/data/missing.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with(
                "dataset file `tests/data/missing.jsonl` not found: looked in the directory of \
                 package `honeyhive-macros` (relative paths resolve against CARGO_MANIFEST_DIR"
            ),
            "{missing}"
        );
        // An absolute path is taken as it is.
        let dir =
            std::env::temp_dir().join(format!("honeyhive-macros-{}.json", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let absolute = dir.display().to_string();
        let not_a_file = dataset_file(&lit(&absolute)).unwrap_err().to_string();
        assert_eq!(
            not_a_file,
            format!(
                "dataset file `{absolute}` is not a file; create it, or fix the path (a path \
                 known only at run time goes to `Experiment::dataset_file`)"
            )
        );
        let file = dir.join("d.jsonl");
        std::fs::write(&file, "{}").unwrap();
        let include = dataset_file(&lit(&file.display().to_string()))
            .unwrap()
            .unwrap()
            .to_string();
        assert!(
            include.starts_with("const _ : & [u8] = :: core :: include_bytes ! (\""),
            "{include}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_test_attribute_above_is_found_in_the_source() {
        let source = r#"
            use honeyhive::experiment;

            #[experiment(dataset = "a.jsonl")]
            async fn qa(input: String) -> String { input }

            mod more {
                /// Docs.
                #[tokio::test(flavor = "multi_thread")]
                #[ignore]
                #[honeyhive::experiment(dataset = "b.jsonl", evaluators = [x])]
                async fn qa(input: String) -> String { input }

                #[test]
                #[experiment(dataset = "c.jsonl")]
                fn sync(input: u8) -> u8 { input }
            }
        "#;
        let above = |args: &str, name: &str| {
            let args = args.parse::<TokenStream>().unwrap();
            test_attribute_above(source, &Ident::new(name, Span::call_site()), &args)
        };
        assert_eq!(above("dataset = \"a.jsonl\"", "qa"), None);
        assert_eq!(
            above("dataset = \"b.jsonl\", evaluators = [x]", "qa").as_deref(),
            Some("#[tokio::test(..)]")
        );
        assert_eq!(
            above("dataset = \"c.jsonl\"", "sync").as_deref(),
            Some("#[test]")
        );
        // Another function, or options that differ: not this one.
        assert_eq!(above("dataset = \"c.jsonl\"", "qa"), None);
        assert_eq!(above("dataset = \"d.jsonl\"", "sync"), None);
        let qa = "async fn qa(input: String) -> String { input }";

        // The hint, as for a test attribute below (once: `#[tokio::test]` above leaves a
        // `#[test]` of its own on the function).
        let function: ItemFn =
            syn::parse_str(&format!("#[::core::prelude::v1::test] {qa}")).unwrap();
        let error = Shape::of(&function, Some("#[tokio::test]")).err().unwrap();
        assert_eq!(
            error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            [
                "remove `#[tokio::test]` above `#[experiment]`: `#[experiment]` already makes \
              the function a test, with its own multi-thread runtime"
            ]
        );
        let below = Shape::of(&function, None).err().unwrap().to_string();
        assert!(below.starts_with("remove `#[test]`: "), "{below}");
    }

    #[test]
    fn an_input_taken_by_reference_says_what_to_take() {
        let error = |ty: &str| {
            by_value(&syn::parse_str(ty).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(error("&Query").contains("write `Query`, not a reference"));
        assert!(error("&mut crate::Query").contains("write `crate::Query`"));
        assert!(error("&'a str").contains("write `String`"));
        assert!(error("&[Query]").contains("write `Vec<Query>`"));
        assert!(by_value(&syn::parse_str("Query").unwrap()).is_ok());
    }
}
