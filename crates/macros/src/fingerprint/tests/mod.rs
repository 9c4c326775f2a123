//! Resolution and invariance on small crates written to a temporary directory.

use super::*;
use std::time::{Duration, SystemTime};

/// A crate on disk whose files can be rewritten between fingerprints.
struct Scratch {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    tick: u64,
}

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Scratch {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let mut s = Scratch {
            _tmp: tmp,
            root,
            tick: 0,
        };
        for (path, text) in files {
            s.write(path, text);
        }
        s
    }

    /// Writes a file and moves its mtime forward, so the cached index sees the change even
    /// within the file system's timestamp granularity.
    fn write(&mut self, path: &str, text: &str) {
        let p = self.root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        self.tick += 1;
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(self.tick))
            .unwrap();
    }

    fn remove(&mut self, path: &str) {
        std::fs::remove_file(self.root.join(path)).unwrap();
    }

    /// The fingerprint of the function `name` of `file` in crate `dir`.
    fn fp(&self, dir: &str, file: &str, name: &str) -> Fingerprint {
        self.fp_with(dir, file, name, "", false)
    }

    fn fp_with(
        &self,
        dir: &str,
        file: &str,
        name: &str,
        options: &str,
        locked_deps: bool,
    ) -> Fingerprint {
        let crate_dir = self.root.join(dir);
        let path = crate_dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = syn::parse_file(&text).unwrap();
        let function =
            find_fn(&parsed.items, name).unwrap_or_else(|| panic!("no fn {name} in {file}"));
        // The on-disk cache is on: every fingerprint here also checks it against the sources.
        let cache_dir = Some(self.root.join("target/deps/checkpointer-fingerprint"));
        let site = Site {
            manifest_dir: Some(crate_dir),
            file: Some(path),
            crate_name: dir.replace('-', "_"),
            cache_dir,
            line: None,
            target_root: None,
            build: inputs::Build::default(),
        };
        let request = Request {
            function: function.to_token_stream().to_string(),
            options: options.into(),
            fn_hash_from: false,
            locked_deps,
        };
        compute(&request, &site)
    }
}

/// The function as the attribute receives it: without its `#[checkpoint]`.
fn find_fn(items: &[syn::Item], name: &str) -> Option<syn::ItemFn> {
    for item in items {
        match item {
            syn::Item::Fn(f) if f.sig.ident == name => {
                let mut f = f.clone();
                f.attrs.retain(|a| !index::is_checkpoint(a));
                return Some(f);
            }
            syn::Item::Mod(m) => {
                if let Some(f) = m
                    .content
                    .as_ref()
                    .and_then(|(_, items)| find_fn(items, name))
                {
                    return Some(f);
                }
            }
            _ => {}
        }
    }
    None
}

const MANIFEST: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

const MAIN: &str = r#"
mod helpers;
mod shapes;
use shapes::{Shape, Square};

/// The cached function.
#[checkpoint]
fn report(n: u64) -> String {
    let total = helpers::outer(n);
    format!("{total} {}", describe(&Square { side: 2.0 }))
}

fn describe<S: Shape>(s: &S) -> f64 {
    s.area()
}

fn unrelated() -> u64 {
    1
}

fn main() {}
"#;

const HELPERS: &str = r#"
pub const FACTOR: u64 = 3;

pub fn outer(n: u64) -> u64 {
    inner(n) + 1
}

fn inner(n: u64) -> u64 {
    n * FACTOR
}

pub fn other() -> u64 {
    7
}
"#;

const SHAPES: &str = r#"
pub trait Shape {
    fn area(&self) -> f64;
}

pub struct Square {
    pub side: f64,
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
}
"#;

fn app() -> Scratch {
    Scratch::new(&[
        ("app/Cargo.toml", MANIFEST),
        ("app/src/main.rs", MAIN),
        ("app/src/helpers.rs", HELPERS),
        ("app/src/shapes.rs", SHAPES),
    ])
}

fn report(s: &Scratch) -> Fingerprint {
    s.fp("app", "src/main.rs", "report")
}

fn paths(fp: &Fingerprint) -> Vec<&str> {
    fp.items.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn the_closure_lists_what_the_function_depends_on() {
    let s = app();
    let fp = report(&s);
    let p = paths(&fp);
    assert_eq!(p[0], "app::report");
    for expected in [
        "app::helpers::outer",
        "app::helpers::inner",
        "app::helpers::FACTOR",
        "app::describe",
        "app::shapes::Shape",
        "app::shapes::Square",
        "<app::shapes::Square as Shape>::area",
        "impl Shape for app::shapes::Square",
    ] {
        assert!(p.contains(&expected), "{expected} missing from {p:#?}");
    }
    for absent in ["app::unrelated", "app::helpers::other", "app::main"] {
        assert!(!p.contains(&absent), "{absent} should not be in {p:#?}");
    }
    assert!(fp.items.iter().all(|(_, h)| h.len() == 12));
    assert_eq!(fp.identity.len(), 64);
}

#[test]
fn layout_docs_comments_moves_and_unrelated_edits_do_not_count() {
    let mut s = app();
    let before = report(&s).identity;
    // Reformatting, comments, doc comments inside and on the function.
    s.write(
        "app/src/main.rs",
        &MAIN
            .replace("/// The cached function.", "/// Other docs.\n// a comment")
            .replace(
                "let total = helpers::outer(n);",
                "// why\n    let total =\n        helpers::outer( n );",
            ),
    );
    assert_eq!(report(&s).identity, before);
    // An unrelated function edited.
    s.write("app/src/helpers.rs", &HELPERS.replace("7", "8"));
    s.write("app/src/main.rs", &MAIN.replace("    1\n}", "    2\n}"));
    assert_eq!(report(&s).identity, before);
    // An item moved within a file and to another file.
    s.write(
        "app/src/helpers.rs",
        &HELPERS
            .replace("pub const FACTOR: u64 = 3;", "")
            .replace("fn inner", "/// docs\nfn inner"),
    );
    s.write(
        "app/src/shapes.rs",
        &format!("{SHAPES}\npub const FACTOR: u64 = 3;\n"),
    );
    assert_eq!(report(&s).identity, before);
}

#[test]
fn dependencies_count_helpers_consts_methods_and_trait_impls() {
    let mut s = app();
    let before = report(&s).identity;
    let cases: [(&str, &str, &str); 4] = [
        ("app/src/helpers.rs", "n * FACTOR", "n * FACTOR + 0"),
        ("app/src/helpers.rs", "FACTOR: u64 = 3", "FACTOR: u64 = 4"),
        (
            "app/src/shapes.rs",
            "self.side * self.side",
            "self.side * 2.0",
        ),
        (
            "app/src/shapes.rs",
            "pub side: f64,",
            "pub side: f64,\n    pub label: u8,",
        ),
    ];
    for (file, from, to) in cases {
        let original = std::fs::read_to_string(s.root.join(file)).unwrap();
        assert!(original.contains(from), "{from}");
        s.write(file, &original.replace(from, to));
        assert_ne!(
            report(&s).identity,
            before,
            "editing `{from}` in {file} must count"
        );
        s.write(file, &original);
        assert_eq!(report(&s).identity, before);
    }
}

#[test]
fn macro_rules_used_and_method_through_a_value() {
    let main = r#"
macro_rules! twice { ($e:expr) => { $e * 2 } }
struct Counter { n: u64 }
impl Counter { fn bump(&self) -> u64 { self.n + 1 } fn unused(&self) -> u64 { 0 } }
fn get() -> Counter { Counter { n: 1 } }
fn f() -> u64 { let c = get(); twice!(c.bump()) }
fn main() {}
"#;
    let mut s = Scratch::new(&[("app/Cargo.toml", MANIFEST), ("app/src/main.rs", main)]);
    let before = s.fp("app", "src/main.rs", "f").identity;
    for (from, to, counts) in [
        ("$e * 2", "$e * 3", true),
        ("self.n + 1", "self.n + 2", true),
        ("{ 0 }", "{ 1 }", false),
    ] {
        s.write("app/src/main.rs", &main.replace(from, to));
        assert_eq!(
            s.fp("app", "src/main.rs", "f").identity != before,
            counts,
            "{from} → {to}"
        );
    }
}

#[test]
fn called_checkpoint_functions_and_fn_hash_from() {
    let main = r#"
#[checkpoint]
fn caller() -> u64 { pinned() + plain() }
#[checkpoint(fn_hash_from = "v1")]
fn pinned() -> u64 { helper() }
#[checkpoint]
fn plain() -> u64 { 2 }
fn helper() -> u64 { 1 }
fn main() {}
"#;
    let mut s = Scratch::new(&[("app/Cargo.toml", MANIFEST), ("app/src/main.rs", main)]);
    let before = s.fp("app", "src/main.rs", "caller");
    let p = paths(&before);
    assert!(
        p.contains(&"app::pinned") && p.contains(&"app::plain"),
        "{p:?}"
    );
    assert!(
        !p.contains(&"app::helper"),
        "fn_hash_from stops the traversal: {p:?}"
    );
    // The pinned body and what it calls do not count; its declared value does.
    s.write(
        "app/src/main.rs",
        &main
            .replace("{ 1 }", "{ 5 }")
            .replace("{ helper() }", "{ helper() + 1 }"),
    );
    assert_eq!(
        s.fp("app", "src/main.rs", "caller").identity,
        before.identity
    );
    s.write("app/src/main.rs", &main.replace("\"v1\"", "\"v2\""));
    assert_ne!(
        s.fp("app", "src/main.rs", "caller").identity,
        before.identity
    );
    // A plain checkpoint callee counts with its body.
    s.write("app/src/main.rs", &main.replace("{ 2 }", "{ 3 }"));
    assert_ne!(
        s.fp("app", "src/main.rs", "caller").identity,
        before.identity
    );
    // The function's own fn_hash_from: own tokens only, nothing followed.
    let own = compute(
        &Request {
            function: "fn pinned() -> u64 { helper() }".into(),
            fn_hash_from: true,
            ..Request::default()
        },
        &Site {
            manifest_dir: Some(s.root.join("app")),
            file: None,
            crate_name: "app".into(),
            ..Site::default()
        },
    );
    assert_eq!(own.items.len(), 1);
    assert!(own.items[0].0.contains("fn_hash_from"), "{:?}", own.items);
}

#[test]
fn deps_option_adds_items_by_path() {
    let main = r#"
fn f() -> u64 { 1 }
mod tables { pub fn lookup() -> u64 { 2 } }
fn main() {}
"#;
    let mut s = Scratch::new(&[("app/Cargo.toml", MANIFEST), ("app/src/main.rs", main)]);
    let before = s.fp_with("app", "src/main.rs", "f", "deps(tables::lookup)", false);
    assert!(
        paths(&before).contains(&"app::tables::lookup"),
        "{:?}",
        before.items
    );
    s.write("app/src/main.rs", &main.replace("{ 2 }", "{ 3 }"));
    assert_ne!(
        s.fp_with("app", "src/main.rs", "f", "deps(tables::lookup)", false)
            .identity,
        before.identity
    );
    assert_eq!(
        s.fp_with("app", "src/main.rs", "f", "", false).identity,
        s.fp_with("app", "src/main.rs", "f", "", false).identity
    );
}

#[test]
fn path_dependencies_count_inside_and_outside_the_workspace() {
    let ws = "[workspace]\nmembers = [\"app\", \"mylib\"]\n";
    let app_manifest = format!("{MANIFEST}[dependencies]\nmylib = {{ path = \"../mylib\" }}\nvendored = {{ path = \"../../vendored\" }}\n");
    let main = "#[checkpoint]\nfn f() -> u64 { mylib::scale(2) + vendored::v() }\nfn main() {}\n";
    let lib = "pub fn scale(x: u64) -> u64 { step(x) }\nfn step(x: u64) -> u64 { x * 10 }\n";
    let mut s = Scratch::new(&[
        ("ws/Cargo.toml", ws),
        ("ws/app/Cargo.toml", &app_manifest),
        ("ws/app/src/main.rs", main),
        (
            "ws/mylib/Cargo.toml",
            "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\n",
        ),
        ("ws/mylib/src/lib.rs", lib),
        (
            "vendored/Cargo.toml",
            "[package]\nname = \"vendored\"\nversion = \"0.1.0\"\n",
        ),
        ("vendored/src/lib.rs", "pub fn v() -> u64 { 1 }\n"),
    ]);
    let before = s.fp("ws/app", "src/main.rs", "f");
    let p = paths(&before);
    assert!(p.contains(&"mylib::step"), "{p:?}");
    assert!(p.contains(&"vendored::v"), "{p:?}");
    s.write("ws/mylib/src/lib.rs", &lib.replace("x * 10", "x * 11"));
    assert_ne!(s.fp("ws/app", "src/main.rs", "f").identity, before.identity);
    s.write("ws/mylib/src/lib.rs", lib);
    assert_eq!(s.fp("ws/app", "src/main.rs", "f").identity, before.identity);
    s.write("vendored/src/lib.rs", "pub fn v() -> u64 { 2 }\n");
    assert_ne!(s.fp("ws/app", "src/main.rs", "f").identity, before.identity);
}

#[test]
fn locked_deps_adds_registry_versions() {
    let lock = |v: &str| {
        format!("version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n[[package]]\nname = \"serde\"\nversion = \"{v}\"\nsource = \"registry+https://example.invalid\"\n")
    };
    let main = "fn f() -> u64 { 1 }\nfn main() {}\n";
    let mut s = Scratch::new(&[
        ("app/Cargo.toml", MANIFEST),
        ("app/src/main.rs", main),
        ("app/Cargo.lock", &lock("1.0.1")),
    ]);
    let plain = s.fp("app", "src/main.rs", "f").identity;
    let locked = s.fp_with("app", "src/main.rs", "f", "", true).identity;
    assert_ne!(plain, locked);
    s.write("app/Cargo.lock", &lock("1.0.2"));
    assert_eq!(
        s.fp("app", "src/main.rs", "f").identity,
        plain,
        "upgrades do not count by default"
    );
    let upgraded = s.fp_with("app", "src/main.rs", "f", "", true).identity;
    assert_ne!(upgraded, locked);
    // The opt-in as users write it, in the manifest.
    s.write(
        "app/Cargo.toml",
        &format!("{MANIFEST}\n[package.metadata.checkpointer]\nlocked_deps = true\n"),
    );
    assert_eq!(s.fp("app", "src/main.rs", "f").identity, upgraded);
}

#[test]
fn unparsable_files_count_as_opaque_text_and_mod_paths_are_followed() {
    let main =
        "#[path = \"elsewhere/impl_.rs\"]\nmod imp;\nfn f() -> u64 { imp::g() }\nfn main() {}\n";
    let mut s = Scratch::new(&[
        ("app/Cargo.toml", MANIFEST),
        ("app/src/main.rs", main),
        ("app/src/elsewhere/impl_.rs", "pub fn g() -> u64 { 1 }\n"),
    ]);
    let before = s.fp("app", "src/main.rs", "f");
    assert!(
        paths(&before).contains(&"app::imp::g"),
        "{:?}",
        before.items
    );
    s.write("app/src/broken.rs", "fn ( {");
    s.write("app/src/main.rs", &format!("mod broken;\n{main}"));
    let broken = s.fp("app", "src/main.rs", "f");
    assert_ne!(broken.identity, before.identity);
    assert!(
        broken.items.iter().any(|(p, _)| p.contains("not parsed")),
        "{:?}",
        broken.items
    );
    // A file no `mod` declares is not compiled: it does not count until declared.
    s.write("app/src/main.rs", main);
    s.remove("app/src/broken.rs");
    assert_eq!(s.fp("app", "src/main.rs", "f").identity, before.identity);
    s.write("app/src/new_helpers.rs", "pub fn g() -> u64 { 2 }\n");
    assert_eq!(
        s.fp("app", "src/main.rs", "f").identity,
        before.identity,
        "an undeclared file"
    );
    s.write("app/src/main.rs", &format!("mod new_helpers;\n{main}"));
    assert_ne!(
        s.fp("app", "src/main.rs", "f").identity,
        before.identity,
        "the same file, declared"
    );
}

#[test]
fn without_sources_the_identity_is_the_own_tokens() {
    let request = Request {
        function: "fn f() -> u8 { 1 }".into(),
        ..Request::default()
    };
    let fp = compute(&request, &Site::default());
    assert_eq!(fp.items.len(), 1);
    assert!(fp.items[0].0.contains("own tokens only"));
    let bad = compute(
        &Request {
            function: "not a fn".into(),
            ..Request::default()
        },
        &Site::default(),
    );
    assert_eq!(bad.identity.len(), 64);
}

#[test]
fn generics_self_and_aliases_resolve() {
    let main = r#"
use crate::util::compute as calc;
mod util { pub fn compute() -> u64 { 1 } }
trait Make { fn make() -> Self; }
struct A;
impl Make for A { fn make() -> Self { A } }
impl std::ops::Add for A { type Output = A; fn add(self, _o: A) -> A { A } }
fn build<T: Make>() -> T { T::make() }
fn f() -> u64 { let _a: A = build(); calc() }
fn main() {}
"#;
    let s = Scratch::new(&[("app/Cargo.toml", MANIFEST), ("app/src/main.rs", main)]);
    let fp = s.fp("app", "src/main.rs", "f");
    let p = paths(&fp);
    for expected in [
        "app::util::compute",
        "<app::A as Make>::make",
        "<app::A as Add>::add",
        "app::build",
    ] {
        assert!(p.contains(&expected), "{expected} missing from {p:#?}");
    }
}

mod adversarial;

/// Times the fingerprint of the generated benchmark crate (`scripts/bench-fingerprint`
/// must have run): `cargo test -p checkpointer-macros --release --lib bench_crate -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_crate() {
    let crate_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/bench-fingerprint");
    let crate_dir = std::fs::canonicalize(crate_dir).unwrap();
    let path = crate_dir.join("src/main.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = syn::parse_file(&text).unwrap();
    let names: Vec<String> = parsed
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Fn(f) if f.attrs.iter().any(index::is_checkpoint) => {
                Some(f.sig.ident.to_string())
            }
            _ => None,
        })
        .collect();
    for round in 0..3 {
        let start = std::time::Instant::now();
        for name in &names {
            let function = find_fn(&parsed.items, name).unwrap();
            let site = Site {
                manifest_dir: Some(crate_dir.clone()),
                file: Some(path.clone()),
                crate_name: "bench_fp".into(),
                cache_dir: None,
                line: None,
                target_root: Some(path.clone()),
                build: inputs::Build::default(),
            };
            let fp = compute(
                &Request {
                    function: function.to_token_stream().to_string(),
                    ..Request::default()
                },
                &site,
            );
            if round == 2 {
                eprintln!("{name}: {} items", fp.items.len());
            }
        }
        eprintln!(
            "round {round}: {:.1} ms per attribute",
            start.elapsed().as_secs_f64() * 1e3 / names.len() as f64
        );
    }
}
mod review;
mod review2;
