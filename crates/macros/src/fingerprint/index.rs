//! The item index of one crate: every item of its sources, at every depth, as a hashed unit
//! with the names it defines and the names it refers to.
//!
//! Sources are found from the crate's roots by following `mod` declarations (`#[path]`
//! included) and item-position `include!`s. Files nothing declares are not compiled and do
//! not count — unless a macro could declare a module (`mod` in an item macro's arguments,
//! a file that does not parse): then every `.rs` file under `src/` is indexed too. A
//! file that does not parse becomes one opaque unit hashed byte for byte and included in
//! every closure, so it can only over-invalidate.
//!
//! Everything that introduces or renames a name is a unit too, so that editing it changes
//! the identity of what it can reach: `use` declarations (one unit per leaf, renames and
//! globs included), `mod` declarations (with `#[path]` and `#[cfg]`), `extern crate`,
//! enum variants (names of their enum), and item-position macro invocations (found by every
//! name in their arguments, since `fn $name` can define any of them). Items nested in
//! function bodies and `const _: () = { … }` blocks are indexed like any other.
//!
//! Units hold plain data only (strings and digests), never syntax trees: token streams of
//! one macro invocation must not outlive it, and the index is reused by later invocations.

use super::inputs;
use super::normalize::normalize_into;
use super::refs::{unraw, Refs};
use quote::{quote, ToTokens};
use rustc_hash::FxHashMap as HashMap;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use syn::spanned::Spanned;

/// What kind of item a unit is. Part of its hash and of the closure's sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Fn,
    Method,
    TraitMethod,
    Struct,
    Enum,
    Union,
    TypeAlias,
    Const,
    Static,
    Trait,
    MacroRules,
    /// A macro invocation at item or impl-item position (`thread_local! { … }`,
    /// `impl_all!(u8, u16)`): reachable by every name in its arguments, and whenever the
    /// `macro_rules!` it invokes is reached.
    ItemMacro,
    /// The header of a trait impl (`impl Trait for Type`), even one without items.
    Impl,
    AssocConst,
    AssocType,
    /// Source the index cannot analyse (a file syn cannot parse, a verbatim item): part of
    /// every closure.
    Opaque,
    /// A private `use` leaf (or `extern crate`): part of the closure of everything in its
    /// scope, since it decides what their names mean, and found by the name it introduces.
    Use,
    /// A `use` leaf visible outside its module (`pub use`, `pub(crate) use`).
    PubUse,
    /// A `mod` declaration: its name, `#[path]` and `#[cfg]` decide which items exist.
    Mod,
}

impl Kind {
    /// Every kind, in a fixed order (the on-disk encoding uses positions in it).
    pub const ALL: [Kind; 19] = [
        Kind::Fn,
        Kind::Method,
        Kind::TraitMethod,
        Kind::Struct,
        Kind::Enum,
        Kind::Union,
        Kind::TypeAlias,
        Kind::Const,
        Kind::Static,
        Kind::Trait,
        Kind::MacroRules,
        Kind::ItemMacro,
        Kind::Impl,
        Kind::AssocConst,
        Kind::AssocType,
        Kind::Opaque,
        Kind::Use,
        Kind::PubUse,
        Kind::Mod,
    ];

    fn tag(self) -> &'static str {
        match self {
            Kind::Fn => "fn",
            Kind::Method => "method",
            Kind::TraitMethod => "trait-method",
            Kind::Struct => "struct",
            Kind::Enum => "enum",
            Kind::Union => "union",
            Kind::TypeAlias => "type",
            Kind::Const => "const",
            Kind::Static => "static",
            Kind::Trait => "trait",
            Kind::MacroRules => "macro_rules",
            Kind::ItemMacro => "item-macro",
            Kind::Impl => "impl",
            Kind::AssocConst => "assoc-const",
            Kind::AssocType => "assoc-type",
            Kind::Opaque => "opaque",
            Kind::Use => "use",
            Kind::PubUse => "pub-use",
            Kind::Mod => "mod",
        }
    }

    /// Kinds a plain name (`helper`, `Point`, `LIMIT`, `imp`) finds from anywhere.
    pub fn is_free(self) -> bool {
        !matches!(
            self,
            Kind::Method
                | Kind::TraitMethod
                | Kind::Impl
                | Kind::AssocConst
                | Kind::AssocType
                | Kind::Opaque
        )
    }

    /// `use` leaves.
    pub fn is_use(self) -> bool {
        matches!(self, Kind::Use | Kind::PubUse)
    }
}

/// One hashed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub kind: Kind,
    /// The name the unit defines; empty for impl headers, opaque units and glob imports.
    pub name: String,
    /// Further names the unit is found by: enum variants, what a macro visibly defines,
    /// every name in an item-position invocation's arguments. For `use` leaves: the original
    /// name of a rename, or the module of a glob.
    pub extra_names: Vec<String>,
    /// Where it is, for `identity_items()`: `crate::module::Item`, `<Type as Trait>::item`.
    pub path: String,
    /// The module or function body it is declared in (`app::calc`, `app::outer()`): the
    /// `use` declarations of this scope and its parents decide what its names mean.
    pub scope: String,
    /// For trait impls (header and items): every name of the header (trait, self type,
    /// generic arguments, wrapped types) but the impl's own generic parameters. The impl is
    /// part of the closure of anything reaching one of them.
    pub filed_under: Vec<String>,
    /// blake3 of the kind and the normalized tokens (and, for code that observes its own
    /// layout, of its position and source text).
    pub hash: [u8; 32],
    pub refs: Refs,
    /// For `#[checkpoint]` functions: the hash of their normalized tokens without that
    /// attribute — what the attribute itself receives — to recognise the function being
    /// expanded.
    pub root_key: Option<[u8; 32]>,
    /// For `#[checkpoint]` functions: the file and the first and last line.
    pub site: Option<(String, u32, u32)>,
    /// Compile-time inputs the unit reads (see `inputs.rs`).
    pub inputs: Vec<String>,
    /// blake3 of the unit's file, path, position and source text: counted when a macro it
    /// invokes, or a `#[track_caller]` function it calls, observes where it is.
    pub layout: Option<[u8; 32]>,
}

/// A file's size and modification time when it was read: the index is rebuilt when one changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub path: PathBuf,
    pub state: Option<(u64, SystemTime)>,
    /// Where a symbolic link points: retargeting it changes what is read.
    pub link: Option<PathBuf>,
}

impl Stamp {
    pub fn of(path: &Path) -> Stamp {
        let state = std::fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        Stamp {
            path: path.to_path_buf(),
            state,
            link: std::fs::read_link(path).ok(),
        }
    }

    pub fn is_current(&self) -> bool {
        *self == Stamp::of(&self.path)
    }
}

/// Where one crate's sources are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CrateSources {
    /// The crate's name as code spells it (`my_lib`), the first segment of item paths.
    pub name: String,
    /// Root files (lib.rs, main.rs, the test or example being compiled), module path empty.
    pub roots: Vec<PathBuf>,
    /// Directories whose `.rs` files are all indexed (`src/` of a library).
    pub dirs: Vec<PathBuf>,
    /// The crate's manifest directory (for its build script and manifest as inputs).
    pub manifest_dir: PathBuf,
}

/// The units of one crate and the lookups resolution uses.
#[derive(Debug, Default)]
pub struct CrateIndex {
    pub units: Vec<Unit>,
    /// Units part of every closure: opaque source, invocations of macros that make names
    /// out of pieces (`paste!`).
    pub always: Vec<usize>,
    /// Units found by a plain name.
    pub free: HashMap<String, Vec<usize>>,
    /// Impl and trait items (and impl-position macro output) by name.
    pub assoc: HashMap<String, Vec<usize>>,
    /// Trait-impl units by every name of their header.
    pub filed: HashMap<String, Vec<usize>>,
    /// Names that stand for others, by what they stand for: `type M = Money` and
    /// `use Money as M` under `Money`, so impls written on `M` follow `Money`.
    pub reverse: HashMap<String, Vec<usize>>,
    /// `use` leaves by scope.
    pub scoped: HashMap<String, Vec<usize>>,
    /// Glob imports by their module's last segment (`use imp::*` under `imp`).
    pub globs: HashMap<String, Vec<usize>>,
    /// `mod` declarations by module name.
    pub mods: HashMap<String, Vec<usize>>,
    /// Item-position macro invocations by macro name.
    pub invocations: HashMap<String, Vec<usize>>,
    /// The files read, to tell when the index is stale.
    pub stamps: Vec<Stamp>,
    /// How many lines were parsed (for the trace and the benchmark).
    pub lines: usize,
    /// The crate's manifest directory.
    pub manifest_dir: PathBuf,
    /// `#[checkpoint]` functions by root key (see [`Unit::root_key`]).
    pub roots: HashMap<[u8; 32], Vec<usize>>,
    /// Each unit's short hash, as `identity_items()` shows it.
    pub shorts: Vec<String>,
}

impl CrateIndex {
    /// Reads and indexes the crate's sources. Never fails: unreadable files are skipped
    /// (they are not part of the crate then), unparsable ones become opaque units.
    /// `cache`: a directory for the on-disk cache of file indexes (see `disk.rs`).
    pub fn build(sources: &CrateSources, cache: Option<&Path>) -> CrateIndex {
        let mut b = Builder {
            crate_name: sources.name.clone(),
            cache,
            index: CrateIndex {
                manifest_dir: sources.manifest_dir.clone(),
                ..CrateIndex::default()
            },
            seen: HashSet::new(),
            queue: Vec::new(),
        };
        for root in &sources.roots {
            b.enqueue(root.clone(), Vec::new());
            b.drain();
        }
        // Files no `mod` declares are not compiled — unless a macro may declare modules
        // (`mod` among an item macro's arguments, a file that does not parse): then every
        // file of the directories counts.
        let may_declare = b.index.units.iter().any(|u| {
            u.kind == Kind::Opaque || (u.kind == Kind::ItemMacro && u.refs.loose.contains("mod"))
        });
        for dir in sources.dirs.iter().filter(|_| may_declare) {
            let mut files = Vec::new();
            let mut dirs = Vec::new();
            rs_files(dir, &mut files, &mut dirs, 0);
            // A file added to a directory changes the directory's modification time.
            b.index.stamps.extend(dirs.iter().map(|d| Stamp::of(d)));
            files.sort();
            for f in files {
                let module = module_of(dir, &f);
                b.enqueue(f, module);
            }
            b.drain();
        }
        // Invocations of macros that build names from pieces (`paste!`) count everywhere.
        let mut always: Vec<usize> = Vec::new();
        for unit in &b.index.units {
            if unit.kind == Kind::MacroRules && unit.inputs.iter().any(|x| x == "pastes") {
                always.extend(b.index.invocations.get(&unit.name).into_iter().flatten());
            }
        }
        b.index.always.extend(always);
        b.index
    }

    /// Whether every file read is unchanged.
    pub fn is_current(&self) -> bool {
        self.stamps.iter().all(Stamp::is_current)
    }

    fn push(&mut self, unit: Unit) {
        let id = self.units.len();
        let add = |map: &mut HashMap<String, Vec<usize>>, name: &str| {
            if !name.is_empty() {
                map.entry(name.to_string()).or_default().push(id);
            }
        };
        match unit.kind {
            Kind::Opaque => self.always.push(id),
            Kind::Use | Kind::PubUse => {
                add(&mut self.scoped, &unit.scope);
                let other = unit.extra_names.first().map(String::as_str).unwrap_or("");
                if unit.name.is_empty() {
                    add(&mut self.globs, other);
                } else {
                    if unit.name != "_" {
                        add(&mut self.free, &unit.name);
                    }
                    if other != unit.name {
                        add(&mut self.reverse, other);
                    }
                }
            }
            k if k.is_free() => {
                for name in std::iter::once(&unit.name).chain(&unit.extra_names) {
                    add(&mut self.free, name);
                }
                // Macros may define methods too (`impl_hash!(u8)` → `fn object_hash`).
                for name in &unit.extra_names {
                    add(&mut self.assoc, name);
                }
                match k {
                    Kind::ItemMacro => add(&mut self.invocations, &unit.name),
                    Kind::Mod => add(&mut self.mods, &unit.name),
                    Kind::TypeAlias => {
                        for n in unit.refs.all_names() {
                            if n != &unit.name {
                                add(&mut self.reverse, n);
                            }
                        }
                    }
                    Kind::MacroRules if unit.inputs.iter().any(|i| i == "pastes") => {
                        // Resolved when the closure starts (see resolve.rs).
                    }
                    _ => {}
                }
            }
            _ => {
                add(&mut self.assoc, &unit.name);
                for name in &unit.extra_names {
                    add(&mut self.assoc, name);
                }
            }
        }
        for name in &unit.filed_under {
            add(&mut self.filed, name);
        }
        if let Some(key) = unit.root_key {
            self.roots.entry(key).or_default().push(id);
        }
        self.shorts.push(super::short(&unit.hash));
        self.units.push(unit);
    }
}

/// Every `.rs` file below `dir`, skipping hidden directories and `target`.
fn rs_files(dir: &Path, out: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    dirs.push(dir.to_path_buf());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !name.starts_with('.') && name != "target" {
                rs_files(&path, out, dirs, depth + 1);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The module path of a file found by walking `dir`: `a/b.rs` → `a::b`, `a/mod.rs` → `a`.
fn module_of(dir: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(dir).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// What one source file contributes, independent of the other files: cached on disk by
/// content (see `disk.rs`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileIndex {
    pub units: Vec<Unit>,
    /// Files `mod x;` declarations (and item-position `include!`s) may load (those that
    /// exist are indexed), with their module paths.
    pub mods: Vec<(PathBuf, Vec<String>)>,
    pub lines: usize,
}

impl FileIndex {
    /// Indexes the text of the file at `path`, reached as module `module` of crate
    /// `crate_name`.
    pub fn parse(text: &str, path: &Path, crate_name: &str, module: &[String]) -> FileIndex {
        let mut out = FileIndex {
            lines: text.lines().count(),
            ..FileIndex::default()
        };
        match syn::parse_file(text) {
            Ok(file) => {
                let mut cx = FileCx {
                    crate_name,
                    out: &mut out,
                    file: path,
                    text,
                    module: module.to_vec(),
                    inline_dirs: Vec::new(),
                    keep_docs: false,
                    line_starts: inputs::line_starts(text),
                };
                let mut inline = Vec::new();
                // Inner attributes (`#![cfg(…)]`) of the file apply to all of it.
                let attrs: Vec<&syn::Attribute> = file
                    .attrs
                    .iter()
                    .filter(|a| !a.path().is_ident("doc"))
                    .collect();
                if !attrs.is_empty() {
                    let tokens = quote!(#(#attrs)*);
                    let mut refs = Refs::default();
                    for a in &attrs {
                        refs.extend(Refs::of(*a));
                    }
                    let name = module.last().cloned().unwrap_or_default();
                    let path = format!("{} (inner attributes)", cx.display_path(&inline, ""));
                    cx.push(Kind::Mod, name, path, &[tokens], refs, None);
                }
                cx.items(&file.items, &mut inline);
            }
            Err(_) => {
                let mut h = blake3::Hasher::new();
                h.update(b"opaque-file\0");
                h.update(text.as_bytes());
                let mut refs = Refs::default();
                if let Ok(tokens) = text.parse::<proc_macro2::TokenStream>() {
                    refs.add_loose_tokens(tokens);
                }
                out.units.push(Unit {
                    kind: Kind::Opaque,
                    name: String::new(),
                    extra_names: Vec::new(),
                    path: format!("{} (not parsed: hashed as text)", path.display()),
                    scope: String::new(),
                    filed_under: Vec::new(),
                    hash: *h.finalize().as_bytes(),
                    refs,
                    root_key: None,
                    site: None,
                    inputs: vec!["cfg".into(), "build".into()],
                    layout: None,
                });
            }
        }
        out
    }
}

struct Builder<'c> {
    crate_name: String,
    cache: Option<&'c Path>,
    index: CrateIndex,
    seen: HashSet<PathBuf>,
    queue: Vec<(PathBuf, Vec<String>)>,
}

impl Builder<'_> {
    fn enqueue(&mut self, path: PathBuf, module: Vec<String>) {
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            // The index is stale when the link is pointed elsewhere.
            self.index.stamps.push(Stamp::of(&path));
        }
        let key = std::fs::canonicalize(&path).unwrap_or(path);
        if self.seen.insert(key.clone()) {
            self.queue.push((key, module));
        }
    }

    fn drain(&mut self) {
        while let Some((path, module)) = self.queue.pop() {
            self.file(&path, module);
        }
    }

    fn file(&mut self, path: &Path, module: Vec<String>) {
        let stamp = Stamp::of(path);
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        self.index.stamps.push(stamp);
        let file = super::disk::file_index(self.cache, &text, path, &self.crate_name, &module);
        self.index.lines += file.lines;
        for unit in file.units {
            self.index.push(unit);
        }
        for (candidate, module) in file.mods {
            if candidate.is_file() {
                self.enqueue(candidate, module);
            }
        }
    }
}

/// Names never worth following as a header or macro-argument name: keywords, primitive
/// types and the std prelude, unless the user's code defines them (checked at resolution).
pub fn is_common(name: &str) -> bool {
    super::normalize::is_keyword(name)
        || matches!(
            name,
            "false"
                | "true"
                | "self"
                | "Self"
                | "super"
                | "u8"
                | "u16"
                | "u32"
                | "u64"
                | "u128"
                | "usize"
                | "i8"
                | "i16"
                | "i32"
                | "i64"
                | "i128"
                | "isize"
                | "f32"
                | "f64"
                | "bool"
                | "char"
                | "str"
                | "std"
                | "core"
                | "alloc"
        )
        || super::resolve::STD_NAMES.contains(&name)
}

/// Indexing one parsed file.
struct FileCx<'a> {
    crate_name: &'a str,
    out: &'a mut FileIndex,
    file: &'a Path,
    text: &'a str,
    module: Vec<String>,
    /// The directories of the inline modules around (their `#[path]`, else their name).
    inline_dirs: Vec<String>,
    /// The unit being made keeps its doc comments (a derive may read them).
    keep_docs: bool,
    /// Where each line of `text` starts.
    line_starts: Vec<usize>,
}

/// Items nested in a body: blocks of functions, closures, consts and statics.
#[derive(Default)]
struct Nested(Vec<syn::Item>);

impl<'ast> syn::visit::Visit<'ast> for Nested {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.0.push(i.clone());
    }

    /// A macro statement may define items (`thread_local!`, a user's `make_fn!(name)`):
    /// indexed like an item-position invocation, unless it is one of std's expression
    /// macros.
    fn visit_stmt_macro(&mut self, m: &'ast syn::StmtMacro) {
        let name = m.mac.path.segments.last().map(|s| s.ident.to_string());
        if name.as_deref().is_some_and(inputs::is_expression_macro) {
            return;
        }
        self.0.push(syn::Item::Macro(syn::ItemMacro {
            attrs: m.attrs.clone(),
            ident: None,
            mac: m.mac.clone(),
            semi_token: m.semi_token,
        }));
    }
}

impl FileCx<'_> {
    fn display_path(&self, inline: &[String], name: &str) -> String {
        let mut parts = vec![self.crate_name.to_string()];
        parts.extend(self.module.iter().cloned());
        parts.extend(inline.iter().cloned());
        if !name.is_empty() {
            parts.push(name.to_string());
        }
        parts.join("::")
    }

    fn items(&mut self, items: &[syn::Item], inline: &mut Vec<String>) {
        for item in items {
            self.item(item, inline);
        }
    }

    /// Indexes the items nested in `visit`'s body under the scope `inline` + `segment`.
    fn nested(
        &mut self,
        inline: &mut Vec<String>,
        segment: String,
        visit: impl FnOnce(&mut Nested),
    ) {
        let mut found = Nested::default();
        visit(&mut found);
        if found.0.is_empty() {
            return;
        }
        inline.push(segment);
        let items = std::mem::take(&mut found.0);
        self.items(&items, inline);
        inline.pop();
    }

    /// A unit of this file: hashed from `parts` (plus, where the code observes its own
    /// layout, its position, source text and path), with its compile-time inputs.
    fn unit(
        &self,
        kind: Kind,
        name: String,
        path: String,
        parts: &[proc_macro2::TokenStream],
        refs: Refs,
        span: Option<proc_macro2::Span>,
    ) -> Unit {
        let mut scan = inputs::Scan::default();
        for p in parts {
            let s = inputs::scan(p.clone(), self.file);
            scan.layout |= s.layout;
            scan.include_lits.extend(s.include_lits);
            for i in s.inputs {
                if !scan.inputs.contains(&i) {
                    scan.inputs.push(i);
                }
            }
        }
        let mut hash = unit_hash(kind, parts, self.keep_docs);
        let layout = span.map(|span| {
            let (start, end) = (span.start(), span.end());
            let mut h = blake3::Hasher::new();
            h.update(self.file.to_string_lossy().as_bytes());
            h.update(b"\0");
            h.update(path.as_bytes());
            h.update(b"\0");
            let (position, source) = inputs::layout_text(
                self.text,
                &self.line_starts,
                (start.line, start.column),
                end.line,
            );
            h.update(position.as_bytes());
            h.update(source.as_bytes());
            *h.finalize().as_bytes()
        });
        if let (true, Some(layout)) = (scan.layout, layout) {
            let mut h = blake3::Hasher::new();
            h.update(&hash);
            h.update(&layout);
            hash = *h.finalize().as_bytes();
        }
        if kind == Kind::MacroRules {
            for lit in &scan.include_lits {
                scan.inputs.push(format!("relinclude:{lit}"));
            }
            if scan.layout {
                scan.inputs.push("layout-macro".into());
            }
        }
        Unit {
            kind,
            name,
            extra_names: Vec::new(),
            scope: String::new(),
            path,
            filed_under: Vec::new(),
            hash,
            refs,
            root_key: None,
            site: None,
            inputs: scan.inputs,
            layout,
        }
    }

    fn push(
        &mut self,
        kind: Kind,
        name: String,
        path: String,
        parts: &[proc_macro2::TokenStream],
        refs: Refs,
        span: Option<proc_macro2::Span>,
    ) -> &mut Unit {
        let scope = path_scope(&path, &name);
        let mut unit = self.unit(kind, name, path, parts, refs, span);
        unit.scope = scope;
        self.out.units.push(unit);
        self.out.units.last_mut().expect("just pushed")
    }

    /// A named item hashed whole: its kind, name, display path, tokens and references.
    fn push_named(
        &mut self,
        kind: Kind,
        ident: &syn::Ident,
        item: &syn::Item,
        inline: &[String],
    ) -> &mut Unit {
        let name = unraw(&ident.to_string());
        let path = self.display_path(inline, &name);
        let scope = self.display_path(inline, "");
        let attrs = item_attrs(item);
        self.keep_docs = reads_docs(attrs);
        let extra = attribute_names(attrs);
        let unit = self.push(
            kind,
            name,
            path,
            &[item.to_token_stream()],
            Refs::of(item),
            Some(item.span()),
        );
        unit.scope = scope;
        unit.extra_names = extra;
        self.keep_docs = false;
        self.out.units.last_mut().expect("just pushed")
    }

    fn item(&mut self, item: &syn::Item, inline: &mut Vec<String>) {
        use syn::Item;
        let simple = |ident: &syn::Ident| unraw(&ident.to_string());
        let scope = self.display_path(inline, "");
        match item {
            Item::Fn(f) => {
                let name = simple(&f.sig.ident);
                let parts = fn_parts(
                    &f.attrs,
                    &f.sig,
                    item.to_token_stream(),
                    || Refs::of(item),
                    || {
                        let mut f = f.clone();
                        f.attrs.retain(|a| !is_checkpoint(a));
                        f.to_token_stream()
                    },
                );
                let path = self.display_path(inline, &name);
                let site = self.site_of(parts.root_key, item.span());
                let unit = self.push(
                    Kind::Fn,
                    name.clone(),
                    path,
                    &[parts.tokens],
                    parts.refs,
                    Some(item.span()),
                );
                unit.scope = scope;
                unit.root_key = parts.root_key;
                unit.site = site;
                unit.extra_names = attribute_names(&f.attrs);
                self.nested(inline, format!("{name}()"), |n| {
                    syn::visit::Visit::visit_block(n, &f.block)
                });
            }
            Item::Struct(syn::ItemStruct { ident, .. }) => {
                self.push_named(Kind::Struct, ident, item, inline);
            }
            Item::Enum(e) => {
                let variants: Vec<String> = e.variants.iter().map(|v| simple(&v.ident)).collect();
                self.push_named(Kind::Enum, &e.ident, item, inline)
                    .extra_names
                    .extend(variants);
            }
            Item::Union(syn::ItemUnion { ident, .. }) => {
                self.push_named(Kind::Union, ident, item, inline);
            }
            Item::Type(syn::ItemType { ident, .. }) => {
                self.push_named(Kind::TypeAlias, ident, item, inline);
            }
            Item::Const(c) => {
                self.push_named(Kind::Const, &c.ident, item, inline);
                self.nested(inline, format!("const {}", simple(&c.ident)), |n| {
                    syn::visit::Visit::visit_expr(n, &c.expr)
                });
            }
            Item::Static(s) => {
                self.push_named(Kind::Static, &s.ident, item, inline);
                self.nested(inline, format!("static {}", simple(&s.ident)), |n| {
                    syn::visit::Visit::visit_expr(n, &s.expr)
                });
            }
            Item::TraitAlias(syn::ItemTraitAlias { ident, .. }) => {
                self.push_named(Kind::Trait, ident, item, inline);
            }
            Item::Trait(t) => self.trait_item(t, inline),
            Item::Impl(i) => self.impl_item(i, inline),
            Item::Macro(m) => self.item_macro(item, m, inline),
            Item::Mod(m) => {
                let name = simple(&m.ident);
                let attrs: Vec<&syn::Attribute> = m
                    .attrs
                    .iter()
                    .filter(|a| !a.path().is_ident("doc"))
                    .collect();
                let (vis, ident) = (&m.vis, &m.ident);
                let mut refs = Refs::default();
                for a in &attrs {
                    refs.extend(Refs::of(*a));
                }

                let path = self.display_path(inline, &name);
                self.push(
                    Kind::Mod,
                    name.clone(),
                    path,
                    &[quote!(#(#attrs)* #vis mod #ident)],
                    refs,
                    None,
                )
                .scope = scope;
                match &m.content {
                    Some((_, items)) => {
                        // `#[path = "other"] mod outer { mod inner; }` loads `other/inner.rs`.
                        let dir = path_attrs(&m.attrs)
                            .into_iter()
                            .next()
                            .unwrap_or_else(|| name.clone());
                        inline.push(name);
                        self.inline_dirs.push(dir);
                        self.items(items, inline);
                        self.inline_dirs.pop();
                        inline.pop();
                    }
                    None => {
                        let mut module = self.module.clone();
                        module.extend(inline.iter().cloned());
                        module.push(name.clone());
                        let paths = path_attrs(&m.attrs);
                        let dirs = self.inline_dirs.clone();
                        let mut files = Vec::new();
                        // `#[cfg_attr(feature = "x", path = "…")]`: every file it may load.
                        if paths.is_empty() || m.attrs.iter().any(|a| a.path().is_ident("cfg_attr"))
                        {
                            files.extend(mod_file_candidates(self.file, &dirs, &name, None));
                        }
                        for p in &paths {
                            files.extend(mod_file_candidates(self.file, &dirs, &name, Some(p)));
                        }
                        for file in files {
                            self.out.mods.push((file, module.clone()));
                        }
                    }
                }
            }
            Item::Use(u) => {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                let public = !matches!(u.vis, syn::Visibility::Inherited);
                self.use_units(&u.attrs, &u.vis, public, leaves, inline);
            }
            Item::ExternCrate(e) => {
                let orig = simple(&e.ident);
                let name = e
                    .rename
                    .as_ref()
                    .map(|(_, r)| simple(r))
                    .unwrap_or_else(|| orig.clone());
                let public = !matches!(e.vis, syn::Visibility::Inherited);
                let leaf = Leaf {
                    segments: vec![orig.clone()],
                    name,
                    orig,
                };
                self.use_units(&e.attrs, &e.vis, public, vec![leaf], inline);
            }
            Item::ForeignMod(f) => {
                for fi in &f.items {
                    let name = match fi {
                        syn::ForeignItem::Fn(x) => simple(&x.sig.ident),
                        syn::ForeignItem::Static(x) => simple(&x.ident),
                        syn::ForeignItem::Type(x) => simple(&x.ident),
                        _ => continue,
                    };
                    let path = self.display_path(inline, &name);
                    let abi = &f.abi;
                    self.push(
                        Kind::Fn,
                        name,
                        path,
                        &[quote!(#abi), fi.to_token_stream()],
                        Refs::of(item),
                        None,
                    )
                    .scope = scope.clone();
                }
            }
            Item::Verbatim(tokens) => {
                let mut refs = Refs::default();
                refs.add_loose_tokens(tokens.clone());
                let path = format!("{} (verbatim item)", self.display_path(inline, ""));
                self.push(
                    Kind::Opaque,
                    String::new(),
                    path,
                    std::slice::from_ref(tokens),
                    refs,
                    None,
                );
            }
            _ => {
                let mut refs = Refs::default();
                refs.add_loose_tokens(item.to_token_stream());
                let path = format!("{} (unknown item)", self.display_path(inline, ""));
                self.push(
                    Kind::Opaque,
                    String::new(),
                    path,
                    &[item.to_token_stream()],
                    refs,
                    None,
                );
            }
        }
    }

    /// Where a `#[checkpoint]` function is, to tell apart functions of equal tokens.
    fn site_of(
        &self,
        root_key: Option<[u8; 32]>,
        span: proc_macro2::Span,
    ) -> Option<(String, u32, u32)> {
        root_key?;
        Some((
            self.file.to_string_lossy().into_owned(),
            span.start().line as u32,
            span.end().line as u32,
        ))
    }

    /// One unit per leaf of a `use` (or an `extern crate`), hashed with its attributes and
    /// visibility.
    fn use_units(
        &mut self,
        attrs: &[syn::Attribute],
        vis: &syn::Visibility,
        public: bool,
        leaves: Vec<Leaf>,
        inline: &[String],
    ) {
        let attrs: Vec<&syn::Attribute> =
            attrs.iter().filter(|a| !a.path().is_ident("doc")).collect();
        let mut attr_refs = Refs::default();
        for a in &attrs {
            attr_refs.extend(Refs::of(*a));
        }
        let kind = if public { Kind::PubUse } else { Kind::Use };
        let scope = self.display_path(inline, "");
        for leaf in leaves {
            let text = format!(
                "use {}{}",
                leaf.segments.join("::"),
                match (leaf.name.as_str(), leaf.name == leaf.orig) {
                    ("", _) => "::*".to_string(),
                    (_, true) => String::new(),
                    (n, false) => format!(" as {n}"),
                }
            );
            let mut refs = attr_refs.clone();
            for s in leaf.segments.iter().chain([&leaf.orig]) {
                if !matches!(s.as_str(), "self" | "super" | "crate" | "") {
                    refs.names.insert(s.clone());
                }
            }
            let path = format!("{scope}::{{{text}}}");
            let other = if leaf.name.is_empty() {
                leaf.segments.last().cloned().unwrap_or_default()
            } else {
                leaf.orig.clone()
            };
            let tokens: proc_macro2::TokenStream = quote!(#(#attrs)* #vis);
            let mut unit = self.unit(
                kind,
                leaf.name,
                path,
                &[
                    tokens,
                    proc_macro2::Literal::string(&text).into_token_stream(),
                ],
                refs,
                None,
            );
            unit.extra_names = vec![other];
            unit.scope = scope.clone();
            self.out.units.push(unit);
        }
    }

    /// A macro invocation at item position, or a `macro_rules!` definition.
    fn item_macro(&mut self, item: &syn::Item, m: &syn::ItemMacro, inline: &mut [String]) {
        let simple = |ident: &syn::Ident| unraw(&ident.to_string());
        let tokens = item.to_token_stream();
        let mut refs = Refs::of(item);
        let scope = self.display_path(inline, "");
        if let (true, Some(ident)) = (m.mac.path.is_ident("macro_rules"), &m.ident) {
            let name = simple(ident);
            let path = format!("{}!", self.display_path(inline, &name));
            let unit = self.push(
                Kind::MacroRules,
                name,
                path,
                &[tokens],
                refs,
                Some(item.span()),
            );
            let mut extra = defined_names(m.mac.tokens.clone());
            for n in nested_invocation_names(m.mac.tokens.clone()) {
                if !extra.contains(&n) {
                    extra.push(n);
                }
            }
            unit.extra_names = extra;
            unit.filed_under = body_impl_names(m.mac.tokens.clone());
            unit.scope = scope;
            if pastes(m.mac.tokens.clone()) {
                unit.inputs.push("pastes".into());
            }
            return;
        }
        refs.macros.clear();
        let label = m
            .mac
            .path
            .segments
            .last()
            .map(|s| simple(&s.ident))
            .unwrap_or_default();
        refs.macros.insert(label.clone());
        let path = format!("{}!{{…}}", self.display_path(inline, &label));
        let extra = invocation_names(m.mac.tokens.clone());
        let generator = matches!(label.as_str(), "paste" | "concat_idents");
        let mut opaque = generator;
        if label == "include" {
            // The included file's items belong to this module; a computed path (`OUT_DIR`)
            // defines names nobody can see, so it counts everywhere.
            match literal_path(m.mac.tokens.clone(), self.file) {
                Some(file) => {
                    let mut module = self.module.clone();
                    module.extend(inline.iter().cloned());
                    self.out.mods.push((file, module));
                }
                None => opaque = true,
            }
        }
        let unit = self.push(
            Kind::ItemMacro,
            label,
            path,
            &[tokens],
            refs,
            Some(item.span()),
        );
        unit.extra_names = extra;
        unit.scope = scope;
        if opaque {
            unit.kind = Kind::Opaque;
        }
    }

    /// A trait: its declaration (default bodies left out) and each default method.
    fn trait_item(&mut self, t: &syn::ItemTrait, inline: &mut Vec<String>) {
        let trait_name = unraw(&t.ident.to_string());
        let scope = self.display_path(inline, "");
        let mut decl = t.clone();
        for item in &mut decl.items {
            if let syn::TraitItem::Fn(f) = item {
                if f.default.is_some() {
                    f.default = None;
                    f.semi_token = Some(Default::default());
                }
            }
        }
        let refs = Refs::of(&syn::Item::Trait(decl.clone()));
        let path = self.display_path(inline, &trait_name);
        self.push(
            Kind::Trait,
            trait_name.clone(),
            path.clone(),
            &[decl.to_token_stream()],
            refs,
            Some(t.span()),
        )
        .scope = scope.clone();

        let (ident, generics) = (&t.ident, &t.generics);
        let header = quote!(trait #ident #generics);
        for item in &t.items {
            if let syn::TraitItem::Const(c) = item {
                // A default associated const (`u64::N` through `impl Tr for u64 {}`).
                if c.default.is_some() {
                    let name = unraw(&c.ident.to_string());
                    let mut refs = Refs::of(item);
                    refs.names.insert(trait_name.clone());
                    self.push(
                        Kind::AssocConst,
                        name.clone(),
                        format!("{path}::{name}"),
                        &[header.clone(), item.to_token_stream()],
                        refs,
                        Some(item.span()),
                    )
                    .scope = scope.clone();
                }
                continue;
            }
            let syn::TraitItem::Fn(f) = item else {
                continue;
            };
            let Some(block) = &f.default else {
                continue;
            };
            let name = unraw(&f.sig.ident.to_string());
            let mut refs = Refs::of(item);
            refs.extend(Refs::of(generics));
            refs.names.insert(trait_name.clone());
            let parts = fn_parts(
                &f.attrs,
                &f.sig,
                item.to_token_stream(),
                || refs,
                || {
                    let mut f = f.clone();
                    f.attrs.retain(|a| !is_checkpoint(a));
                    f.to_token_stream()
                },
            );
            let site = self.site_of(parts.root_key, item.span());
            let unit = self.push(
                Kind::TraitMethod,
                name.clone(),
                format!("{path}::{name}"),
                &[header.clone(), parts.tokens],
                parts.refs,
                Some(item.span()),
            );
            unit.scope = scope.clone();
            unit.root_key = parts.root_key;
            unit.site = site;
            self.nested(inline, format!("{trait_name}::{name}()"), |n| {
                syn::visit::Visit::visit_block(n, block)
            });
        }
    }

    /// An impl block: a header unit for trait impls, and one unit per item, each hashed
    /// with the header (`impl<T> Trait for Type<T> where …`). Trait impls are filed under
    /// every name of their header: an operator, a conversion (`impl From<Money> for u64`
    /// used by `.into()`), `Display` or `Drop` runs without naming the method.
    fn impl_item(&mut self, i: &syn::ItemImpl, inline: &mut Vec<String>) {
        let scope = self.display_path(inline, "");
        let attrs: Vec<&syn::Attribute> = i
            .attrs
            .iter()
            .filter(|a| !a.path().is_ident("doc"))
            .collect();
        let (unsafety, generics, self_ty, where_clause) = (
            &i.unsafety,
            &i.generics,
            &i.self_ty,
            &i.generics.where_clause,
        );
        let trait_tokens = i
            .trait_
            .as_ref()
            .map(|(bang, path, _)| quote!(#bang #path for));
        let header =
            quote!(#(#attrs)* #unsafety impl #generics #trait_tokens #self_ty #where_clause);
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last())
            .map(|s| unraw(&s.ident.to_string()));
        let filed_under = match &i.trait_ {
            Some(_) => header_names(i),
            None => Vec::new(),
        };

        let mut header_refs = Refs::of(self_ty.as_ref());
        header_refs.extend(Refs::of(generics));
        if let Some((_, p, _)) = &i.trait_ {
            header_refs.extend(Refs::of(p));
        }
        for a in &attrs {
            header_refs.extend(Refs::of(*a));
        }

        let module = self.display_path(inline, "");
        let ty_text = super::normalize::normalize(self_ty.to_token_stream()).replace(' ', "");
        let ty_path = if ty_text.chars().next().is_some_and(|c| c.is_alphabetic()) {
            format!("{module}::{ty_text}")
        } else {
            ty_text.clone()
        };
        let item_prefix = match &trait_name {
            Some(t) => format!("<{ty_path} as {t}>"),
            None => ty_path.clone(),
        };
        if let Some(t) = &trait_name {
            let unit = self.push(
                Kind::Impl,
                String::new(),
                format!("impl {t} for {ty_path}"),
                std::slice::from_ref(&header),
                header_refs.clone(),
                Some(i.span()),
            );
            unit.scope = scope.clone();
            unit.filed_under = filed_under.clone();
        }

        for item in &i.items {
            let (kind, name) = match item {
                syn::ImplItem::Fn(f) => (Kind::Method, unraw(&f.sig.ident.to_string())),
                syn::ImplItem::Const(c) => (Kind::AssocConst, unraw(&c.ident.to_string())),
                syn::ImplItem::Type(t) => (Kind::AssocType, unraw(&t.ident.to_string())),
                syn::ImplItem::Macro(m) => (
                    Kind::ItemMacro,
                    m.mac
                        .path
                        .segments
                        .last()
                        .map(|s| unraw(&s.ident.to_string()))
                        .unwrap_or_default(),
                ),
                _ => (Kind::Opaque, String::new()),
            };
            let mut refs = Refs::of(item);
            refs.extend(header_refs.clone());
            let parts = match item {
                syn::ImplItem::Fn(f) => fn_parts(
                    &f.attrs,
                    &f.sig,
                    item.to_token_stream(),
                    || refs,
                    || {
                        let mut f = f.clone();
                        f.attrs.retain(|a| !is_checkpoint(a));
                        f.to_token_stream()
                    },
                ),
                _ => FnParts {
                    tokens: item.to_token_stream(),
                    refs,
                    root_key: None,
                },
            };
            let site = self.site_of(parts.root_key, item.span());
            let unit = self.push(
                kind,
                name.clone(),
                format!("{item_prefix}::{name}"),
                &[header.clone(), parts.tokens],
                parts.refs,
                Some(item.span()),
            );
            unit.scope = scope.clone();
            unit.filed_under = filed_under.clone();
            unit.root_key = parts.root_key;
            unit.site = site;
            if let syn::ImplItem::Macro(m) = item {
                let mut extra = defined_names(m.mac.tokens.clone());
                for n in invocation_names(m.mac.tokens.clone()) {
                    if !extra.contains(&n) {
                        extra.push(n);
                    }
                }
                unit.extra_names = extra;
            }
            if let syn::ImplItem::Fn(f) = item {
                self.nested(inline, format!("{ty_text}::{name}()"), |n| {
                    syn::visit::Visit::visit_block(n, &f.block)
                });
            }
        }
    }
}

/// The scope of a unit from its display path: everything before its name.
fn path_scope(path: &str, name: &str) -> String {
    match path.strip_suffix(name).and_then(|p| p.strip_suffix("::")) {
        Some(scope) if !name.is_empty() => scope.to_string(),
        _ => path
            .rsplit_once("::")
            .map(|(s, _)| s.to_string())
            .unwrap_or_default(),
    }
}

/// One leaf of a `use` tree: the path to it, the name it introduces (empty for a glob, `_`
/// for an anonymous import) and the name it imports.
struct Leaf {
    segments: Vec<String>,
    name: String,
    orig: String,
}

fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Leaf>) {
    let last = |prefix: &Vec<String>| prefix.last().cloned().unwrap_or_default();
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(unraw(&p.ident.to_string()));
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let ident = unraw(&n.ident.to_string());
            let orig = if ident == "self" {
                last(prefix)
            } else {
                ident.clone()
            };
            let mut segments = prefix.clone();
            segments.push(ident);
            out.push(Leaf {
                segments,
                name: orig.clone(),
                orig,
            });
        }
        syn::UseTree::Rename(r) => {
            let ident = unraw(&r.ident.to_string());
            let orig = if ident == "self" {
                last(prefix)
            } else {
                ident.clone()
            };
            let mut segments = prefix.clone();
            segments.push(ident);
            out.push(Leaf {
                segments,
                name: unraw(&r.rename.to_string()),
                orig,
            });
        }
        syn::UseTree::Glob(_) => out.push(Leaf {
            segments: prefix.clone(),
            name: String::new(),
            orig: String::new(),
        }),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_leaves(t, prefix, out)),
    }
}

/// The names a trait impl is filed under: the last segment of each path of its header
/// (trait, self type) and of every generic argument and wrapped type, at any depth — but
/// the impl's own generic parameters. `impl std::fmt::Display for X` files under `Display`
/// and `X`, not `std` or `fmt`.
fn header_names(i: &syn::ItemImpl) -> Vec<String> {
    struct Last<'o>(&'o mut Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for Last<'_> {
        fn visit_path(&mut self, p: &'ast syn::Path) {
            if let Some(last) = p.segments.last() {
                let n = unraw(&last.ident.to_string());
                if !self.0.contains(&n) {
                    self.0.push(n);
                }
            }
            for seg in &p.segments {
                self.visit_path_arguments(&seg.arguments);
            }
        }
    }
    let own: HashSet<String> = i
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(unraw(&t.ident.to_string())),
            syn::GenericParam::Const(c) => Some(unraw(&c.ident.to_string())),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut v = Last(&mut out);
    syn::visit::Visit::visit_type(&mut v, &i.self_ty);
    if let Some((_, p, _)) = &i.trait_ {
        syn::visit::Visit::visit_path(&mut v, p);
    }
    syn::visit::Visit::visit_generics(&mut v, &i.generics);
    out.retain(|n| !own.contains(n));
    out
}

/// Identifiers of `tokens` at any depth, but lifetimes and `$metavariables`.
fn idents(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
    let mut prev_quote_or_dollar = false;
    for tt in tokens {
        match &tt {
            proc_macro2::TokenTree::Ident(id) if !prev_quote_or_dollar => {
                let n = unraw(&id.to_string());
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
        prev_quote_or_dollar = matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == '\'' || p.as_char() == '$');
    }
}

/// The names an item-position invocation may define: every identifier of its arguments
/// (`make_fn!(compute, 3)` → `compute` through `fn $name`) but keywords and std names.
fn invocation_names(tokens: proc_macro2::TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    idents(tokens, &mut out);
    out.retain(|n| !is_common(n));
    out
}

/// The file of `include!("path")`, relative to the including file.
fn literal_path(tokens: proc_macro2::TokenStream, file: &Path) -> Option<PathBuf> {
    let lit: syn::LitStr = syn::parse2(tokens).ok()?;
    Some(file.parent()?.join(lit.value()))
}

/// What a function-like item contributes: the tokens to hash, its references and, for a
/// `#[checkpoint]` function, its root key.
///
/// A `#[checkpoint(fn_hash_from = …)]` function stands for its attribute and signature
/// only — its identity is the declared value, not its body — and refers only to what those
/// name.
struct FnParts {
    tokens: proc_macro2::TokenStream,
    refs: Refs,
    root_key: Option<[u8; 32]>,
}

fn fn_parts(
    attrs: &[syn::Attribute],
    sig: &syn::Signature,
    tokens: proc_macro2::TokenStream,
    refs: impl FnOnce() -> Refs,
    without_attr: impl FnOnce() -> proc_macro2::TokenStream,
) -> FnParts {
    let checkpoint = attrs.iter().find(|a| is_checkpoint(a));
    let without = checkpoint.map(|_| without_attr());
    let root_key = without.as_ref().map(|w| text_hash(std::slice::from_ref(w)));
    // Only the options that change what the function computes count for its callers: a
    // callee's `verbosity`, `storage`, `when` or `on_error` does not change its value.
    let tokens = match (checkpoint, without) {
        (Some(attr), Some(without)) => {
            let kept = identity_options(attr);
            quote!(#[checkpoint(#kept)] #without)
        }
        _ => tokens,
    };
    match checkpoint.filter(|a| has_fn_hash_from(a)) {
        Some(attr) => {
            let mut refs = Refs::of(attr);
            refs.extend(Refs::of(sig));
            let kept = identity_options(attr);
            FnParts {
                tokens: quote!(#[checkpoint(#kept)] #sig),
                refs,
                root_key,
            }
        }
        None => FnParts {
            tokens,
            refs: refs(),
            root_key,
        },
    }
}

/// Names that macro tokens visibly define: the identifier after `fn`, `static` (and
/// `static ref`), `const`, `struct`, `enum`, `union`, `type`, `trait`, `mod`, and
/// `macro_rules!`. Metavariables (`$name`) define nothing visible.
fn defined_names(tokens: proc_macro2::TokenStream) -> Vec<String> {
    fn walk(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        for (i, tt) in trees.iter().enumerate() {
            match tt {
                proc_macro2::TokenTree::Group(g) => walk(g.stream(), out),
                proc_macro2::TokenTree::Ident(id) => {
                    let kw = id.to_string();
                    if !matches!(
                        kw.as_str(),
                        "fn" | "static"
                            | "use"
                            | "const"
                            | "struct"
                            | "enum"
                            | "union"
                            | "type"
                            | "trait"
                            | "mod"
                            | "macro_rules"
                    ) {
                        continue;
                    }
                    if kw == "use" {
                        // Every name of the path: the last one is what it introduces.
                        let mut path = proc_macro2::TokenStream::new();
                        for t in trees[i + 1..].iter().take_while(|t| !matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';')) {
                            path.extend([t.clone()]);
                        }
                        let mut names = Vec::new();
                        idents(path, &mut names);
                        for n in names {
                            if !out.contains(&n) && !is_common(&n) {
                                out.push(n);
                            }
                        }
                        continue;
                    }
                    let mut j = i + 1;
                    while matches!(trees.get(j), Some(proc_macro2::TokenTree::Ident(x)) if x == "ref" || x == "mut")
                        || matches!(trees.get(j), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '!')
                    {
                        j += 1;
                    }
                    if let (Some(proc_macro2::TokenTree::Ident(name)), false) = (
                        trees.get(j),
                        matches!(trees.get(i.wrapping_sub(1)), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '$'),
                    ) {
                        let name = unraw(&name.to_string());
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(tokens, &mut out);
    out
}

/// Whether an attribute is `#[checkpoint…]` (any path ending in `checkpoint`).
pub fn is_checkpoint(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "checkpoint")
}

/// The options of a `#[checkpoint(…)]` that are part of an identity: `fn_hash_from`,
/// `deps`, `capture`, `capture_once`, `env` and `files`.
fn identity_options(a: &syn::Attribute) -> proc_macro2::TokenStream {
    let syn::Meta::List(l) = &a.meta else {
        return proc_macro2::TokenStream::new();
    };
    let mut out = proc_macro2::TokenStream::new();
    let mut current: Vec<proc_macro2::TokenTree> = Vec::new();
    let flush = |current: &mut Vec<proc_macro2::TokenTree>, out: &mut proc_macro2::TokenStream| {
        let keep = matches!(current.first(), Some(proc_macro2::TokenTree::Ident(id))
            if matches!(id.to_string().as_str(), "fn_hash_from" | "deps" | "capture" | "capture_once" | "env" | "files"));
        if keep {
            out.extend(current.drain(..));
            out.extend(quote!(,));
        }
        current.clear();
    };
    for tt in l.tokens.clone() {
        if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
            flush(&mut current, &mut out);
        } else {
            current.push(tt);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn has_fn_hash_from(a: &syn::Attribute) -> bool {
    let syn::Meta::List(l) = &a.meta else {
        return false;
    };
    l.tokens
        .clone()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(id) if id == "fn_hash_from"))
}

/// blake3 of a kind tag and normalized tokens, keeping doc comments when `keep_docs`
/// (items whose macros may read them).
fn unit_hash(kind: Kind, parts: &[proc_macro2::TokenStream], keep_docs: bool) -> [u8; 32] {
    let mut text = String::from(kind.tag());
    for p in parts {
        text.push_str(" \u{1f} ");
        super::normalize::normalize_with(p.clone(), keep_docs, &mut text);
    }
    *blake3::hash(text.as_bytes()).as_bytes()
}

/// blake3 of normalized tokens alone (root keys).
pub fn text_hash(parts: &[proc_macro2::TokenStream]) -> [u8; 32] {
    let mut text = String::new();
    for p in parts {
        normalize_into(p.clone(), &mut text);
    }
    *blake3::hash(text.as_bytes()).as_bytes()
}

fn path_attrs(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for a in attrs {
        match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    out.push(s.value());
                }
            }
            syn::Meta::List(l) if l.path.is_ident("cfg_attr") => {
                // `cfg_attr(pred, path = "…")`: the path it may set.
                let text: Vec<proc_macro2::TokenTree> = l.tokens.clone().into_iter().collect();
                for (i, t) in text.iter().enumerate() {
                    if let (
                        proc_macro2::TokenTree::Ident(id),
                        Some(proc_macro2::TokenTree::Punct(eq)),
                        Some(proc_macro2::TokenTree::Literal(lit)),
                    ) = (t, text.get(i + 1), text.get(i + 2))
                    {
                        if id == "path" && eq.as_char() == '=' {
                            if let Ok(syn::Lit::Str(s)) =
                                syn::parse_str::<syn::Lit>(&lit.to_string())
                            {
                                out.push(s.value());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Files `mod name;` (inside inline modules `inline`, in `file`) may load. Both the
/// mod-rs rule (siblings) and the non-mod-rs rule (a directory named after the file) are
/// tried: the caller keeps the ones that exist, so an extra candidate costs nothing.
fn mod_file_candidates(
    file: &Path,
    inline: &[String],
    name: &str,
    path_attr: Option<&str>,
) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut bases = vec![dir.to_path_buf()];
    if !matches!(stem.as_str(), "mod" | "lib" | "main") {
        bases.push(dir.join(&stem));
    }
    let mut out = Vec::new();
    for base in bases {
        let mut base = base;
        for m in inline {
            base.push(m);
        }
        match path_attr {
            Some(p) => out.push(base.join(p)),
            None => {
                out.push(base.join(format!("{name}.rs")));
                out.push(base.join(name).join("mod.rs"));
            }
        }
    }
    if let Some(p) = path_attr {
        out.push(dir.join(p));
    }
    out
}

/// The attributes of an item that has them.
fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Struct(x) => &x.attrs,
        syn::Item::Enum(x) => &x.attrs,
        syn::Item::Union(x) => &x.attrs,
        syn::Item::Type(x) => &x.attrs,
        syn::Item::Const(x) => &x.attrs,
        syn::Item::Static(x) => &x.attrs,
        syn::Item::Fn(x) => &x.attrs,
        syn::Item::Trait(x) => &x.attrs,
        _ => &[],
    }
}

/// Attributes that are not macros of some crate: they read no docs and name no
/// collections (`#[serde]`, `#[hash]` are helpers of derives that do neither).
fn is_builtin_attribute(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .first()
        .is_some_and(|s| inputs::is_builtin_attribute_name(&s.ident.to_string()))
}

/// The attributes a `cfg_attr(pred, a, b(…))` may apply, as tokens of `#[a] #[b(…)]`.
fn cfg_attr_inner(a: &syn::Attribute) -> Vec<syn::Attribute> {
    let syn::Meta::List(l) = &a.meta else {
        return Vec::new();
    };
    if !l.path.is_ident("cfg_attr") {
        return Vec::new();
    }
    let parsed = syn::parse::Parser::parse2(
        syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        l.tokens.clone(),
    );
    parsed
        .map(|metas| {
            metas
                .into_iter()
                .skip(1)
                .map(|meta| syn::parse_quote!(#[#meta]))
                .collect()
        })
        .unwrap_or_default()
}

/// The attributes that may apply: each one, and what each `cfg_attr` may add.
fn effective_attrs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    let mut out = Vec::new();
    for a in attrs {
        let inner = cfg_attr_inner(a);
        if inner.is_empty() {
            out.push(a.clone());
        } else {
            out.extend(effective_attrs(&inner));
        }
    }
    out
}

/// Derives that never read doc comments.
fn is_std_derive(name: &str) -> bool {
    matches!(
        name,
        "Debug"
            | "Clone"
            | "Copy"
            | "PartialEq"
            | "Eq"
            | "PartialOrd"
            | "Ord"
            | "Hash"
            | "Default"
            | "Serialize"
            | "Deserialize"
            | "ObjectHash"
    )
}

/// Whether a derive or attribute macro on the item may read its doc comments (clap's
/// help text, schemars' descriptions): then docs count.
fn reads_docs(attrs: &[syn::Attribute]) -> bool {
    effective_attrs(attrs).iter().any(|a| {
        if a.path().is_ident("derive") {
            let mut any = false;
            let _ = a.parse_nested_meta(|m| {
                let name = m.path.segments.last().map(|s| s.ident.to_string());
                any |= name.is_some_and(|n| !is_std_derive(&n));
                Ok(())
            });
            any
        } else {
            !is_builtin_attribute(a)
        }
    })
}

/// Names in the arguments of an item's non-builtin attributes: an item registered under
/// a name (`#[distributed_slice(HANDLERS)]`, `#[proc_macro_derive(Answer)]`) is found by it.
fn attribute_names(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for a in effective_attrs(attrs)
        .iter()
        .filter(|a| !is_builtin_attribute(a))
    {
        if let syn::Meta::List(l) = &a.meta {
            idents(l.tokens.clone(), &mut out);
        }
    }
    out.retain(|n| !is_common(n));
    out
}

/// Identifiers passed to macros invoked inside a macro body (`inner!(helper)` in
/// `outer!`'s body may define `helper`).
fn nested_invocation_names(tokens: proc_macro2::TokenStream) -> Vec<String> {
    fn walk(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        for (i, tt) in trees.iter().enumerate() {
            if let proc_macro2::TokenTree::Group(g) = tt {
                let invoked = matches!(
                    (i.checked_sub(2).map(|j| &trees[j]), trees.get(i.wrapping_sub(1))),
                    (Some(proc_macro2::TokenTree::Ident(_)), Some(proc_macro2::TokenTree::Punct(p))) if p.as_char() == '!'
                );
                if invoked {
                    idents(g.stream(), out);
                } else {
                    walk(g.stream(), out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tokens, &mut out);
    out.retain(|n| !is_common(n));
    out
}

/// Names of the `impl … for …` headers written in a macro body: the invocation is an
/// impl of those types (`impl Add for Money` inside `ops!()`).
fn body_impl_names(tokens: proc_macro2::TokenStream) -> Vec<String> {
    fn walk(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                proc_macro2::TokenTree::Ident(id) if id == "impl" => {
                    let mut j = i + 1;
                    let mut header = proc_macro2::TokenStream::new();
                    while j < trees.len()
                        && !matches!(&trees[j], proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace)
                    {
                        header.extend([trees[j].clone()]);
                        j += 1;
                    }
                    idents(header, out);
                    i = j;
                    continue;
                }
                proc_macro2::TokenTree::Group(g) => walk(g.stream(), out),
                _ => {}
            }
            i += 1;
        }
    }
    let mut out = Vec::new();
    walk(tokens, &mut out);
    out.retain(|n| !is_common(n) && n != "for" && n != "where");
    out
}

/// Whether a macro body builds identifiers from pieces (`paste!`, `[< … >]`,
/// `concat_idents!`), judged on its tokens (a string mentioning "paste" does not count).
fn pastes(tokens: proc_macro2::TokenStream) -> bool {
    let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().any(|(i, tt)| match tt {
        proc_macro2::TokenTree::Ident(id) => {
            (id == "paste" || id == "concat_idents")
                && matches!(trees.get(i + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '!')
        }
        proc_macro2::TokenTree::Group(g) => {
            (g.delimiter() == proc_macro2::Delimiter::Bracket
                && matches!(g.stream().into_iter().next(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '<'))
                || pastes(g.stream())
        }
        _ => false,
    })
}
