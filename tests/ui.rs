//! Compile-time behaviour of the macros: what must compile (`ui-tests/pass`) and the
//! errors users get, compared with reviewed `.stderr` files (`ui-tests/fail`).
//! Regenerate the files with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

use std::fs;
use std::path::Path;

#[test]
fn ui() {
    provide_datasets();
    let t = trybuild::TestCases::new();
    t.pass("ui-tests/pass/*.rs");
    t.compile_fail("ui-tests/fail/*.rs");
}

/// `#[experiment(dataset = "tests/data/qa.jsonl")]` checks at compile time that the file
/// exists in the directory of the crate being compiled. trybuild compiles the cases in a
/// crate of its own, `<target dir>/tests/trybuild/honeyhive`: the datasets the cases name
/// go there, as they are in `ui-tests/standalone`, the crate that builds the passing cases
/// on their own.
fn provide_datasets() {
    let datasets = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui-tests/standalone/tests/data");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");
    let cases_crate = target_dir
        .join("tests/trybuild")
        .join(env!("CARGO_PKG_NAME"));
    let destination = cases_crate.join("tests/data");
    fs::create_dir_all(&destination).unwrap();
    for file in fs::read_dir(&datasets).unwrap() {
        let file = file.unwrap();
        fs::copy(file.path(), destination.join(file.file_name())).unwrap();
    }
}
