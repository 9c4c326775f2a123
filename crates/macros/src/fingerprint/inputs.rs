//! Compile-time inputs that are not Rust items: files read by `include*!`, variables read by
//! `env!`/`option_env!`, the cfg set (`#[cfg]`, `cfg!`), the build profile, the build script,
//! and source layout where code observes it (`line!`, `column!`, `file!`, `module_path!`,
//! `stringify!`, `type_name`).
//!
//! At index time [`scan`] records what a unit reads as plain strings (the per-file index is
//! cached by the file's content, so values are never baked in); at identity time [`Eval`]
//! reads their current values. A proc macro runs inside rustc, so `std::env::args()` is
//! rustc's command line and `std::env::var` sees rustc's environment (`CARGO_PKG_*`, a build
//! script's `cargo:rustc-env`, `OUT_DIR`).

use proc_macro2::{TokenStream, TokenTree};
use std::path::{Path, PathBuf};

/// What a unit reads at compile time, beside its own tokens.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    /// `file:ABS`, `outdir:REL`, `env:NAME`, `cfg`, `typename`, `build`: see [`Eval::input`].
    pub inputs: Vec<String>,
    /// The unit's behaviour depends on its source position, spacing or path.
    pub layout: bool,
    /// Literal paths of `include*!` (a macro's are relative to where it is invoked).
    pub include_lits: Vec<String>,
}

impl Scan {
    fn add(&mut self, input: String) {
        if !self.inputs.contains(&input) {
            self.inputs.push(input);
        }
    }
}

/// The compile-time inputs of `tokens`, a unit of the file at `file`.
pub fn scan(tokens: TokenStream, file: &Path) -> Scan {
    let mut out = Scan::default();
    walk(tokens, file.parent().unwrap_or(Path::new(".")), &mut out);
    out
}

fn walk(tokens: TokenStream, dir: &Path, out: &mut Scan) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => {
                // `#[template(path = "x.html")]`: an attribute macro of some crate may read
                // the files its strings name (see `Eval`).
                let attribute = g.delimiter() == proc_macro2::Delimiter::Bracket
                    && matches!(i.checked_sub(1).map(|j| &trees[j]), Some(TokenTree::Punct(p)) if p.as_char() == '#')
                    && !matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(a)) if is_builtin_attribute_name(&a.to_string()));
                if attribute {
                    let mut lits = Vec::new();
                    all_strs(g.stream(), &mut lits);
                    for lit in lits {
                        out.add(format!("lit:#\x1f{}\x1f{lit}", dir.display()));
                    }
                }
                walk(g.stream(), dir, out)
            }
            TokenTree::Ident(id) => {
                let name = id.to_string();
                let bang =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                let args = match trees.get(i + 2) {
                    Some(TokenTree::Group(g)) if bang => Some(g.stream()),
                    _ => None,
                };
                let params = args.as_ref().is_some_and(|a| {
                    a.clone()
                        .into_iter()
                        .any(|t| matches!(&t, TokenTree::Punct(p) if p.as_char() == '$'))
                });
                match (name.as_str(), args) {
                    ("include_str" | "include_bytes" | "include", Some(args)) => {
                        if params {
                            out.add("param-input".into());
                        }
                        if let Some(lit) = first_str(args.clone()).filter(|_| !params) {
                            out.include_lits.push(lit);
                        }
                        let input = include_input(args, dir);
                        if name == "include" {
                            if let Some(path) = input.strip_prefix("file:") {
                                out.add(format!("code:{path}"));
                            }
                        }
                        out.add(input);
                    }
                    ("env" | "option_env", Some(args)) => {
                        if params {
                            out.add("param-input".into());
                        }
                        match concat_value(args) {
                            Some(var) => out.add(format!("env:{var}")),
                            None => out.add("build".into()),
                        }
                    }
                    (m, Some(args)) if !is_std_macro(m) => {
                        // What a user's macro may read on the invoker's behalf (see
                        // `Eval`): where it is invoked from, and the strings it is given.
                        let dir = dir.display();
                        out.add(format!("invokes:{m}\x1f{dir}"));
                        let mut lits = Vec::new();
                        all_strs(args.clone(), &mut lits);
                        for lit in lits {
                            out.add(format!("lit:{m}\x1f{dir}\x1f{lit}"));
                        }
                    }
                    ("line" | "column" | "file" | "module_path" | "stringify", Some(_)) => {
                        out.layout = true;
                    }
                    ("cfg" | "cfg_attr", _) => out.add("cfg".into()),
                    ("checkpoint", _) => {
                        // A called `#[checkpoint(env("V"), files("p"))]` function watches
                        // these at run time: so must its callers (see `Fingerprint`).
                        if let Some(TokenTree::Group(g)) = trees.get(i + 1) {
                            watches(g.stream(), out);
                        }
                    }
                    ("track_caller", _) => out.add("caller-layout".into()),
                    ("caller", _) if matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Punct(p)) if p.as_char() == ':') =>
                    {
                        // `Location::caller()`, also under another name.
                        out.add("caller-layout".into());
                    }
                    ("type_name" | "type_name_of_val", _) => {
                        out.layout = true;
                        out.add("typename".into());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// `env("V", …)` and `files("p", …)` of a `#[checkpoint(…)]`'s options, as `watch-env:V`
/// and `watch-file:p` (string literals only).
fn watches(options: TokenStream, out: &mut Scan) {
    let trees: Vec<TokenTree> = options.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        let (TokenTree::Ident(id), Some(TokenTree::Group(g))) = (t, trees.get(i + 1)) else {
            continue;
        };
        let kind = match id.to_string().as_str() {
            "env" => "watch-env",
            "files" => "watch-file",
            _ => continue,
        };
        let mut lits = Vec::new();
        all_strs(g.stream(), &mut lits);
        for l in lits {
            out.add(format!("{kind}:{l}"));
        }
    }
}

/// Attributes of the language and of std (and helper attributes of derives that read no
/// files): their strings name no files a macro reads.
pub fn is_builtin_attribute_name(name: &str) -> bool {
    matches!(
        name,
        "derive"
            | "cfg"
            | "cfg_attr"
            | "doc"
            | "allow"
            | "warn"
            | "deny"
            | "forbid"
            | "expect"
            | "inline"
            | "cold"
            | "must_use"
            | "repr"
            | "non_exhaustive"
            | "deprecated"
            | "test"
            | "ignore"
            | "should_panic"
            | "path"
            | "macro_export"
            | "macro_use"
            | "automatically_derived"
            | "track_caller"
            | "no_mangle"
            | "export_name"
            | "link_section"
            | "link_name"
            | "serde"
            | "checkpoint"
            | "hash"
            | "no_hash"
            | "hash_by"
            | "rustfmt"
            | "clippy"
            | "diagnostic"
            | "target_feature"
            | "used"
            | "default"
    )
}

/// Std macros that only make expressions: they define no items and read nothing on the
/// caller's behalf.
pub fn is_expression_macro(name: &str) -> bool {
    matches!(
        name,
        "println"
            | "print"
            | "eprintln"
            | "eprint"
            | "format"
            | "format_args"
            | "write"
            | "writeln"
            | "vec"
            | "assert"
            | "assert_eq"
            | "assert_ne"
            | "debug_assert"
            | "debug_assert_eq"
            | "debug_assert_ne"
            | "panic"
            | "todo"
            | "unimplemented"
            | "unreachable"
            | "dbg"
            | "matches"
            | "concat"
            | "stringify"
            | "include_str"
            | "include_bytes"
            | "env"
            | "option_env"
            | "cfg"
            | "line"
            | "column"
            | "file"
            | "module_path"
    )
}

/// Std macros, whose arguments read nothing on the caller's behalf (what they read, the
/// scan records itself).
fn is_std_macro(name: &str) -> bool {
    is_expression_macro(name)
        || matches!(
            name,
            "include" | "macro_rules" | "thread_local" | "compile_error"
        )
}

/// The file an `include*!` reads: a literal path relative to the including file; a
/// `concat!` of literals and `env!`s (`env!("CARGO_MANIFEST_DIR")`, `env!("OUT_DIR")`),
/// evaluated at identity time; anything else stands for the build script that made it.
fn include_input(args: TokenStream, dir: &Path) -> String {
    let text = args.to_string();
    if !text.contains("env") && !text.contains("concat") {
        return match first_str(args) {
            Some(rel) => format!("file:{}", dir.join(rel).display()),
            None => "build".into(),
        };
    }
    match concat_pieces(args) {
        Some(pieces) => format!("path:{}\x1f{}", dir.display(), pieces.join("\x1f")),
        None => "build".into(),
    }
}

/// `"a"`, `concat!("a", "b")`: the string, when every piece is a literal.
fn concat_value(args: TokenStream) -> Option<String> {
    let pieces = concat_pieces(args)?;
    pieces
        .iter()
        .map(|p| p.strip_prefix("lit:").map(String::from))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.concat())
}

/// The pieces of a `concat!` of literals and `env!("VAR")`s (or of one literal):
/// `lit:TEXT` and `env:VAR`.
fn concat_pieces(args: TokenStream) -> Option<Vec<String>> {
    let trees: Vec<TokenTree> = args.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Literal(l) => match syn::parse_str::<syn::Lit>(&l.to_string()) {
                Ok(syn::Lit::Str(s)) => out.push(format!("lit:{}", s.value())),
                _ => return None,
            },
            TokenTree::Ident(id) => {
                let group = match (trees.get(i + 1), trees.get(i + 2)) {
                    (Some(TokenTree::Punct(p)), Some(TokenTree::Group(g)))
                        if p.as_char() == '!' =>
                    {
                        g.stream()
                    }
                    _ => return None,
                };
                match id.to_string().as_str() {
                    "concat" => out.extend(concat_pieces(group)?),
                    "env" => out.push(format!("env:{}", first_str(group)?)),
                    _ => return None,
                }
                i += 2;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => {}
            _ => return None,
        }
        i += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// The first string literal at any depth of `tokens` (`"x"` of `concat!(env!("A"), "x")` is
/// not first: `"A"` is), as its value.
fn first_str(tokens: TokenStream) -> Option<String> {
    for tt in tokens {
        match tt {
            TokenTree::Literal(l) => {
                if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&l.to_string()) {
                    return Some(s.value());
                }
            }
            TokenTree::Group(g) => {
                if let Some(s) = first_str(g.stream()) {
                    return Some(s);
                }
            }
            _ => {}
        }
    }
    None
}

fn all_strs(tokens: TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Literal(l) => {
                if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&l.to_string()) {
                    out.push(s.value());
                }
            }
            TokenTree::Group(g) => all_strs(g.stream(), out),
            _ => {}
        }
    }
}

/// Byte offsets where each line of `text` starts.
pub fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The source text of lines `start..=end` (1-based) with the first line's column: what
/// `line!`, `column!` and `stringify!` can observe. `starts` is [`line_starts`] of `text`.
pub fn layout_text<'t>(
    text: &'t str,
    starts: &[usize],
    start: (usize, usize),
    end: usize,
) -> (String, &'t str) {
    let from = starts
        .get(start.0.saturating_sub(1))
        .copied()
        .unwrap_or(text.len());
    let to = starts.get(end).copied().unwrap_or(text.len()).max(from);
    (
        format!("@{}:{}\n", start.0, start.1),
        text.get(from..to).unwrap_or(""),
    )
}

/// The build as rustc was asked for it.
#[derive(Debug, Default, Clone)]
pub struct Build {
    /// `--cfg` values (features, `rustc-cfg` of a build script), `--test`, `--target`: sorted.
    pub cfg: Vec<String>,
    /// Effective `debug_assertions` and `overflow_checks`, the edition and the panic
    /// strategy: they change what arithmetic, `debug_assert!`, method resolution and
    /// unwinding do in every function.
    pub profile: String,
    /// `--extern` crates: code name and file name (whose hash is Cargo's metadata).
    pub externs: Vec<(String, String)>,
}

/// The host the macro runs on (its own target, recorded by its build script): what a
/// native build, which names no `--target`, compiles for.
fn host() -> String {
    env!("CHECKPOINTER_MACROS_HOST").to_string()
}

impl Build {
    /// From rustc's command line.
    pub fn from_args() -> Build {
        Build::parse(std::env::args().skip(1))
    }

    /// From a rustc command line without the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Build {
        let mut cfg = Vec::new();
        let mut target = None::<String>;
        let mut edition = String::from("2015");
        let mut panic = String::from("unwind");
        let mut externs = Vec::new();
        let (mut opt_level, mut debug_assertions, mut overflow_checks) =
            (String::from("0"), None::<bool>, None::<bool>);
        let mut args = args.into_iter();
        let flag = |v: &str| matches!(v, "" | "y" | "yes" | "on" | "true");
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> Option<String> {
                if arg == name {
                    args.next()
                } else {
                    arg.strip_prefix(name)
                        .and_then(|r| r.strip_prefix('='))
                        .map(String::from)
                }
            };
            if let Some(v) = value("--cfg") {
                cfg.push(format!("cfg {v}"));
            } else if let Some(v) = value("--target") {
                target = Some(v);
            } else if let Some(v) = value("--edition") {
                edition = v;
            } else if let Some(v) = value("--extern") {
                // `name=…/libname-HASH.rlib`: Cargo's hash covers the crate's version,
                // features, profile and its own dependencies.
                if let Some((name, path)) = v.split_once('=') {
                    let file = Path::new(path)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    externs.push((name.to_string(), file));
                }
            } else if arg == "--test" {
                cfg.push("test".into());
            } else if let Some(v) = value("-C").or_else(|| arg.strip_prefix("-C").map(String::from))
            {
                let (k, v) = v.split_once('=').unwrap_or((v.as_str(), ""));
                match k {
                    "opt-level" => opt_level = v.to_string(),
                    "debug-assertions" => debug_assertions = Some(flag(v)),
                    "overflow-checks" => overflow_checks = Some(flag(v)),
                    "panic" => panic = v.to_string(),
                    "target-feature" | "target-cpu" => cfg.push(format!("-C {k}={v}")),
                    _ => {}
                }
            }
        }
        // A native build names no target: it is the host, the macro's own. Every function
        // counts it: `size_of::<usize>()`, `consts::OS` and byte order differ without `cfg`.
        let target = target.unwrap_or_else(host);
        cfg.push(format!("target {target}"));
        cfg.sort();
        cfg.dedup();
        let debug_assertions = debug_assertions.unwrap_or(opt_level == "0");
        let overflow_checks = overflow_checks.unwrap_or(debug_assertions);
        externs.sort();
        Build {
            cfg,
            profile: format!(
                "debug_assertions={debug_assertions} overflow_checks={overflow_checks} edition={edition} panic={panic} target={target}"
            ),
            externs,
        }
    }
}

/// Reads the current values of inputs at identity time.
pub struct Eval<'a> {
    pub build: &'a Build,
    /// The manifest directory of the crate being compiled.
    pub manifest_dir: &'a Path,
    /// The workspace's manifests (root and members).
    pub workspace_manifests: &'a [PathBuf],
    /// [`Eval::crate_files`] digests by directory: a package is read once per identity,
    /// however many of its inputs the closure reaches.
    pub packages: std::cell::RefCell<std::collections::HashMap<PathBuf, [u8; 32]>>,
}

impl Eval<'_> {
    /// The current value of `input` of a unit of the crate being compiled (`own`) or of a
    /// dependency at `dep_dir`, written to `h`.
    pub fn input(&self, input: &str, own: bool, dep_dir: &Path, h: &mut blake3::Hasher) {
        h.update(b"\0input\0");
        h.update(input.as_bytes());
        h.update(b"\0");
        if let Some(path) = input.strip_prefix("file:") {
            file(Path::new(path), h);
        } else if let Some(spec) = input.strip_prefix("path:") {
            // `concat!(env!("CARGO_MANIFEST_DIR"), "/data.txt")`: rustc's env is ours.
            let mut parts = spec.split('\x1f');
            let dir = PathBuf::from(parts.next().unwrap_or(""));
            let mut path = String::new();
            for p in parts {
                if let Some(l) = p.strip_prefix("lit:") {
                    path.push_str(l);
                } else if let Some(v) = p.strip_prefix("env:") {
                    let value = if v == "CARGO_MANIFEST_DIR" {
                        Some(dep_dir.display().to_string())
                    } else {
                        std::env::var(v).ok().filter(|_| own)
                    };
                    match value {
                        Some(v) => path.push_str(&v),
                        None => {
                            self.crate_files(dep_dir, h);
                            return;
                        }
                    }
                }
            }
            file(&dir.join(path), h);
            h.update(b"build script");
            file(&build_script(self.manifest_dir), h);
        } else if let Some(var) = input.strip_prefix("env:") {
            // A dependency's env! saw the dependency's own environment: its manifest and
            // build script decide it, so they stand in beside this build's value.
            match std::env::var_os(var) {
                Some(v) => h.update(v.as_encoded_bytes()),
                None => h.update(b"\xffunset"),
            };
            if own {
                // A build script may set it (`cargo:rustc-env`) from anything it reads.
                h.update(b"build script");
                file(&build_script(self.manifest_dir), h);
            } else {
                self.crate_files(dep_dir, h);
            }
        } else if input == "cfg" {
            if own {
                for c in &self.build.cfg {
                    h.update(c.as_bytes());
                    h.update(b"\n");
                }
            } else {
                // A dependency's features are decided by the manifests that depend on it
                // (unified over the workspace), its profile by the workspace root, and the
                // features asked for on the command line reach it only through this
                // build's `--extern` file names (hashed for the crates named).
                self.crate_files(dep_dir, h);
                self.crate_files(self.manifest_dir, h);
                for m in self.workspace_manifests {
                    file(m, h);
                }
                for c in &self.build.cfg {
                    h.update(c.as_bytes());
                }
            }
        } else if input == "build" {
            self.crate_files(if own { self.manifest_dir } else { dep_dir }, h);
        }
    }

    /// The manifest and build script of the crate at `dir` — and, for a dependency (whose
    /// build script's outputs this build cannot see), every file of its package but
    /// `target/` and `src/` (the build script's modules, the data it reads).
    pub fn crate_files(&self, dir: &Path, h: &mut blake3::Hasher) {
        let known = self.packages.borrow().get(dir).copied();
        let digest = known.unwrap_or_else(|| {
            let mut p = blake3::Hasher::new();
            p.update(b"Cargo.toml");
            file(&dir.join("Cargo.toml"), &mut p);
            let script = build_script(dir);
            p.update(b"build script");
            file(&script, &mut p);
            if dir != self.manifest_dir && script.is_file() {
                package_files(dir, dir, &mut p, 0);
            }
            let d = *p.finalize().as_bytes();
            self.packages.borrow_mut().insert(dir.to_path_buf(), d);
            d
        });
        h.update(&digest);
    }
}

/// The build script of the package at `dir`: `package.build`, else `build.rs`.
pub fn build_script(dir: &Path) -> PathBuf {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let custom = manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|m| m.get("package")?.get("build")?.as_str().map(String::from));
    dir.join(custom.unwrap_or_else(|| "build.rs".into()))
}

/// Every file below `dir` but `target/`, `src/` and hidden entries, sorted, path and bytes.
fn package_files(root: &Path, dir: &Path, h: &mut blake3::Hasher, depth: usize) {
    if depth > 16 {
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || (dir == root && (name == "target" || name == "src")) {
            continue;
        }
        if p.is_dir() {
            package_files(root, &p, h, depth + 1);
        } else {
            h.update(
                p.strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .as_bytes(),
            );
            file(&p, h);
        }
    }
}

/// Hashes a file, or every file of a directory (sorted), that a string in an attribute or a
/// macro invocation names — what `#[template(path = …)]`, `include_dir!` or a SQL-file macro
/// of some crate reads. `false` if nothing is there.
pub fn named_path(path: &Path, h: &mut blake3::Hasher) -> bool {
    if path.is_file() {
        file(path, h);
        true
    } else if path.is_dir() {
        package_files(path, path, h, 0);
        true
    } else {
        false
    }
}

/// Hashes the bytes of `path` (or that it is missing).
pub fn file(path: &Path, h: &mut blake3::Hasher) {
    match std::fs::read(path) {
        Ok(bytes) => {
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
        Err(_) => {
            h.update(b"\xffmissing");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_str(src: &str) -> Scan {
        scan(src.parse().unwrap(), Path::new("/p/src/lib.rs"))
    }

    #[test]
    fn finds_includes_env_cfg_and_layout() {
        let s = scan_str(
            r#"fn f() { include_str!("../data.txt"); env!("A"); option_env!("B"); cfg!(feature = "x"); }"#,
        );
        assert!(s.inputs.contains(&"file:/p/src/../data.txt".to_string()));
        assert!(s.inputs.contains(&"env:A".to_string()));
        assert!(s.inputs.contains(&"env:B".to_string()));
        assert!(s.inputs.contains(&"cfg".to_string()));
        assert!(!s.layout);
        assert!(scan_str("fn f() -> u32 { line!() }").layout);
        assert!(scan_str("fn f() -> &'static str { std::any::type_name::<u8>() }").layout);
        let s = scan_str(r#"include!(concat!(env!("OUT_DIR"), "/gen.rs"));"#);
        assert!(
            s.inputs
                .contains(&"path:/p/src\x1fenv:OUT_DIR\x1flit:/gen.rs".to_string()),
            "{s:?}"
        );
        assert_eq!(scan_str("#[cfg(test)] fn f() {}").inputs, ["cfg"]);
    }

    #[test]
    fn build_flags_from_rustc_args() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let dev = Build::parse(args("--crate-name a --cfg feature=\"x\" -C opt-level=0"));
        let release = Build::parse(args("--crate-name a --cfg feature=\"x\" -C opt-level=3"));
        let release_checked = Build::parse(args(
            "-C opt-level=3 -C overflow-checks=on --cfg feature=\"x\"",
        ));
        assert_ne!(dev.profile, release.profile);
        assert_ne!(release.profile, release_checked.profile);
        assert_eq!(dev.cfg, release.cfg);
        let other = Build::parse(args("--cfg feature=\"y\" -C opt-level=0"));
        assert_ne!(dev.cfg, other.cfg);
        assert_eq!(
            Build::parse(args("-Copt-level=1")).profile,
            Build::parse(args("-C opt-level=3")).profile
        );
    }
}
