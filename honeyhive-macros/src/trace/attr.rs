//! Parsing of `#[trace(...)]` options. Every error points at the user's token and says
//! what is accepted.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::options::{OptionTable, check_choice, crate_path, flag, parenthesized, string_value};

/// Every option, as written in error messages.
const OPTIONS: OptionTable = OptionTable {
    macro_name: "trace",
    options: &[
        ("name", "name = \"...\""),
        (
            "event_type",
            "event_type = \"model\" | \"tool\" | \"chain\" | \"session\" | \"generic\"",
        ),
        ("skip", "skip(arg, ...)"),
        ("redact", "redact(arg, ...)"),
        ("skip_all", "skip_all"),
        ("skip_output", "skip_output"),
        ("metadata", "metadata(key = value, ...)"),
        ("config", "config(key = value, ...)"),
        ("metrics", "metrics(key = value, ...)"),
        ("feedback", "feedback(key = value, ...)"),
        ("crate", "crate = path"),
    ],
    aliases: &[],
};

/// The event types HoneyHive knows (the reference SDK's `EventType`).
pub(crate) const EVENT_TYPES: &[&str] = &["model", "tool", "chain", "session", "generic"];

/// Other words for them: `(word, event type)`.
const EVENT_TYPE_ALIASES: &[(&str, &str)] = &[
    ("llm", "model"),
    ("chat", "model"),
    ("completion", "model"),
    ("generation", "model"),
    ("embedding", "model"),
    ("agent", "chain"),
    ("workflow", "chain"),
    ("pipeline", "chain"),
    ("function", "tool"),
    ("retriever", "tool"),
    ("retrieval", "tool"),
    ("tool_call", "tool"),
];

/// The options of one `#[trace]`.
#[derive(Default)]
pub(crate) struct TraceArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) event_type: Option<LitStr>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) redact: Vec<Ident>,
    pub(crate) skip_all: Option<Ident>,
    pub(crate) skip_output: Option<Ident>,
    pub(crate) metadata: Vec<Entry>,
    pub(crate) config: Vec<Entry>,
    pub(crate) metrics: Vec<Entry>,
    pub(crate) feedback: Vec<Entry>,
    pub(crate) krate: Option<Path>,
}

/// One `key = value` of `metadata(..)`, `config(..)`, `metrics(..)` or `feedback(..)`.
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Expr,
}

impl Parse for TraceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = TraceArgs::default();
        let mut errors = OPTIONS.parse_options(input, |option, key, input, errors| {
            match key {
                "name" => {
                    let lit = string_value(input, option, "name = \"my_span\"")?;
                    if lit.value().trim().is_empty() {
                        errors.push(syn::Error::new(lit.span(), "the span name cannot be empty"));
                    }
                    args.name.get_or_insert(lit);
                }
                "event_type" => {
                    let lit = string_value(input, option, "event_type = \"model\"")?;
                    if let Err(e) = check_choice(&lit, "event_type", "event type", EVENT_TYPES, EVENT_TYPE_ALIASES) {
                        errors.push(e);
                    }
                    args.event_type.get_or_insert(lit);
                }
                "skip" => {
                    let list = parenthesized(input, option, "skip(arg1, arg2)")?;
                    let empty = "`skip()` lists no argument: name the arguments to leave out, e.g. `skip(api_key)`";
                    argument_list(&list, option, empty, "skipped", &mut args.skip, errors)?;
                }
                "redact" => {
                    let list = parenthesized(input, option, "redact(password)")?;
                    let empty = "`redact()` lists no argument: name the arguments to record as \"[REDACTED]\", e.g. `redact(password)`";
                    argument_list(&list, option, empty, "redacted", &mut args.redact, errors)?;
                }
                "skip_all" => {
                    flag(input, option)?;
                    args.skip_all.get_or_insert(option.clone());
                }
                "skip_output" => {
                    flag(input, option)?;
                    args.skip_output.get_or_insert(option.clone());
                }
                "metadata" | "config" | "metrics" | "feedback" => {
                    let list = parenthesized(input, option, &format!("{key}(key = value)"))?;
                    let entries = list.parse_terminated(Entry::parse, Token![,])?;
                    if entries.is_empty() {
                        errors.push(syn::Error::new(
                            option.span(),
                            format!("`{key}()` is empty: give entries, e.g. `{key}({})`", example_entry(key)),
                        ));
                    }
                    let target = args.entries_mut(key);
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
                    args.krate.get_or_insert(crate_path(input, option)?);
                }
                _ => unreachable!("`{key}` is not in OPTIONS"),
            }
            Ok(())
        })?;
        if let (Some(_), Some(first)) = (&args.skip_all, args.skip.first()) {
            errors.push(syn::Error::new(
                first.span(),
                "`skip(..)` has no effect with `skip_all`, which already skips every argument: remove one of them",
            ));
        }
        for name in &args.redact {
            if args.skip.contains(name) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`{name}` is both skipped and redacted: `skip` leaves it out of the span, `redact` records it as \"[REDACTED]\"; keep one of them"),
                ));
            } else if args.skip_all.is_some() {
                errors.push(syn::Error::new(
                    name.span(),
                    "`redact(..)` has no effect with `skip_all`, which records no argument: remove one of them",
                ));
            }
        }
        errors.finish()?;
        Ok(args)
    }
}

/// Parses the argument names of `skip(..)` or `redact(..)` into `names`: an error for an
/// empty list (`empty` says how to fix it) and for a name given twice.
fn argument_list(
    list: ParseStream<'_>,
    option: &Ident,
    empty: &str,
    done: &str,
    names: &mut Vec<Ident>,
    errors: &mut crate::options::Errors,
) -> syn::Result<()> {
    let parsed = list.parse_terminated(Ident::parse_any, Token![,])?;
    if parsed.is_empty() {
        errors.push(syn::Error::new(option.span(), empty));
    }
    for name in parsed {
        if names.contains(&name) {
            errors.push(syn::Error::new(
                name.span(),
                format!("`{name}` is already {done}"),
            ));
        } else {
            names.push(name);
        }
    }
    Ok(())
}

/// An example entry of the `key = value` option `option`, for error messages.
fn example_entry(option: &str) -> &'static str {
    match option {
        "metrics" => "relevance = 0.9",
        "feedback" => "liked = true",
        "config" => "temperature = 0.2",
        _ => "model = \"gpt-4o\"",
    }
}

impl TraceArgs {
    /// The `key = value` options by name, with the attribute kind each one records
    /// (`honeyhive_<kind>.<key>`), in a fixed order.
    pub(crate) fn entries(&self) -> [(&'static str, &[Entry]); 4] {
        [
            ("metadata", &self.metadata),
            ("config", &self.config),
            ("metrics", &self.metrics),
            ("feedback", &self.feedback),
        ]
    }

    fn entries_mut(&mut self, option: &str) -> &mut Vec<Entry> {
        match option {
            "metadata" => &mut self.metadata,
            "config" => &mut self.config,
            "metrics" => &mut self.metrics,
            "feedback" => &mut self.feedback,
            _ => unreachable!("`{option}` takes no entries"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<TraceArgs> {
        syn::parse_str(s)
    }

    fn err(s: &str) -> String {
        crate::options::parse_error::<TraceArgs>(s)
    }

    #[test]
    fn every_option() {
        let a = parse(
            "name = \"n\", event_type = \"chain\", skip(a, self), skip_output, \
             metadata(k = 1 + 2, \"user.id\" = id), config(model = \"m\"), \
             metrics(score = 0.5), feedback(liked = true, \"note\" = n), crate = hh",
        )
        .unwrap();
        assert_eq!(a.name.unwrap().value(), "n");
        assert_eq!(a.event_type.unwrap().value(), "chain");
        assert_eq!(a.skip.len(), 2);
        assert_eq!(parse("redact(key, token)").unwrap().redact.len(), 2);
        assert!(a.skip_output.is_some() && a.skip_all.is_none());
        let keys: Vec<_> = a.metadata.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["k", "user.id"]);
        assert_eq!(a.config[0].key, "model");
        assert_eq!(a.metrics[0].key, "score");
        let keys: Vec<_> = a.feedback.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["liked", "note"]);
        for kind in ["session", "generic"] {
            let a = parse(&format!("event_type = \"{kind}\"")).unwrap();
            assert_eq!(a.event_type.unwrap().value(), kind);
        }
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
        assert!(err("redact(a, a)").contains("`a` is already redacted"));
        assert!(err("redact()").contains("`redact()` lists no argument"));
        assert!(err("skip(a), redact(a)").contains("both skipped and redacted"));
        assert!(err("skip_all, redact(a)").contains("no effect with `skip_all`"));
        assert!(err("redact = a").contains("takes a list in parentheses"));
        assert!(err("skip = a").contains("takes a list in parentheses"));
        assert!(err("skip_output = true").contains("takes no value"));
        assert!(err("metadata(k = 1, k = 2)").contains("duplicate metadata key `k`"));
        assert!(err("metadata(k)").contains("expected `k = value`"));
        assert!(err("metrics(k = 1, k = 2)").contains("duplicate metrics key `k`"));
        assert!(err("feedback()").contains("`feedback()` is empty"));
        assert!(err("metrics = 1").contains("takes a list in parentheses"));
        assert!(err("event_type = \"sesion\"").contains("did you mean `\"session\"`"));
        assert!(err("name = \"\"").contains("cannot be empty"));
        assert!(err("name = \"a\" skip_all").contains("expected `,`"));
        assert!(err("\"name\"").contains("expected a `#[trace]` option"));
        assert!(err("crate = 3").contains("renamed `honeyhive` dependency"));
    }
}
