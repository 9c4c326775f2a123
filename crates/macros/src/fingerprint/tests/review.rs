//! A hostile review of the resolver (issue 8), written by someone other than its author.
//!
//! Every case asserts what must happen for "a hit is never stale": an edit that can change a
//! function's result must change its identity (`changes`), an edit that cannot must not
//! (`stays`). Cases named `stale_…` failed when written (a stale hit); cases named
//! `spurious_…` failed with an undocumented spurious recompute. The others held.

use super::adversarial::{check, check_under, edit, identity, scratch, with_manifest, Edit};
use super::*;

/// Like `check`, with rustc's command line `args` (features, `--extern`, profile).
pub(super) fn check_build(files: &[(&'static str, &'static str)], args: &str, edits: &[Edit]) {
    let build = inputs::Build::parse(args.split(' ').filter(|a| !a.is_empty()).map(String::from));
    check_under(files, edits, None, &build)
}

/// The identity of `spec` in a fresh crate of `files`, under rustc's command line `args`.
pub(super) fn identity_under(
    files: &[(&'static str, &'static str)],
    spec: &str,
    args: &str,
) -> String {
    let s = scratch(&with_manifest(files));
    let build = inputs::Build::parse(args.split(' ').filter(|a| !a.is_empty()).map(String::from));
    identity(&s, spec, &build, None)
}

const WS: &str = "[workspace]\nmembers = [\"app\", \"mylib\"]\n";
const APP_WITH_LIB: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n";
const MYLIB: &str = "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

// ---------------------------------------------------------------------------------------
// Stale hits found
// ---------------------------------------------------------------------------------------

/// `LIMIT` in a pattern is a `Pat::Ident` to syn, not a path: the collector never records
/// it, so the const's value is not part of the identity.
#[test]
fn stale_const_used_as_a_match_pattern() {
    check(
        &[(
            "src/main.rs",
            "const LIMIT: u64 = 10;\n#[checkpoint]\nfn classify(x: u64) -> u64 { match x { LIMIT => 1, _ => 0 } }\n#[checkpoint]\nfn classify_if_let(x: u64) -> u64 { if let LIMIT = x { 1 } else { 0 } }\nfn main() {}\n",
        )],
        &[edit(
            "const in a pattern",
            "src/main.rs",
            "LIMIT: u64 = 10",
            "LIMIT: u64 = 11",
            &["classify", "classify_if_let"],
            &[],
        )],
    )
}

/// A variant imported by name and used only as a pattern: the `use` leaf is neither named
/// (patterns are not recorded) nor hashed as a possible trait (`High` is a variant).
#[test]
fn stale_imported_variant_used_only_as_a_pattern() {
    check(
        &[(
            "src/main.rs",
            "mod lv { #[derive(Default)] pub enum Level { Low, #[default] High } }\nuse lv::Level::High;\n#[checkpoint]\nfn is_high() -> u8 { match lv::Level::default() { High => 1, _ => 0 } }\nfn main() {}\n",
        )],
        &[edit(
            "the import the pattern means",
            "src/main.rs",
            "use lv::Level::High;",
            "use lv::Level::Low as High;",
            &["is_high"],
            &[],
        )],
    )
}

/// `u64::N` of a trait default const: the default lives in the trait declaration, which is
/// not an associated unit, and `u64` files nothing, so the trait is never reached.
#[test]
fn stale_trait_default_assoc_const_through_a_std_type() {
    check(
        &[(
            "src/main.rs",
            "mod tr { pub trait Tr { const N: u64 = 1; } impl Tr for u64 {} }\nuse tr::Tr;\n#[checkpoint]\nfn n() -> u64 { u64::N }\nfn main() {}\n",
        )],
        &[edit(
            "the trait's default const",
            "src/main.rs",
            "const N: u64 = 1;",
            "const N: u64 = 2;",
            &["n"],
            &[],
        )],
    )
}

/// `include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data.txt"))` — the common way to
/// include a file by absolute path — is recorded as `build` (manifest and build script), not
/// as the file.
#[test]
fn stale_include_str_of_a_manifest_dir_path() {
    check(
        &[
            ("src/main.rs", "#[checkpoint]\nfn f() -> usize { include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/data.txt\")).len() }\nfn main() {}\n"),
            ("data.txt", "first"),
        ],
        &[edit("the included data", "data.txt", "first", "second", &["f"], &[])],
    )
}

/// `include_str!(concat!("da", "ta.txt"))`: the path is built by `concat!`.
#[test]
fn stale_include_str_of_a_concat_path() {
    check(
        &[
            ("src/main.rs", "#[checkpoint]\nfn f() -> usize { include_str!(concat!(\"da\", \"ta.txt\")).len() }\nfn main() {}\n"),
            ("src/data.txt", "first"),
        ],
        &[edit("the included data", "src/data.txt", "first", "second", &["f"], &[])],
    )
}

/// `env!(concat!("A_", "B"))` reads `A_B`; the scan records the first literal, `A_`.
#[test]
fn stale_env_of_a_concat_name() {
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn f() -> &'static str { env!(concat!(\"CHECKPOINTER_REVIEW_\", \"CONCAT_ENV\")) }\nfn main() {}\n",
    )];
    std::env::set_var("CHECKPOINTER_REVIEW_CONCAT_ENV", "one");
    let one = identity_under(&files, "f", "");
    std::env::set_var("CHECKPOINTER_REVIEW_CONCAT_ENV", "two");
    let two = identity_under(&files, "f", "");
    assert_ne!(one, two, "STALE: the value of the variable env! reads");
}

/// `include!` in expression position: the file's bytes are hashed, but the names it calls
/// are never followed.
#[test]
fn stale_names_called_from_an_expression_include() {
    check(
        &[
            ("src/main.rs", "fn helper() -> u64 { 1 }\n#[checkpoint]\nfn f() -> u64 { include!(\"expr.in\") }\nfn main() {}\n"),
            ("src/expr.in", "helper() + 1\n"),
        ],
        &[edit("the helper the included expression calls", "src/main.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// A `macro_rules!` forwarding its literal to `include_str!`: the file is unknown at scan
/// time, so it stands for `build`, and the data file is not hashed.
#[test]
fn stale_include_str_through_a_macro_parameter() {
    check(
        &[
            ("src/main.rs", "macro_rules! load { ($f:literal) => { include_str!($f) } }\n#[checkpoint]\nfn f() -> usize { load!(\"data.txt\").len() }\nfn main() {}\n"),
            ("src/data.txt", "first"),
        ],
        &[edit("the included data", "src/data.txt", "first", "second", &["f"], &[])],
    )
}

/// `#[path = "other"] mod outer { mod inner; }` loads `src/other/inner.rs`: the inline
/// module's `#[path]` is ignored for the file modules it declares, so the file is never read.
#[test]
fn stale_file_module_inside_an_inline_module_with_path() {
    check(
        &[
            ("src/main.rs", "#[path = \"other\"]\nmod outer { pub mod inner; }\n#[checkpoint]\nfn f() -> u64 { outer::inner::g() }\nfn main() {}\n"),
            ("src/other/inner.rs", "pub fn g() -> u64 { 1 }\n"),
        ],
        &[edit("the module's function", "src/other/inner.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// `#[cfg_attr(feature = "fast", path = "fast_imp.rs")] mod imp;`: only `path = …` is read,
/// so with the feature on, the file rustc compiles is never indexed.
#[test]
fn stale_cfg_attr_path_module_with_the_feature_on() {
    check_build(
        &[
            ("src/main.rs", "#[cfg_attr(feature = \"fast\", path = \"fast_imp.rs\")]\nmod imp;\n#[checkpoint]\nfn f() -> u64 { imp::g() }\nfn main() {}\n"),
            ("src/imp.rs", "pub fn g() -> u64 { 1 }\n"),
            ("src/fast_imp.rs", "pub fn g() -> u64 { 10 }\n"),
        ],
        "-C opt-level=0 --cfg feature=\"fast\"",
        &[edit("the file the feature selects", "src/fast_imp.rs", "{ 10 }", "{ 11 }", &["f"], &[])],
    )
}

/// A macro that defines an item through another macro (`outer!()` → `inner!(helper)` →
/// `fn helper`): `helper` is defined visibly by no macro and named in no invocation's
/// arguments, so it resolves to nothing and neither macro is reached.
#[test]
fn stale_item_defined_through_a_nested_macro() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! inner { ($n:ident) => { fn $n() -> u64 { 1 } } }\nmacro_rules! outer { () => { inner!(helper); } }\nouter!();\n#[checkpoint]\nfn f() -> u64 { helper() }\nfn main() {}\n",
        )],
        &[edit("the inner macro's body", "src/main.rs", "{ 1 } } }", "{ 2 } } }", &["f"], &[])],
    )
}

/// A macro invoked at statement position in a function body defines a local item used by a
/// nested `#[checkpoint]` fn: body statements that are macros are not indexed as
/// invocations (only `syn::Item`s are collected from bodies).
#[test]
fn stale_local_item_defined_by_a_statement_macro() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! make_fn { ($name:ident, $v:expr) => { fn $name() -> u64 { $v } } }\nfn outer() -> u64 {\n    make_fn!(seven, 7);\n    #[checkpoint]\n    fn inner() -> u64 { seven() }\n    inner()\n}\nfn main() {}\n",
        )],
        &[edit("the invocation's argument", "src/main.rs", "make_fn!(seven, 7)", "make_fn!(seven, 8)", &["inner"], &[])],
    )
}

/// `paste!` in the function builds the name it calls: `get_seven` is never named.
#[test]
fn stale_function_called_through_a_pasted_name() {
    check(
        &[(
            "src/main.rs",
            "fn get_seven() -> u64 { 7 }\n#[checkpoint]\nfn f() -> u64 { paste::paste! { [<get_ seven>]() } }\nfn main() {}\n",
        )],
        &[edit("the function the pasted name calls", "src/main.rs", "{ 7 }", "{ 8 }", &["f"], &[])],
    )
}

/// The include of a build script's output at item position is found by no name its file
/// defines (`generated`): the build script that writes it is never hashed.
#[test]
fn stale_item_included_from_out_dir() {
    // Whatever OUT_DIR this test process has (the macros crate's own), the build script
    // that fills it counts.
    check(
        &[
            ("src/main.rs", "include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n#[checkpoint]\nfn f() -> u64 { generated() }\nfn main() {}\n"),
            ("build.rs", "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    std::fs::write(format!(\"{out}/gen.rs\"), \"pub fn generated() -> u64 { 1 }\").unwrap();\n}\n"),
        ],
        &[edit("what the build script generates", "build.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// A per-package profile override in the workspace root manifest changes what the
/// dependency's `cfg!(debug_assertions)` is; only the two crates' own manifests are hashed.
#[test]
fn stale_dependency_profile_override_in_the_workspace_root() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn checked() -> bool { cfg!(debug_assertions) }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> bool { mylib::checked() }\nfn main() {}\n"),
        ],
        &[edit(
            "[profile.dev.package.mylib] debug-assertions = false",
            "../Cargo.toml",
            "members = [\"app\", \"mylib\"]\n",
            "members = [\"app\", \"mylib\"]\n[profile.dev.package.mylib]\ndebug-assertions = false\n",
            &["f"],
            &[],
        )],
    )
}

/// Cargo unifies a dependency's features over the packages built together: another member
/// enabling `mylib/fast` changes what `mylib::mode()` returns to this binary.
#[test]
fn stale_dependency_feature_enabled_by_another_workspace_member() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mylib\", \"tool\"]\nresolver = \"2\"\n"),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[features]\nfast = []\n"),
            ("../mylib/src/lib.rs", "#[cfg(feature = \"fast\")]\npub fn mode() -> u64 { 1 }\n#[cfg(not(feature = \"fast\"))]\npub fn mode() -> u64 { 2 }\n"),
            ("../tool/Cargo.toml", "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n"),
            ("../tool/src/main.rs", "fn main() {}\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::mode() }\nfn main() {}\n"),
        ],
        &[edit(
            "another member enables the feature",
            "../tool/Cargo.toml",
            "mylib = { path = \"../mylib\" }",
            "mylib = { path = \"../mylib\", features = [\"fast\"] }",
            &["f"],
            &[],
        )],
    )
}

/// `cargo build --features mylib/fast`: nothing on disk changes, but rustc links another
/// build of the dependency. Its `--extern` file name carries Cargo's metadata hash (features,
/// profile, target), the one place this rustc can see the dependency's cfg.
#[test]
fn stale_dependency_feature_enabled_on_the_command_line() {
    let files = [
        ("../Cargo.toml", WS),
        ("Cargo.toml", APP_WITH_LIB),
        ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[features]\nfast = []\n"),
        ("../mylib/src/lib.rs", "#[cfg(feature = \"fast\")]\npub fn mode() -> u64 { 1 }\n#[cfg(not(feature = \"fast\"))]\npub fn mode() -> u64 { 2 }\n"),
        ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::mode() }\nfn main() {}\n"),
    ];
    let plain = identity_under(
        &files,
        "f",
        "-C opt-level=0 --extern mylib=/t/deps/libmylib-0f1e2d3c4b5a6978.rlib",
    );
    let fast = identity_under(
        &files,
        "f",
        "-C opt-level=0 --extern mylib=/t/deps/libmylib-8a7b6c5d4e3f2a1b.rlib",
    );
    assert_ne!(plain, fast, "STALE: mylib built with other features");
}

/// `cargo update -p ryu` changes how `serde_json` prints floats; only the crate the code
/// names is pinned, not what it depends on.
#[test]
fn stale_transitive_registry_dependency_upgraded() {
    let lock = |ryu: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde_json\"]\n[[package]]\nname = \"serde_json\"\nversion = \"1.0.1\"\nsource = \"registry+https://example.invalid\"\ndependencies = [\"ryu\"]\n[[package]]\nname = \"ryu\"\nversion = \"{ryu}\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let files = vec![
        (
            "app/Cargo.toml".to_string(),
            format!("{MANIFEST}[dependencies]\nserde_json = \"1\"\n"),
        ),
        ("app/Cargo.lock".to_string(), lock("1.0.0")),
        (
            "app/src/main.rs".to_string(),
            "#[checkpoint]\nfn f() -> String { serde_json::to_string(&0.3f64).unwrap() }\nfn main() {}\n"
                .to_string(),
        ),
    ];
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.write("app/Cargo.lock", &lock("1.0.1"));
    assert_ne!(
        before,
        identity(&s, "f", &build, None),
        "STALE: ryu upgraded under serde_json"
    );
}

/// A derive from a proc-macro crate of the workspace: its source is user code (a path
/// dependency), but `#[derive(Answer)]` names the derive, not the function implementing it.
/// The README lists "code only procedural macros generate" as not followed; for a
/// workspace proc-macro crate the `#[proc_macro_derive(Answer)]` function can be found by
/// that name.
#[test]
fn stale_workspace_derive_macro_edited() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mac\"]\n"),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmac = { path = \"../mac\" }\n"),
            ("../mac/Cargo.toml", "[package]\nname = \"mac\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\nproc-macro = true\n"),
            ("../mac/src/lib.rs", "use proc_macro::TokenStream;\n#[proc_macro_derive(Answer)]\npub fn derive_answer(_i: TokenStream) -> TokenStream {\n    \"impl P { fn answer() -> u64 { 42 } }\".parse().unwrap()\n}\n"),
            ("src/main.rs", "use mac::Answer;\n#[derive(Answer)]\nstruct P;\n#[checkpoint]\nfn f() -> u64 { P::answer() }\nfn main() {}\n"),
        ],
        &[edit("the derive's output", "../mac/src/lib.rs", "42", "43", &["f"], &[])],
    )
}

/// `env!($v)` inside a `macro_rules!`: the variable is the invocation's literal, unknown to
/// the scan of the macro (recorded as `build`) and not an `env!` at the call site.
#[test]
fn stale_env_through_a_macro_parameter() {
    let files = [(
        "src/main.rs",
        "macro_rules! setting { ($v:literal) => { env!($v) } }\n#[checkpoint]\nfn f() -> &'static str { setting!(\"CHECKPOINTER_REVIEW_MACRO_ENV\") }\nfn main() {}\n",
    )];
    std::env::set_var("CHECKPOINTER_REVIEW_MACRO_ENV", "one");
    let one = identity_under(&files, "f", "");
    std::env::set_var("CHECKPOINTER_REVIEW_MACRO_ENV", "two");
    let two = identity_under(&files, "f", "");
    assert_ne!(one, two, "STALE: the value of the variable the macro reads");
}

/// `serde_json::json!(…)`: the crate is named only in a macro path, whose leading segments
/// the collector drops (`visit_macro` keeps the last segment and the arguments), so the
/// crate is not pinned and its upgrade does not count.
#[test]
fn stale_registry_crate_named_only_by_a_macro_path() {
    let lock = |v: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde_json\"]\n[[package]]\nname = \"serde_json\"\nversion = \"{v}\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let files = vec![
        (
            "app/Cargo.toml".to_string(),
            format!("{MANIFEST}[dependencies]\nserde_json = \"1\"\n"),
        ),
        ("app/Cargo.lock".to_string(), lock("1.0.1")),
        (
            "app/src/main.rs".to_string(),
            "#[checkpoint]\nfn f() -> String { serde_json::json!({\"b\": 1, \"a\": 2}).to_string() }\nfn main() {}\n"
                .to_string(),
        ),
    ];
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.write("app/Cargo.lock", &lock("1.0.2"));
    assert_ne!(
        before,
        identity(&s, "f", &build, None),
        "STALE: serde_json upgraded"
    );
}

/// `[patch.crates-io] fancy = { path = "../fancy" }`: the code's `fancy` is a local
/// checkout, but it is neither indexed (not a `path` dependency) nor pinned (no `source` in
/// `Cargo.lock`), so editing it does not count.
#[test]
fn stale_patched_registry_dependency_edited() {
    check(
        &[
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nfancy = \"1\"\n[patch.crates-io]\nfancy = { path = \"../fancy\" }\n"),
            ("Cargo.lock", "version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"fancy\"]\n[[package]]\nname = \"fancy\"\nversion = \"1.0.0\"\n"),
            ("../fancy/Cargo.toml", "[package]\nname = \"fancy\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
            ("../fancy/src/lib.rs", "pub fn v() -> u64 { 1 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { fancy::v() }\nfn main() {}\n"),
        ],
        &[edit("the patched crate's code", "../fancy/src/lib.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// The edition changes what code means (`[1u8, 2].into_iter()` yields `&u8` in 2018 and
/// `u8` in 2021, so `size_of_val` of the items differs); `--edition` is not hashed.
#[test]
fn stale_edition_changed() {
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn f() -> usize { [1u8, 2].into_iter().map(|x| std::mem::size_of_val(&x)).sum() }\nfn main() {}\n",
    )];
    assert_ne!(
        identity_under(&files, "f", "--edition=2018 -C opt-level=0"),
        identity_under(&files, "f", "--edition=2021 -C opt-level=0"),
        "STALE: the edition"
    );
}

/// Cargo passes `--target` only when cross-compiling, so a native build hashes no target
/// at all: `cfg!(target_arch = …)` code built on an x86_64 and an aarch64 machine sharing
/// a store (S3) gets one identity. A native build must hash as the explicit host target.
#[test]
fn stale_host_target_of_a_native_build() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV prints the host");
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn f() -> bool { cfg!(target_arch = \"x86_64\") }\nfn main() {}\n",
    )];
    assert_eq!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", &format!("-C opt-level=0 --target {host}")),
        "STALE: a native build does not say which target it is for"
    );
}

/// Two nested `#[checkpoint] fn h` of equal tokens in sibling blocks of one function: same
/// module path, same name, same nested path (`app::outer()::h`) and, as both local `K`s
/// are reached by name, the same closure — one identity, so they share entries.
#[test]
fn stale_nested_checkpoints_in_sibling_blocks_share_entries() {
    let files = with_manifest(&[(
        "src/main.rs",
        "fn outer() -> u64 {\n    let a = {\n        const K: u64 = 1;\n        #[checkpoint]\n        fn h() -> u64 { K }\n        h()\n    };\n    let b = {\n        const K: u64 = 2;\n        #[checkpoint]\n        fn h() -> u64 { K }\n        h()\n    };\n    a + b\n}\nfn main() {}\n",
    )]);
    let s = scratch(&files);
    let build = inputs::Build::default();
    assert_ne!(
        identity(&s, "h#0", &build, None),
        identity(&s, "h#1", &build, None),
        "STALE: h in the second block returns the first block's cached value"
    );
}

/// rustc NFC-normalizes identifiers: `fn gro\u{308}ße` (NFD) is the `größe` (NFC) called.
/// The index compares raw strings.
#[test]
fn stale_identifier_in_another_unicode_normal_form() {
    check(
        &[(
            "src/main.rs",
            "fn gro\u{308}\u{df}e() -> u64 { 1 }\n#[checkpoint]\nfn f() -> u64 { gr\u{f6}\u{df}e() }\nfn main() {}\n",
        )],
        &[edit("the NFD-spelled fn", "src/main.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// `linkme`-style registration: `#[distributed_slice(HANDLERS)] static H1 = h1;` adds `h1`
/// to `HANDLERS` from the member's side. The function names `HANDLERS` only; the members
/// name it in an attribute, which makes them refer to it, not be found by it.
#[test]
fn stale_member_of_a_distributed_slice() {
    check(
        &[(
            "src/main.rs",
            "use linkme::distributed_slice;\n#[distributed_slice]\npub static HANDLERS: [fn() -> u64];\nfn h1() -> u64 { 1 }\n#[distributed_slice(HANDLERS)]\nstatic H1: fn() -> u64 = h1;\n#[checkpoint]\nfn total() -> u64 { HANDLERS.iter().map(|h| h()).sum() }\nfn main() {}\n",
        )],
        &[edit("a registered handler", "src/main.rs", "{ 1 }", "{ 2 }", &["total"], &[])],
    )
}

/// `[features] fast = ["mylib/fast"]`: `--features fast` on the app changes the app's
/// cfg set, and through it the dependency's; a dependency's `cfg` input hashes only the two
/// manifests (unchanged), never this build's cfg set.
#[test]
fn stale_app_feature_forwarded_to_a_dependency() {
    let files = [
        ("../Cargo.toml", WS),
        ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n[features]\nfast = [\"mylib/fast\"]\n"),
        ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[features]\nfast = []\n"),
        ("../mylib/src/lib.rs", "#[cfg(feature = \"fast\")]\npub fn mode() -> u64 { 1 }\n#[cfg(not(feature = \"fast\"))]\npub fn mode() -> u64 { 2 }\n"),
        ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::mode() }\nfn main() {}\n"),
    ];
    assert_ne!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "-C opt-level=0 --cfg feature=\"fast\""),
        "STALE: cargo run --features fast"
    );
}

/// `cfg!(panic = "abort")` depends on `-C panic`, which the build parse ignores.
#[test]
fn stale_panic_strategy() {
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn f() -> bool { cfg!(panic = \"abort\") }\nfn main() {}\n",
    )];
    assert_ne!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "-C opt-level=0 -C panic=abort"),
        "STALE: the panic strategy"
    );
}

/// rustc resolves an `include_str!` path against the file of the outermost invocation
/// (`source_callsite`), here `src/main.rs`; the scan resolves it against the file of the
/// `macro_rules!` (`src/util/`), so `src/data.txt` is never hashed.
#[test]
fn stale_include_str_in_a_macro_defined_in_another_directory() {
    check(
        &[
            ("src/main.rs", "#[macro_use]\nmod util;\n#[checkpoint]\nfn f() -> usize { data!().len() }\nfn main() {}\n"),
            ("src/util/mod.rs", "macro_rules! data { () => { include_str!(\"data.txt\") } }\n"),
            ("src/data.txt", "first"),
        ],
        &[edit("the data the invocation reads", "src/data.txt", "first", "second", &["f"], &[])],
    )
}

/// A `macro_rules!` that expands to a `use`: `defined_names` knows `fn`, `const`, `mod`, …
/// but not `use`, and the invocation has no arguments, so the import deciding which `pick`
/// is called is never reached (both `pick`s are, so the closure does not move).
#[test]
fn stale_use_generated_by_a_macro() {
    check(
        &[(
            "src/main.rs",
            "mod a { pub fn pick() -> u64 { 1 } }\nmod b { pub fn pick() -> u64 { 2 } }\nmacro_rules! import { () => { use crate::a::pick; } }\nimport!();\n#[checkpoint]\nfn f() -> u64 { pick() }\nfn main() {}\n",
        )],
        &[edit("the import the macro writes", "src/main.rs", "use crate::a::pick;", "use crate::b::pick;", &["f"], &[])],
    )
}

/// An operator impl written inside a zero-argument macro: `Money` appears in no
/// invocation's arguments, the impl is not indexed (it is macro body), and `+` names no
/// method, so nothing reaches it.
#[test]
fn stale_operator_impl_inside_a_zero_argument_macro() {
    check(
        &[(
            "src/main.rs",
            "pub struct Money(pub u64);\nmacro_rules! money_ops {\n    () => {\n        impl std::ops::Add for Money { type Output = Money; fn add(self, o: Money) -> Money { Money(self.0 + o.0) } }\n    };\n}\nmoney_ops!();\n#[checkpoint]\nfn f() -> u64 { (Money(1) + Money(2)).0 }\nfn main() {}\n",
        )],
        &[edit("the generated operator", "src/main.rs", "self.0 + o.0", "self.0 * o.0", &["f"], &[])],
    )
}

/// `line!()` inside a `macro_rules!` is the line of the outermost invocation — the
/// function's. Only units whose own tokens name `line` are laid out, so moving the function
/// down does not count.
#[test]
fn stale_line_through_a_macro() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! here { () => { line!() } }\n#[checkpoint]\nfn f() -> u32 { here!() }\nfn main() {}\n",
        )],
        &[edit("a line inserted above the invocation", "src/main.rs", "#[checkpoint]\nfn f", "\n#[checkpoint]\nfn f", &["f"], &[])],
    )
}

/// `stringify!` of `tt`s passed through a macro keeps the invocation's spacing
/// (`show!(a+b)` is `"a+b"`, `show!(a + b)` is `"a + b"`), but the function's tokens are
/// normalized since it does not name `stringify` itself.
#[test]
fn stale_stringify_spacing_through_a_macro() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! show { ($($t:tt)*) => { stringify!($($t)*) } }\n#[checkpoint]\nfn f() -> &'static str { show!(a+b) }\nfn main() {}\n",
        )],
        &[edit("spacing in the invocation", "src/main.rs", "show!(a+b)", "show!(a + b)", &["f"], &[])],
    )
}

/// `#[track_caller]` + `Location::caller()` report the caller's line — the function's — with
/// no `line!` anywhere (error constructors recording where they were made do this).
#[test]
fn stale_track_caller_location() {
    check(
        &[(
            "src/main.rs",
            "#[track_caller]\nfn here() -> u32 { std::panic::Location::caller().line() }\n#[checkpoint]\nfn f() -> u32 { here() }\nfn main() {}\n",
        )],
        &[edit("a line inserted above the caller", "src/main.rs", "#[checkpoint]\nfn f", "\n#[checkpoint]\nfn f", &["f"], &[])],
    )
}

/// Derives read doc comments: clap turns field docs into `--help` text, schemars/utoipa
/// into schema descriptions. Docs are dropped from every item's hash (the README lists
/// "doc comments on items" as not counting), so a cached help text or schema goes stale.
/// Docs of an item carrying a derive or attribute macro other than std's are data.
#[test]
fn stale_doc_comment_read_by_a_derive() {
    check(
        &[(
            "src/main.rs",
            "use clap::{CommandFactory, Parser};\n#[derive(Parser)]\nstruct Args {\n    /// Items to process\n    n: u64,\n}\n#[checkpoint]\nfn help() -> String { Args::command().render_help().to_string() }\nfn main() {}\n",
        )],
        &[edit("the field's doc", "src/main.rs", "/// Items to process", "/// How many items", &["help"], &[])],
    )
}

/// Package `md-5` is the library `md5` in code: pins are keyed by the manifest key
/// (`md_5`), so `md5::compute` pins nothing and its upgrade does not count. (rustc's
/// `--extern md5=…/libmd5-HASH.rlib` gives the code name and a hash that moves with the
/// version, features and profile.)
#[test]
fn stale_registry_crate_whose_library_name_differs() {
    let lock = |v: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"md-5\"]\n[[package]]\nname = \"md-5\"\nversion = \"{v}\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let files = vec![
        (
            "app/Cargo.toml".to_string(),
            format!("{MANIFEST}[dependencies]\nmd-5 = \"0.10\"\n"),
        ),
        ("app/Cargo.lock".to_string(), lock("0.10.5")),
        (
            "app/src/main.rs".to_string(),
            "use md5::{Digest, Md5};\n#[checkpoint]\nfn f() -> Vec<u8> { Md5::digest(b\"x\").to_vec() }\nfn main() {}\n"
                .to_string(),
        ),
    ];
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.write("app/Cargo.lock", &lock("0.10.6"));
    assert_ne!(
        before,
        identity(&s, "f", &build, None),
        "STALE: md-5 upgraded"
    );
}

// ---------------------------------------------------------------------------------------
// Undocumented spurious recomputes found
// ---------------------------------------------------------------------------------------

/// A string literal inside any macro call that looks like a path (`println!("update")`)
/// reaches every item so named. The README promises this for attribute arguments only.
#[test]
fn spurious_plain_word_in_a_message_string() {
    check(
        &[(
            "src/main.rs",
            "fn update() -> u64 { 1 }\n#[checkpoint]\nfn f(x: u64) -> u64 { println!(\"update\"); x }\nfn main() { update(); }\n",
        )],
        &[edit("an unrelated fn named like the message", "src/main.rs", "{ 1 }", "{ 2 }", &[], &["f"])],
    )
}

/// A `macro_rules!` whose body merely contains the text `paste` (here a message) is taken
/// for a name-building macro: its item-position invocations enter every closure.
#[test]
fn spurious_macro_mentioning_paste_in_a_string() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! cmd { ($n:ident, $v:expr) => { fn $n() -> u64 { println!(\"copy and paste\"); $v } } }\ncmd!(copy_all, 1);\n#[checkpoint]\nfn f(x: u64) -> u64 { x + 1 }\nfn main() { copy_all(); }\n",
        )],
        &[edit("an unrelated invocation", "src/main.rs", "cmd!(copy_all, 1)", "cmd!(copy_all, 2)", &[], &["f"])],
    )
}

/// Moving an inline module to its own file is a refactor; the `mod` unit hashes whether it
/// is inline.
#[test]
fn spurious_inline_module_moved_to_its_own_file() {
    let main = "mod util { pub fn scale(x: u64) -> u64 { x * 2 } }\n#[checkpoint]\nfn f(x: u64) -> u64 { util::scale(x) }\nfn main() {}\n";
    let mut s = scratch(&with_manifest(&[("src/main.rs", main)]));
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.write("app/src/util.rs", "pub fn scale(x: u64) -> u64 { x * 2 }\n");
    s.write(
        "app/src/main.rs",
        "mod util;\n#[checkpoint]\nfn f(x: u64) -> u64 { util::scale(x) }\nfn main() {}\n",
    );
    assert_eq!(before, identity(&s, "f", &build, None), "SPURIOUS");
}

/// Lint and inlining attributes never change what code computes.
#[test]
fn spurious_lint_and_inline_attributes_on_a_helper() {
    let main = "fn helper(x: u64) -> u64 { x * 2 }\n#[checkpoint]\nfn f(x: u64) -> u64 { helper(x) }\nfn main() {}\n";
    check(
        &[("src/main.rs", main)],
        &[
            edit(
                "#[allow]",
                "src/main.rs",
                "fn helper",
                "#[allow(clippy::needless_return, dead_code)]\nfn helper",
                &[],
                &["f"],
            ),
            edit(
                "#[inline]",
                "src/main.rs",
                "fn helper",
                "#[inline]\nfn helper",
                &[],
                &["f"],
            ),
            edit(
                "#[must_use]",
                "src/main.rs",
                "fn helper",
                "#[must_use]\nfn helper",
                &[],
                &["f"],
            ),
            edit(
                "#[rustfmt::skip]",
                "src/main.rs",
                "fn helper",
                "#[rustfmt::skip]\nfn helper",
                &[],
                &["f"],
            ),
        ],
    )
}

/// Trait impls are filed under *every* identifier of their header, path qualifiers
/// included: `impl std::fmt::Display for Other` is filed under `fmt`, and reaching any
/// method named `fmt` (here Money's own `Display::fmt`) files in every such impl, so one
/// type's `Display` brings every other type's. Not "a type reaches every trait impl that
/// names it": `Other` is never named.
#[test]
fn spurious_display_of_an_unrelated_type_through_the_fmt_path_segment() {
    check(
        &[
            ("src/main.rs", HARMLESS),
            (
                "src/util.rs",
                "pub const LIMIT: u64 = 4;\npub fn scale(x: u64) -> u64 { x * 2 }\n",
            ),
            ("src/money.rs", HARMLESS_MONEY),
        ],
        &[
            edit(
                "an unrelated type's Display",
                "src/money.rs",
                "\"o{}\"",
                "\"other {}\"",
                &[],
                &["target"],
            ),
            edit(
                "a private use of that unrelated user type",
                "src/main.rs",
                "use util::{scale, LIMIT};",
                "use util::{scale, LIMIT};\nuse money::Other;",
                &[],
                &["target"],
            ),
        ],
    )
}

/// The same filing by path qualifiers across crates: every trait impl whose header spells
/// `mylib::…` is filed under `mylib`, so any function calling into `mylib` reaches all of
/// them — here an app error's `From<mylib::LibErr>` and another crate's
/// `impl mylib::Plugin for P`.
#[test]
fn spurious_impls_filed_under_the_crate_name_of_their_header_paths() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mylib\", \"plugin\"]\n"),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\nplugin = { path = \"../plugin\" }\n"),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub struct LibErr(pub u64);\npub fn op(x: u64) -> Result<u64, LibErr> { if x > 3 { Err(LibErr(x)) } else { Ok(x) } }\npub trait Plugin { fn go(&self) -> u64; }\npub fn double(x: u64) -> u64 { x * 2 }\n"),
            ("../plugin/Cargo.toml", "[package]\nname = \"plugin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n"),
            ("../plugin/src/lib.rs", "pub struct P;\nimpl mylib::Plugin for P { fn go(&self) -> u64 { 1 } }\n"),
            ("src/main.rs", "enum AppErr { Lib(u64) }\nimpl From<mylib::LibErr> for AppErr { fn from(e: mylib::LibErr) -> Self { AppErr::Lib(e.0 + 1) } }\nfn q(x: u64) -> Result<u64, AppErr> { Ok(mylib::op(x)?) }\n#[checkpoint]\nfn doubled(x: u64) -> u64 { mylib::double(x) }\nfn main() { let _ = q(1); }\n"),
        ],
        &[
            edit("From<mylib::LibErr> for an app type", "src/main.rs", "e.0 + 1", "e.0 + 2", &[], &["doubled"]),
            edit("impl mylib::Plugin in another crate", "../plugin/src/lib.rs", "{ 1 }", "{ 2 }", &[], &["doubled"]),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Attacks that held
// ---------------------------------------------------------------------------------------

#[test]
fn dyn_dispatch_to_an_impl_in_another_module() {
    check(
        &[
            ("src/main.rs", "mod shapes;\nmod impls;\n#[checkpoint]\nfn total() -> u64 { shapes::all().iter().map(|s| s.area()).sum() }\n#[checkpoint]\nfn shown() -> String { shapes::boxed().to_string() }\nfn main() {}\n"),
            ("src/shapes.rs", "pub trait Shape { fn area(&self) -> u64; }\npub struct Sq(pub u64);\npub fn all() -> Vec<Box<dyn Shape>> { vec![Box::new(Sq(2))] }\npub fn boxed() -> Box<dyn std::fmt::Display> { Box::new(Sq(3)) }\n"),
            ("src/impls.rs", "use crate::shapes::{Shape, Sq};\nimpl Shape for Sq { fn area(&self) -> u64 { self.0 * self.0 } }\nimpl std::fmt::Display for Sq { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"sq{}\", self.0) } }\n"),
        ],
        &[
            edit("the impl behind dyn Shape", "src/impls.rs", "self.0 * self.0", "self.0 + self.0", &["total"], &[]),
            edit("the impl behind dyn Display", "src/impls.rs", "\"sq{}\"", "\"square {}\"", &["shown"], &[]),
        ],
    )
}

const ASSOC: &str = r#"
use std::ops::Add;
trait Sized2 { const N: usize; }
struct A;
impl Sized2 for A { const N: usize = 3; }
fn n_of<T: Sized2>() -> usize { T::N }
#[checkpoint]
fn via_generic() -> usize { n_of::<A>() }
struct Money(u64);
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "${}", self.0) }
}
trait Conv { type Out; fn conv(&self) -> Self::Out; }
impl Conv for u8 { type Out = Money; fn conv(&self) -> Money { Money(*self as u64) } }
fn shown<T: Conv>(x: T) -> String where T::Out: std::fmt::Display { x.conv().to_string() }
#[checkpoint]
fn via_projection() -> String { shown(3u8) }
impl<'a> Add<&'a Money> for &'a Money { type Output = Money; fn add(self, o: &Money) -> Money { Money(self.0 + o.0) } }
#[checkpoint]
fn ref_add() -> u64 { (&Money(1) + &Money(2)).0 }
struct Cnt(u64);
impl Cnt {
    const STEP: u64 = 2;
    #[checkpoint]
    fn next(&self) -> u64 { self.0 + Self::STEP }
}
fn main() {}
"#;

#[test]
fn associated_consts_types_and_operators_on_references() {
    check(
        &[("src/main.rs", ASSOC)],
        &[
            edit(
                "const through T::N",
                "src/main.rs",
                "const N: usize = 3;",
                "const N: usize = 4;",
                &["via_generic"],
                &["ref_add"],
            ),
            edit(
                "Display of <T as Conv>::Out",
                "src/main.rs",
                "\"${}\"",
                "\"USD {}\"",
                &["via_projection"],
                &["via_generic"],
            ),
            edit(
                "Add<&Money> for &Money",
                "src/main.rs",
                "self.0 + o.0",
                "self.0 * o.0",
                &["ref_add"],
                &["via_generic"],
            ),
            edit(
                "Self::CONST",
                "src/main.rs",
                "STEP: u64 = 2",
                "STEP: u64 = 3",
                &["next"],
                &["via_generic"],
            ),
        ],
    )
}

const VALUES: &str = r#"
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
struct Cfg { a: u64, b: u64 }
impl Default for Cfg { fn default() -> Self { Cfg { a: 1, b: 2 } } }
#[checkpoint]
fn defaults() -> u64 { let c = Cfg { a: 5, ..Default::default() }; c.a + c.b }
struct Outer(Inner);
struct Inner(Leaf, Leaf);
struct Leaf(u64);
impl Deref for Outer { type Target = Inner; fn deref(&self) -> &Inner { &self.0 } }
impl Deref for Inner { type Target = Leaf; fn deref(&self) -> &Leaf { &self.0 } }
impl Leaf { fn val(&self) -> u64 { self.0 } }
fn make() -> Outer { Outer(Inner(Leaf(1), Leaf(2))) }
#[checkpoint]
fn deref_chain() -> u64 { make().val() }
const FACTOR: u64 = 3;
static OP: LazyLock<Box<dyn Fn(u64) -> u64 + Send + Sync>> = LazyLock::new(|| Box::new(|x| x * FACTOR));
#[checkpoint]
fn closure_in_static(x: u64) -> u64 { OP(x) }
const OFFSET: u64 = 7;
fn adder() -> impl Fn(u64) -> u64 { |x| x + OFFSET }
#[checkpoint]
fn impl_trait_return(x: u64) -> u64 { adder()(x) }
static BASE: AtomicU64 = AtomicU64::new(5);
static VIA: &AtomicU64 = &BASE;
#[checkpoint]
fn static_of_static() -> u64 { VIA.load(Ordering::Relaxed) }
const fn sq(x: u64) -> u64 { x * x }
const AREA: u64 = sq(3);
#[checkpoint]
fn const_fn_in_const() -> u64 { AREA }
const LEN: usize = 4;
const BASE_D: isize = 10;
enum E { A = BASE_D, B }
#[checkpoint]
fn lengths_and_discriminants() -> usize { [0u8; LEN].len() + E::B as usize + matches!(LEN, LIMIT) as usize }
const LIMIT: usize = 4;
fn main() {}
"#;

#[test]
fn defaults_derefs_statics_and_consts_in_types() {
    check(
        &[("src/main.rs", VALUES)],
        &[
            edit(
                "Default used by ..Default::default()",
                "src/main.rs",
                "a: 1, b: 2",
                "a: 1, b: 3",
                &["defaults"],
                &["deref_chain"],
            ),
            edit(
                "second Deref of a chain",
                "src/main.rs",
                "-> &Leaf { &self.0 }",
                "-> &Leaf { &self.1 }",
                &["deref_chain"],
                &["defaults"],
            ),
            edit(
                "const read by a closure in a static",
                "src/main.rs",
                "FACTOR: u64 = 3",
                "FACTOR: u64 = 4",
                &["closure_in_static"],
                &["defaults"],
            ),
            edit(
                "const in an impl Trait closure",
                "src/main.rs",
                "OFFSET: u64 = 7",
                "OFFSET: u64 = 8",
                &["impl_trait_return"],
                &[],
            ),
            edit(
                "static initializing another",
                "src/main.rs",
                "AtomicU64::new(5)",
                "AtomicU64::new(6)",
                &["static_of_static"],
                &[],
            ),
            edit(
                "const fn in a const",
                "src/main.rs",
                "x * x",
                "x * x + 1",
                &["const_fn_in_const"],
                &[],
            ),
            edit(
                "array length",
                "src/main.rs",
                "LEN: usize = 4",
                "LEN: usize = 5",
                &["lengths_and_discriminants"],
                &[],
            ),
            edit(
                "discriminant const",
                "src/main.rs",
                "BASE_D: isize = 10",
                "BASE_D: isize = 11",
                &["lengths_and_discriminants"],
                &[],
            ),
            edit(
                "const in matches!",
                "src/main.rs",
                "LIMIT: usize = 4",
                "LIMIT: usize = 5",
                &["lengths_and_discriminants"],
                &[],
            ),
        ],
    )
}

const NAMES: &str = r#"
#[macro_use]
mod macros;
mod parent {
    pub fn helper() -> u64 { 1 }
    pub mod child {
        use super::*;
        #[checkpoint]
        pub fn glob_parent() -> u64 { helper() }
    }
}
mod a { pub(crate) use crate::b::api; }
mod b { pub(crate) use crate::c::imp as api; }
mod c { pub fn imp() -> u64 { 1 } pub fn imp2() -> u64 { 2 } }
#[checkpoint]
fn reexport_chain() -> u64 { a::api() }
#[checkpoint]
fn macro_use_mod() -> u64 { triple!(2) }
mod util { pub fn helper2() -> u64 { 5 } }
macro_rules! call { () => { $crate::util::helper2() } }
#[checkpoint]
fn dollar_crate() -> u64 { call!() }
fn r#try() -> u64 { 1 }
#[checkpoint]
fn raw_ident() -> u64 { r#try() }
fn größe() -> u64 { 1 }
#[checkpoint]
fn unicode_ident() -> u64 { größe() }
mod m { pub fn shadowed() -> u64 { 1 } }
fn shadowed() -> u64 { 2 }
#[checkpoint]
fn local_use_shadows() -> u64 { use m::shadowed; shadowed() }
fn main() {}
"#;

#[test]
fn names_globs_reexports_macros_and_identifiers() {
    let files = [
        ("src/main.rs", NAMES),
        (
            "src/macros.rs",
            "macro_rules! triple { ($e:expr) => { $e * 3 } }\n",
        ),
    ];
    check(
        &files,
        &[
            edit(
                "fn reached by use super::*",
                "src/main.rs",
                "pub fn helper() -> u64 { 1 }",
                "pub fn helper() -> u64 { 9 }",
                &["glob_parent"],
                &["reexport_chain"],
            ),
            edit(
                "body behind two pub(crate) uses",
                "src/main.rs",
                "imp() -> u64 { 1 }",
                "imp() -> u64 { 3 }",
                &["reexport_chain"],
                &["glob_parent"],
            ),
            edit(
                "middle re-export retargeted",
                "src/main.rs",
                "crate::c::imp as api",
                "crate::c::imp2 as api",
                &["reexport_chain"],
                &[],
            ),
            edit(
                "#[macro_use] module's macro",
                "src/macros.rs",
                "$e * 3",
                "$e * 4",
                &["macro_use_mod"],
                &["reexport_chain"],
            ),
            edit(
                "fn called by $crate::",
                "src/main.rs",
                "helper2() -> u64 { 5 }",
                "helper2() -> u64 { 6 }",
                &["dollar_crate"],
                &[],
            ),
            edit(
                "raw identifier",
                "src/main.rs",
                "fn r#try() -> u64 { 1 }",
                "fn r#try() -> u64 { 2 }",
                &["raw_ident"],
                &[],
            ),
            edit(
                "unicode identifier",
                "src/main.rs",
                "fn größe() -> u64 { 1 }",
                "fn größe() -> u64 { 2 }",
                &["unicode_ident"],
                &[],
            ),
            edit(
                "fn a local use selects",
                "src/main.rs",
                "pub fn shadowed() -> u64 { 1 }",
                "pub fn shadowed() -> u64 { 3 }",
                &["local_use_shadows"],
                &[],
            ),
        ],
    )
}

#[test]
fn renamed_trait_import_switched() {
    check(
        &[(
            "src/main.rs",
            "mod ta { pub trait Speak { fn speak(&self) -> u64; } impl Speak for u8 { fn speak(&self) -> u64 { 1 } } }\nmod tb { pub trait Speak { fn speak(&self) -> u64; } impl Speak for u8 { fn speak(&self) -> u64 { 2 } } }\nuse ta::Speak as speak_trait;\n#[checkpoint]\nfn talk() -> u64 { 1u8.speak() }\nfn main() {}\n",
        )],
        &[edit("use ta::Speak as x → tb", "src/main.rs", "use ta::Speak as speak_trait;", "use tb::Speak as speak_trait;", &["talk"], &[])],
    )
}

const DEEP: &str = r#"
fn level1() -> u64 {
    const K: u64 = 1;
    fn helper_l1() -> u64 { K }
    fn level2() -> u64 {
        fn level3() -> u64 { 10 }
        #[checkpoint]
        fn deep() -> u64 { level3() + helper_l1() }
        deep()
    }
    level2()
}
fn main() {}
"#;

#[test]
fn nested_functions_at_several_depths() {
    check(
        &[("src/main.rs", DEEP)],
        &[
            edit(
                "const two levels up",
                "src/main.rs",
                "K: u64 = 1",
                "K: u64 = 2",
                &["deep"],
                &[],
            ),
            edit(
                "fn one level up",
                "src/main.rs",
                "{ 10 }",
                "{ 11 }",
                &["deep"],
                &[],
            ),
        ],
    )
}

#[test]
fn derive_on_a_type_whose_field_type_changes() {
    check(
        &[(
            "src/main.rs",
            "#[derive(Debug, Default)]\nstruct Rec { v: Inner }\n#[derive(Debug, Default)]\nstruct Inner { x: u8 }\nfn make() -> Rec { Rec::default() }\n#[checkpoint]\nfn dbg() -> String { format!(\"{:?}\", make()) }\nfn main() {}\n",
        )],
        &[
            edit("field type of a field's type", "src/main.rs", "x: u8", "x: bool", &["dbg"], &[]),
            edit("field renamed", "src/main.rs", "{ x: u8 }", "{ y: u8 }", &["dbg"], &[]),
        ],
    )
}

#[test]
fn workspace_crates_question_mark_from_impls_and_env() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mylib\", \"plugin\"]\n"),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\nplugin = { path = \"../plugin\" }\n"),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub struct LibErr(pub u64);\npub fn op(x: u64) -> Result<u64, LibErr> { if x > 3 { Err(LibErr(x)) } else { Ok(x) } }\nimpl From<LibErr> for String { fn from(e: LibErr) -> String { format!(\"lib {}\", e.0) } }\npub trait Plugin { fn go(&self) -> u64; }\npub fn run(p: &dyn Plugin) -> u64 { p.go() }\npub fn version() -> &'static str { env!(\"CARGO_PKG_VERSION\") }\n"),
            ("../plugin/Cargo.toml", "[package]\nname = \"plugin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n"),
            ("../plugin/src/lib.rs", "pub struct P;\nimpl mylib::Plugin for P { fn go(&self) -> u64 { 1 } }\n"),
            ("src/main.rs", "enum AppErr { Lib(u64) }\nimpl From<mylib::LibErr> for AppErr { fn from(e: mylib::LibErr) -> Self { AppErr::Lib(e.0 + 1) } }\n#[checkpoint]\nfn q_app(x: u64) -> Result<u64, AppErr> { Ok(mylib::op(x)?) }\n#[checkpoint]\nfn q_lib(x: u64) -> Result<u64, String> { Ok(mylib::op(x)?) }\n#[checkpoint]\nfn plug() -> u64 { mylib::run(&plugin::P) }\n#[checkpoint]\nfn ver() -> &'static str { mylib::version() }\nfn main() {}\n"),
        ],
        &[
            edit("From for the app's error", "src/main.rs", "e.0 + 1", "e.0 + 2", &["q_app"], &[]),
            edit("From in the library", "../mylib/src/lib.rs", "\"lib {}\"", "\"library {}\"", &["q_lib"], &[]),
            edit("impl of the library's trait in another crate", "../plugin/src/lib.rs", "{ 1 }", "{ 2 }", &["plug"], &[]),
            edit("CARGO_PKG_VERSION of the library", "../mylib/Cargo.toml", "0.1.0", "0.2.0", &["ver"], &[]),
        ],
    )
}

#[test]
fn out_dir_include_inside_the_function_counts_the_build_script() {
    // Whatever OUT_DIR this test process has (the macros crate's own), the build script
    // that fills it counts.
    check(
        &[
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\")) }\n#[checkpoint]\nfn plain() -> u64 { 1 }\nfn main() {}\n"),
            ("build.rs", "fn main() { /* writes gen.rs: 1 */ }\n"),
        ],
        &[edit("the build script", "build.rs", "1 */", "2 */", &["f"], &["plain"])],
    )
}

#[test]
fn cargo_features_select_cfg_modules() {
    let files = [(
        "src/main.rs",
        "#[cfg(feature = \"fast\")]\nmod imp { pub fn go() -> u64 { 1 } }\n#[cfg(not(feature = \"fast\"))]\nmod imp { pub fn go() -> u64 { 2 } }\n#[checkpoint]\nfn f() -> u64 { imp::go() }\n#[checkpoint]\nfn plain() -> u64 { 1 }\nfn main() {}\n",
    )];
    let (off, on) = ("-C opt-level=0", "-C opt-level=0 --cfg feature=\"fast\"");
    assert_ne!(
        identity_under(&files, "f", off),
        identity_under(&files, "f", on)
    );
    assert_eq!(
        identity_under(&files, "plain", off),
        identity_under(&files, "plain", on)
    );
}

#[test]
fn paths_observed_by_module_path_and_file() {
    check(
        &[
            ("src/main.rs", "mod a { pub mod inner { pub fn w() -> &'static str { module_path!() } } pub use inner::w; }\n#[path = \"w1.rs\"]\nmod wf;\n#[checkpoint]\nfn mp() -> &'static str { a::w() }\n#[checkpoint]\nfn fp() -> &'static str { wf::fw() }\nfn main() {}\n"),
            ("src/w1.rs", "pub fn fw() -> &'static str { file!() }\n"),
            ("src/w2.rs", "pub fn fw() -> &'static str { file!() }\n"),
        ],
        &[
            edit("module renamed behind a re-export", "src/main.rs", "pub mod inner { pub fn w() -> &'static str { module_path!() } } pub use inner::w;", "pub mod inner2 { pub fn w() -> &'static str { module_path!() } } pub use inner2::w;", &["mp"], &[]),
            edit("same text, another file", "src/main.rs", "\"w1.rs\"", "\"w2.rs\"", &["fp"], &["mp"]),
        ],
    )
}

#[test]
fn path_dependencies_by_workspace_inheritance_and_target_tables() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mylib\", \"unixlib\"]\n[workspace.dependencies]\nmylib = { path = \"mylib\" }\n"),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib.workspace = true\n[target.'cfg(unix)'.dependencies]\nunixlib = { path = \"../unixlib\" }\n"),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("../unixlib/Cargo.toml", "[package]\nname = \"unixlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            ("../unixlib/src/lib.rs", "pub fn b() -> u64 { 1 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::a() + unixlib::b() }\nfn main() {}\n"),
        ],
        &[
            edit("a workspace-inherited path dependency", "../mylib/src/lib.rs", "{ 1 }", "{ 2 }", &["f"], &[]),
            edit("a target-specific path dependency", "../unixlib/src/lib.rs", "{ 1 }", "{ 2 }", &["f"], &[]),
        ],
    )
}

#[test]
fn module_file_moved_to_mod_rs_and_a_new_test_module() {
    let main = "mod util;\n#[checkpoint]\nfn f(x: u64) -> u64 { util::scale(x) }\nfn main() {}\n";
    let mut s = scratch(&with_manifest(&[
        ("src/main.rs", main),
        ("src/util.rs", "pub fn scale(x: u64) -> u64 { x * 2 }\n"),
    ]));
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.remove("app/src/util.rs");
    s.write(
        "app/src/util/mod.rs",
        "pub fn scale(x: u64) -> u64 { x * 2 }\n",
    );
    assert_eq!(
        before,
        identity(&s, "f", &build, None),
        "util.rs → util/mod.rs"
    );
    s.write(
        "app/src/main.rs",
        &format!("{main}#[cfg(test)]\nmod tests {{\n    use super::*;\n    #[test]\n    fn t() {{ assert_eq!(f(1), 2); }}\n}}\n"),
    );
    assert_eq!(before, identity(&s, "f", &build, None), "a new test module");
}

#[test]
fn test_and_dev_builds_share_plain_identities() {
    let files = [(
        "src/main.rs",
        "fn helper(x: u64) -> u64 { x * 2 }\n#[checkpoint]\nfn f(x: u64) -> u64 { helper(x) }\nfn main() {}\n",
    )];
    assert_eq!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "--test -C opt-level=0 --cfg feature=\"x\""),
    );
}

// ---------------------------------------------------------------------------------------
// Harmless edits that must not count
// ---------------------------------------------------------------------------------------

const HARMLESS: &str = r#"
mod util;
mod money;
use util::{scale, LIMIT};
#[checkpoint]
fn target(x: u64) -> u64 {
    scale(x) + LIMIT + money::Money(x).to_string().len() as u64
}
fn other() -> u64 { 1 }
fn main() {}
"#;

const HARMLESS_MONEY: &str = "pub struct Money(pub u64);\nimpl std::fmt::Display for Money {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"{}\", self.0) }\n}\npub struct Other(pub u64);\nimpl std::fmt::Display for Other {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"o{}\", self.0) }\n}\nimpl Money { pub fn a(&self) -> u64 { 1 } pub fn b(&self) -> u64 { 2 } }\n";

#[test]
fn harmless_edits_that_must_not_count() {
    check(
        &[
            ("src/main.rs", HARMLESS),
            ("src/util.rs", "pub const LIMIT: u64 = 4;\npub fn scale(x: u64) -> u64 { x * 2 }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { assert_eq!(scale(1), 2); }\n}\n"),
            ("src/money.rs", HARMLESS_MONEY),
            ("build.rs", "fn main() {}\n"),
        ],
        &[
            edit("blank lines above the function", "src/main.rs", "#[checkpoint]\nfn target", "\n\n#[checkpoint]\nfn target", &[], &["target"]),
            edit("imports regrouped", "src/main.rs", "use util::{scale, LIMIT};", "use util::LIMIT;\nuse util::scale;", &[], &["target"]),
            edit("trailing comma in an import group", "src/main.rs", "use util::{scale, LIMIT};", "use util::{scale, LIMIT,};", &[], &["target"]),
            edit("doc comment on a mod and a use", "src/main.rs", "mod util;\nmod money;\nuse util", "/// Utilities.\nmod util;\nmod money;\n/// Imports.\nuse util", &[], &["target"]),
            edit("methods of an impl reordered", "src/money.rs", "pub fn a(&self) -> u64 { 1 } pub fn b(&self) -> u64 { 2 }", "pub fn b(&self) -> u64 { 2 } pub fn a(&self) -> u64 { 1 }", &[], &["target"]),
            edit("the helper's module's test module", "src/util.rs", "assert_eq!(scale(1), 2);", "assert_eq!(scale(2), 4);", &[], &["target"]),
            edit("the build script, when nothing reads compile-time inputs", "build.rs", "fn main() {}", "fn main() { println!(\"cargo:rerun-if-changed=build.rs\"); }", &[], &["target"]),
            edit("an unrelated registry dependency added", "Cargo.toml", "edition = \"2021\"\n", "edition = \"2021\"\n[dependencies]\nitoa = \"1\"\n", &[], &["target"]),
            edit("an unrelated fn in the function's module", "src/main.rs", "fn other() -> u64 { 1 }", "fn other() -> u64 { 2 }\nfn another() -> u64 { 3 }", &[], &["target"]),
        ],
    )
}
