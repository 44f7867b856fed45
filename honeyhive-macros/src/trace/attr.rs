//! Parsing of `#[trace(...)]` options. Every error points at the user's token and says
//! what is accepted.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::common::suggest;
use crate::options::{Errors, crate_path, flag, parenthesized, string_value};

/// Every option, as written in error messages.
const OPTIONS: &[(&str, &str)] = &[
    ("name", "name = \"...\""),
    (
        "event_type",
        "event_type = \"model\" | \"tool\" | \"chain\"",
    ),
    ("skip", "skip(arg, ...)"),
    ("skip_all", "skip_all"),
    ("skip_output", "skip_output"),
    ("metadata", "metadata(key = value, ...)"),
    ("config", "config(key = value, ...)"),
    ("crate", "crate = path"),
];

/// The event types HoneyHive knows.
pub(crate) const EVENT_TYPES: &[&str] = &["model", "tool", "chain"];

fn valid_options() -> String {
    OPTIONS
        .iter()
        .map(|(_, form)| format!("`{form}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The options of one `#[trace]`.
#[derive(Default)]
pub(crate) struct TraceArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) event_type: Option<LitStr>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_all: Option<Ident>,
    pub(crate) skip_output: Option<Ident>,
    pub(crate) metadata: Vec<Entry>,
    pub(crate) config: Vec<Entry>,
    pub(crate) krate: Option<Path>,
}

/// One `key = value` of `metadata(..)` or `config(..)`.
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Expr,
}

impl Parse for TraceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = TraceArgs::default();
        let mut seen: Vec<(String, Span)> = Vec::new();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let option = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected a `#[trace]` option; valid options: {}",
                        valid_options()
                    ),
                )
            })?;
            let key = option.to_string();
            if OPTIONS.iter().any(|(name, _)| *name == key) {
                if seen.iter().any(|(k, _)| *k == key) {
                    errors.push(syn::Error::new(
                        option.span(),
                        format!("duplicate option `{key}`: give it once"),
                    ));
                }
                seen.push((key.clone(), option.span()));
            }
            match key.as_str() {
                "name" => {
                    let lit = string_value(input, &option, "name = \"my_span\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(lit.span(), "the span name cannot be empty"));
                    }
                    args.name.get_or_insert(lit);
                }
                "event_type" => {
                    let lit = string_value(input, &option, "event_type = \"model\"")?;
                    if let Err(e) = check_event_type(&lit) {
                        errors.push(e);
                    }
                    args.event_type.get_or_insert(lit);
                }
                "skip" => {
                    let list = parenthesized(input, &option, "skip(arg1, arg2)")?;
                    let names = list.parse_terminated(Ident::parse_any, Token![,])?;
                    if names.is_empty() {
                        errors.push(syn::Error::new(
                            option.span(),
                            "`skip()` lists no argument: name the arguments to leave out, e.g. `skip(api_key)`",
                        ));
                    }
                    for name in names {
                        if args.skip.contains(&name) {
                            errors.push(syn::Error::new(
                                name.span(),
                                format!("`{name}` is already skipped"),
                            ));
                        } else {
                            args.skip.push(name);
                        }
                    }
                }
                "skip_all" => {
                    flag(input, &option)?;
                    args.skip_all.get_or_insert(option);
                }
                "skip_output" => {
                    flag(input, &option)?;
                    args.skip_output.get_or_insert(option);
                }
                "metadata" | "config" => {
                    let list = parenthesized(input, &option, &format!("{key}(key = value)"))?;
                    let entries = list.parse_terminated(Entry::parse, Token![,])?;
                    if entries.is_empty() {
                        errors.push(syn::Error::new(
                            option.span(),
                            format!(
                                "`{key}()` is empty: give entries, e.g. `{key}(model = \"gpt-4o\")`"
                            ),
                        ));
                    }
                    let target = if key == "metadata" {
                        &mut args.metadata
                    } else {
                        &mut args.config
                    };
                    for entry in entries {
                        if target.iter().any(|e| e.key == entry.key) {
                            errors.push(syn::Error::new(
                                entry.key_span,
                                format!("duplicate {key} key `{}`", entry.key),
                            ));
                        } else {
                            target.push(entry);
                        }
                    }
                }
                "crate" => {
                    let path = crate_path(input, &option)?;
                    args.krate.get_or_insert(path);
                }
                other => {
                    let names: Vec<&str> = OPTIONS.iter().map(|(name, _)| *name).collect();
                    let hint = match suggest(other, &names) {
                        Some(s) => format!(" (did you mean `{s}`?)"),
                        None => String::new(),
                    };
                    return Err(errors.finish_with(syn::Error::new(
                        option.span(),
                        format!(
                            "unknown `#[trace]` option `{other}`{hint}; valid options: {}",
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
                    "expected `,` between `#[trace]` options",
                ))
            })?;
        }
        if let (Some(_), Some(first)) = (&args.skip_all, args.skip.first()) {
            errors.push(syn::Error::new(
                first.span(),
                "`skip(..)` has no effect with `skip_all`, which already skips every argument: remove one of them",
            ));
        }
        errors.finish()?;
        Ok(args)
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, key_span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "a key cannot be empty"));
            }
            (lit.value(), lit.span())
        } else if input.peek(Ident::peek_any) {
            let ident = input.call(Ident::parse_any)?;
            (ident.unraw().to_string(), ident.span())
        } else {
            return Err(input.error(
                "expected `key = value`, with `key` a name or a string literal, e.g. `model = \"gpt-4o\"`",
            ));
        };
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key_span,
                format!("expected `{key} = value`: give the entry a value"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(Entry {
            key,
            key_span,
            value,
        })
    }
}

fn check_event_type(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    if EVENT_TYPES.contains(&value.as_str()) {
        return Ok(());
    }
    let lower = value.to_ascii_lowercase();
    let hint = match lower.as_str() {
        v if EVENT_TYPES.contains(&v) => Some(v),
        "llm" | "chat" | "completion" | "generation" | "embedding" => Some("model"),
        "agent" | "workflow" | "pipeline" | "session" => Some("chain"),
        "function" | "retriever" | "retrieval" | "tool_call" => Some("tool"),
        other => suggest(other, EVENT_TYPES),
    };
    let hint = match hint {
        Some(h) => format!(" (did you mean `\"{h}\"`?)"),
        None => String::new(),
    };
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown event type `{value}`{hint}; `event_type` is one of `\"model\"`, `\"tool\"`, `\"chain\"`"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<TraceArgs> {
        syn::parse_str::<TraceArgs>(s)
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
            "name = \"n\", event_type = \"chain\", skip(a, self), skip_output, \
             metadata(k = 1 + 2, \"user.id\" = id), config(model = \"m\"), crate = hh",
        )
        .unwrap();
        assert_eq!(a.name.unwrap().value(), "n");
        assert_eq!(a.event_type.unwrap().value(), "chain");
        assert_eq!(a.skip.len(), 2);
        assert!(a.skip_output.is_some() && a.skip_all.is_none());
        let keys: Vec<_> = a.metadata.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["k", "user.id"]);
        assert_eq!(a.config[0].key, "model");
        assert!(a.krate.unwrap().is_ident("hh"));
        assert!(parse("").is_ok());
        assert!(parse("skip_all,").is_ok());
        assert!(parse("crate = \"::hh\"").unwrap().krate.is_some());
    }

    #[test]
    fn errors_name_the_fix() {
        assert!(err("nmae = \"x\"").contains("did you mean `name`"));
        assert!(err("level = 1").contains("valid options: `name = \"...\"`"));
        assert!(err("event_type = \"llm\"").contains("did you mean `\"model\"`"));
        assert!(err("event_type = model").contains("takes a string literal"));
        assert!(err("name = \"a\", name = \"b\"").contains("duplicate option `name`"));
        assert!(err("skip_all, skip_all").contains("duplicate option `skip_all`"));
        assert!(err("skip(a), skip_all").contains("has no effect with `skip_all`"));
        assert!(err("skip(a, a)").contains("`a` is already skipped"));
        assert!(err("skip = a").contains("takes a list in parentheses"));
        assert!(err("skip_output = true").contains("takes no value"));
        assert!(err("metadata(k = 1, k = 2)").contains("duplicate metadata key `k`"));
        assert!(err("metadata(k)").contains("expected `k = value`"));
        assert!(err("name = \"\"").contains("cannot be empty"));
        assert!(err("name = \"a\" skip_all").contains("expected `,`"));
        assert!(err("\"name\"").contains("expected a `#[trace]` option"));
        assert!(err("crate = 3").contains("renamed `honeyhive` dependency"));
    }
}
