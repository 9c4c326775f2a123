//! The README's Rust snippets are doctests of the facade (`src/lib.rs` includes the README
//! into a private module, with the `s3`, `azure` and `mmap` features on, as `scripts/test` runs).
//! This test keeps them from opting out: a snippet marked `ignore` or written in a fence
//! rustdoc does not compile would no longer be checked.

#[test]
fn every_rust_snippet_of_the_readme_is_compiled() {
    let readme = include_str!("../README.md");
    let lib = include_str!("../src/lib.rs");
    assert!(
        lib.contains("#[doc = include_str!(\"../README.md\")]"),
        "src/lib.rs no longer includes the README as doctests"
    );
    let mut rust = 0;
    for (n, line) in readme.lines().enumerate() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let words: Vec<&str> = info.split(',').map(str::trim).collect();
        if words.first() == Some(&"rust") || words.first() == Some(&"rs") {
            rust += 1;
            for w in &words[1..] {
                assert!(
                    matches!(*w, "no_run" | "should_panic"),
                    "README.md:{}: `{w}` keeps the snippet from being compiled or run as written",
                    n + 1
                );
            }
        }
    }
    assert!(
        rust >= 10,
        "expected the README's Rust snippets, found {rust}"
    );
}
