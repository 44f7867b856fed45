//! Compile-time behaviour of the macros: what must compile (`ui-tests/pass`) and the
//! errors users get, compared with reviewed `.stderr` files (`ui-tests/fail`).
//! Regenerate the files with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui-tests/pass/*.rs");
    t.compile_fail("ui-tests/fail/*.rs");
}
