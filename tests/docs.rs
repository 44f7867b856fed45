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
/// comments (`///`, `//!`), the examples (every line), and the README (the `honeyhive`
/// crate's documentation).
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
    // The examples are copied into users' crates as they are: their comments and code.
    for file in rust_files(&repository().join("examples")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            lines.push((file.clone(), number + 1, line.to_owned()));
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
                // What a run writes in its folder (`summary.md`) is named as a file of the
                // run, not of the repository.
                if !path.is_file() && name != honeyhive::report::SUMMARY_MD {
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

/// Nothing the repository builds reads a file outside it: a relative path in a string
/// literal of a test, bench, example or source resolves inside the repository, read
/// relative to its file (`include_str!`, `#[path]`) or otherwise to its crate's manifest
/// directory (`env!("CARGO_MANIFEST_DIR")`, cargo's working directory for tests). The one reader of
/// the contracts beside the repository compares the vectors copied in with them, and
/// skips, saying so, when they are absent (a clone has none).
#[test]
fn nothing_reads_outside_the_repository() {
    const COMPARES_WITH_THE_CONTRACTS: &str = "honeyhive-runtime/src/dataset/external_ids.rs";
    let root = repository().canonicalize().unwrap();
    let mut outside = Vec::new();
    for folder in [
        "src",
        "honeyhive-runtime",
        "honeyhive-macros",
        "tests",
        "benches",
        "examples",
        "ui-tests",
    ] {
        for file in rust_files(&repository().join(folder)) {
            let relative = file.strip_prefix(repository()).unwrap().to_owned();
            if relative.starts_with("honeyhive-runtime/target") || relative.starts_with("target") {
                continue;
            }
            // The crate a file belongs to: the nearest folder above it with a manifest.
            let manifest_dir = file
                .ancestors()
                .skip(1)
                .find(|dir| dir.join("Cargo.toml").is_file())
                .unwrap()
                .to_owned();
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let escapes = |base: &Path, path: &str| {
                    let mut resolved = base.canonicalize().unwrap();
                    for part in Path::new(path).components() {
                        match part {
                            std::path::Component::ParentDir => {
                                resolved.pop();
                            }
                            std::path::Component::Normal(name) => resolved.push(name),
                            _ => {}
                        }
                    }
                    !resolved.starts_with(&root)
                };
                let literals = line.split('"').skip(1).step_by(2);
                for literal in literals
                    .filter(|l| l.starts_with("../") && !l.trim_start_matches("../").is_empty())
                {
                    // `include_str!`, `include_bytes!` and `#[path]` read relative to the
                    // file; everything else at run time, relative to the crate.
                    let file_relative = line.contains("include_") || line.contains("#[path");
                    let base = match file_relative {
                        true => file.parent().unwrap(),
                        false => manifest_dir.as_path(),
                    };
                    if escapes(base, literal) {
                        outside.push(format!("{}:{}: {literal}", relative.display(), number + 1));
                    }
                }
                if line.contains("join(\"shared\")")
                    && relative != Path::new(COMPARES_WITH_THE_CONTRACTS)
                {
                    outside.push(format!(
                        "{}:{}: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        outside.is_empty(),
        "paths outside the repository (a clone has nothing beside it: copy what is needed \
         into the repository, e.g. tests/data/):\n{}",
        outside.join("\n")
    );
}

/// The crate's documentation (docs.rs's landing page) is the README, and the types a user
/// meets first show a runnable example (a doc test that runs, not `no_run` or `ignore`).
#[test]
fn the_crate_docs_are_the_readme_and_the_first_types_have_runnable_examples() {
    let facade = std::fs::read_to_string(repository().join("src/lib.rs")).unwrap();
    assert!(
        facade.contains("#![doc = include_str!(\"../README.md\")]"),
        "src/lib.rs must take its crate documentation from the README"
    );
    let items = [
        (
            "honeyhive-runtime/src/experiment/mod.rs",
            "pub struct Experiment<",
        ),
        (
            "honeyhive-runtime/src/experiment/report.rs",
            "pub struct ExperimentReport",
        ),
        (
            "honeyhive-runtime/src/trace/tracer.rs",
            "pub struct TracerBuilder",
        ),
        (
            "honeyhive-runtime/src/export/local_store.rs",
            "pub fn read_spans(",
        ),
    ];
    for (file, item) in items {
        let text = std::fs::read_to_string(repository().join(file)).unwrap();
        let at = text
            .find(item)
            .unwrap_or_else(|| panic!("{file} no longer has `{item}`: update this test"));
        // The item's doc comment: the `///` lines right above it (attributes between).
        let docs: Vec<&str> = text[..at]
            .lines()
            .rev()
            .map(str::trim_start)
            .skip_while(|line| line.is_empty())
            .take_while(|line| line.starts_with("///") || line.starts_with("#["))
            .filter(|line| line.starts_with("///"))
            .collect();
        let runnable = docs.iter().any(|line| {
            let fence = line.trim_start_matches("///").trim();
            fence == "```" || fence == "```rust"
        });
        assert!(
            runnable,
            "`{item}` ({file}) needs a runnable example in its docs (a ``` block that is not \
             no_run or ignore)"
        );
    }
}
