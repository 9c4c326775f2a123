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
pub mod normalize;
pub mod refs;
pub mod resolve;

use index::{text_hash, CrateIndex, CrateSources, Kind, Stamp};
use proc_macro2::TokenStream;
use quote::ToTokens;
use refs::Refs;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Version prefix of the identity input: bump it when anything hashed changes meaning.
const VERSION: &str = "checkpointer-identity-v2";

/// The identity of one function and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// 64 lowercase hex characters.
    pub identity: String,
    /// `(item path, 12 hex characters of its hash)`: the function first, then the closure
    /// sorted by path.
    pub items: Vec<(String, String)>,
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
}

impl Site {
    /// The site of the attribute being expanded. Only callable inside a macro.
    pub fn of_call_site() -> Site {
        let file = proc_macro::Span::call_site().local_file();
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let crate_name = std::env::var("CARGO_CRATE_NAME")
            .or_else(|_| std::env::var("CARGO_PKG_NAME").map(|n| n.replace('-', "_")))
            .unwrap_or_else(|_| "crate".to_string());
        Site {
            manifest_dir,
            file,
            crate_name,
            cache_dir: out_dir().map(|d| d.join("checkpointer-fingerprint")),
        }
    }
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

    // The function itself is hashed from its tokens; its own unit in the index is skipped.
    let root_key = text_hash(&[function.to_token_stream()]);
    let mut skip = HashSet::new();
    let mut root_path = None;
    if let Some(idx) = index_refs.first() {
        for (u, unit) in idx.units.iter().enumerate() {
            if unit.root_key == Some(root_key) {
                skip.insert((0, u));
                root_path.get_or_insert_with(|| unit.path.clone());
            }
        }
    }

    let mut roots = Refs::of(&function);
    roots.extend(option_refs(&options));
    let closure = resolver.closure(&roots, &skip);

    let own = own_text(request);
    let mut units: Vec<(Kind, [u8; 32], &str)> = closure
        .iter()
        .map(|&(i, u)| {
            let unit = &index_refs[i].units[u];
            (unit.kind, unit.hash, unit.path.as_str())
        })
        .collect();
    units.sort();

    let mut h = blake3::Hasher::new();
    h.update(VERSION.as_bytes());
    h.update(b"\0");
    h.update(own.as_bytes());
    for (kind, hash, _) in &units {
        h.update(format!("\0{kind:?}\0").as_bytes());
        h.update(hash);
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
        root_path.unwrap_or_else(|| format!("{}::{name}", site.crate_name)),
        short(blake3::hash(own.as_bytes()).as_bytes()),
    )];
    let mut rest: Vec<(String, String)> = units
        .iter()
        .map(|(_, hash, path)| (path.to_string(), short(hash)))
        .collect();
    rest.sort();
    items.extend(rest);
    Fingerprint { identity, items }
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
    }
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

fn short(hash: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*hash).to_hex()[..12].to_string()
}

/// The roots of the crate being compiled: the attribute's file, `src/lib.rs`, `src/main.rs`,
/// and the test, example, bench or bin root named after the crate.
fn crate_roots(manifest_dir: &Path, site: &Site) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(f) = &site.file {
        let f = if f.is_absolute() {
            f.clone()
        } else {
            std::env::current_dir()
                .map(|d| d.join(f))
                .unwrap_or_else(|_| f.clone())
        };
        roots.push(f);
    }
    roots.push(manifest_dir.join("src/lib.rs"));
    roots.push(manifest_dir.join("src/main.rs"));
    let names = [site.crate_name.clone(), site.crate_name.replace('_', "-")];
    for dir in ["tests", "examples", "benches", "src/bin"] {
        for n in &names {
            roots.push(manifest_dir.join(dir).join(format!("{n}.rs")));
            roots.push(manifest_dir.join(dir).join(n).join("main.rs"));
        }
    }
    let mut seen = HashSet::new();
    roots.retain(|r| {
        r.is_file() && seen.insert(std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
    });
    roots
}

/// Plans and indexes kept for the whole compilation (and longer, in a long-lived process,
/// as long as no file they were read from changes).
#[derive(Default)]
struct Cache {
    plans: HashMap<(PathBuf, Vec<PathBuf>, String), Arc<cargo::Plan>>,
    indexes: HashMap<CrateSources, Arc<CrateIndex>>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The plan of the crate at `manifest_dir` and the index of every crate in it, from the
/// cache when still current.
fn load(manifest_dir: &Path, site: &Site) -> (Arc<cargo::Plan>, Vec<Arc<CrateIndex>>) {
    let roots = crate_roots(manifest_dir, site);
    let key = (
        manifest_dir.to_path_buf(),
        roots.clone(),
        site.crate_name.clone(),
    );
    let cached_plan = {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().and_then(|c| c.plans.get(&key).cloned())
    };
    let plan = match cached_plan {
        Some(p) if p.stamps.iter().all(Stamp::is_current) => p,
        _ => {
            let p = Arc::new(cargo::plan(manifest_dir, roots, &site.crate_name));
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
