//! The resolver attacked: for every route by which code or a build input reaches a function
//! (classes A–K of the no-stale-hit issue), an edit that must change the identity, and for
//! every harmless edit one that must not. Each edit is applied alone to a fresh copy of a
//! small crate.

use super::*;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// One edit and what it must do.
pub(super) struct Edit {
    pub(super) what: &'static str,
    pub(super) file: &'static str,
    pub(super) from: &'static str,
    pub(super) to: &'static str,
    /// Functions whose identity must change (`name`, or `name#n` for the n-th so named).
    pub(super) changes: &'static [&'static str],
    /// Functions whose identity must not change.
    pub(super) stays: &'static [&'static str],
}

pub(super) const fn edit(
    what: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    changes: &'static [&'static str],
    stays: &'static [&'static str],
) -> Edit {
    Edit {
        what,
        file,
        from,
        to,
        changes,
        stays,
    }
}

/// The n-th function called `name` anywhere in `file` (bodies and impls included), as the
/// attribute receives it, with the line of its first token.
fn find(file: &syn::File, name: &str, nth: usize) -> Option<(syn::ItemFn, usize)> {
    struct Finder<'n> {
        name: &'n str,
        found: Vec<(syn::ItemFn, usize)>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            if f.sig.ident == self.name {
                let mut g = f.clone();
                g.attrs.retain(|a| !index::is_checkpoint(a));
                self.found.push((g, f.span().start().line));
            }
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            if f.sig.ident == self.name {
                let mut attrs = f.attrs.clone();
                attrs.retain(|a| !index::is_checkpoint(a));
                let g = syn::ItemFn {
                    attrs,
                    vis: f.vis.clone(),
                    sig: f.sig.clone(),
                    block: Box::new(f.block.clone()),
                };
                self.found.push((g, f.span().start().line));
            }
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    let mut finder = Finder {
        name,
        found: Vec::new(),
    };
    finder.visit_file(file);
    finder.found.into_iter().nth(nth)
}

/// The identity of `spec` (`name`, `name#n`, `path/file.rs:name`) in the crate `app`.
pub(super) fn identity(
    s: &Scratch,
    spec: &str,
    build: &inputs::Build,
    target_root: Option<&str>,
) -> String {
    let (file, name) = spec.split_once(':').unwrap_or(("src/main.rs", spec));
    let (name, nth) = match name.split_once('#') {
        Some((n, k)) => (n, k.parse().unwrap()),
        None => (name, 0),
    };
    let crate_dir = s.root.join("app");
    let path = crate_dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = syn::parse_file(&text).unwrap();
    let (function, line) =
        find(&parsed, name, nth).unwrap_or_else(|| panic!("no fn {name} #{nth} in {file}"));
    let site = Site {
        manifest_dir: Some(crate_dir.clone()),
        file: Some(path),
        crate_name: "app".into(),
        cache_dir: Some(s.root.join("target/deps/checkpointer-fingerprint")),
        line: Some(line),
        target_root: target_root.map(|r| crate_dir.join(r)),
        build: build.clone(),
    };
    let request = Request {
        function: function.to_token_stream().to_string(),
        ..Request::default()
    };
    let fp = compute(&request, &site);
    assert!(
        !fp.items[0].0.contains("own tokens only"),
        "{spec}: {:?}",
        fp.items
    );
    fp.identity
}

pub(super) fn with_manifest(files: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (format!("app/{p}"), t.to_string()))
        .collect();
    if !files.iter().any(|(p, _)| *p == "Cargo.toml") {
        all.push(("app/Cargo.toml".into(), MANIFEST.into()));
    }
    all
}

pub(super) fn scratch(files: &[(String, String)]) -> Scratch {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    Scratch::new(&refs)
}

/// Applies every edit alone to a fresh copy of `files` and checks what it changed.
pub(super) fn check(files: &[(&'static str, &'static str)], edits: &[Edit]) {
    check_with(files, edits, None)
}

pub(super) fn check_with(
    files: &[(&'static str, &'static str)],
    edits: &[Edit],
    target_root: Option<&str>,
) {
    check_under(files, edits, target_root, &inputs::Build::default())
}

/// [`check_with`] under rustc's command line `build`.
pub(super) fn check_under(
    files: &[(&'static str, &'static str)],
    edits: &[Edit],
    target_root: Option<&str>,
    build: &inputs::Build,
) {
    let files = with_manifest(files);
    let mut failures = Vec::new();
    for e in edits {
        let mut s = scratch(&files);
        let specs: Vec<&str> = e.changes.iter().chain(e.stays).copied().collect();
        let before: Vec<String> = specs
            .iter()
            .map(|f| identity(&s, f, build, target_root))
            .collect();
        let path = format!("app/{}", e.file);
        let text = std::fs::read_to_string(s.root.join(&path)).unwrap_or_default();
        if !e.from.is_empty() {
            assert_eq!(
                text.matches(e.from).count(),
                1,
                "{}: {} should contain {:?} once",
                e.what,
                e.file,
                e.from
            );
        }
        let edited = if e.from.is_empty() {
            format!("{text}{}", e.to)
        } else {
            text.replacen(e.from, e.to, 1)
        };
        if e.to == "<remove>" {
            s.remove(&path);
        } else {
            s.write(&path, &edited);
        }
        for (spec, old) in specs.iter().zip(&before) {
            let new = identity(&s, spec, build, target_root);
            let must_change = e.changes.contains(spec);
            if must_change && &new == old {
                failures.push(format!("STALE: {} did not change {spec}", e.what));
            }
            if !must_change && &new != old {
                failures.push(format!("SPURIOUS: {} changed {spec}", e.what));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

const MONEY: &str = r#"
pub struct Money(pub u64);
impl From<Money> for u64 { fn from(m: Money) -> u64 { m.0 * 100 } }
impl std::ops::Add<Money> for u64 { type Output = u64; fn add(self, m: Money) -> u64 { self + m.0 } }
impl PartialEq<Money> for u64 { fn eq(&self, m: &Money) -> bool { *self == m.0 } }
pub struct Wallet(pub u64);
impl FromIterator<Money> for Wallet {
    fn from_iter<I: IntoIterator<Item = Money>>(i: I) -> Self { Wallet(i.into_iter().map(|m| m.0).sum()) }
}
pub struct Small(pub u8);
impl TryFrom<u64> for Small {
    type Error = ();
    fn try_from(x: u64) -> Result<Self, ()> { if x < 256 { Ok(Small(x as u8)) } else { Err(()) } }
}
pub trait Value { fn value(&self) -> u64; }
impl Value for Box<Money> { fn value(&self) -> u64 { self.0 } }
pub struct MyError(pub u64);
pub fn check(x: u64) -> Result<u64, MyError> { if x > 3 { Err(MyError(x)) } else { Ok(x) } }
impl From<MyError> for String { fn from(e: MyError) -> String { format!("too big: {}", e.0) } }
pub type Cash = Money;
impl std::fmt::Display for Cash {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "${}", self.0) }
}
"#;

const A_MAIN: &str = r#"
mod money;
use money::{check, Money, Small, Wallet, Value};
#[checkpoint]
fn a_into(x: u64) -> u64 { let v: u64 = Money(x).into(); v }
#[checkpoint]
fn a_add(x: u64) -> u64 { 1u64 + Money(x) }
#[checkpoint]
fn a_eq(x: u64) -> bool { 5u64 == Money(x) }
#[checkpoint]
fn a_collect(x: u64) -> u64 { let w: Wallet = (0..x).map(Money).collect(); w.0 }
#[checkpoint]
fn a_tryfrom(x: u64) -> u64 { Small::try_from(x).map(|s| s.0 as u64).unwrap_or(0) }
#[checkpoint]
fn a_box(x: u64) -> u64 { let b: Box<Money> = Box::new(Money(x)); b.value() }
#[checkpoint]
fn a_question(x: u64) -> Result<u64, String> { Ok(check(x)?) }
#[checkpoint]
fn e_alias(x: u64) -> String { Money(x).to_string() }
fn unrelated() -> u64 { 1 }
fn main() {}
"#;

#[test]
fn a_impls_where_the_user_type_is_not_the_self_type_and_e_impls_on_aliases() {
    check(
        &[("src/main.rs", A_MAIN), ("src/money.rs", MONEY)],
        &[
            edit(
                "From<Money> for u64",
                "src/money.rs",
                "m.0 * 100",
                "m.0 * 101",
                &["a_into"],
                &[],
            ),
            edit(
                "Add<Money> for u64",
                "src/money.rs",
                "self + m.0",
                "self + m.0 + 1",
                &["a_add"],
                &[],
            ),
            edit(
                "PartialEq<Money> for u64",
                "src/money.rs",
                "*self == m.0",
                "*self != m.0",
                &["a_eq"],
                &[],
            ),
            edit(
                "FromIterator<Money>",
                "src/money.rs",
                "map(|m| m.0).sum()",
                "map(|m| m.0 + 1).sum()",
                &["a_collect"],
                &[],
            ),
            edit(
                "TryFrom<u64> for Small",
                "src/money.rs",
                "x < 256",
                "x < 200",
                &["a_tryfrom"],
                &[],
            ),
            edit(
                "impl on Box<Money>",
                "src/money.rs",
                "{ self.0 } }",
                "{ self.0 + 1 } }",
                &["a_box"],
                &[],
            ),
            edit(
                "From<MyError> for String used by ?",
                "src/money.rs",
                "too big",
                "far too big",
                &["a_question"],
                &[],
            ),
            edit(
                "Display on a type alias",
                "src/money.rs",
                "\"${}\"",
                "\"USD {}\"",
                &["e_alias"],
                &[],
            ),
            edit(
                "unrelated fn",
                "src/main.rs",
                "fn unrelated() -> u64 { 1 }",
                "fn unrelated() -> u64 { 2 }",
                &[],
                &["a_into", "a_add", "a_box", "e_alias"],
            ),
        ],
    );
}

#[test]
fn e_impls_on_a_use_rename() {
    check(
        &[
            ("src/main.rs", "mod money;\nmod ext;\nuse money::Money;\n#[checkpoint]\nfn neg(x: u64) -> u64 { let m = -Money(x); m.0 }\nfn main() {}\n"),
            ("src/money.rs", "pub struct Money(pub u64);\n"),
            ("src/ext.rs", "use crate::money::Money as M;\nimpl std::ops::Neg for M { type Output = M; fn neg(self) -> M { M(self.0 + 1) } }\n"),
        ],
        &[edit("Neg on a `use … as M` name", "src/ext.rs", "self.0 + 1", "self.0 + 2", &["neg"], &[])],
    );
}

const B_MAIN: &str = r#"
mod color {
    pub enum Color { Red, Green }
    pub enum Level { Low = 1, High = 5 }
}
use color::Color::*;
use color::Level::High;
#[checkpoint]
fn b_glob() -> u8 { Red as u8 }
#[checkpoint]
fn b_variant() -> i32 { High as i32 }
fn main() {}
"#;

#[test]
fn b_enum_variants_used_bare() {
    check(
        &[("src/main.rs", B_MAIN)],
        &[
            edit(
                "variants reordered",
                "src/main.rs",
                "Red, Green",
                "Green, Red",
                &["b_glob"],
                &["b_variant"],
            ),
            edit(
                "discriminant changed",
                "src/main.rs",
                "High = 5",
                "High = 6",
                &["b_variant"],
                &[],
            ),
            edit(
                "glob switched",
                "src/main.rs",
                "use color::Color::*;",
                "use color::Level::*;\nuse color::Color::Green;",
                &["b_glob"],
                &[],
            ),
        ],
    );
}

const C_MAIN: &str = r#"
mod a { pub fn pick() -> u64 { 1 } }
mod b { pub fn pick() -> u64 { 2 } }
mod ta { pub trait Speak { fn speak(&self) -> u64; } impl Speak for u8 { fn speak(&self) -> u64 { 1 } } }
mod tb { pub trait Speak { fn speak(&self) -> u64; } impl Speak for u8 { fn speak(&self) -> u64 { 2 } } }
mod lib {
    mod v1 { pub fn run() -> u64 { 1 } }
    mod v2 { pub fn run() -> u64 { 2 } }
    pub use v1::run;
}
#[path = "impl_a.rs"]
mod imp;
use a::pick;
use ta::Speak;
#[checkpoint]
fn c_use() -> u64 { pick() }
#[checkpoint]
fn c_trait() -> u64 { 1u8.speak() }
#[checkpoint]
fn c_reexport() -> u64 { lib::run() }
#[checkpoint]
fn c_path() -> u64 { imp::g() }
fn main() {}
"#;

#[test]
fn c_declarations_count() {
    check(
        &[
            ("src/main.rs", C_MAIN),
            ("src/impl_a.rs", "pub fn g() -> u64 { 1 }\n"),
            ("src/impl_b.rs", "pub fn g() -> u64 { 2 }\n"),
        ],
        &[
            edit(
                "use switches function",
                "src/main.rs",
                "use a::pick;",
                "use b::pick;",
                &["c_use"],
                &[],
            ),
            edit(
                "use switches trait",
                "src/main.rs",
                "use ta::Speak;",
                "use tb::Speak;",
                &["c_trait"],
                &[],
            ),
            edit(
                "pub use switches",
                "src/main.rs",
                "pub use v1::run;",
                "pub use v2::run;",
                &["c_reexport"],
                &[],
            ),
            edit(
                "#[path] switches file",
                "src/main.rs",
                "#[path = \"impl_a.rs\"]",
                "#[path = \"impl_b.rs\"]",
                &["c_path"],
                &[],
            ),
        ],
    );
}

const D_MAIN: &str = r#"
mod a { pub fn f() -> u64 { 1 } }
mod c { pub fn f() -> u64 { 3 } }
mod b { pub use super::a::f as run; }
mod m {
    macro_rules! mac { () => { 1 } }
    pub(crate) use mac;
}
use b::run as go;
use m::mac as other;
#[checkpoint]
fn d_chain() -> u64 { go() }
#[checkpoint]
fn d_macro() -> u64 { other!() }
fn main() {}
"#;

#[test]
fn d_renames_of_renames() {
    check(
        &[("src/main.rs", D_MAIN)],
        &[
            edit(
                "body behind two renames",
                "src/main.rs",
                "pub fn f() -> u64 { 1 }",
                "pub fn f() -> u64 { 5 }",
                &["d_chain"],
                &[],
            ),
            edit(
                "middle rename retargeted",
                "src/main.rs",
                "super::a::f as run",
                "super::c::f as run",
                &["d_chain"],
                &[],
            ),
            edit(
                "macro imported under another name",
                "src/main.rs",
                "() => { 1 }",
                "() => { 2 }",
                &["d_macro"],
                &[],
            ),
        ],
    );
}

const F_MAIN: &str = r#"
trait Shape { fn area(&self) -> u64 { 7 } }
struct Sq;
impl Shape for Sq {}
trait Price { fn price(&self) -> u64; }
struct Item;
impl Price for u64 { fn price(&self) -> u64 { *self * 2 } }
trait Twice { fn twice(&self) -> u64; }
impl<T: Clone> Twice for T { fn twice(&self) -> u64 { 2 } }
#[checkpoint]
fn f_default() -> u64 { Sq::area(&Sq) }
#[checkpoint]
fn f_generic_named_like_a_type<Item: Price>(x: Item) -> u64 { Item::price(&x) }
#[checkpoint]
fn f_blanket<T: Clone>(x: T) -> u64 { T::twice(&x) }
fn main() {}
"#;

#[test]
fn f_qualified_calls_never_narrow() {
    check(
        &[("src/main.rs", F_MAIN)],
        &[
            edit(
                "trait default through a non-overriding impl",
                "src/main.rs",
                "{ 7 }",
                "{ 8 }",
                &["f_default"],
                &[],
            ),
            edit(
                "generic parameter named like a user type",
                "src/main.rs",
                "*self * 2",
                "*self * 3",
                &["f_generic_named_like_a_type"],
                &[],
            ),
            edit(
                "blanket impl",
                "src/main.rs",
                "{ 2 } }",
                "{ 3 } }",
                &["f_blanket"],
                &[],
            ),
        ],
    );
}

const G_MAIN: &str = r#"
macro_rules! make_fn { ($name:ident, $v:expr) => { fn $name() -> u64 { $v } } }
macro_rules! make_const { ($n:ident) => { const $n: u64 = 3; } }
macro_rules! disp {
    ($t:ident) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "x") }
        }
    };
}
macro_rules! gen_method { ($n:ident, $k:expr) => { fn $n(&self) -> u64 { $k } } }
make_fn!(seven, 7);
make_const!(THREE);
struct D;
disp!(D);
impl D { gen_method!(double, 2); }
#[checkpoint]
fn g_fn() -> u64 { seven() }
#[checkpoint]
fn g_const() -> u64 { THREE }
#[checkpoint]
fn g_display() -> String { D.to_string() }
#[checkpoint]
fn g_method() -> u64 { D.double() }
fn main() {}
"#;

#[test]
fn g_items_generated_by_macro_rules() {
    check(
        &[("src/main.rs", G_MAIN)],
        &[
            edit(
                "invocation argument of fn $name",
                "src/main.rs",
                "make_fn!(seven, 7)",
                "make_fn!(seven, 8)",
                &["g_fn"],
                &["g_const"],
            ),
            edit(
                "body of the fn-making macro",
                "src/main.rs",
                "fn $name() -> u64 { $v }",
                "fn $name() -> u64 { $v + 1 }",
                &["g_fn"],
                &[],
            ),
            edit(
                "const $name",
                "src/main.rs",
                "const $n: u64 = 3;",
                "const $n: u64 = 4;",
                &["g_const"],
                &[],
            ),
            edit(
                "generated Display",
                "src/main.rs",
                "write!(f, \"x\")",
                "write!(f, \"y\")",
                &["g_display"],
                &[],
            ),
            edit(
                "method generated in an impl",
                "src/main.rs",
                "gen_method!(double, 2)",
                "gen_method!(double, 3)",
                &["g_method"],
                &[],
            ),
        ],
    );
}

const H_MAIN: &str = r#"
mod money;
use money::Money;
fn setup() {
    impl std::fmt::Display for Money {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "{}", self.0) }
    }
}
const _: () = {
    impl Money { pub fn tripled(&self) -> u64 { self.0 * 3 } }
};
#[checkpoint]
fn h_impl_in_fn() -> String { Money(1).to_string() }
#[checkpoint]
fn h_impl_in_const() -> u64 { Money(2).tripled() }
fn outer1() -> u64 {
    const K: u64 = 1;
    fn local() -> u64 { K + 1 }
    #[checkpoint]
    fn helper() -> u64 { local() }
    helper()
}
fn with_tls() -> u64 {
    thread_local!(static TLS: u64 = 1);
    #[checkpoint]
    fn reads_tls() -> u64 { TLS.with(|v| *v) }
    reads_tls()
}
fn outer2() -> u64 {
    const K: u64 = 2;
    fn local() -> u64 { K + 1 }
    #[checkpoint]
    fn helper() -> u64 { local() }
    helper()
}
fn main() {}
"#;

#[test]
fn h_items_nested_in_bodies_and_const_blocks() {
    let files = [
        ("src/main.rs", H_MAIN),
        ("src/money.rs", "pub struct Money(pub u64);\n"),
    ];
    check(
        &files,
        &[
            edit(
                "impl inside a function body",
                "src/main.rs",
                "\"{}\", self.0",
                "\"{}!\", self.0",
                &["h_impl_in_fn"],
                &[],
            ),
            edit(
                "impl inside const _",
                "src/main.rs",
                "self.0 * 3",
                "self.0 * 4",
                &["h_impl_in_const"],
                &[],
            ),
            edit(
                "local const of the enclosing fn",
                "src/main.rs",
                "const K: u64 = 1;",
                "const K: u64 = 5;",
                &["helper#0"],
                &[],
            ),
        ],
    );
    // Two nested helpers of equal tokens in two functions see different local items.
    let s = scratch(&with_manifest(&files));
    let build = inputs::Build::default();
    assert_ne!(
        identity(&s, "helper#0", &build, None),
        identity(&s, "helper#1", &build, None)
    );
}

#[test]
fn i_sources_outside_src() {
    check_with(
        &[
            ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[[bin]]\nname = \"app\"\npath = \"bin/app.rs\"\n"),
            ("bin/app.rs", "mod helper;\ninclude!(\"../shared/x.rs\");\n#[checkpoint]\nfn i_bin() -> u64 { helper::h() }\n#[checkpoint]\nfn i_include() -> u64 { shared() }\nfn main() {}\n"),
            ("bin/helper.rs", "pub fn h() -> u64 { 1 }\n"),
            ("shared/x.rs", "fn shared() -> u64 { 10 }\n"),
        ],
        &[
            edit("a module of a [[bin]] outside src/", "bin/helper.rs", "{ 1 }", "{ 2 }", &["bin/app.rs:i_bin"], &["bin/app.rs:i_include"]),
            edit("a file include!d from outside src/", "shared/x.rs", "{ 10 }", "{ 11 }", &["bin/app.rs:i_include"], &["bin/app.rs:i_bin"]),
        ],
        Some("bin/app.rs"),
    );
}

const J_MAIN: &str = r#"
#[checkpoint]
fn j_include() -> usize { include_str!("data.txt").len() + include_bytes!("../bytes.bin").len() }
#[checkpoint]
fn j_env() -> &'static str { env!("CHECKPOINTER_TEST_J_ENV") }
#[checkpoint]
fn j_feature() -> bool { cfg!(feature = "fast") }
#[cfg(feature = "fast")]
fn mode() -> u64 { 1 }
#[cfg(not(feature = "fast"))]
fn mode() -> u64 { 2 }
#[checkpoint]
fn j_cfg_attr() -> u64 { mode() }
#[checkpoint]
fn j_plain() -> u64 { 3 }
fn main() {}
"#;

#[test]
fn j_compile_time_inputs() {
    let files = [
        ("src/main.rs", J_MAIN),
        ("src/data.txt", "first"),
        ("bytes.bin", "1"),
    ];
    check(
        &files,
        &[
            edit(
                "include_str! data",
                "src/data.txt",
                "first",
                "secnd",
                &["j_include"],
                &["j_plain"],
            ),
            edit(
                "include_bytes! data",
                "bytes.bin",
                "1",
                "2",
                &["j_include"],
                &["j_plain"],
            ),
        ],
    );
    let s = scratch(&with_manifest(&files));
    let id = |spec: &str, args: &str| {
        let build =
            inputs::Build::parse(args.split(' ').filter(|a| !a.is_empty()).map(String::from));
        identity(&s, spec, &build, None)
    };
    // Features and cfg.
    let plain = "-C opt-level=0";
    let fast = "-C opt-level=0 --cfg feature=\"fast\"";
    assert_ne!(
        id("j_feature", plain),
        id("j_feature", fast),
        "cfg!(feature)"
    );
    assert_ne!(
        id("j_cfg_attr", plain),
        id("j_cfg_attr", fast),
        "#[cfg(feature)]"
    );
    assert_eq!(
        id("j_plain", plain),
        id("j_plain", fast),
        "no cfg: features do not count"
    );
    // The profile changes what arithmetic does everywhere.
    assert_ne!(
        id("j_plain", plain),
        id("j_plain", "-C opt-level=3"),
        "debug assertions, overflow checks"
    );
    assert_eq!(
        id("j_plain", "-C opt-level=2"),
        id("j_plain", "-C opt-level=3"),
        "opt-level alone does not count"
    );
    // env! values.
    std::env::set_var("CHECKPOINTER_TEST_J_ENV", "one");
    let one = id("j_env", plain);
    std::env::set_var("CHECKPOINTER_TEST_J_ENV", "two");
    assert_ne!(one, id("j_env", plain), "env! value");
    assert_eq!(id("j_plain", plain), id("j_plain", plain));
}

const K_MAIN: &str = r#"
#[checkpoint]
fn k_line() -> u32 { line!() }
#[checkpoint]
fn k_stringify() -> &'static str { stringify!(a+b) }
#[checkpoint]
fn k_type_name() -> &'static str { std::any::type_name::<helpers::Thing>() }
macro_rules! doc_of { (#[doc = $d:literal] $name:ident) => { fn $name() -> &'static str { $d } } }
doc_of! {
    /// hello
    greeting
}
#[checkpoint]
fn k_doc() -> &'static str { greeting() }
#[checkpoint]
fn k_plain() -> u64 { 1 }
mod helpers { pub struct Thing; }
fn main() {}
"#;

#[test]
fn k_output_that_depends_on_layout() {
    check(
        &[("src/main.rs", K_MAIN)],
        &[
            edit(
                "a line inserted above line!()",
                "src/main.rs",
                "#[checkpoint]\nfn k_line",
                "\n#[checkpoint]\nfn k_line",
                &["k_line"],
                &["k_plain"],
            ),
            edit(
                "stringify! spacing",
                "src/main.rs",
                "stringify!(a+b)",
                "stringify!(a + b)",
                &["k_stringify"],
                &[],
            ),
            edit(
                "type_name of a renamed module",
                "src/main.rs",
                "helpers::Thing>() }",
                "helpers::Thing >() }",
                &[],
                &["k_plain"],
            ),
            edit(
                "doc captured by a macro",
                "src/main.rs",
                "/// hello",
                "/// hi",
                &["k_doc"],
                &["k_plain"],
            ),
        ],
    );
}

const HARMLESS_MAIN: &str = r#"
mod util;
use util::{scale, LIMIT};
/// Docs.
#[checkpoint]
fn target(x: u64) -> u64 {
    // A comment.
    scale(x) + LIMIT + callee()
}
#[checkpoint(verbosity = 0, storage = "memory")]
fn callee() -> u64 { 1 }
fn other() -> u64 { 1 }
#[cfg(test)]
mod tests { #[test] fn t() { assert_eq!(super::other(), 1); } }
fn main() {}
"#;

#[test]
fn harmless_edits_do_not_count() {
    check(
        &[
            ("src/main.rs", HARMLESS_MAIN),
            ("src/util.rs", "pub const LIMIT: u64 = 4;\npub fn scale(x: u64) -> u64 { x * 2 }\npub fn spare() -> u64 { 9 }\n"),
            ("src/extra.rs", "pub fn moved_here() -> u64 { 0 }\n"),
        ],
        &[
            edit("reformat", "src/main.rs", "    scale(x) + LIMIT + callee()\n", "    scale(\n        x,\n    ) + LIMIT\n        + callee()\n", &[], &["target"]),
            edit("comment", "src/main.rs", "// A comment.", "// Another comment. /* and a block */", &[], &["target"]),
            edit("doc comment", "src/main.rs", "/// Docs.", "/// Other docs.\n/// Two lines.", &[], &["target"]),
            edit("reorder items", "src/util.rs", "pub const LIMIT: u64 = 4;\npub fn scale(x: u64) -> u64 { x * 2 }\n", "pub fn scale(x: u64) -> u64 { x * 2 }\npub const LIMIT: u64 = 4;\n", &[], &["target"]),
            edit("unrelated function", "src/util.rs", "{ 9 }", "{ 10 }", &[], &["target"]),
            edit("unrelated function in main", "src/main.rs", "fn other() -> u64 { 1 }", "fn other() -> u64 { 2 }", &[], &["target"]),
            edit("cfg(test) module", "src/main.rs", "assert_eq!(super::other(), 1);", "assert_eq!(super::other(), 1); assert!(true);", &[], &["target"]),
            edit("new undeclared file", "src/new_file.rs", "", "pub fn scale(x: u64) -> u64 { x }\n", &[], &["target"]),
            edit("callee's non-identity options", "src/main.rs", "verbosity = 0, storage = \"memory\"", "verbosity = 2", &[], &["target"]),
            edit("an import the function does not use", "src/main.rs", "use util::{scale, LIMIT};", "use util::{scale, spare, LIMIT};", &[], &["target"]),
            edit("the callee's body", "src/main.rs", "fn callee() -> u64 { 1 }", "fn callee() -> u64 { 2 }", &["target"], &[]),
            edit("the helper", "src/util.rs", "x * 2", "x * 3", &["target"], &[]),
        ],
    );
}

#[test]
fn moving_an_item_to_another_file_does_not_count() {
    let files = with_manifest(&[
        ("src/main.rs", "mod util;\nmod extra;\nuse util::scale;\n#[checkpoint]\nfn target(x: u64) -> u64 { scale(x) }\nfn main() {}\n"),
        ("src/util.rs", "pub use crate::extra::helper;\npub fn scale(x: u64) -> u64 { helper(x) }\npub fn helper2(x: u64) -> u64 { x * 2 }\n"),
        ("src/extra.rs", "pub fn helper(x: u64) -> u64 { crate::util::helper2(x) }\n"),
    ]);
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let before = identity(&s, "target", &build, None);
    s.write(
        "app/src/util.rs",
        "pub use crate::extra::helper;\npub fn scale(x: u64) -> u64 { helper(x) }\n",
    );
    s.write("app/src/extra.rs", "pub fn helper(x: u64) -> u64 { crate::util::helper2(x) }\npub fn helper2(x: u64) -> u64 { x * 2 }\n");
    let after = identity(&s, "target", &build, None);
    // The path `crate::util::helper2` still names a function of that name; moving it keeps
    // its tokens, so nothing the function can reach changed.
    assert_eq!(before, after);
}

#[test]
fn registry_crates_the_closure_names_are_pinned() {
    let lock = |v: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde_json\", \"itoa\"]\n[[package]]\nname = \"serde_json\"\nversion = \"{v}\"\nsource = \"registry+https://example.invalid\"\n[[package]]\nname = \"itoa\"\nversion = \"1.0.0\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let manifest = format!("{MANIFEST}[dependencies]\nserde_json = \"1\"\nitoa = \"1\"\n");
    let files = vec![
        ("app/Cargo.toml".to_string(), manifest),
        ("app/Cargo.lock".to_string(), lock("1.0.1")),
        ("app/src/main.rs".to_string(), "mod parse;\n#[checkpoint]\nfn uses() -> u64 { parse::p() }\n#[checkpoint]\nfn plain() -> u64 { 1 }\nfn main() {}\n".to_string()),
        ("app/src/parse.rs".to_string(), "use serde_json::from_str;\npub fn p() -> u64 { from_str(\"1\").unwrap() }\n".to_string()),
    ];
    let mut s = scratch(&files);
    let build = inputs::Build::default();
    let (u, p) = (
        identity(&s, "uses", &build, None),
        identity(&s, "plain", &build, None),
    );
    s.write("app/Cargo.lock", &lock("1.0.2"));
    assert_ne!(u, identity(&s, "uses", &build, None), "serde_json upgraded");
    assert_eq!(p, identity(&s, "plain", &build, None), "not used by plain");
}

#[test]
fn an_example_is_its_own_crate_and_the_library_a_dependency() {
    check_with(
        &[
            ("src/lib.rs", "pub fn parse_numbers(s: &str) -> Vec<u64> { s.split(',').filter_map(|x| x.parse().ok()).collect() }\npub fn other_lib() -> u64 { 1 }\n"),
            ("examples/quick.rs", "#[checkpoint]\nfn slow_square(x: u64) -> u64 { x * x }\n#[checkpoint]\nfn parse(s: &str) -> Vec<u64> { app::parse_numbers(s) }\nfn main() {}\n"),
        ],
        &[
            edit("the example's other function", "examples/quick.rs", "x * x", "x * x + 1", &["examples/quick.rs:slow_square"], &["examples/quick.rs:parse"]),
            edit("a library function the example uses", "src/lib.rs", "x.parse().ok()", "x.trim().parse().ok()", &["examples/quick.rs:parse"], &["examples/quick.rs:slow_square"]),
            edit("a library function nothing uses", "src/lib.rs", "{ 1 }", "{ 2 }", &[], &["examples/quick.rs:parse", "examples/quick.rs:slow_square"]),
        ],
        Some("examples/quick.rs"),
    );
}

#[test]
fn fully_qualified_calls_and_types_chosen_by_turbofish() {
    check(
        &[
            ("src/main.rs", "mod money;\nuse money::Money;\nfn make<T: Default>() -> T { T::default() }\n#[checkpoint]\nfn ufcs(x: u64) -> u64 { <Money as Into<u64>>::into(Money(x)) }\n#[checkpoint]\nfn turbofish() -> u64 { make::<Money>().0 }\nfn main() {}\n"),
            ("src/money.rs", "pub struct Money(pub u64);\nimpl From<Money> for u64 { fn from(m: Money) -> u64 { m.0 * 100 } }\nimpl Default for Money { fn default() -> Self { Money(7) } }\n"),
        ],
        &[
            edit("From impl behind a fully qualified call", "src/money.rs", "m.0 * 100", "m.0 * 101", &["ufcs"], &[]),
            edit("Default impl of a type chosen by turbofish", "src/money.rs", "Money(7)", "Money(8)", &["turbofish"], &[]),
        ],
    );
}
