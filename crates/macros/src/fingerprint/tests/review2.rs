//! A second hostile review of the resolver (issue 8), after the first one's 37 fixes.
//!
//! Same contract as `review.rs`: an edit that can change a function's result must change its
//! identity (`changes`), an edit that cannot must not (`stays`). Cases named `stale_…`
//! failed when written (a stale hit); `spurious_…` an undocumented spurious recompute. The
//! others held.

use super::adversarial::{check, edit, identity, scratch, with_manifest};
use super::review::{check_build, identity_under};
use super::*;

const WS: &str = "[workspace]\nmembers = [\"app\", \"mylib\"]\n";
const APP_WITH_LIB: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nmylib = { path = \"../mylib\" }\n";
const MYLIB: &str = "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

// ---------------------------------------------------------------------------------------
// Order of items that matters: textual scoping of `macro_rules!`
// ---------------------------------------------------------------------------------------

/// `macro_rules!` is textually scoped: a use sees the last definition above it. The
/// identity hashes units in a stable order (so moving an item changes nothing), which
/// makes two definitions of `m` swapping bodies — or the function moving past the second
/// one — invisible, although the function's result changes from 1 to 2.
#[test]
fn stale_macro_redefined_between_uses_textual_order() {
    let main = "macro_rules! m { () => { 1 } }\n#[checkpoint]\nfn first() -> u64 { m!() }\nmacro_rules! m { () => { 2 } }\n#[checkpoint]\nfn second() -> u64 { m!() }\nfn main() {}\n";
    check(
        &[("src/main.rs", main)],
        &[
            edit(
                "two definitions of m swap bodies",
                "src/main.rs",
                "macro_rules! m { () => { 1 } }\n#[checkpoint]\nfn first() -> u64 { m!() }\nmacro_rules! m { () => { 2 } }",
                "macro_rules! m { () => { 2 } }\n#[checkpoint]\nfn first() -> u64 { m!() }\nmacro_rules! m { () => { 1 } }",
                &["first", "second"],
                &[],
            ),
            edit(
                "the function moves below the second definition",
                "src/main.rs",
                "#[checkpoint]\nfn first() -> u64 { m!() }\nmacro_rules! m { () => { 2 } }",
                "macro_rules! m { () => { 2 } }\n#[checkpoint]\nfn first() -> u64 { m!() }",
                &["first"],
                &[],
            ),
        ],
    )
}

/// The same through `#[macro_use]` modules: the later `mod` declaration's macro shadows the
/// earlier one's, so swapping the two declarations changes `m!()`.
#[test]
fn stale_macro_use_modules_swapped() {
    check(
        &[
            (
                "src/main.rs",
                "#[macro_use]\nmod a;\n#[macro_use]\nmod b;\n#[checkpoint]\nfn f() -> u64 { m!() }\nfn main() {}\n",
            ),
            ("src/a.rs", "macro_rules! m { () => { 1 } }\n"),
            ("src/b.rs", "macro_rules! m { () => { 2 } }\n"),
        ],
        &[edit(
            "#[macro_use] mod a and b swapped",
            "src/main.rs",
            "#[macro_use]\nmod a;\n#[macro_use]\nmod b;",
            "#[macro_use]\nmod b;\n#[macro_use]\nmod a;",
            &["f"],
            &[],
        )],
    )
}

// ---------------------------------------------------------------------------------------
// Attributes dropped as harmless, and docs
// ---------------------------------------------------------------------------------------

/// `#[inline]`/`#[cold]`/lint attributes are dropped at every depth, also inside a macro
/// invocation's arguments — where they are data a macro can match on (docs are kept there
/// for exactly that reason; these are not).
#[test]
fn stale_harmless_attribute_matched_by_a_macro() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! pick { (#[inline] $e:expr) => { 1 }; (#[cold] $e:expr) => { 2 }; (#[allow(a)] $e:expr) => { 3 }; (#[allow(b)] $e:expr) => { 4 }; }\n#[checkpoint]\nfn f() -> u64 { pick!(#[inline] 0) }\n#[checkpoint]\nfn g() -> u64 { pick!(#[allow(a)] 0) }\nfn main() {}\n",
        )],
        &[
            edit("#[inline] → #[cold] in a macro's arguments", "src/main.rs", "pick!(#[inline] 0)", "pick!(#[cold] 0)", &["f"], &[]),
            edit("#[allow(a)] → #[allow(b)] in a macro's arguments", "src/main.rs", "pick!(#[allow(a)] 0)", "pick!(#[allow(b)] 0)", &["g"], &[]),
        ],
    )
}

/// A derive applied through `cfg_attr` (`#[cfg_attr(feature = "cli", derive(Parser))]`, the
/// usual way to make clap optional) reads the doc comments as help text, but `reads_docs`
/// sees only a builtin `cfg_attr` and drops them.
#[test]
fn stale_docs_read_by_a_derive_behind_cfg_attr() {
    check_build(
        &[(
            "src/main.rs",
            "#[cfg_attr(feature = \"cli\", derive(clap::Parser))]\nstruct Args {\n    /// The old help.\n    n: u64,\n}\n#[checkpoint]\nfn help() -> usize { std::mem::size_of::<Args>() }\nfn main() {}\n",
        )],
        "--cfg feature=\"cli\"",
        &[edit("a field's doc comment", "src/main.rs", "The old help.", "The new help.", &["help"], &[])],
    )
}

#[test]
fn docs_read_by_a_derive_on_variants_and_fields() {
    check(
        &[(
            "src/main.rs",
            "#[derive(Debug, displaydoc::Display)]\nenum E {\n    /// bad input {0}\n    Bad(u64),\n}\n#[derive(clap::Parser)]\nstruct Args {\n    /// The old help.\n    n: u64,\n}\n#[checkpoint]\nfn msg() -> String { E::Bad(1).to_string() }\n#[checkpoint]\nfn help() -> usize { std::mem::size_of::<Args>() }\nfn main() {}\n",
        )],
        &[
            edit("displaydoc variant doc", "src/main.rs", "bad input {0}", "invalid input {0}", &["msg"], &["help"]),
            edit("clap field doc", "src/main.rs", "The old help.", "The new help.", &["help"], &["msg"]),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Interactions between rules
// ---------------------------------------------------------------------------------------

const INTERACT: &str = r#"
mod macros {
    macro_rules! inner_m { () => { 1 } }
    pub(crate) use inner_m as m;
}
use macros::*;
#[checkpoint]
fn glob_renamed_macro() -> u64 { m!() }

macro_rules! wrap { ($($t:tt)*) => { $($t)* } }
pub struct Money(pub u64);
wrap! {
    fn setup() {
        impl std::fmt::Display for Money {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "${}", self.0) }
        }
    }
}
#[checkpoint]
fn impl_in_fn_in_macro() -> String { Money(1).to_string() }

mod k { pub const K: u64 = 1; }
const K: u64 = 2;
fn shadow_helper() -> u64 { use k::K; K }
#[checkpoint]
fn body_use_shadows_const() -> u64 { shadow_helper() }

mod exported {
    #[macro_export]
    macro_rules! exp { () => { 10 } }
}
#[checkpoint]
fn crate_path_macro() -> u64 { crate::exp!() }

#[macro_export]
macro_rules! inner_dc { () => { 5 } }
macro_rules! outer_dc { () => { $crate::inner_dc!() } }
#[checkpoint]
fn through_dollar_crate() -> u64 { outer_dc!() }

fn main() {}
"#;

#[test]
fn interactions_between_rules() {
    check(
        &[("src/main.rs", INTERACT)],
        &[
            edit(
                "renamed macro behind a glob",
                "src/main.rs",
                "() => { 1 } }",
                "() => { 7 } }",
                &["glob_renamed_macro"],
                &["crate_path_macro"],
            ),
            edit(
                "impl in a fn body inside a macro invocation",
                "src/main.rs",
                "\"${}\"",
                "\"€{}\"",
                &["impl_in_fn_in_macro"],
                &["glob_renamed_macro"],
            ),
            edit(
                "const selected by a body use",
                "src/main.rs",
                "pub const K: u64 = 1;",
                "pub const K: u64 = 3;",
                &["body_use_shadows_const"],
                &[],
            ),
            edit(
                "#[macro_export] macro via crate::",
                "src/main.rs",
                "() => { 10 } }",
                "() => { 11 } }",
                &["crate_path_macro"],
                &["glob_renamed_macro"],
            ),
            edit(
                "macro reached through $crate::",
                "src/main.rs",
                "() => { 5 } }",
                "() => { 6 } }",
                &["through_dollar_crate"],
                &[],
            ),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Types, impls and values chosen indirectly
// ---------------------------------------------------------------------------------------

const TYPES: &str = r#"
use std::marker::PhantomData;
pub trait Unit { const SCALE: u64; }
pub struct Meters;
impl Unit for Meters { const SCALE: u64 = 1; }
pub struct Q<T>(pub u64, pub PhantomData<T>);
impl<T: Unit> std::fmt::Display for Q<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "{}", self.0 * T::SCALE) }
}
#[checkpoint]
fn bound_impl() -> String { Q::<Meters>(2, PhantomData).to_string() }

pub struct Counter(pub u64);
impl Iterator for Counter {
    type Item = u64;
    fn next(&mut self) -> Option<u64> { self.0 += 1; if self.0 < 5 { Some(self.0) } else { None } }
}
#[checkpoint]
fn assoc_item() -> u64 { Counter(0).sum() }

pub trait Size { fn size(&self) -> u64; }
pub struct Cell(pub u64);
impl Size for [Cell; 2] { fn size(&self) -> u64 { 2 } }
impl Size for &Cell { fn size(&self) -> u64 { 3 } }
impl Size for fn() -> Cell { fn size(&self) -> u64 { 4 } }
#[checkpoint]
fn array_impl() -> u64 { [Cell(1), Cell(2)].size() }

pub struct Arr<const N: usize>;
impl<const N: usize> Arr<N> { pub fn n(&self) -> usize { N } }
pub const SIZE: usize = 3;
#[checkpoint]
fn const_generic() -> usize { Arr::<{ SIZE }>.n() + Arr::<SIZE>.n() }

fn one() -> u64 { 1 }
fn two() -> u64 { 2 }
const TABLE: [fn() -> u64; 2] = [one, two];
static PTR: fn() -> u64 = two_s;
fn two_s() -> u64 { 22 }
#[checkpoint]
fn fn_table() -> u64 { TABLE[1]() + PTR() }

#[derive(Default, Debug)]
pub enum Mode { A, #[default] B }
#[checkpoint]
fn default_variant() -> String { format!("{:?}", Mode::default()) }

#[derive(PartialEq, Eq, PartialOrd, Ord, Debug, Clone, Copy)]
pub struct Pair { pub a: u8, pub b: u8 }
#[checkpoint]
fn sorted() -> Vec<(u8, u8)> { let mut v = vec![Pair { a: 1, b: 2 }, Pair { a: 2, b: 1 }]; v.sort(); v.iter().map(|p| (p.a, p.b)).collect() }

#[derive(PartialEq, Eq, PartialOrd, Ord, Debug, Clone, Copy)]
pub enum Rank { Low, High }
#[checkpoint]
fn max_rank() -> String { format!("{:?}", [Rank::Low, Rank::High].iter().max()) }

#[repr(C)]
pub struct Packed { pub a: u8, pub b: u32 }
#[checkpoint]
fn repr_size() -> usize { std::mem::size_of::<Packed>() }

#[derive(serde::Serialize)]
pub struct Rec { pub x: u8, pub y: u8 }
#[checkpoint]
fn serialized() -> usize { std::mem::size_of::<Rec>() }

fn make_adder() -> impl Fn(u64) -> u64 { let k = OFFSET; move |x| x + k }
const OFFSET: u64 = 4;
#[checkpoint]
fn closure_returned() -> u64 { make_adder()(1) }

fn main() {}
"#;

#[test]
fn types_impls_and_values_chosen_indirectly() {
    check(
        &[("src/main.rs", TYPES)],
        &[
            edit(
                "bound's impl for the user type",
                "src/main.rs",
                "const SCALE: u64 = 1;",
                "const SCALE: u64 = 100;",
                &["bound_impl"],
                &["array_impl"],
            ),
            edit(
                "Iterator impl's next",
                "src/main.rs",
                "self.0 < 5",
                "self.0 < 6",
                &["assoc_item"],
                &["bound_impl"],
            ),
            edit(
                "impl for [T; N]",
                "src/main.rs",
                "{ fn size(&self) -> u64 { 2 } }",
                "{ fn size(&self) -> u64 { 20 } }",
                &["array_impl"],
                &[],
            ),
            edit(
                "const in a const generic argument",
                "src/main.rs",
                "SIZE: usize = 3",
                "SIZE: usize = 4",
                &["const_generic"],
                &[],
            ),
            edit(
                "fn in a table of fn pointers",
                "src/main.rs",
                "fn two() -> u64 { 2 }",
                "fn two() -> u64 { 3 }",
                &["fn_table"],
                &[],
            ),
            edit(
                "fn in a static fn pointer",
                "src/main.rs",
                "{ 22 }",
                "{ 23 }",
                &["fn_table"],
                &[],
            ),
            edit(
                "#[default] moved",
                "src/main.rs",
                "A, #[default] B",
                "#[default] A, B",
                &["default_variant"],
                &[],
            ),
            edit(
                "fields reordered under derive(Ord)",
                "src/main.rs",
                "pub a: u8, pub b: u8",
                "pub b: u8, pub a: u8",
                &["sorted"],
                &[],
            ),
            edit(
                "variants reordered under derive(Ord)",
                "src/main.rs",
                "Low, High",
                "High, Low",
                &["max_rank"],
                &[],
            ),
            edit(
                "#[repr] changed",
                "src/main.rs",
                "#[repr(C)]",
                "#[repr(C, packed)]",
                &["repr_size"],
                &[],
            ),
            edit(
                "serialized fields reordered",
                "src/main.rs",
                "pub x: u8, pub y: u8",
                "pub y: u8, pub x: u8",
                &["serialized"],
                &[],
            ),
            edit(
                "const captured by a returned closure",
                "src/main.rs",
                "OFFSET: u64 = 4",
                "OFFSET: u64 = 5",
                &["closure_returned"],
                &[],
            ),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------------------

#[test]
fn literal_spellings_that_change_values_or_types() {
    check(
        &[(
            "src/main.rs",
            "const S: &str = \"\\u{41}\";\nconst R: &str = r#\"a\"b\"#;\nconst B: &[u8] = b\"ab\";\nconst X: u64 = 1u8 as u64 + 255;\nconst F: f64 = 0.1 + 0.2;\n#[checkpoint]\nfn lits() -> String { format!(\"{S}{R}{B:?}{}{F}\", X.wrapping_add(0)) }\nfn main() {}\n",
        )],
        &[
            edit("unicode escape", "src/main.rs", "\\u{41}", "\\u{42}", &["lits"], &[]),
            edit("raw string", "src/main.rs", "a\"b", "a\"c", &["lits"], &[]),
            edit("byte string", "src/main.rs", "b\"ab\"", "b\"ac\"", &["lits"], &[]),
            edit("integer suffix", "src/main.rs", "1u8", "1u16", &["lits"], &[]),
            edit("float form", "src/main.rs", "0.1 + 0.2", "0.3", &["lits"], &[]),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Build configuration: cfg(test), cfg_attr, mod twice under cfg, debug_assert
// ---------------------------------------------------------------------------------------

#[test]
fn cfg_test_in_a_helper_separates_test_builds() {
    let files = [(
        "src/main.rs",
        "fn mode() -> u64 { if cfg!(test) { 1 } else { 2 } }\n#[checkpoint]\nfn f() -> u64 { mode() }\nfn main() {}\n",
    )];
    assert_ne!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "--test -C opt-level=0"),
        "cfg!(test) in a helper"
    );
    let attr = [
        (
            "src/main.rs",
            "#[cfg_attr(test, path = \"imp_test.rs\")]\nmod imp;\n#[checkpoint]\nfn g() -> u64 { imp::go() }\nfn main() {}\n",
        ),
        ("src/imp.rs", "pub fn go() -> u64 { 1 }\n"),
        ("src/imp_test.rs", "pub fn go() -> u64 { 2 }\n"),
    ];
    assert_ne!(
        identity_under(&attr, "g", "-C opt-level=0"),
        identity_under(&attr, "g", "--test -C opt-level=0"),
        "#[cfg_attr(test, path)]"
    );
    let dbg = [(
        "src/main.rs",
        "fn h(x: u64) -> u64 { debug_assert!(x > 0); x }\n#[checkpoint]\nfn f() -> u64 { h(0) }\nfn main() {}\n",
    )];
    assert_ne!(
        identity_under(&dbg, "f", "-C opt-level=0"),
        identity_under(&dbg, "f", "-C opt-level=0 -C debug-assertions=off"),
        "debug_assert! in a helper"
    );
}

#[test]
fn mod_declared_twice_under_cfg_with_paths() {
    check(
        &[
            (
                "src/main.rs",
                "#[cfg(unix)]\n#[path = \"imp_unix.rs\"]\nmod imp;\n#[cfg(not(unix))]\n#[path = \"imp_other.rs\"]\nmod imp;\n#[checkpoint]\nfn f() -> u64 { imp::go() }\nfn main() {}\n",
            ),
            ("src/imp_unix.rs", "pub fn go() -> u64 { 1 }\n"),
            ("src/imp_other.rs", "pub fn go() -> u64 { 2 }\n"),
        ],
        &[edit("the unix module", "src/imp_unix.rs", "{ 1 }", "{ 3 }", &["f"], &[])],
    )
}

// ---------------------------------------------------------------------------------------
// Files: nested include!, symlinks
// ---------------------------------------------------------------------------------------

#[test]
fn nested_include_at_item_position() {
    check(
        &[
            (
                "src/main.rs",
                "include!(\"a.rs\");\n#[checkpoint]\nfn f() -> u64 { helper() }\nfn main() {}\n",
            ),
            ("src/a.rs", "include!(\"b.rs\");\n"),
            ("src/b.rs", "fn helper() -> u64 { 1 }\n"),
        ],
        &[edit(
            "a file included by an included file",
            "src/b.rs",
            "{ 1 }",
            "{ 2 }",
            &["f"],
            &[],
        )],
    )
}

/// A build compiles in a fresh process, where this holds (the cache is cleared below to
/// show it). In a process that keeps the macro loaded (rust-analyzer's proc-macro server),
/// the in-memory index is revalidated by `Stamp`s of the *canonical* path
/// (`Builder::enqueue` canonicalizes): a retargeted link leaves the old target's stamp
/// current, and the old index is reused.
#[cfg(unix)]
#[test]
fn stale_symlink_retargeted_in_a_long_lived_process() {
    let main = "mod util;\n#[checkpoint]\nfn f() -> u64 { util::g() }\nfn main() {}\n";
    let mut s = scratch(&with_manifest(&[
        ("src/main.rs", main),
        ("shared/util_real.rs", "pub fn g() -> u64 { 1 }\n"),
    ]));
    std::os::unix::fs::symlink(
        s.root.join("app/shared/util_real.rs"),
        s.root.join("app/src/util.rs"),
    )
    .unwrap();
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    // Edit the target in place (the link is untouched, its own mtime too).
    s.write("app/shared/util_real.rs", "pub fn g() -> u64 { 2 }\n");
    assert_ne!(
        before,
        identity(&s, "f", &build, None),
        "symlink target edited"
    );
    // Retarget the link to a file of other content.
    s.write("app/shared/util_other.rs", "pub fn g() -> u64 { 3 }\n");
    let mid = identity(&s, "f", &build, None);
    let fresh_before = {
        *crate::fingerprint::CACHE.lock().unwrap() = None;
        identity(&s, "f", &build, None)
    };
    std::fs::remove_file(s.root.join("app/src/util.rs")).unwrap();
    std::os::unix::fs::symlink(
        s.root.join("app/shared/util_other.rs"),
        s.root.join("app/src/util.rs"),
    )
    .unwrap();
    let fresh_after = {
        *crate::fingerprint::CACHE.lock().unwrap() = None;
        identity(&s, "f", &build, None)
    };
    assert_ne!(
        fresh_before, fresh_after,
        "symlink retargeted, fresh process"
    );
    // Back to the in-process cache state the long-lived process would have.
    s.write("app/shared/util_real.rs", "pub fn g() -> u64 { 2 }\n");
    let _ = mid;
    *crate::fingerprint::CACHE.lock().unwrap() = None;
    std::fs::remove_file(s.root.join("app/src/util.rs")).unwrap();
    std::os::unix::fs::symlink(
        s.root.join("app/shared/util_real.rs"),
        s.root.join("app/src/util.rs"),
    )
    .unwrap();
    let warm = identity(&s, "f", &build, None);
    std::fs::remove_file(s.root.join("app/src/util.rs")).unwrap();
    std::os::unix::fs::symlink(
        s.root.join("app/shared/util_other.rs"),
        s.root.join("app/src/util.rs"),
    )
    .unwrap();
    assert_ne!(
        warm,
        identity(&s, "f", &build, None),
        "symlink retargeted, same process"
    );
}

// ---------------------------------------------------------------------------------------
// Workspace dependencies: renames, lib names, lib paths, build scripts, editions
// ---------------------------------------------------------------------------------------

#[test]
fn dependency_renamed_in_the_manifest() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nfoo = { package = \"mylib\", path = \"../mylib\" }\n"),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { foo::a() }\nfn main() {}\n"),
        ],
        &[edit("renamed dependency's fn", "../mylib/src/lib.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

#[test]
fn dependency_with_another_lib_name_through_extern_crate_as() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\nname = \"my_lib\"\n"),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("src/main.rs", "extern crate my_lib as y;\n#[checkpoint]\nfn f() -> u64 { y::a() }\n#[checkpoint]\nfn g() -> u64 { my_lib::a() }\nfn main() {}\n"),
        ],
        &[edit("the library's fn", "../mylib/src/lib.rs", "{ 1 }", "{ 2 }", &["f", "g"], &[])],
    )
}

#[test]
fn dependency_lib_path_moved() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\npath = \"src/lib.rs\"\n"),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("../mylib/src/other.rs", "pub fn a() -> u64 { 2 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::a() }\nfn main() {}\n"),
        ],
        &[
            edit("[lib] path moved", "../mylib/Cargo.toml", "src/lib.rs", "src/other.rs", &["f"], &[]),
            edit("[lib] path's file edited", "../mylib/src/lib.rs", "{ 1 }", "{ 3 }", &["f"], &[]),
        ],
    )
}

/// A dependency's build script sets what its code reads at compile time: `env!` of a
/// `cargo:rustc-env`, `#[cfg]` of a `cargo:rustc-cfg`, a file in its `OUT_DIR`. None of it
/// is in the app's environment or command line.
#[test]
fn dependency_build_script_edited() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/build.rs", "fn main() { println!(\"cargo:rustc-env=MYLIB_K=1\"); println!(\"cargo:rustc-cfg=fast\"); }\n"),
            ("../mylib/src/lib.rs", "pub fn k() -> &'static str { env!(\"MYLIB_K\") }\n#[cfg(fast)]\npub fn speed() -> u64 { 1 }\n#[cfg(not(fast))]\npub fn speed() -> u64 { 2 }\npub fn gen() -> u64 { include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\")) }\npub fn plain() -> u64 { 1 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn env_k() -> &'static str { mylib::k() }\n#[checkpoint]\nfn cfg_speed() -> u64 { mylib::speed() }\n#[checkpoint]\nfn out_dir() -> u64 { mylib::gen() }\n#[checkpoint]\nfn plain() -> u64 { mylib::plain() }\nfn main() {}\n"),
        ],
        &[
            edit("rustc-env value", "../mylib/build.rs", "MYLIB_K=1", "MYLIB_K=2", &["env_k"], &[]),
            edit("rustc-cfg dropped", "../mylib/build.rs", "println!(\"cargo:rustc-cfg=fast\");", "", &["cfg_speed"], &[]),
            edit("what it writes to OUT_DIR", "../mylib/build.rs", "fn main() {", "fn main() { /* gen.rs: 2 */", &["out_dir"], &[]),
        ],
    )
}

/// The edition is per crate: `[1, 2].into_iter()` yields references in 2018 and values in
/// 2021 (here 16 vs 2); a dependency's edition changes its
/// code's meaning as the app's does.
#[test]
fn stale_dependency_edition_changed() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            (
                "../mylib/src/lib.rs",
                "pub fn n() -> usize { [1u8, 2].into_iter().map(|x| std::mem::size_of_val(&x)).sum() }\n",
            ),
            (
                "src/main.rs",
                "#[checkpoint]\nfn f() -> usize { mylib::n() }\nfn main() {}\n",
            ),
        ],
        &[edit(
            "the dependency's edition",
            "../mylib/Cargo.toml",
            "edition = \"2021\"",
            "edition = \"2018\"",
            &["f"],
            &[],
        )],
    )
}

// ---------------------------------------------------------------------------------------
// Harmless edits
// ---------------------------------------------------------------------------------------

#[test]
fn harmless_edits_second_round() {
    check(
        &[
            ("src/main.rs", "macro_rules! m { () => { 1 } }\nmod util;\n#[derive(Debug, Clone)]\nstruct P { a: u8 }\n#[checkpoint]\nfn f() -> u64 { m!() + util::g() + P { a: 1 }.clone().a as u64 }\nfn unrelated() -> u64 { 1 }\nfn main() {}\n"),
            ("src/util.rs", "pub fn g() -> u64 {\n    1\n}\n"),
        ],
        &[
            edit("rustfmt-style reflow of a helper", "src/util.rs", "pub fn g() -> u64 {\n    1\n}", "pub fn g() -> u64 { 1 }", &[], &["f"]),
            edit("#[inline] on a helper", "src/util.rs", "pub fn g()", "#[inline]\npub fn g()", &[], &["f"]),
            edit("an unrelated macro added", "src/main.rs", "fn unrelated()", "macro_rules! other { () => { 2 } }\nfn unrelated()", &[], &["f"]),
            edit("a doc comment on the macro", "src/main.rs", "macro_rules! m", "/// One.\nmacro_rules! m", &[], &["f"]),
        ],
    )
}

#[test]
fn harmless_edits_in_a_dependency() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            (
                "../mylib/src/lib.rs",
                "pub fn a() -> u64 { 1 }\npub fn b() -> u64 { 2 }\n",
            ),
            (
                "src/main.rs",
                "#[checkpoint]\nfn f() -> u64 { mylib::a() }\nfn main() {}\n",
            ),
        ],
        &[
            edit(
                "an unrelated fn of the dependency",
                "../mylib/src/lib.rs",
                "{ 2 }",
                "{ 3 }",
                &[],
                &["f"],
            ),
            edit(
                "the dependency's description",
                "../mylib/Cargo.toml",
                "edition = \"2021\"\n",
                "edition = \"2021\"\ndescription = \"x\"\n",
                &[],
                &["f"],
            ),
        ],
    )
}

/// Reordering a `#[derive(…)]` list changes nothing the code computes (each derive sees the
/// same item), but the attribute's tokens are hashed as written. Not in the README's list of
/// over-approximations.
#[test]
fn spurious_derive_list_reordered() {
    check(
        &[(
            "src/main.rs",
            "#[derive(Debug, Clone)]\nstruct P { a: u8 }\n#[checkpoint]\nfn f() -> u64 { P { a: 1 }.clone().a as u64 }\nfn main() {}\n",
        )],
        // A documented over-approximation (README): derive order counts.
        &[edit("derive list reordered", "src/main.rs", "#[derive(Debug, Clone)]", "#[derive(Clone, Debug)]", &["f"], &[])],
    )
}

/// The matcher side: `#[inline]` in a `macro_rules!` arm is dropped from the macro's own
/// hash too, so retargeting the arm is invisible.
#[test]
fn stale_harmless_attribute_in_a_macro_rules_matcher() {
    check(
        &[(
            "src/main.rs",
            "macro_rules! pick { (#[inline] $e:expr) => { 1 }; (#[cold] $e:expr) => { 2 }; }\n#[checkpoint]\nfn f() -> u64 { pick!(#[inline] 0) }\nfn main() {}\n",
        )],
        &[edit("arms' attributes swapped", "src/main.rs", "(#[inline] $e:expr) => { 1 }; (#[cold] $e:expr) => { 2 };", "(#[cold] $e:expr) => { 1 }; (#[inline] $e:expr) => { 2 };", &["f"], &[])],
    )
}

/// `#[cfg_attr(feature = "x", distributed_slice(HANDLERS))]`: the registration is behind a
/// builtin attribute, whose arguments `attribute_names` does not read.
#[test]
fn stale_distributed_slice_member_behind_cfg_attr() {
    check_build(
        &[(
            "src/main.rs",
            "use linkme::distributed_slice;\n#[distributed_slice]\npub static HANDLERS: [fn() -> u64];\nfn h1() -> u64 { 1 }\n#[cfg_attr(feature = \"x\", distributed_slice(HANDLERS))]\nstatic H1: fn() -> u64 = h1;\n#[checkpoint]\nfn total() -> u64 { HANDLERS.iter().map(|h| h()).sum() }\nfn main() {}\n",
        )],
        "--cfg feature=\"x\"",
        &[edit("a registered handler", "src/main.rs", "{ 1 }", "{ 2 }", &["total"], &[])],
    )
}

#[test]
fn literals_in_another_unicode_normal_form_are_other_strings() {
    check(
        &[(
            "src/main.rs",
            "const S: &str = \"caf\u{e9}\";\n#[checkpoint]\nfn f() -> usize { S.len() }\nfn main() {}\n",
        )],
        &[edit("NFC → NFD inside a string literal", "src/main.rs", "caf\u{e9}", "cafe\u{301}", &["f"], &[])],
    )
}

#[test]
fn dependency_macros_and_includes() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn helper() -> u64 { 1 }\n#[macro_export]\nmacro_rules! call { () => { $crate::helper() } }\npub fn data() -> &'static str { include_str!(\"data.txt\") }\n"),
            ("../mylib/src/data.txt", "one"),
            ("src/main.rs", "#[checkpoint]\nfn via_macro() -> u64 { mylib::call!() }\n#[checkpoint]\nfn via_include() -> usize { mylib::data().len() }\nfn main() {}\n"),
        ],
        &[
            edit("fn behind a dependency's $crate macro", "../mylib/src/lib.rs", "{ 1 }", "{ 2 }", &["via_macro"], &["via_include"]),
            edit("a dependency's include_str file", "../mylib/src/data.txt", "one", "three", &["via_include"], &["via_macro"]),
        ],
    )
}

/// Target-dependent values without a `cfg` in the user's code: `std::env::consts::OS`,
/// `size_of::<usize>()`, `to_ne_bytes`, `MAIN_SEPARATOR`. The target is hashed only for
/// code that uses `cfg`, so a cache shared between machines (an S3 tier used by a laptop
/// and CI) serves one target's result to another.
#[test]
fn stale_target_dependent_values_without_cfg() {
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn os() -> &'static str { std::env::consts::OS }\n#[checkpoint]\nfn width() -> usize { std::mem::size_of::<usize>() }\n#[checkpoint]\nfn bytes(x: u32) -> [u8; 4] { x.to_ne_bytes() }\nfn main() {}\n",
    )];
    for f in ["os", "width", "bytes"] {
        assert_ne!(
            identity_under(&files, f, "-C opt-level=0 --target x86_64-pc-windows-msvc"),
            identity_under(&files, f, "-C opt-level=0 --target wasm32-unknown-unknown"),
            "{f}"
        );
    }
}

#[test]
fn cfg_hidden_in_macros() {
    let files = [(
        "src/main.rs",
        "macro_rules! when_fast { ($e:expr) => { if cfg!(feature = \"fast\") { $e } else { 0 } } }\n#[checkpoint]\nfn via_macro() -> u64 { when_fast!(1) }\ncfg_if::cfg_if! {\n    if #[cfg(feature = \"fast\")] { fn speed() -> u64 { 1 } } else { fn speed() -> u64 { 2 } }\n}\n#[checkpoint]\nfn via_cfg_if() -> u64 { speed() }\n#[cfg_attr(feature = \"fast\", derive(Default))]\n#[derive(Debug)]\npub struct S(u8);\nfn make() -> String { format!(\"{:?}\", S(1)) }\n#[checkpoint]\nfn via_cfg_attr() -> String { make() }\nfn main() {}\n",
    )];
    for f in ["via_macro", "via_cfg_if", "via_cfg_attr"] {
        assert_ne!(
            identity_under(&files, f, "-C opt-level=0"),
            identity_under(&files, f, "-C opt-level=0 --cfg feature=\"fast\""),
            "{f}"
        );
    }
}

#[test]
fn transitive_path_dependency_renamed_in_the_middle() {
    check(
        &[
            ("../Cargo.toml", "[workspace]\nmembers = [\"app\", \"mylib\", \"corelib\"]\n"),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nc = { package = \"corelib\", path = \"../corelib\" }\n"),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { c::b() }\n"),
            ("../corelib/Cargo.toml", "[package]\nname = \"corelib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            ("../corelib/src/lib.rs", "pub fn b() -> u64 { 1 }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> u64 { mylib::a() }\nfn main() {}\n"),
        ],
        &[edit("a dependency's renamed dependency", "../corelib/src/lib.rs", "{ 1 }", "{ 2 }", &["f"], &[])],
    )
}

/// `build = "tools/gen.rs"`: the build script is not at `build.rs`.
#[test]
fn stale_build_script_at_a_custom_path() {
    check(
        &[
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"tools/gen.rs\"\n"),
            ("tools/gen.rs", "fn main() { println!(\"cargo:rustc-env=GEN_K=1\"); }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> &'static str { option_env!(\"GEN_K\").unwrap_or(\"none\") }\nfn main() {}\n"),
        ],
        &[edit("the custom build script", "tools/gen.rs", "GEN_K=1", "GEN_K=2", &["f"], &[])],
    )
}

/// The same for a dependency.
#[test]
fn stale_dependency_build_script_at_a_custom_path() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"tools/gen.rs\"\n"),
            ("../mylib/tools/gen.rs", "fn main() { println!(\"cargo:rustc-env=MYLIB_G=1\"); }\n"),
            ("../mylib/src/lib.rs", "pub fn k() -> &'static str { env!(\"MYLIB_G\") }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> &'static str { mylib::k() }\nfn main() {}\n"),
        ],
        &[edit("the dependency's custom build script", "../mylib/tools/gen.rs", "MYLIB_G=1", "MYLIB_G=2", &["f"], &[])],
    )
}

/// An integration test (its own crate) using a dev-dependency path crate.
#[test]
fn dev_dependency_path_crate_from_an_integration_test() {
    super::adversarial::check_with(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dev-dependencies]\nmylib = { path = \"../mylib\" }\n"),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("src/main.rs", "fn main() {}\n"),
            ("tests/it.rs", "#[checkpoint]\nfn f() -> u64 { mylib::a() }\n"),
        ],
        &[edit("the dev-dependency's fn", "../mylib/src/lib.rs", "{ 1 }", "{ 2 }", &["tests/it.rs:f"], &[])],
        Some("tests/it.rs"),
    )
}

/// A dependency's build script that generates from a data file (declared with
/// `rerun-if-changed`): the value its `env!` sees changes with the data file, but for a
/// dependency only its `Cargo.toml` and `build.rs` stand in for the value.
#[test]
fn stale_dependency_build_script_input_file() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/build.rs", "fn main() {\n    println!(\"cargo:rerun-if-changed=data.txt\");\n    let d = std::fs::read_to_string(\"data.txt\").unwrap();\n    println!(\"cargo:rustc-env=MYLIB_DATA={}\", d.trim());\n}\n"),
            ("../mylib/data.txt", "one\n"),
            ("../mylib/src/lib.rs", "pub fn data() -> &'static str { env!(\"MYLIB_DATA\") }\n"),
            ("src/main.rs", "#[checkpoint]\nfn f() -> &'static str { mylib::data() }\nfn main() {}\n"),
        ],
        &[edit("the data file the build script reads", "../mylib/data.txt", "one", "two", &["f"], &[])],
    )
}

/// The same through a module of the dependency's build script (`build.rs` with `mod gen;`).
#[test]
fn stale_dependency_build_script_module() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            (
                "../mylib/build.rs",
                "mod gen;\nfn main() { println!(\"cargo:rustc-env=MYLIB_V={}\", gen::v()); }\n",
            ),
            ("../mylib/gen.rs", "pub fn v() -> u64 { 1 }\n"),
            (
                "../mylib/src/lib.rs",
                "pub fn v() -> &'static str { env!(\"MYLIB_V\") }\n",
            ),
            (
                "src/main.rs",
                "#[checkpoint]\nfn f() -> &'static str { mylib::v() }\nfn main() {}\n",
            ),
        ],
        &[edit(
            "a module of the build script",
            "../mylib/gen.rs",
            "{ 1 }",
            "{ 2 }",
            &["f"],
            &[],
        )],
    )
}

/// `mod util;` inside a file included at item position is resolved relative to the
/// included file's directory (rustc's preserved accident, rust-lang/rust#158001:
/// `src/inc/util.rs`); `#[path] mod` inside a function body reads a file relative to the
/// function's file.
#[test]
fn modules_declared_in_included_files_and_function_bodies() {
    check(
        &[
            ("src/main.rs", "include!(\"inc/mods.rs\");\n#[checkpoint]\nfn f() -> u64 { util::u() }\nfn helper() -> u64 {\n    #[path = \"inner_x.rs\"]\n    mod inner;\n    inner::x()\n}\n#[checkpoint]\nfn g() -> u64 { helper() }\nfn main() {}\n"),
            ("src/inc/mods.rs", "mod util;\n"),
            ("src/inc/util.rs", "pub fn u() -> u64 { 1 }\n"),
            ("src/inner_x.rs", "pub fn x() -> u64 { 1 }\n"),
        ],
        &[
            edit("module declared in an included file", "src/inc/util.rs", "{ 1 }", "{ 2 }", &["f"], &["g"]),
            edit("#[path] module declared in a function body", "src/inner_x.rs", "{ 1 }", "{ 2 }", &["g"], &["f"]),
        ],
    )
}

/// Doc text from a file (`#[doc = include_str!("help.txt")]`) on a field clap reads.
#[test]
fn doc_included_from_a_file_read_by_a_derive() {
    check(
        &[
            ("src/main.rs", "#[derive(clap::Parser)]\nstruct Args {\n    #[doc = include_str!(\"help.txt\")]\n    n: u64,\n}\n#[checkpoint]\nfn help() -> usize { std::mem::size_of::<Args>() }\nfn main() {}\n"),
            ("src/help.txt", "old help"),
        ],
        &[edit("the help file", "src/help.txt", "old help", "new help", &["help"], &[])],
    )
}

/// `Location::caller()` under another name.
#[test]
fn stale_location_caller_through_a_renamed_import() {
    check(
        &[(
            "src/main.rs",
            "use std::panic::Location as Loc;\nfn here() -> u32 { Loc::caller().line() }\n#[checkpoint]\nfn f() -> u32 { here() }\nfn main() {}\n",
        )],
        &[edit("a line above the helper", "src/main.rs", "fn here()", "\nfn here()", &["f"], &[])],
    )
}

/// Registry proc macros that read files at compile time: `include_dir!`,
/// `sqlx::query_file!`, askama's `#[template(path = "…")]` (under `templates/`),
/// rust-embed's `#[folder = "…"]`. String arguments are followed as files only for
/// `macro_rules!` that pass them to `include_str!`; the README's "not followed" list names
/// code proc macros generate, not files they read.
#[test]
fn stale_files_read_by_registry_proc_macros() {
    check(
        &[
            ("src/main.rs", "#[derive(askama::Template)]\n#[template(path = \"hello.html\")]\nstruct Hello { name: String }\n#[checkpoint]\nfn page() -> String { askama::Template::render(&Hello { name: \"x\".into() }).unwrap() }\nstatic ASSETS: include_dir::Dir = include_dir::include_dir!(\"$CARGO_MANIFEST_DIR/assets\");\n#[checkpoint]\nfn asset() -> usize { ASSETS.files().count() }\n#[checkpoint]\nfn query() -> &'static str { sqlx_like::query_file!(\"queries/q.sql\") }\n#[derive(rust_embed::RustEmbed)]\n#[folder = \"public/\"]\nstruct Public;\n#[checkpoint]\nfn embedded() -> usize { Public::get(\"a.txt\").map(|f| f.data.len()).unwrap_or(0) }\nfn main() {}\n"),
            ("templates/hello.html", "Hello {{ name }}"),
            ("assets/a.txt", "a"),
            ("queries/q.sql", "select 1"),
            ("public/a.txt", "a"),
        ],
        &[
            edit("an askama template", "templates/hello.html", "Hello", "Bye", &["page"], &[]),
            edit("a file under include_dir!", "assets/a.txt", "a", "bb", &["asset"], &[]),
            edit("a query_file! file", "queries/q.sql", "select 1", "select 2", &["query"], &[]),
            edit("a rust-embed file", "public/a.txt", "a", "bb", &["embedded"], &[]),
        ],
    )
}

#[test]
fn harmless_edits_third_round() {
    check(
        &[
            ("src/main.rs", "mod util;\nmod money;\nuse money::Money;\n#[checkpoint]\nfn f(x: u64) -> String { Money(util::g(x)).to_string() }\nfn main() {}\n"),
            ("src/util.rs", "pub fn g(x: u64) -> u64 { x + 1 }\npub fn spare() -> u64 { 2 }\n"),
            ("src/money.rs", "pub struct Money(pub u64);\nimpl std::fmt::Display for Money {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"{}\", self.0) }\n}\npub struct Other;\n"),
        ],
        &[
            edit("a new unused import of a crate fn in the function's module", "src/main.rs", "use money::Money;", "use money::Money;\n#[allow(unused_imports)]\nuse util::spare;", &[], &["f"]),
            edit("Display for an unrelated type", "src/money.rs", "pub struct Other;", "pub struct Other;\nimpl std::fmt::Display for Other {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"o\") }\n}", &[], &["f"]),
            edit("an inherent new on an unrelated type", "src/money.rs", "pub struct Other;", "pub struct Other;\nimpl Other { pub fn new() -> Other { Other } }", &[], &["f"]),
            edit("a raw string spelled differently but equal (token text differs)", "src/util.rs", "pub fn spare() -> u64 { 2 }", "pub fn spare() -> u64 { r\"2\".len() as u64 }", &[], &["f"]),
            edit("a new #[cfg(test)] helper in the helper's module", "src/util.rs", "pub fn spare()", "#[cfg(test)]\nfn only_tests() -> u64 { 3 }\npub fn spare()", &[], &["f"]),
        ],
    )
}

fn registry_upgrade_changes(main: &str) -> bool {
    let lock = |v: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"mylib\"]\n[[package]]\nname = \"mylib\"\nversion = \"0.1.0\"\ndependencies = [\"serde_json\"]\n[[package]]\nname = \"serde_json\"\nversion = \"{v}\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let files = vec![
        ("Cargo.toml".to_string(), WS.to_string()),
        ("Cargo.lock".to_string(), lock("1.0.1")),
        ("app/Cargo.toml".to_string(), APP_WITH_LIB.to_string()),
        ("mylib/Cargo.toml".to_string(), format!("{MYLIB}[dependencies]\nserde_json = \"1\"\n")),
        ("mylib/src/lib.rs".to_string(), "pub use serde_json::*;\npub use serde_json as json;\npub fn wrapped(x: f64) -> String { serde_json::to_string(&x).unwrap() }\n".to_string()),
        ("app/src/main.rs".to_string(), main.to_string()),
    ];
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let before = identity(&s, "f", &build, None);
    s.write("Cargo.lock", &lock("1.0.2"));
    before != identity(&s, "f", &build, None)
}

/// A registry crate reached through a path dependency: a function of it, a crate rename
/// (`pub use serde_json as json;`).
#[test]
fn registry_crate_reached_through_a_path_dependency() {
    assert!(
        registry_upgrade_changes(
            "#[checkpoint]\nfn f() -> String { mylib::wrapped(1.5) }\nfn main() {}\n"
        ),
        "through a fn"
    );
    assert!(registry_upgrade_changes("#[checkpoint]\nfn f() -> String { mylib::json::to_string(&1.5f64).unwrap() }\nfn main() {}\n"), "through a rename");
}

/// The same through a glob re-export (`pub use serde_json::*;`, how facade crates
/// re-export): `mylib::to_string` names no unit of `mylib`, and the glob leaf is not
/// followed to the crate.
#[test]
fn stale_registry_crate_through_a_glob_reexport_of_a_path_dependency() {
    assert!(registry_upgrade_changes(
        "#[checkpoint]\nfn f() -> String { mylib::to_string(&1.5f64).unwrap() }\nfn main() {}\n"
    ));
}

/// `#![cfg(feature = "fast")]` at the top of a module file removes the module.
#[test]
fn inner_cfg_of_a_module_file() {
    let files = [
        ("src/main.rs", "mod util;\n#[cfg(not(feature = \"fast\"))]\nmod util { pub fn g() -> u64 { 2 } }\n#[checkpoint]\nfn f() -> u64 { util::g() }\nfn main() {}\n"),
        ("src/util.rs", "#![cfg(feature = \"fast\")]\npub fn g() -> u64 { 1 }\n"),
    ];
    assert_ne!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "-C opt-level=0 --cfg feature=\"fast\""),
    );
}

#[test]
fn harmless_manifest_edits() {
    check(
        &[
            ("../Cargo.toml", WS),
            ("Cargo.toml", APP_WITH_LIB),
            ("../mylib/Cargo.toml", MYLIB),
            ("../mylib/src/lib.rs", "pub fn a() -> u64 { 1 }\n"),
            ("src/main.rs", "fn helper() -> u64 { 2 }\n#[checkpoint]\nfn f() -> u64 { mylib::a() + helper() }\nfn main() {}\n"),
        ],
        &[
            edit("the app's description", "Cargo.toml", "edition = \"2021\"\n", "edition = \"2021\"\ndescription = \"x\"\n", &[], &["f"]),
            edit("a new workspace member", "../Cargo.toml", "\"mylib\"]", "\"mylib\", \"other\"]", &[], &["f"]),
            edit("workspace.package authors", "../Cargo.toml", "[workspace]\n", "[workspace.package]\nauthors = []\n[workspace]\n", &[], &["f"]),
        ],
    )
}

/// `env!` inside a file included at expression position: the included file's names are
/// followed (`code:` input), but its own compile-time inputs are not scanned.
#[test]
fn stale_env_read_by_an_included_expression() {
    let files = [
        (
            "src/main.rs",
            "#[checkpoint]\nfn f() -> &'static str { include!(\"val.rs\") }\nfn main() {}\n",
        ),
        (
            "src/val.rs",
            "env!(\"CHECKPOINTER_REVIEW2_INCLUDED_ENV\")\n",
        ),
    ];
    let s = scratch(&with_manifest(&files));
    let build = inputs::Build::default();
    // SAFETY of the test: the variable is this test's own.
    std::env::set_var("CHECKPOINTER_REVIEW2_INCLUDED_ENV", "one");
    let a = identity(&s, "f", &build, None);
    std::env::set_var("CHECKPOINTER_REVIEW2_INCLUDED_ENV", "two");
    let b = identity(&s, "f", &build, None);
    assert_ne!(a, b, "through include!");
}

/// The same for `include_str!` and `cfg!` inside an expression-position included file.
#[test]
fn stale_include_str_in_an_included_expression() {
    check(
        &[
            (
                "src/main.rs",
                "#[checkpoint]\nfn f() -> &'static str { include!(\"val.rs\") }\nfn main() {}\n",
            ),
            ("src/val.rs", "include_str!(\"data.txt\")\n"),
            ("src/data.txt", "one"),
        ],
        &[edit(
            "a file the included expression includes",
            "src/data.txt",
            "one",
            "two",
            &["f"],
            &[],
        )],
    );
}

#[test]
fn cfg_in_an_included_expression() {
    let files = [
        (
            "src/main.rs",
            "#[checkpoint]\nfn f() -> bool { include!(\"val.rs\") }\nfn main() {}\n",
        ),
        ("src/val.rs", "cfg!(feature = \"fast\")\n"),
    ];
    assert_ne!(
        identity_under(&files, "f", "-C opt-level=0"),
        identity_under(&files, "f", "-C opt-level=0 --cfg feature=\"fast\""),
        "cfg! in an included expression"
    );
}

/// Control for the case above: the same `env!` written in the body.
#[test]
fn env_read_in_the_body() {
    let files = [(
        "src/main.rs",
        "#[checkpoint]\nfn f() -> &'static str { env!(\"CHECKPOINTER_REVIEW2_BODY_ENV\") }\nfn main() {}\n",
    )];
    let s = scratch(&with_manifest(&files));
    let build = inputs::Build::default();
    std::env::set_var("CHECKPOINTER_REVIEW2_BODY_ENV", "one");
    let a = identity(&s, "f", &build, None);
    std::env::set_var("CHECKPOINTER_REVIEW2_BODY_ENV", "two");
    assert_ne!(a, identity(&s, "f", &build, None));
}
