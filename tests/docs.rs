//! The documentation users read: every example written as users write it, with
//! `honeyhive::` paths (the runtime crate's name does not resolve in a user's crate).

use std::path::{Path, PathBuf};

/// The repository (the facade's manifest directory).
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The documentation of the published crates, as `(file, line number, text)`: their doc
/// comments (`///`, `//!`), and the README (the `honeyhive` crate's documentation).
fn documentation() -> Vec<(PathBuf, usize, String)> {
    let mut lines = Vec::new();
    for crate_dir in ["src", "honeyhive-runtime/src", "honeyhive-macros/src"] {
        for file in rust_files(&repository().join(crate_dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("///") || trimmed.starts_with("//!") {
                    lines.push((file.clone(), number + 1, line.to_owned()));
                }
            }
        }
    }
    let readme = repository().join("README.md");
    for (number, line) in std::fs::read_to_string(&readme)
        .unwrap()
        .lines()
        .enumerate()
    {
        lines.push((readme.clone(), number + 1, line.to_owned()));
    }
    lines
}

#[test]
fn no_doc_example_names_the_runtime_crate() {
    let found: Vec<String> = documentation()
        .into_iter()
        .filter(|(_, _, line)| line.contains("honeyhive_runtime"))
        .map(|(file, number, line)| {
            let file = file.strip_prefix(repository()).unwrap_or(&file).display();
            format!("{file}:{number}: {}", line.trim())
        })
        .collect();
    assert!(
        found.is_empty(),
        "documentation naming `honeyhive_runtime` (write `honeyhive::` as users do):\n{}",
        found.join("\n")
    );
}

/// Every Markdown file the README or a source names (in a doc, a comment or a test) is a
/// file of the repository, named by its path from the repository's root
/// (`docs/span-attributes.md`): nothing points at the contracts outside it, which a clone
/// does not have.
#[test]
fn every_markdown_file_named_is_in_the_repository() {
    let mut files = vec![repository().join("README.md")];
    for folder in [
        "src",
        "honeyhive-runtime/src",
        "honeyhive-macros/src",
        "tests",
        "benches",
        "examples",
        "ui-tests",
    ] {
        files.extend(rust_files(&repository().join(folder)));
    }
    let mut missing = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let names = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
                .filter(|word| word.ends_with(".md") && word.len() > 3);
            for name in names {
                // `include_str!("../README.md")` is relative to its file.
                let path = if name.starts_with("../") || name.starts_with("./") {
                    file.parent().unwrap().join(name)
                } else {
                    repository().join(name)
                };
                if !path.is_file() {
                    let file = file.strip_prefix(repository()).unwrap_or(&file).display();
                    missing.push(format!("{file}:{}: {name}", number + 1));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "Markdown files named that are not in the repository (name them by their path from \
         the root, e.g. docs/span-attributes.md):\n{}",
        missing.join("\n")
    );
}
