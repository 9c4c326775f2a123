//! The item index of one crate: every item of its sources as a hashed unit with the names it
//! refers to.
//!
//! Sources are found from the crate's roots by following `mod` declarations (`#[path]`
//! included), and every `.rs` file under `src/` is added as well: an unused file costs a
//! little time, a missed one could cost a stale hit. A file that does not parse becomes one
//! opaque unit hashed byte for byte and included in every closure, so it can only
//! over-invalidate.
//!
//! Units hold plain data only (strings and digests), never syntax trees: token streams of
//! one macro invocation must not outlive it, and the index is reused by later invocations.

use super::normalize::normalize_into;
use super::refs::{unraw, Refs};
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    /// An item-position macro invocation (`thread_local! { … }`, `impl_all!(u8, u16)`):
    /// reachable by the names it visibly defines (`fn x`, `static X`, …), and whenever the
    /// `macro_rules!` it invokes is reached.
    ItemMacro,
    /// The header of a trait impl (`impl Trait for Type`), even one without items.
    Impl,
    AssocConst,
    AssocType,
    /// Source the index cannot analyse (a file syn cannot parse, a verbatim item): part of
    /// every closure.
    Opaque,
}

impl Kind {
    /// Every kind, in a fixed order (the on-disk encoding uses positions in it).
    pub const ALL: [Kind; 16] = [
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
        }
    }

    /// Kinds a plain name (`helper`, `Point`, `LIMIT`) can refer to.
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

    /// Types whose trait impls come along when they are reached: operators, `Display`,
    /// `Drop`, `Iterator` and the like are called without naming the method.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            Kind::Struct | Kind::Enum | Kind::Union | Kind::TypeAlias
        )
    }
}

/// One hashed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub kind: Kind,
    /// The item's name; empty for impl headers and opaque units.
    pub name: String,
    /// Further names the unit is found by: what a macro definition or an item-position
    /// invocation visibly defines (found as free and as associated items).
    pub extra_names: Vec<String>,
    /// Where it is, for `identity_items()`: `crate::module::Item`, `<Type as Trait>::item`.
    pub path: String,
    /// For impl items: the last identifier of the self type; for trait items: the trait.
    pub owner: Option<String>,
    /// For items of a trait impl: the trait's last identifier.
    pub trait_name: Option<String>,
    /// blake3 of the kind and the normalized tokens.
    pub hash: [u8; 32],
    pub refs: Refs,
    /// For `#[checkpoint]` functions: the hash of their normalized tokens without that
    /// attribute — what the attribute itself receives — to recognise the function being
    /// expanded.
    pub root_key: Option<[u8; 32]>,
}

/// A file's size and modification time when it was read: the index is rebuilt when one changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub path: PathBuf,
    pub state: Option<(u64, SystemTime)>,
}

impl Stamp {
    pub fn of(path: &Path) -> Stamp {
        let state = std::fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        Stamp {
            path: path.to_path_buf(),
            state,
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
    /// Directories whose `.rs` files are all indexed (`src/`).
    pub dirs: Vec<PathBuf>,
}

/// The units of one crate and the lookups resolution uses.
#[derive(Debug, Default)]
pub struct CrateIndex {
    pub units: Vec<Unit>,
    /// Opaque units: part of every closure.
    pub always: Vec<usize>,
    /// Free items by name.
    pub free: HashMap<String, Vec<usize>>,
    /// Impl and trait items by name.
    pub assoc: HashMap<String, Vec<usize>>,
    /// Impl and trait items by owner (self type or trait) and by trait name.
    pub by_owner: HashMap<String, Vec<usize>>,
    /// Trait-impl units (headers and items) by self type.
    pub trait_impls: HashMap<String, Vec<usize>>,
    /// Item-position macro invocations by macro name.
    pub invocations: HashMap<String, Vec<usize>>,
    /// `use a::b as c`: `c` → `b`.
    pub aliases: HashMap<String, Vec<String>>,
    /// The files read, to tell when the index is stale.
    pub stamps: Vec<Stamp>,
    /// How many lines were parsed (for the trace and the benchmark).
    pub lines: usize,
}

impl CrateIndex {
    /// Reads and indexes the crate's sources. Never fails: unreadable files are skipped
    /// (they are not part of the crate then), unparsable ones become opaque units.
    /// `cache`: a directory for the on-disk cache of file indexes (see `disk.rs`).
    pub fn build(sources: &CrateSources, cache: Option<&Path>) -> CrateIndex {
        let mut b = Builder {
            crate_name: sources.name.clone(),
            cache,
            index: CrateIndex::default(),
            seen: HashSet::new(),
            queue: Vec::new(),
        };
        for root in &sources.roots {
            b.enqueue(root.clone(), Vec::new());
        }
        b.drain();
        for dir in &sources.dirs {
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
        b.index
    }

    /// Whether every file read is unchanged.
    pub fn is_current(&self) -> bool {
        self.stamps.iter().all(Stamp::is_current)
    }

    fn push(&mut self, unit: Unit) {
        let id = self.units.len();
        if unit.kind == Kind::Opaque {
            self.always.push(id);
        } else if unit.kind.is_free() {
            for name in std::iter::once(&unit.name).chain(&unit.extra_names) {
                self.free.entry(name.clone()).or_default().push(id);
            }
            // Macros may define methods too (`impl_hash!(u8)` → `fn object_hash`).
            for name in &unit.extra_names {
                self.assoc.entry(name.clone()).or_default().push(id);
            }
            if unit.kind == Kind::ItemMacro {
                self.invocations
                    .entry(unit.name.clone())
                    .or_default()
                    .push(id);
            }
        } else if !unit.name.is_empty() {
            self.assoc.entry(unit.name.clone()).or_default().push(id);
        }
        if let Some(owner) = &unit.owner {
            self.by_owner.entry(owner.clone()).or_default().push(id);
            if unit.trait_name.is_some() {
                self.trait_impls.entry(owner.clone()).or_default().push(id);
            }
        }
        if let Some(t) = &unit.trait_name {
            self.by_owner.entry(t.clone()).or_default().push(id);
        }
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
    /// `use a::b as c`: `(c, b)`.
    pub aliases: Vec<(String, String)>,
    /// Files `mod x;` declarations may load (those that exist are indexed), with their
    /// module paths.
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
                    module: module.to_vec(),
                };
                cx.items(&file.items, &mut Vec::new());
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
                    owner: None,
                    trait_name: None,
                    hash: *h.finalize().as_bytes(),
                    refs,
                    root_key: None,
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
        for (alias, orig) in file.aliases {
            let v = self.index.aliases.entry(alias).or_default();
            if !v.contains(&orig) {
                v.push(orig);
            }
        }
        for (candidate, module) in file.mods {
            if candidate.is_file() {
                self.enqueue(candidate, module);
            }
        }
    }
}

/// Indexing one parsed file.
struct FileCx<'a> {
    crate_name: &'a str,
    out: &'a mut FileIndex,
    file: &'a Path,
    module: Vec<String>,
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

    fn push(
        &mut self,
        kind: Kind,
        name: String,
        path: String,
        tokens: proc_macro2::TokenStream,
        refs: Refs,
    ) {
        self.out.units.push(Unit {
            kind,
            hash: unit_hash(kind, &[tokens]),
            name,
            extra_names: Vec::new(),
            path,
            owner: None,
            trait_name: None,
            refs,
            root_key: None,
        });
    }

    /// A named item hashed whole: its kind, name, display path, tokens and references.
    fn push_named(&mut self, kind: Kind, ident: &syn::Ident, item: &syn::Item, inline: &[String]) {
        let name = unraw(&ident.to_string());
        let path = self.display_path(inline, &name);
        self.push(kind, name, path, item.to_token_stream(), Refs::of(item));
    }

    fn item(&mut self, item: &syn::Item, inline: &mut Vec<String>) {
        use syn::Item;
        let simple = |ident: &syn::Ident| unraw(&ident.to_string());
        match item {
            Item::Fn(f) => {
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
                let name = simple(&f.sig.ident);
                let path = self.display_path(inline, &name);
                self.out.units.push(Unit {
                    kind: Kind::Fn,
                    hash: unit_hash(Kind::Fn, &[parts.tokens]),
                    name,
                    extra_names: Vec::new(),
                    path,
                    owner: None,
                    trait_name: None,
                    refs: parts.refs,
                    root_key: parts.root_key,
                });
            }
            Item::Struct(syn::ItemStruct { ident, .. }) => {
                self.push_named(Kind::Struct, ident, item, inline)
            }
            Item::Enum(syn::ItemEnum { ident, .. }) => {
                self.push_named(Kind::Enum, ident, item, inline)
            }
            Item::Union(syn::ItemUnion { ident, .. }) => {
                self.push_named(Kind::Union, ident, item, inline)
            }
            Item::Type(syn::ItemType { ident, .. }) => {
                self.push_named(Kind::TypeAlias, ident, item, inline)
            }
            Item::Const(syn::ItemConst { ident, .. }) => {
                self.push_named(Kind::Const, ident, item, inline)
            }
            Item::Static(syn::ItemStatic { ident, .. }) => {
                self.push_named(Kind::Static, ident, item, inline)
            }
            Item::TraitAlias(syn::ItemTraitAlias { ident, .. }) => {
                self.push_named(Kind::Trait, ident, item, inline)
            }
            Item::Trait(t) => self.trait_item(t, inline),
            Item::Impl(i) => self.impl_item(i, inline),
            Item::Macro(m) => {
                let tokens = item.to_token_stream();
                let mut refs = Refs::of(item);
                let defined = defined_names(m.mac.tokens.clone());
                if let (true, Some(ident)) = (m.mac.path.is_ident("macro_rules"), &m.ident) {
                    let name = simple(ident);
                    let path = format!("{}!", self.display_path(inline, &name));
                    let hash = unit_hash(Kind::MacroRules, &[tokens]);
                    let unit = Unit {
                        kind: Kind::MacroRules,
                        name,
                        extra_names: defined,
                        path,
                        owner: None,
                        trait_name: None,
                        hash,
                        refs,
                        root_key: None,
                    };
                    self.out.units.push(unit);
                } else {
                    refs.macros.clear();
                    if let Some(last) = m.mac.path.segments.last() {
                        refs.macros.insert(simple(&last.ident));
                    }
                    let names = defined;
                    let label = m
                        .mac
                        .path
                        .segments
                        .last()
                        .map(|s| simple(&s.ident))
                        .unwrap_or_default();
                    let path = format!("{}!{{…}}", self.display_path(inline, &label));
                    self.out.units.push(Unit {
                        kind: Kind::ItemMacro,
                        hash: unit_hash(Kind::ItemMacro, &[tokens]),
                        name: label,
                        extra_names: names,
                        path,
                        owner: None,
                        trait_name: None,
                        refs,
                        root_key: None,
                    });
                }
            }
            Item::Mod(m) => {
                let name = simple(&m.ident);
                match &m.content {
                    Some((_, items)) => {
                        inline.push(name);
                        self.items(items, inline);
                        inline.pop();
                    }
                    None => {
                        let mut module = self.module.clone();
                        module.extend(inline.iter().cloned());
                        module.push(name.clone());
                        for file in mod_file_candidates(
                            self.file,
                            inline,
                            &name,
                            path_attr(&m.attrs).as_deref(),
                        ) {
                            self.out.mods.push((file, module.clone()));
                        }
                    }
                }
            }
            Item::Use(u) => collect_renames(&u.tree, &mut self.out.aliases),
            Item::ForeignMod(f) => {
                for fi in &f.items {
                    let name = match fi {
                        syn::ForeignItem::Fn(x) => simple(&x.sig.ident),
                        syn::ForeignItem::Static(x) => simple(&x.ident),
                        syn::ForeignItem::Type(x) => simple(&x.ident),
                        _ => continue,
                    };
                    let path = self.display_path(inline, &name);
                    self.push(Kind::Fn, name, path, fi.to_token_stream(), Refs::default());
                }
            }
            Item::Verbatim(tokens) => {
                let mut refs = Refs::default();
                refs.add_loose_tokens(tokens.clone());
                let path = format!("{} (verbatim item)", self.display_path(inline, ""));
                self.push(Kind::Opaque, String::new(), path, tokens.clone(), refs);
            }
            Item::ExternCrate(_) => {}
            _ => {}
        }
    }

    /// A trait: its declaration (default bodies left out) and each default method.
    fn trait_item(&mut self, t: &syn::ItemTrait, inline: &[String]) {
        let trait_name = unraw(&t.ident.to_string());
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
            decl.to_token_stream(),
            refs,
        );

        let (ident, generics) = (&t.ident, &t.generics);
        let header = quote!(trait #ident #generics);
        for item in &t.items {
            let syn::TraitItem::Fn(f) = item else {
                continue;
            };
            if f.default.is_none() {
                continue;
            }
            let name = unraw(&f.sig.ident.to_string());
            let mut refs = Refs::of(item);
            refs.extend(Refs::of(generics));
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
            self.out.units.push(Unit {
                kind: Kind::TraitMethod,
                hash: unit_hash(Kind::TraitMethod, &[header.clone(), parts.tokens]),
                path: format!("{path}::{name}"),
                name,
                extra_names: Vec::new(),
                owner: Some(trait_name.clone()),
                trait_name: None,
                refs: parts.refs,
                root_key: parts.root_key,
            });
        }
    }

    /// An impl block: a header unit for trait impls, and one unit per item, each hashed
    /// with the header (`impl<T> Trait for Type<T> where …`).
    fn impl_item(&mut self, i: &syn::ItemImpl, inline: &[String]) {
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
        let owner = type_owner(self_ty);
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last())
            .map(|s| unraw(&s.ident.to_string()));

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
            ty_text
        };
        let item_prefix = match &trait_name {
            Some(t) => format!("<{ty_path} as {t}>"),
            None => ty_path.clone(),
        };
        if let Some(t) = &trait_name {
            self.out.units.push(Unit {
                kind: Kind::Impl,
                name: String::new(),
                extra_names: Vec::new(),
                path: format!("impl {t} for {ty_path}"),
                owner: owner.clone(),
                trait_name: trait_name.clone(),
                hash: unit_hash(Kind::Impl, std::slice::from_ref(&header)),
                refs: header_refs.clone(),
                root_key: None,
            });
        }

        for item in &i.items {
            let (kind, name) = match item {
                syn::ImplItem::Fn(f) => (Kind::Method, unraw(&f.sig.ident.to_string())),
                syn::ImplItem::Const(c) => (Kind::AssocConst, unraw(&c.ident.to_string())),
                syn::ImplItem::Type(t) => (Kind::AssocType, unraw(&t.ident.to_string())),
                syn::ImplItem::Macro(m) => (
                    Kind::AssocConst,
                    m.mac
                        .path
                        .segments
                        .last()
                        .map(|s| unraw(&s.ident.to_string()))
                        .unwrap_or_default(),
                ),
                _ => continue,
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
            self.out.units.push(Unit {
                kind,
                hash: unit_hash(kind, &[header.clone(), parts.tokens]),
                path: format!("{item_prefix}::{name}"),
                name,
                extra_names: Vec::new(),
                owner: owner.clone(),
                trait_name: trait_name.clone(),
                refs: parts.refs,
                root_key: parts.root_key,
            });
        }
    }
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
    let root_key = checkpoint.map(|_| text_hash(&[without_attr()]));
    match checkpoint.filter(|a| has_fn_hash_from(a)) {
        Some(attr) => {
            let mut refs = Refs::of(attr);
            refs.extend(Refs::of(sig));
            FnParts {
                tokens: quote!(#attr #sig),
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

fn has_fn_hash_from(a: &syn::Attribute) -> bool {
    let syn::Meta::List(l) = &a.meta else {
        return false;
    };
    l.tokens
        .clone()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(id) if id == "fn_hash_from"))
}

/// blake3 of a kind tag and normalized tokens.
pub fn unit_hash(kind: Kind, parts: &[proc_macro2::TokenStream]) -> [u8; 32] {
    let mut text = String::from(kind.tag());
    for p in parts {
        text.push_str(" \u{1f} ");
        normalize_into(p.clone(), &mut text);
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

/// The last identifier of a self type: `Vec<T>` → `Vec`, `&mut Foo` → `Foo`, `[Foo]` →
/// `Foo`, `dyn Shape` → `Shape`.
fn type_owner(ty: &syn::Type) -> Option<String> {
    use syn::Type;
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| unraw(&s.ident.to_string())),
        Type::Reference(r) => type_owner(&r.elem),
        Type::Ptr(p) => type_owner(&p.elem),
        Type::Paren(p) => type_owner(&p.elem),
        Type::Group(g) => type_owner(&g.elem),
        Type::Slice(s) => type_owner(&s.elem),
        Type::Array(a) => type_owner(&a.elem),
        Type::TraitObject(t) => t.bounds.iter().find_map(|b| match b {
            syn::TypeParamBound::Trait(t) => {
                t.path.segments.last().map(|s| unraw(&s.ident.to_string()))
            }
            _ => None,
        }),
        _ => None,
    }
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
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

/// `use a::b as c;` → `c` → `b` (renamed imports would otherwise resolve to nothing).
fn collect_renames(tree: &syn::UseTree, out: &mut Vec<(String, String)>) {
    match tree {
        syn::UseTree::Path(p) => collect_renames(&p.tree, out),
        syn::UseTree::Rename(r) => {
            let alias = unraw(&r.rename.to_string());
            let orig = unraw(&r.ident.to_string());
            if alias != "_" && alias != orig {
                out.push((alias, orig));
            }
        }
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| collect_renames(t, out)),
        _ => {}
    }
}
