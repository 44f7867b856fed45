//! Expansion of `#[experiment]`: the user's function, kept as written inside a `#[test]`
//! of the same name that runs it over the dataset through `Experiment`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use super::attr::{EvaluatorEntry, ExperimentArgs, Operator, entry_span};
use crate::common::{find_ident, private_path, with_item};

pub(crate) fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    let args: ExperimentArgs = match syn::parse2(args) {
        Ok(args) => args,
        Err(e) => return with_item(e, item),
    };
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
            return with_item(error, item);
        }
    };
    match expand(args, function.clone()) {
        Ok(tokens) => tokens,
        Err(e) => {
            // The function as written, minus test attributes, which would only add errors
            // of their own about the same mistake.
            let mut function = function;
            function.attrs.retain(|a| !is_test_attribute(a));
            with_item(e, quote!(#function))
        }
    }
}

fn first_token_span(item: &TokenStream) -> Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

fn expand(args: ExperimentArgs, function: ItemFn) -> syn::Result<TokenStream> {
    let p = private_path(args.krate.as_ref());
    let sig = &function.sig;
    let name = &sig.ident;

    // The generated function is the test; the user's own test attributes would make a
    // second one (or nest a runtime).
    for attr in &function.attrs {
        if is_test_attribute(attr) {
            return Err(syn::Error::new_spanned(
                attr,
                "remove this test attribute: `#[experiment]` already makes the function a test, \
                 with its own multi-thread runtime",
            ));
        }
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "an experiment function cannot be `const`",
        ));
    }
    if let Some(u) = &sig.unsafety {
        return Err(syn::Error::new(
            u.span(),
            "an experiment function cannot be `unsafe`: call the unsafe code from a safe function",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "an experiment function cannot be generic: name the input and output types",
        ));
    }
    let input_ty = match sig.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(arg)] => (*arg.ty).clone(),
        [FnArg::Receiver(r)] => {
            return Err(syn::Error::new(
                r.span(),
                "an experiment function is a free function: take the datapoint's inputs, e.g. \
                 `input: Question`, not `self`",
            ));
        }
        [] => {
            return Err(syn::Error::new(
                sig.paren_token.span.join(),
                "an experiment function takes one parameter, the datapoint's `inputs`, e.g. \
                 `fn qa(input: Question) -> Answer` (use `serde_json::Value` to take them as JSON)",
            ));
        }
        [_, second, ..] => {
            return Err(syn::Error::new_spanned(
                second,
                "an experiment function takes one parameter, the datapoint's `inputs`: put the \
                 fields in one type, e.g. `fn qa(input: Question) -> Answer`",
            ));
        }
    };
    let (output_ty, fallible) = match &sig.output {
        ReturnType::Default => (syn::parse_quote!(()), false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (ok, true),
            None => ((**ty).clone(), false),
        },
    };
    let output_ty = if contains_impl_trait(&output_ty) {
        syn::parse_quote!(_)
    } else {
        output_ty
    };

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
        let index = t.evaluator;
        let value = t.value;
        let comparison = match t.operator {
            Operator::AtLeast => quote!(AtLeast),
            Operator::Above => quote!(Above),
            Operator::AtMost => quote!(AtMost),
            Operator::Below => quote!(Below),
        };
        quote!(.__threshold_on_evaluator(#index, #p::Comparison::#comparison, #value))
    });
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
    Ok(quote! {
        #(#outer)*
        #[test]
        #vis fn #name() {
            #runner()
        }

        #[doc(hidden)]
        #[allow(dead_code, non_snake_case)]
        #vis fn #runner() {
            #user_fn
            #p::run_test(
                #p::Experiment::<#input_ty, #output_ty>::new(#experiment_name)
                    #dataset
                    #(#evaluators)*
                    #(#thresholds)*
                    #(#settings)*
                    #call,
            )
        }
    })
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
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("pub struct Qa"), "the item is kept: {out}");
    }
}
