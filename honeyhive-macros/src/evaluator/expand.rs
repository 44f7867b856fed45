//! Code generation of `#[evaluator]`.
//!
//! The function is kept exactly as written. Next to it goes a braced struct of the same
//! name (braced structs live only in the type namespace, so both coexist, as with Rocket's
//! routes) implementing `Evaluator<I, O>`, where `O` is the referent of `output: &O` and
//! `I` the referent of `inputs: &I` (a generic parameter when the function does not take
//! them). Its `evaluate` deserialises the ground truth the function takes, calls the
//! function with its parameters in their order (awaiting an `async fn`) and converts the
//! return value with `IntoEvaluation`, located at the return type so that an unsupported
//! type is reported there. The struct's `KnownMetric` constant is the metric's name, for
//! `#[experiment]`'s compile-time check of its thresholds.
//!
//! Generated code names runtime items only through `<crate>::__private`, `::core` and
//! `::std`; its locals have mixed-site hygiene.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{
    FnArg, GenericArgument, GenericParam, Generics, Ident, Item, ItemFn, Pat, PathArguments,
    ReturnType, TraitItemFn, Type, WherePredicate,
};

use super::attr::EvaluatorArgs;
use crate::common::{both, describe_item, find_ident, private_path, show, suggest, with_item};
use crate::options::Errors;

/// The parameter names an evaluator may take, as written in error messages.
const ALLOWED: &str = "`output: &O` (the function's output), `inputs: &I` (the datapoint's \
                       inputs), `ground_truth: &G` or `Option<&G>` (the datapoint's ground \
                       truth) and `trace: &honeyhive::Trace` (the spans the function made), \
                       any of them, in any order";

/// The whole attribute: on any error, the errors are emitted next to the unchanged item,
/// so that the rest of the crate still compiles and only the real mistake is reported.
pub(crate) fn evaluator(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<EvaluatorArgs>(args);
    let func = match (&args, function(item.clone())) {
        // Report the signature's mistakes along with the options'.
        (Err(_), Ok(func)) => Shape::analyse(&func.sig).map(|_| func),
        (_, func) => func,
    };
    both(args, func)
        .and_then(|(args, func)| expand(&args, func))
        .unwrap_or_else(|e| with_item(e, item))
}

/// The item as a free function, or an error saying why `#[evaluator]` cannot go there.
fn function(item: TokenStream) -> syn::Result<ItemFn> {
    let not_fn = |what: &str, span: Span| {
        syn::Error::new(
            span,
            format!(
                "`#[evaluator]` applies to scoring functions (`fn`, `async fn`), not to {what}; \
                 write a function that takes `output: &O` (and, if it needs them, `inputs: &I`, \
                 `ground_truth: &G`) and returns its score"
            ),
        )
    };
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(item) => item,
        Err(e) => {
            return Err(match syn::parse2::<TraitItemFn>(item) {
                Ok(f) => method(&f.sig).unwrap_or_else(|| not_fn("a trait method", e.span())),
                _ => not_fn("this item", e.span()),
            });
        }
    };
    let (what, span) = match &item {
        Item::Fn(f) => return Ok(f.clone()),
        Item::Verbatim(tokens) => match syn::parse2::<TraitItemFn>(tokens.clone()) {
            Ok(f) => match method(&f.sig) {
                Some(e) => return Err(e),
                None => ("a function without a body", f.sig.ident.span()),
            },
            _ => ("this item", tokens.span()),
        },
        other => describe_item(other),
    };
    Err(not_fn(what, span))
}

/// The error for a method (`self`), which cannot be an evaluator.
fn method(sig: &syn::Signature) -> Option<syn::Error> {
    let receiver = sig.receiver()?;
    Some(syn::Error::new(
        receiver.self_token.span,
        format!(
            "an evaluator is a free function, not a method: move `{}` out of the `impl` block; \
             it may take {ALLOWED}",
            sig.ident
        ),
    ))
}

/// What one parameter of the function is bound to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Output,
    Inputs,
    /// `&G` (`required`) or `Option<&G>`.
    GroundTruth {
        required: bool,
    },
    /// `&Trace`: the datapoint's spans.
    Trace,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Output => "output",
            Kind::Inputs => "inputs",
            Kind::GroundTruth { .. } => "ground_truth",
            Kind::Trace => "trace",
        }
    }
}

/// One parameter: what it is bound to and the type it refers to (`O`, `I` or `G`).
struct Param {
    kind: Kind,
    referent: Type,
}

/// The function's signature as an evaluator.
struct Shape {
    /// In the user's order.
    params: Vec<Param>,
    /// The span of the return type, where conversion errors are reported.
    return_span: Span,
    /// Whether the return type is a `Result` (its last path segment, with type arguments:
    /// `Result<T, E>`, `honeyhive::Result<T>`, `anyhow::Result<T>`).
    returns_result: bool,
}

impl Shape {
    fn analyse(sig: &syn::Signature) -> syn::Result<Shape> {
        let mut errors = Errors::default();
        if let Some(e) = method(sig) {
            return Err(e);
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.push(syn::Error::new(
                unsafety.span(),
                "an evaluator cannot be an `unsafe fn`: the experiment calls it with no way to \
                 uphold its safety contract; make it safe (use `unsafe` blocks inside)",
            ));
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(syn::Error::new(
                variadic.span(),
                "an evaluator cannot be variadic",
            ));
        }
        // A name taken twice is rustc's error (E0415), reported on the function as it is.
        let mut params: Vec<Param> = Vec::new();
        for input in &sig.inputs {
            let FnArg::Typed(arg) = input else {
                continue; // `self`: reported by `method`.
            };
            match param(arg) {
                Ok(p) => params.push(p),
                Err(e) => errors.push(e),
            }
        }
        let return_span = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => {
                errors.push(syn::Error::new(
                    sig.paren_token.span.close(),
                    format!(
                        "evaluator `{}` returns nothing: return its score, e.g. `-> bool` \
                         (true = 1.0), an integer or float, `honeyhive::Score`, or a `Result` \
                         of one of these",
                        sig.ident
                    ),
                ));
                Span::call_site()
            }
        };
        // Generic parameters must be decided by the experiment's types: the struct has none.
        let decided: Vec<TokenStream> = params
            .iter()
            .filter(|p| matches!(p.kind, Kind::Output | Kind::Inputs))
            .map(|p| p.referent.to_token_stream())
            .collect();
        for param in &sig.generics.params {
            let (ident, what) = match param {
                GenericParam::Type(t) => (&t.ident, "type"),
                GenericParam::Const(c) => (&c.ident, "const"),
                GenericParam::Lifetime(_) => continue,
            };
            if !decided.iter().any(|t| mentions(t.clone(), ident)) {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "generic {what} parameter `{ident}` of evaluator `{}` must appear in the \
                         type of `output` or `inputs`: the experiment's function decides those \
                         types, and nothing else can decide `{ident}`; use a concrete type \
                         where `{ident}` appears",
                        sig.ident
                    ),
                ));
            }
        }
        errors.finish()?;
        let returns_result = match &sig.output {
            ReturnType::Type(_, ty) => is_result(ty),
            ReturnType::Default => false,
        };
        Ok(Shape {
            params,
            return_span,
            returns_result,
        })
    }

    fn get(&self, kind: fn(Kind) -> bool) -> Option<&Param> {
        self.params.iter().find(|p| kind(p.kind))
    }
}

/// One typed parameter, checked.
fn param(arg: &syn::PatType) -> syn::Result<Param> {
    let ident = match &*arg.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => &p.ident,
        other => {
            return Err(syn::Error::new(
                other.span(),
                format!("bind each parameter of an evaluator by name: {ALLOWED}"),
            ));
        }
    };
    let name = ident.unraw().to_string();
    let kind = match name.as_str() {
        "output" => Kind::Output,
        "inputs" => Kind::Inputs,
        "ground_truth" => Kind::GroundTruth { required: true },
        "trace" => return trace_param(&arg.ty),
        other => {
            let hint = match other.trim_start_matches('_') {
                "input" | "question" | "query" | "prompt" | "request" | "args" => Some("inputs"),
                "out" | "outputs" | "answer" | "response" | "prediction" | "result" | "actual"
                | "completion" => Some("output"),
                "expected" | "reference" | "target" | "label" | "truth" | "gold" | "golden"
                | "groundtruth" | "ground_truths" => Some("ground_truth"),
                "spans" | "traces" | "trajectory" | "span" | "tree" => Some("trace"),
                _ => suggest(other, &["output", "inputs", "ground_truth", "trace"]),
            };
            let hint = match hint {
                Some(h) => format!(" (did you mean `{h}`?)"),
                None => String::new(),
            };
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown evaluator parameter `{other}`{hint}: an evaluator's parameters are \
                     bound by name; it may take {ALLOWED}"
                ),
            ));
        }
    };
    let ty = strip_parens(&arg.ty);
    let referent = match (kind, ty) {
        (_, Type::Reference(r)) if r.mutability.is_none() => {
            check_referent(kind, &r.elem)?;
            (*r.elem).clone()
        }
        (_, Type::Reference(r)) => {
            let elem = &r.elem;
            let fix = match kind {
                Kind::GroundTruth { .. } => format!("`ground_truth: &{}`", show(elem)),
                _ => format!("`{name}: &{}`", show(elem)),
            };
            return Err(syn::Error::new(
                r.mutability.span(),
                format!("an evaluator reads `{name}`, it cannot change it: write {fix}"),
            ));
        }
        (Kind::GroundTruth { .. }, ty) if option_of(ty).is_some() => {
            let inner = option_of(ty).expect("checked");
            match strip_parens(inner) {
                Type::Reference(r) if r.mutability.is_none() => {
                    check_referent(kind, &r.elem)?;
                    return Ok(Param {
                        kind: Kind::GroundTruth { required: false },
                        referent: (*r.elem).clone(),
                    });
                }
                Type::Reference(r) => {
                    return Err(syn::Error::new(
                        r.span(),
                        format!(
                            "an evaluator reads the ground truth, it cannot change it: write \
                             `ground_truth: Option<&{}>`",
                            show(&r.elem)
                        ),
                    ));
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        format!(
                            "`ground_truth` is borrowed: write `ground_truth: Option<&{}>`",
                            show(other)
                        ),
                    ));
                }
            }
        }
        (Kind::GroundTruth { .. }, ty) => {
            let t = show(ty);
            return Err(syn::Error::new(
                ty.span(),
                format!(
                    "`ground_truth` is borrowed: write `ground_truth: &{t}` (every datapoint must \
                     have one) or `ground_truth: Option<&{t}>`"
                ),
            ));
        }
        (_, ty) if option_of(ty).is_some() => {
            let inner = option_of(ty).expect("checked");
            let inner = match strip_parens(inner) {
                Type::Reference(r) => show(&r.elem),
                other => show(other),
            };
            let why = if kind == Kind::Output {
                "the function's output"
            } else {
                "the datapoint's inputs"
            };
            return Err(syn::Error::new(
                ty.span(),
                format!(
                    "{why} is always there: write `{name}: &{inner}` (only `ground_truth` may be \
                     an `Option`)"
                ),
            ));
        }
        (_, ty) => {
            let what = if kind == Kind::Output {
                "the function's output"
            } else {
                "the datapoint's inputs"
            };
            return Err(syn::Error::new(
                ty.span(),
                format!("an evaluator borrows {what}: write `{name}: &{}`", show(ty)),
            ));
        }
    };
    Ok(Param { kind, referent })
}

/// `trace: &Trace`. Whether the referent is `honeyhive::Trace` is for the compiler to
/// say (the generated code passes the trace through a trait only `Trace` implements, at
/// the type's span); here, what a reference to it must look like.
fn trace_param(ty: &Type) -> syn::Result<Param> {
    let fix = |referent: &Type| {
        let shown = show(referent);
        let shown = if shown.ends_with("Trace") {
            shown
        } else {
            "honeyhive::Trace".to_owned()
        };
        format!("write `trace: &{shown}`")
    };
    match strip_parens(ty) {
        Type::Reference(r) if r.mutability.is_none() => Ok(Param {
            kind: Kind::Trace,
            referent: (*r.elem).clone(),
        }),
        Type::Reference(r) => Err(syn::Error::new(
            r.mutability.span(),
            format!(
                "an evaluator reads the datapoint's trace, it cannot change it: {}",
                fix(&r.elem)
            ),
        )),
        ty => {
            let (why, referent) = match option_of(ty) {
                Some(inner) => (
                    "an evaluator that takes the trace is always given it (the run collects \
                     it for that evaluator)",
                    match strip_parens(inner) {
                        Type::Reference(r) => (*r.elem).clone(),
                        other => other.clone(),
                    },
                ),
                None => (
                    "an evaluator borrows the datapoint's trace, shared with the run's other \
                     evaluators",
                    ty.clone(),
                ),
            };
            Err(syn::Error::new(
                ty.span(),
                format!("{why}: {}", fix(&referent)),
            ))
        }
    }
}

/// Rejects referents that cannot be an experiment's type: `impl Trait`, `str`, slices.
fn check_referent(kind: Kind, ty: &Type) -> syn::Result<()> {
    let name = kind.name();
    if let Some(span) = impl_trait(ty.to_token_stream()) {
        return Err(syn::Error::new(
            span,
            format!(
                "`impl Trait` cannot be an evaluator's `{name}` type: name the type, or declare a \
                 generic parameter (`fn f<T: Trait>({name}: &T)`)"
            ),
        ));
    }
    let owned = match strip_parens(ty) {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => Some("String".to_owned()),
        Type::Slice(s) => Some(format!("Vec<{}>", show(&s.elem))),
        Type::TraitObject(_) => None,
        _ => return Ok(()),
    };
    let what = match kind {
        Kind::Output => "the experiment function's return type (the `Ok` type of a `Result`)",
        Kind::Inputs => "the experiment function's input type",
        Kind::GroundTruth { .. } => "the type the ground truth deserialises into",
        Kind::Trace => "the datapoint's trace",
    };
    let fix = match owned {
        Some(owned) => format!("for `{owned}`, write `{name}: &{owned}`",),
        None => "name a sized type".to_owned(),
    };
    Err(syn::Error::new(
        ty.span(),
        format!(
            "`{name}: &{}` cannot be given to an evaluator: `{name}` borrows {what}, a sized \
             type; {fix}",
            show(ty)
        ),
    ))
}

/// Whether `ty` is a `Result` with type arguments, by its last path segment.
fn is_result(ty: &Type) -> bool {
    let Type::Path(p) = strip_parens(ty) else {
        return false;
    };
    p.qself.is_none()
        && p.path.segments.last().is_some_and(|last| {
            last.ident == "Result"
                && matches!(&last.arguments, PathArguments::AngleBracketed(a)
                    if a.args.iter().any(|arg| matches!(arg, GenericArgument::Type(_))))
        })
}

fn strip_parens(mut ty: &Type) -> &Type {
    while let Type::Paren(p) = ty {
        ty = &p.elem;
    }
    ty
}

/// `T` when `ty` is `Option<T>` (`std::option::Option<T>`, ...).
fn option_of(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = strip_parens(ty) else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

/// The span of the first `impl` keyword in `tokens`.
fn impl_trait(tokens: TokenStream) -> Option<Span> {
    find_ident(tokens, "impl")
}

/// Whether `tokens` mention `ident`.
fn mentions(tokens: TokenStream, ident: &Ident) -> bool {
    find_ident(tokens, &ident.to_string()).is_some()
}

fn expand(args: &EvaluatorArgs, func: ItemFn) -> syn::Result<TokenStream> {
    let shape = Shape::analyse(&func.sig)?;
    let p = private_path(args.krate.as_ref());
    let sig = &func.sig;
    let fn_ident = &sig.ident;
    let vis = &func.vis;

    // Located at a user token (errors point there), resolved in the macro (lints and
    // hygiene treat it as generated code).
    let at = |span: Span| Span::mixed_site().located_at(span);
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let input = local("__honeyhive_input");
    let value = local("__honeyhive_value");
    let ground_truth_json = local("__honeyhive_ground_truth");

    // The impl's generics: the function's (without defaults), then `__I` / `__O` for what
    // it does not read.
    let mut generics: Generics = sig.generics.clone();
    for param in generics.params.iter_mut() {
        match param {
            GenericParam::Type(t) => {
                t.eq_token = None;
                t.default = None;
            }
            GenericParam::Const(c) => {
                c.eq_token = None;
                c.default = None;
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    let generic_idents: Vec<Ident> = sig
        .generics
        .params
        .iter()
        .filter_map(|g| match g {
            GenericParam::Type(t) => Some(t.ident.clone()),
            GenericParam::Const(c) => Some(c.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let is_generic = |ty: &Type| {
        generic_idents
            .iter()
            .any(|g| mentions(ty.to_token_stream(), g))
    };
    let output = shape.get(|k| k == Kind::Output);
    let inputs = shape.get(|k| k == Kind::Inputs);
    let ground_truth = shape.get(|k| matches!(k, Kind::GroundTruth { .. }));
    let trace = shape.get(|k| k == Kind::Trace);
    let mut extra_bounds: Vec<WherePredicate> = Vec::new();
    let o_ty: Type = match output {
        Some(param) => param.referent.clone(),
        None => {
            generics.params.push(syn::parse_quote!(__O));
            syn::parse_quote!(__O)
        }
    };
    let i_ty: Type = match inputs {
        Some(param) => param.referent.clone(),
        None => {
            generics.params.push(syn::parse_quote!(__I));
            syn::parse_quote!(__I)
        }
    };
    // The future is `Send`: what it holds across an `.await` of a generic type must be.
    for param in [output, inputs].into_iter().flatten() {
        let ty = &param.referent;
        if is_generic(ty) {
            extra_bounds.push(syn::parse_quote!(#ty: ::core::marker::Sync));
        }
    }
    if let Some(param) = ground_truth {
        let ty = &param.referent;
        if is_generic(ty) {
            extra_bounds.push(syn::parse_quote!(#ty: ::core::marker::Send + ::core::marker::Sync));
        }
    }
    if !extra_bounds.is_empty() {
        generics.make_where_clause().predicates.extend(extra_bounds);
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();

    // `name()`, `params()`, `options()`.
    let name = match &args.name {
        Some(lit) => lit.to_token_stream(),
        None => syn::LitStr::new(&fn_ident.unraw().to_string(), fn_ident.span()).to_token_stream(),
    };
    let (reads_output, reads_inputs, reads_ground_truth, reads_trace) = (
        output.is_some(),
        inputs.is_some(),
        ground_truth.is_some(),
        trace.is_some(),
    );
    let options = (args.repeat.is_some() || args.aggregate.is_some() || args.timeout_ms.is_some())
        .then(|| {
            let repeat = args.repeat.map_or(1, |(n, _)| n);
            let aggregate = match args.aggregate.as_ref().map(|(a, _)| a.as_str()) {
                Some("median") => quote!(Median),
                Some("min") => quote!(Min),
                Some("max") => quote!(Max),
                _ => quote!(Mean),
            };
            let timeout = match args.timeout_ms {
                Some((ms, _)) => quote! {
                    ::core::option::Option::Some(::core::time::Duration::from_millis(#ms))
                },
                None => quote!(::core::option::Option::None),
            };
            quote! {
                fn options(&self) -> #p::EvaluatorOptions {
                    #p::EvaluatorOptions {
                        repeat: #repeat,
                        aggregate: #p::Aggregate::#aggregate,
                        timeout: #timeout,
                    }
                }
            }
        });

    // The ground truth: deserialised into `G`, or the evaluator's error.
    let check_ground_truth = ground_truth.map(|param| {
        let ty = &param.referent;
        let required = matches!(param.kind, Kind::GroundTruth { required: true });
        let deserialise = quote_spanned! {at(ty.span())=>
            #p::evaluator::ground_truth::<#ty>
        };
        quote! {
            fn check_ground_truth(
                &self,
                #ground_truth_json: ::core::option::Option<&#p::JsonValue>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                ::core::result::Result::map(
                    #deserialise(#ground_truth_json, #required),
                    ::core::mem::drop,
                )
            }
        }
    });

    // The call, with the arguments in the user's order.
    let mut bindings = Vec::new();
    let mut prelude = Vec::new();
    let mut arguments = Vec::new();
    for param in &shape.params {
        let field = format_ident!("{}", param.kind.name());
        let var = local(&format!("__honeyhive_{}", param.kind.name()));
        bindings.push(quote!(let #var = #input.#field;));
        match param.kind {
            Kind::Output | Kind::Inputs => arguments.push(quote!(#var)),
            Kind::Trace => {
                // At the user's type: a type other than `Trace` is reported there.
                let ty = &param.referent;
                let given = quote_spanned! {at(ty.span())=>
                    #p::trace_argument::<#ty>
                };
                prelude.push(quote! {
                    let #var = match #given(#var, #name) {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#value) => {
                            return ::core::result::Result::Err(#value);
                        }
                    };
                });
                arguments.push(quote!(#var));
            }
            Kind::GroundTruth { required } => {
                let ty = &param.referent;
                let deserialise = quote_spanned! {at(ty.span())=>
                    #p::evaluator::ground_truth::<#ty>
                };
                let parsed = quote!(#deserialise(#var, #required));
                if required {
                    prelude.push(quote! {
                        let #var = match #p::required_ground_truth(#parsed) {
                            ::core::result::Result::Ok(#value) => #value,
                            ::core::result::Result::Err(#value) => {
                                return ::core::result::Result::Err(#value);
                            }
                        };
                    });
                    arguments.push(quote!(&#var));
                } else {
                    prelude.push(quote! {
                        let #var = match #parsed {
                            ::core::result::Result::Ok(#value) => #value,
                            ::core::result::Result::Err(#value) => {
                                return ::core::result::Result::Err(#value);
                            }
                        };
                    });
                    arguments.push(quote!(::core::option::Option::as_ref(&#var)));
                }
            }
        }
    }
    let turbofish = (!generic_idents.is_empty()).then(|| quote!(::<#(#generic_idents),*>));
    let await_ = sig.asyncness.map(|_| quote!(.await));
    let call = quote!(#fn_ident #turbofish(#(#arguments),*) #await_);
    let ret = shape.return_span;
    let value_at_ret = Ident::new("__honeyhive_value", at(ret));
    // A `Result` goes through a helper whose errors name the `Ok` type; anything else
    // through `IntoEvaluation`, whose error names the type.
    let convert = if shape.returns_result {
        quote_spanned!(at(ret)=> #p::result_evaluation(#value_at_ret))
    } else {
        quote_spanned!(at(ret)=> #p::IntoEvaluation::into_evaluation(#value_at_ret))
    };
    let input_pat = if shape.params.is_empty() {
        quote!(_)
    } else {
        quote!(#input)
    };

    // Attributes that decide whether the function exists apply to the struct and impl too;
    // a deprecated function makes a deprecated evaluator (warned about where it is used,
    // not in the generated impl).
    let cfgs: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let deprecated: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("deprecated"))
        .collect();

    // `output: &String` is what the contract asks for (`O` is the function's return
    // type), which clippy's `ptr_arg` would flag on every such evaluator.
    let owned_buffer = shape.params.iter().any(|param| {
        matches!(strip_parens(&param.referent), Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| {
            ["String", "Vec", "PathBuf"].iter().any(|name| s.ident == name)
        }))
    });
    let allow_ptr_arg = owned_buffer.then(|| quote!(#[allow(clippy::ptr_arg)]));

    Ok(quote! {
        #allow_ptr_arg
        #func

        #(#cfgs)*
        #[allow(non_camel_case_types, dead_code, missing_docs, unreachable_pub)]
        #[doc(hidden)]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::default::Default
        )]
        #(#deprecated)*
        #vis struct #fn_ident {}

        #(#cfgs)*
        #[automatically_derived]
        #[allow(deprecated)]
        impl #p::KnownMetric for #fn_ident {
            const METRIC: &'static str = #name;
        }

        #(#cfgs)*
        #[automatically_derived]
        #[allow(deprecated)]
        impl #impl_generics #p::Evaluator<#i_ty, #o_ty> for #fn_ident #where_clause {
            fn name(&self) -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#name)
            }

            fn params(&self) -> #p::Params {
                #p::Params {
                    output: #reads_output,
                    inputs: #reads_inputs,
                    ground_truth: #reads_ground_truth,
                    trace: #reads_trace,
                }
            }

            #options

            #check_ground_truth

            fn evaluate<'__honeyhive>(
                &'__honeyhive self,
                #input_pat: #p::EvalInput<'__honeyhive, #i_ty, #o_ty>,
            ) -> #p::EvalFuture<'__honeyhive> {
                #(#bindings)*
                ::std::boxed::Box::pin(async move {
                    #(#prelude)*
                    let #value = #call;
                    #convert
                })
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: &str, item: &str) -> String {
        evaluator(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    fn errors(args: &str, item: &str) -> String {
        let code = expanded(args, item);
        assert!(code.contains("compile_error"), "{code}");
        code
    }

    #[test]
    fn generated_code_names_no_other_crate() {
        let code = expanded(
            "repeat = 2, timeout = \"1s\"",
            "pub async fn f(output: &String, ground_truth: Option<&String>) -> Result<bool, String> { Ok(true) }",
        );
        let tokens: Vec<&str> = code.split_whitespace().collect();
        for other in ["serde", "serde_json", "tokio", "honeyhive_runtime"] {
            assert!(!tokens.contains(&other), "`{other}` in {code}");
        }
        for (i, t) in tokens.iter().enumerate() {
            if *t == "::"
                && (i == 0
                    || ["(", "<", "{", ";", "=", ",", "&", "+", ":"].contains(&tokens[i - 1]))
            {
                assert!(
                    ["honeyhive", "core", "std"].contains(&tokens[i + 1]),
                    "{} in {code}",
                    tokens[i + 1]
                );
            }
        }
        assert!(code.contains(":: honeyhive :: __private :: Evaluator < __I , String > for f"));
    }

    #[test]
    fn the_function_is_kept_and_a_struct_added() {
        let code = expanded(
            "",
            "/// Docs.\n#[inline]\npub(crate) fn exact(output: &u8, ground_truth: &u8) -> bool { output == ground_truth }",
        );
        assert!(code.starts_with("# [doc = \" Docs.\"] # [inline] pub (crate) fn exact (output : & u8 , ground_truth : & u8) -> bool { output == ground_truth }"), "{code}");
        assert!(code.contains("pub (crate) struct exact { }"), "{code}");
        assert!(!code.contains("ptr_arg"));
        assert!(code.contains("Cow :: Borrowed (\"exact\")"));
        assert!(
            code.contains(
                "impl :: honeyhive :: __private :: KnownMetric for exact { const METRIC : & 'static str = \"exact\" ; }"
            ),
            "{code}"
        );
        assert!(code.contains("output : true , inputs : false , ground_truth : true"));
        assert!(!code.contains("fn options"));
        // `&String` is what the contract asks for: clippy's `ptr_arg` is allowed.
        let buffers = expanded(
            "",
            "fn f(output: &String, inputs: &Vec<u8>) -> bool { true }",
        );
        assert!(
            buffers.starts_with("# [allow (clippy :: ptr_arg)] fn f"),
            "{buffers}"
        );
    }

    #[test]
    fn parameters_are_passed_in_the_users_order() {
        let code = expanded(
            "",
            "fn f(ground_truth: Option<&u8>, inputs: &String, output: &u8) -> f64 { 0.0 }",
        );
        assert!(code.contains("Evaluator < String , u8 > for f"), "{code}");
        assert!(
            code.contains(
                "f (:: core :: option :: Option :: as_ref (& __honeyhive_ground_truth) , __honeyhive_inputs , __honeyhive_output)"
            ),
            "{code}"
        );
    }

    #[test]
    fn generics_are_carried() {
        let code = expanded(
            "",
            "fn f<'a, T: Clone, const N: usize>(output: &'a [T; N]) -> bool where T: Eq { true }",
        );
        assert!(
            code.contains("impl < 'a , T : Clone , const N : usize , __I > :: honeyhive :: __private :: Evaluator < __I , [T ; N] > for f where T : Eq , [T ; N] : :: core :: marker :: Sync"),
            "{code}"
        );
        assert!(
            code.contains("f :: < T , N > (__honeyhive_output)"),
            "{code}"
        );
    }

    #[test]
    fn options_and_crate() {
        let code = expanded(
            "name = \"n\", repeat = 3, aggregate = \"max\", timeout = \"2m\", crate = hh",
            "async fn f(output: &u8) -> u8 { *output }",
        );
        assert!(code.contains("Cow :: Borrowed (\"n\")"));
        assert!(
            code.contains("const METRIC : & 'static str = \"n\""),
            "{code}"
        );
        assert!(code.contains("repeat : 3u32"), "{code}");
        assert!(code.contains("hh :: __private :: Aggregate :: Max"));
        assert!(code.contains("from_millis (120000u64)"));
        assert!(code.contains(". await"));
        assert!(!code.contains(":: honeyhive"));
    }

    #[test]
    fn the_trace_is_passed_through_its_check_at_the_users_type() {
        let code = expanded(
            "",
            "async fn few_tools(trace: &honeyhive::Trace, output: &String) -> bool { true }",
        );
        assert!(
            code.contains("Evaluator < __I , String > for few_tools"),
            "{code}"
        );
        assert!(
            code.contains("output : true , inputs : false , ground_truth : false , trace : true"),
            "{code}"
        );
        assert!(
            code.contains(
                ":: honeyhive :: __private :: trace_argument :: < honeyhive :: Trace > (__honeyhive_trace , \"few_tools\")"
            ),
            "{code}"
        );
        assert!(
            code.contains("few_tools (__honeyhive_trace , __honeyhive_output) . await"),
            "{code}"
        );
        let plain = expanded("", "fn f(output: &u8) -> bool { true }");
        assert!(plain.contains("trace : false"), "{plain}");
        assert!(!plain.contains("trace_argument"), "{plain}");
    }

    #[test]
    fn trace_errors_say_how_to_take_it() {
        assert!(
            errors("", "fn f(trace: Trace) -> bool { true }")
                .contains("borrows the datapoint's trace, shared with the run's other evaluators: write `trace: &Trace`")
        );
        assert!(
            errors("", "fn f(trace: &mut honeyhive::Trace) -> bool { true }")
                .contains("cannot change it: write `trace: &honeyhive::Trace`")
        );
        assert!(
            errors("", "fn f(trace: Option<&Trace>) -> bool { true }").contains(
                "is always given it (the run collects it for that evaluator): write `trace: &Trace`"
            )
        );
        assert!(
            errors("", "fn f(trace: Vec<String>) -> bool { true }")
                .contains("write `trace: &honeyhive::Trace`")
        );
        assert!(
            errors("", "fn f(spans: &Trace) -> bool { true }").contains("did you mean `trace`")
        );
        assert!(errors("", "fn f(trac: &Trace) -> bool { true }").contains("did you mean `trace`"));
    }

    #[test]
    fn signature_errors() {
        let e = errors("", "fn f(answer: &u8) -> bool { true }");
        assert!(
            e.contains("unknown evaluator parameter `answer` (did you mean `output`?)"),
            "{e}"
        );
        assert!(errors("", "fn f(input: &u8) -> bool { true }").contains("did you mean `inputs`"));
        assert!(errors("", "fn f(output: u8) -> bool { true }").contains("write `output: &u8`"));
        assert!(
            errors("", "fn f(output: &mut Vec<u8>) -> bool { true }")
                .contains("write `output: &Vec<u8>`")
        );
        assert!(
            errors("", "fn f(ground_truth: Option<String>) -> bool { true }")
                .contains("write `ground_truth: Option<&String>`")
        );
        assert!(
            errors("", "fn f(ground_truth: String) -> bool { true }")
                .contains("or `ground_truth: Option<&String>`")
        );
        assert!(
            errors("", "fn f(output: Option<&u8>) -> bool { true }")
                .contains("write `output: &u8`")
        );
        assert!(
            errors("", "fn f(output: &str) -> bool { true }").contains("write `output: &String`")
        );
        assert!(errors("", "fn f(output: &impl Eq) -> bool { true }").contains("`impl Trait`"));
        assert!(
            !expanded("", "fn f(output: &u8, output: &u8) -> bool { true }")
                .contains("compile_error")
        );
        assert!(
            errors("", "fn f((a, b): &(u8, u8)) -> bool { true }").contains("bind each parameter")
        );
        assert!(errors("", "fn f(output: &u8) { }").contains("returns nothing"));
        assert!(
            errors(
                "",
                "fn f<T>(output: &u8, ground_truth: &T) -> bool { true }"
            )
            .contains("generic type parameter `T`")
        );
        assert!(errors("", "fn f(&self) -> bool { true }").contains("not a method"));
        assert!(errors("", "unsafe fn f(output: &u8) -> bool { true }").contains("`unsafe fn`"));
        assert!(errors("", "struct S;").contains("not to a struct"));
        // Option errors and signature errors are reported together, and the item is kept.
        let both = expanded("repeat = 0", "fn kept(answer: &u8) -> bool { true }");
        assert!(
            both.contains("at least 1") && both.contains("`answer`"),
            "{both}"
        );
        assert!(
            both.ends_with("fn kept (answer : & u8) -> bool { true }"),
            "{both}"
        );
    }
}
