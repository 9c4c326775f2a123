//! Compile-fail tests: the messages of `#[checkpoint]` and `#[derive(ObjectHash)]` for bad
//! input are pinned in `tests/ui/*.stderr`. Regenerate with `TRYBUILD=overwrite`.

#[test]
fn macro_errors_point_at_the_offending_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
