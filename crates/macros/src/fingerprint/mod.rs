//! Code-aware identity: the hash of a `#[checkpoint]` function's own tokens *and* of every
//! item of the user's code it depends on, transitively.
//!
//! At expansion time the crate's sources are found (`Span::local_file()` and
//! `CARGO_MANIFEST_DIR`), parsed with syn and indexed ([`index`]); path dependencies inside
//! the same workspace are indexed too ([`cargo`]). From the function's references the
//! closure is followed by name ([`resolve`]), and the identity is blake3 over the function's
//! normalized tokens, its identity options and the closure's unit hashes sorted by kind and
//! hash — so moving an item, within a file or between files, changes nothing.
//!
//! Indexes are kept in a process-wide cache keyed by the crate's sources and checked
//! against file sizes and modification times, so a compilation parses its crate once
//! however many attributes it expands.
//!
//! The analysis never fails the build: when the sources cannot be found (no
//! `CARGO_MANIFEST_DIR`, a span without a file), the identity falls back to the function's
//! own tokens and `identity_items()` says so.

pub mod cargo;
pub mod disk;
pub mod index;
pub mod inputs;
pub mod normalize;
pub mod refs;
pub mod resolve;

use index::{text_hash, CrateIndex, CrateSources, Kind, Stamp};
use proc_macro2::TokenStream;
use quote::ToTokens;
use refs::Refs;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Version prefix of the identity input: bump it when anything hashed changes meaning.
const VERSION: &str = "checkpointer-identity-v3";

/// The identity of one function and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// 64 lowercase hex characters.
    pub identity: String,
    /// `(item path, 12 hex characters of its hash)`: the function first, then the closure
    /// sorted by path.
    pub items: Vec<(String, String)>,
    /// Environment variables and files that `#[checkpoint]` functions the function reaches
    /// watch at run time (`env("V")`, `files("p")`): the caller's result depends on them
    /// too, so its call hash watches them as well.
    pub inherited_env: Vec<String>,
    pub inherited_files: Vec<String>,
}

/// What the identity of one function is asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The function's tokens, as the attribute receives them.
    pub function: String,
    /// The identity-relevant option tokens (`deps(…)`, `capture(…)`, `env(…)`, `files(…)`).
    pub options: String,
    /// The function has `fn_hash_from`: its identity is a runtime value, so the closure is
    /// not followed.
    pub fn_hash_from: bool,
    /// Add the resolved versions of the crate's registry and git dependencies from
    /// `Cargo.lock`, as `[package.metadata.checkpointer] locked_deps = true` does.
    pub locked_deps: bool,
}

/// Where the function is.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// `CARGO_MANIFEST_DIR` of the crate being compiled.
    pub manifest_dir: Option<PathBuf>,
    /// The source file holding the attribute.
    pub file: Option<PathBuf>,
    /// The crate's name as code spells it (`CARGO_CRATE_NAME`).
    pub crate_name: String,
    /// Where parsed file indexes are kept between builds (see `disk.rs`).
    pub cache_dir: Option<PathBuf>,
    /// The line of the attribute (to tell apart functions of equal tokens).
    pub line: Option<usize>,
    /// The root file rustc compiles, from its command line.
    pub target_root: Option<PathBuf>,
    /// The build's cfg set and profile, from rustc's command line.
    pub build: inputs::Build,
}

impl Site {
    /// The site of the attribute being expanded. Only callable inside a macro.
    pub fn of_call_site() -> Site {
        let span = proc_macro::Span::call_site();
        let file = span.local_file();
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let crate_name = std::env::var("CARGO_CRATE_NAME")
            .or_else(|_| std::env::var("CARGO_PKG_NAME").map(|n| n.replace('-', "_")))
            .unwrap_or_else(|_| "crate".to_string());
        Site {
            manifest_dir,
            file,
            crate_name,
            cache_dir: out_dir().map(|d| d.join("checkpointer-fingerprint")),
            line: Some(span.line()),
            target_root: target_root(),
            build: inputs::Build::from_args(),
        }
    }
}

/// The crate root rustc compiles: the source file among its arguments.
fn target_root() -> Option<PathBuf> {
    std::env::args_os()
        .skip(1)
        .map(PathBuf::from)
        .find(|p| p.extension().is_some_and(|e| e == "rs") && p.is_file())
        .map(|p| absolute(&p))
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// rustc's `--out-dir` (`target/debug/deps`): the macro runs inside rustc, so its arguments
/// are rustc's. `None` outside cargo builds (rust-analyzer, plain rustc without it).
fn out_dir() -> Option<PathBuf> {
    let mut args = std::env::args_os();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy().into_owned();
        if arg == "--out-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(dir) = arg.strip_prefix("--out-dir=") {
            return Some(PathBuf::from(dir));
        }
    }
    None
}

/// The fingerprint of the function being expanded. `function` and `options` may be the
/// compiler's tokens: they are read as text before anything else happens.
pub fn fingerprint(
    function: &TokenStream,
    options: &TokenStream,
    fn_hash_from: bool,
) -> Fingerprint {
    let request = Request {
        function: function.to_string(),
        options: options.to_string(),
        fn_hash_from,
        locked_deps: false,
    };
    let site = Site::of_call_site();
    let trace = std::env::var_os("CHECKPOINTER_FINGERPRINT_TRACE").is_some();
    let started = std::time::Instant::now();
    // Parse with proc-macro2's own implementation: it is much faster than going through the
    // compiler for every token of the crate, and its tokens are plain data.
    let fallback = ForceFallback::new();
    let result = std::panic::catch_unwind(|| compute(&request, &site));
    drop(fallback);
    let fp = match result {
        Ok(fp) => fp,
        Err(_) => own_tokens_only(&request, "the source analysis failed"),
    };
    if trace {
        eprintln!(
            "checkpointer: fingerprint in {:.1} ms: {} items ({})",
            started.elapsed().as_secs_f64() * 1e3,
            fp.items.len(),
            site.file.as_deref().unwrap_or(Path::new("?")).display()
        );
    }
    fp
}

/// Switches proc-macro2 to its fallback implementation until dropped.
struct ForceFallback;

impl ForceFallback {
    fn new() -> Self {
        proc_macro2::fallback::force();
        ForceFallback
    }
}

impl Drop for ForceFallback {
    fn drop(&mut self) {
        proc_macro2::fallback::unforce();
    }
}

/// The fingerprint of `request` at `site` (the testable core of [`fingerprint`]).
pub fn compute(request: &Request, site: &Site) -> Fingerprint {
    let Ok(function) = syn::parse_str::<syn::ItemFn>(&request.function) else {
        return own_tokens_only(request, "the function did not parse");
    };
    if request.fn_hash_from {
        return own_tokens_only(request, "fn_hash_from replaces the identity");
    }
    let Some(manifest_dir) = &site.manifest_dir else {
        return own_tokens_only(request, "CARGO_MANIFEST_DIR is not set");
    };
    let options: TokenStream = request.options.parse().unwrap_or_default();

    let (plan, indexes) = load(manifest_dir, site);
    let index_refs: Vec<&CrateIndex> = indexes.iter().map(|i| i.as_ref()).collect();
    let resolver = resolve::Resolver {
        indexes: &index_refs,
    };

    // The function itself is hashed from its tokens; its unit in the index gives its scope
    // and place, never its hash. Equal tokens in two places (two nested `helper`s) are told
    // apart by the attribute's line.
    let root_key = text_hash(&[function.to_token_stream()]);
    let file = site.file.as_deref().map(absolute);
    let mut candidates: Vec<resolve::UnitId> = Vec::new();
    if let Some(idx) = index_refs.first() {
        candidates.extend(
            idx.roots
                .get(&root_key)
                .into_iter()
                .flatten()
                .map(|&u| (0, u)),
        );
    }
    let at_line: Vec<resolve::UnitId> = candidates
        .iter()
        .copied()
        .filter(|&(i, u)| {
            let Some((f, start, end)) = &index_refs[i].units[u].site else {
                return false;
            };
            let line = site.line.unwrap_or(0) as u32;
            file.as_deref().is_some_and(|file| Path::new(f) == file)
                && *start <= line
                && line <= *end
        })
        .collect();
    let roots = if at_line.is_empty() {
        candidates
    } else {
        at_line
    };
    let root_unit = (roots.len() == 1).then(|| &index_refs[roots[0].0].units[roots[0].1]);

    let mut refs = Refs::of(&function);
    refs.extend(option_refs(&options));
    // Without its unit (generated code, an unreadable file) the scope is unknown: every
    // `use` of the crate counts.
    let scopes: Vec<&str> = match (root_unit, index_refs.first()) {
        (Some(u), _) => vec![u.scope.as_str()],
        (None, Some(idx)) => idx.scoped.keys().map(String::as_str).collect(),
        (None, None) => Vec::new(),
    };
    let mut found = resolver.closure(&refs, &roots, &scopes);
    // What the function's own tokens read at compile time (scanned once).
    let own_inputs = inputs::scan(
        function.to_token_stream(),
        file.as_deref().unwrap_or(Path::new("")),
    );
    // `include!("expr.in")` in a body: the names the included code uses count too. They are
    // read now (the file is not part of the cached index), and followed like the body's.
    let (code_refs, code_inputs) =
        included_code_refs(&index_refs, &found.units, &own_inputs.inputs);
    if !code_refs.loose.is_empty() {
        let more = resolver.closure(&code_refs, &[], &[]);
        let mut seen: std::collections::HashSet<_> = found.units.iter().copied().collect();
        found
            .units
            .extend(more.units.into_iter().filter(|u| seen.insert(*u)));
    }
    let closure = &found.units;

    let own = own_text(request);
    let mut units: Vec<(Kind, [u8; 32], &str, &str)> = closure
        .iter()
        .map(|&(i, u)| {
            let unit = &index_refs[i].units[u];
            (
                unit.kind,
                unit.hash,
                unit.path.as_str(),
                index_refs[i].shorts[u].as_str(),
            )
        })
        .collect();
    // By hash (which starts with the kind): a stable order, whatever moved where.
    units.sort_unstable_by_key(|u| u.1);

    let mut h = blake3::Hasher::new();
    h.update(VERSION.as_bytes());
    h.update(b"\0");
    h.update(own.as_bytes());
    // A function nested in another one is told apart by where it is: two `helper`s of equal
    // tokens in two functions see different local items of the same names.
    if let Some(unit) = root_unit.filter(|u| u.path.contains("()")) {
        h.update(b"\0nested\0");
        h.update(unit.path.as_bytes());
        // Sibling blocks of one function give equal paths: the line tells them apart.
        if let Some((_, start, _)) = &unit.site {
            h.update(&start.to_le_bytes());
        }
    }
    for (kind, hash, _, _) in &units {
        h.update(format!("\0{kind:?}\0").as_bytes());
        h.update(hash);
    }

    // Compile-time inputs: the profile always (it changes what arithmetic does), then what
    // the function and its closure read.
    h.update(b"\0profile\0");
    h.update(site.build.profile.as_bytes());
    let eval = inputs::Eval {
        build: &site.build,
        manifest_dir,
        workspace_manifests: &plan.workspace_manifests,
        packages: Default::default(),
    };
    let mut read: Vec<(bool, &Path, &str)> = own_inputs
        .inputs
        .iter()
        .chain(&code_inputs)
        .map(|i| (true, manifest_dir.as_path(), i.as_str()))
        .collect();
    let mut layout = own_inputs.layout;
    for &(i, u) in closure {
        let unit = &index_refs[i].units[u];
        for input in &unit.inputs {
            read.push((i == 0, index_refs[i].manifest_dir.as_path(), input.as_str()));
        }
    }
    read.sort_unstable();
    read.dedup();
    let mut typename = false;
    for (own, dir, input) in &read {
        if *input == "typename" {
            typename = true;
            continue;
        }
        eval.input(input, *own, dir, &mut h);
    }
    // What user macros read on their invokers' behalf: `include_str!("x")` in a macro is
    // relative to where it is invoked, `include_str!($f)`/`env!($v)` read the invoker's
    // strings, and `line!`/`stringify!` or `#[track_caller]` observe the invoker's layout.
    let mut relative: Vec<(&str, &str)> = Vec::new();
    let mut param_macros: Vec<&str> = Vec::new();
    let mut layout_macros: Vec<&str> = Vec::new();
    for &(i, u) in closure {
        let unit = &index_refs[i].units[u];
        for input in &unit.inputs {
            if let Some(lit) = input.strip_prefix("relinclude:") {
                relative.push((unit.name.as_str(), lit));
            } else if input == "param-input" && unit.kind == Kind::MacroRules {
                param_macros.push(unit.name.as_str());
            } else if input == "layout-macro" {
                layout_macros.push(unit.name.as_str());
            } else if input == "caller-layout" {
                layout = true;
            }
        }
    }
    for (_, _, input) in &read {
        let mut parts = input.splitn(3, '\x1f');
        if let Some(m) = input
            .strip_prefix("invokes:")
            .and_then(|r| r.split('\x1f').next())
        {
            let dir = input.split('\x1f').nth(1).unwrap_or("");
            layout |= layout_macros.contains(&m);
            for (_, lit) in relative.iter().filter(|(name, _)| *name == m) {
                h.update(b"\0relative\0");
                inputs::file(&Path::new(dir).join(lit), &mut h);
            }
        } else if let (Some(m), Some(dir), Some(lit)) = (
            parts.next().and_then(|p| p.strip_prefix("lit:")),
            parts.next(),
            parts.next(),
        ) {
            if param_macros.contains(&m) {
                h.update(b"\0param\0");
                inputs::file(&Path::new(dir).join(lit), &mut h);
                match std::env::var_os(lit) {
                    Some(v) => h.update(v.as_encoded_bytes()),
                    None => h.update(b"\xffunset"),
                };
            }
            // A string naming a file or directory, given to any macro or attribute macro
            // (templates, embedded folders, SQL files): what it names counts.
            let path_like = !lit.is_empty()
                && lit.len() < 256
                && !lit.contains(|c: char| c == '{' || c == '\0' || c.is_whitespace());
            if path_like {
                // `include_dir!("$CARGO_MANIFEST_DIR/assets")`.
                let lit = match lit.strip_prefix("$CARGO_MANIFEST_DIR") {
                    Some(rest) => format!("{}{rest}", manifest_dir.display()),
                    None => lit.to_string(),
                };
                let lit = lit.as_str();
                for base in [
                    Path::new(dir).to_path_buf(),
                    manifest_dir.clone(),
                    manifest_dir.join("templates"),
                ] {
                    let mut named = blake3::Hasher::new();
                    if inputs::named_path(&base.join(lit), &mut named) {
                        h.update(b"\0named\0");
                        h.update(lit.as_bytes());
                        h.update(named.finalize().as_bytes());
                        break;
                    }
                }
            }
        }
    }
    // Two `macro_rules!` of one name: which one an invocation means depends on textual
    // order (and on `#[macro_use]` module order), so positions count.
    let mut macro_names: Vec<&str> = closure
        .iter()
        .map(|&(i, u)| &index_refs[i].units[u])
        .filter(|u| u.kind == Kind::MacroRules)
        .map(|u| u.name.as_str())
        .collect();
    macro_names.sort_unstable();
    let redefined = macro_names.windows(2).any(|w| w[0] == w[1]);
    layout |= redefined;
    if layout
        && (redefined
            || own_inputs.layout
            || !layout_macros.is_empty()
            || read.iter().any(|r| r.2 == "caller-layout"))
    {
        // Every unit's own position and text, where a macro or a caller-tracking function
        // may observe it.
        h.update(b"\0layouts\0");
        if let Some(l) = root_unit.and_then(|u| u.layout) {
            h.update(&l);
        }
        for &(i, u) in closure {
            if let Some(l) = &index_refs[i].units[u].layout {
                h.update(l);
            }
        }
    }
    if layout {
        // `line!`, `column!`, `stringify!`: the function's own position and source text
        // (its unit's hash holds them), and the attribute's line.
        if let Some(u) = root_unit {
            h.update(b"\0own layout\0");
            h.update(&u.hash);
        }
        h.update(format!("\0line {:?}\0", site.line).as_bytes());
    }
    if layout || typename {
        // `file!`, `module_path!` and `type_name` print paths: where the function and what it
        // reaches are declared counts.
        layout = true;
        h.update(b"\0paths\0");
        if let Some(f) = &file {
            h.update(f.to_string_lossy().as_bytes());
        }
        let mut paths: Vec<&str> = units.iter().map(|u| u.2).collect();
        paths.sort_unstable();
        for p in paths {
            h.update(p.as_bytes());
            h.update(b"\n");
        }
    }
    let _ = layout;

    // The edition of every dependency whose code is reached: it changes what code means.
    let mut reached: Vec<usize> = closure.iter().map(|&(i, _)| i).filter(|&i| i > 0).collect();
    reached.sort_unstable();
    reached.dedup();
    for i in reached {
        h.update(b"\0edition\0");
        h.update(cargo::edition(&index_refs[i].manifest_dir, &plan.workspace_root).as_bytes());
    }

    // Crates the closure names: the file rustc links (`--extern`; Cargo's hash in its name
    // covers version, features, profile and the crate's own dependencies), and the resolved
    // versions in `Cargo.lock` with their dependencies (for builds without `--extern`).
    for (name, file) in &site.build.externs {
        if found.names.contains(name.as_str()) {
            h.update(b"\0extern\0");
            h.update(name.as_bytes());
            h.update(b"=");
            h.update(file.as_bytes());
        }
    }
    let mut pinned: Vec<&str> = Vec::new();
    for name in &found.names {
        if let Some(lines) = plan.externals.get(*name) {
            pinned.extend(lines.iter().map(String::as_str));
        }
    }
    pinned.sort();
    pinned.dedup();
    for line in pinned {
        h.update(b"\0crate\0");
        h.update(line.as_bytes());
    }
    if request.locked_deps || plan.locked_deps {
        h.update(b"\0locked\0");
        for line in plan
            .package
            .as_deref()
            .and_then(|p| cargo::locked_versions(&plan.workspace_root, p))
            .unwrap_or_default()
        {
            h.update(line.as_bytes());
            h.update(b"\n");
        }
    }
    let identity = h.finalize().to_hex().to_string();

    let name = function.sig.ident.to_string();
    let mut items = vec![(
        root_unit
            .map(|u| u.path.clone())
            .unwrap_or_else(|| format!("{}::{name}", site.crate_name)),
        short(blake3::hash(own.as_bytes()).as_bytes()),
    )];
    let mut rest: Vec<(String, String)> = units
        .iter()
        .map(|(_, _, path, short)| (path.to_string(), short.to_string()))
        .collect();
    rest.sort_unstable();
    items.extend(rest);
    let mut inherited_env = Vec::new();
    let mut inherited_files = Vec::new();
    for &(i, u) in closure {
        for input in &index_refs[i].units[u].inputs {
            if let Some(v) = input.strip_prefix("watch-env:") {
                inherited_env.push(v.to_string());
            } else if let Some(f) = input.strip_prefix("watch-file:") {
                inherited_files.push(f.to_string());
            }
        }
    }
    for v in [&mut inherited_env, &mut inherited_files] {
        v.sort();
        v.dedup();
    }
    Fingerprint {
        identity,
        items,
        inherited_env,
        inherited_files,
    }
}

/// The function's normalized tokens and identity options: the root of every identity.
///
/// The function is normalized as syn prints it back, like every indexed item, so the same
/// code gives the same text whichever way it was read.
fn own_text(request: &Request) -> String {
    let mut text = String::new();
    match (
        syn::parse_str::<syn::ItemFn>(&request.function),
        request.function.parse::<TokenStream>(),
    ) {
        (Ok(f), _) => normalize::normalize_into(f.to_token_stream(), &mut text),
        (_, Ok(t)) => normalize::normalize_into(t, &mut text),
        _ => text.push_str(&request.function),
    }
    text.push_str(" \u{1f} options ");
    if let Ok(t) = request.options.parse::<TokenStream>() {
        normalize::normalize_into(t, &mut text);
    }
    text
}

/// The identity when the closure is not followed: the function's own tokens and options.
/// `why` is shown in `identity_items()`.
///
/// This is the identity of the first slice (`identity.rs`), unchanged.
pub fn own_tokens_only(request: &Request, why: &str) -> Fingerprint {
    let parsed = syn::parse_str::<syn::ItemFn>(&request.function);
    let function = match &parsed {
        Ok(f) => f.to_token_stream(),
        Err(_) => request.function.parse().unwrap_or_else(|_| {
            let text = &request.function;
            quote::quote!(#text)
        }),
    };
    let options = request.options.parse().unwrap_or_default();
    let identity = crate::identity::identity(function, options);
    let name = parsed
        .map(|f| f.sig.ident.to_string())
        .unwrap_or_else(|_| "fn".into());
    let short = identity[..12].to_string();
    Fingerprint {
        identity,
        items: vec![(format!("{name} (own tokens only: {why})"), short)],
        inherited_env: Vec::new(),
        inherited_files: Vec::new(),
    }
}

/// The references of code the closure `include!`s (the `code:` inputs): read at identity
/// time, since the included file is not part of the cached index.
fn included_code_refs(
    indexes: &[&CrateIndex],
    closure: &[resolve::UnitId],
    own_inputs: &[String],
) -> (Refs, Vec<String>) {
    let mut paths: Vec<String> = Vec::new();
    let unit_inputs = closure
        .iter()
        .flat_map(|&(i, u)| indexes[i].units[u].inputs.iter());
    for input in own_inputs.iter().chain(unit_inputs) {
        if let Some(p) = input.strip_prefix("code:") {
            paths.push(p.to_string());
        }
    }
    let mut refs = Refs::default();
    let mut read = Vec::new();
    for p in paths {
        if let Some(tokens) = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| t.parse::<TokenStream>().ok())
        {
            // What the included code itself reads (`env!`, `include_str!`) counts too.
            read.extend(inputs::scan(tokens.clone(), Path::new(&p)).inputs);
            refs.add_loose_tokens(tokens);
        }
    }
    (refs, read)
}

/// References the identity options add: `deps(path, …)` by path, and every other name in
/// them (the statics of `capture(…)`) loosely.
fn option_refs(options: &TokenStream) -> Refs {
    let mut refs = Refs::default();
    let trees: Vec<proc_macro2::TokenTree> = options.clone().into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        if let (proc_macro2::TokenTree::Ident(id), Some(proc_macro2::TokenTree::Group(g))) =
            (tt, trees.get(i + 1))
        {
            if id == "deps" {
                let paths = syn::parse::Parser::parse2(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                    g.stream(),
                );
                if let Ok(paths) = paths {
                    for p in &paths {
                        refs.extend(Refs::of(p));
                    }
                }
            } else {
                refs.add_loose_tokens(g.stream());
            }
        }
    }
    refs
}

/// The first 12 hex digits of a hash.
pub(crate) fn short(hash: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(12);
    for b in &hash[..6] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// What a plan depends on: the manifest directory, the target root, the attribute's file
/// and the crate name.
type PlanKey = (PathBuf, Option<PathBuf>, Option<PathBuf>, String);

/// Plans and indexes kept for the whole compilation (and longer, in a long-lived process,
/// as long as no file they were read from changes).
#[derive(Default)]
struct Cache {
    plans: HashMap<PlanKey, Arc<cargo::Plan>>,
    indexes: HashMap<CrateSources, Arc<CrateIndex>>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The plan of the crate at `manifest_dir` and the index of every crate in it, from the
/// cache when still current.
fn load(manifest_dir: &Path, site: &Site) -> (Arc<cargo::Plan>, Vec<Arc<CrateIndex>>) {
    let file = site.file.as_deref().map(absolute);
    let key = (
        manifest_dir.to_path_buf(),
        site.target_root.clone(),
        file.clone(),
        site.crate_name.clone(),
    );
    let cached_plan = {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().and_then(|c| c.plans.get(&key).cloned())
    };
    let plan = match cached_plan {
        Some(p) if p.stamps.iter().all(Stamp::is_current) => p,
        _ => {
            let p = Arc::new(cargo::plan(
                manifest_dir,
                site.target_root.clone(),
                file.into_iter().collect(),
                &site.crate_name,
            ));
            CACHE
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(Cache::default)
                .plans
                .insert(key, p.clone());
            p
        }
    };
    let mut indexes = Vec::new();
    for sources in &plan.crates {
        let cached = {
            let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
            guard.as_ref().and_then(|c| c.indexes.get(sources).cloned())
        };
        let index = match cached {
            Some(i) if i.is_current() => i,
            _ => {
                let i = Arc::new(CrateIndex::build(sources, site.cache_dir.as_deref()));
                CACHE
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(Cache::default)
                    .indexes
                    .insert(sources.clone(), i.clone());
                i
            }
        };
        indexes.push(index);
    }
    (plan, indexes)
}

#[cfg(test)]
mod tests;
