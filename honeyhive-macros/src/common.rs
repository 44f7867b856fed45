//! Helpers shared by the macros: the path generated code uses to reach the runtime, and
//! "did you mean" suggestions for error messages.

use proc_macro2::TokenStream;
use quote::quote;

/// The path of the items generated code may use: `<crate>::__private`, with `<crate>`
/// `::honeyhive` unless the user renamed the dependency (`crate = path`).
pub(crate) fn private_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::honeyhive::__private),
    }
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
