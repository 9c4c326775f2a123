//! The closure: every unit that any name reachable from the function could refer to.
//!
//! There is no type inference here, so resolution is by name and every rule errs towards
//! including: a unit the function cannot reach costs a spurious recompute when it changes,
//! a unit it can reach and that is left out costs a stale hit. The rules:
//! - a name (`helper`, `Point`, `imp`, a variant `Red`) → every unit defining it: items,
//!   `use` leaves introducing it (renames followed to the original), `mod` declarations, enums with such a variant,
//!   item-position invocations naming it in their arguments; and every trait impl filed
//!   under it (see below), and every alias standing for it (`type M = Money`, `use Money as
//!   M`), since impls written on the alias act on the type;
//! - `Q::name` → `Q` and `name` as names, *and* every associated item `name` of every impl
//!   and trait: `Q` may be a generic parameter, `Self`, an alias or a type that only a
//!   blanket impl or a trait default gives the method, and a qualified path never narrows;
//! - `x.name()`, `<T>::name` → every associated item `name`; identifiers inside macro
//!   invocations and attributes → anything so named;
//! - trait impls are filed under every name of their header (trait, self type, generic
//!   arguments, wrapped types): `impl From<Money> for u64`, `impl Add<Money> for u64` and
//!   `impl Tr for Box<Money>` follow `Money`. Names of std and the prelude (`From`, `u64`)
//!   file nothing unless the user's code defines them too — but a trait named as a bound
//!   (`T: Display`, `dyn Display`) brings every impl of it, whatever the type;
//! - a unit in scope `app::calc` brings the `use` leaves of `app` and `app::calc` (they
//!   decide what its names mean: globs, `use T as _` and possible traits are hashed, other
//!   leaves count when their name is reached), the `mod` declarations of `calc` (its `#[path]`, its
//!   `#[cfg]`), and glob imports of any module its path goes through;
//! - a reached `macro_rules!` brings its item-position invocations; invocations of macros
//!   that build names out of pieces (`paste!`) and opaque source are always included.

use super::index::{is_common, CrateIndex, Kind};
use super::refs::Refs;
use rustc_hash::FxHashSet as HashSet;

/// A unit of one of the indexes: (index position, unit position).
pub type UnitId = (usize, usize);

/// Std and prelude names that file no impls unless the user's code defines them: reaching
/// `From` or `Vec` must not bring every `impl From<…>` of the crate.
pub const STD_NAMES: &[&str] = &[
    "Vec",
    "String",
    "Box",
    "Rc",
    "Arc",
    "Weak",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "LinkedList",
    "Path",
    "PathBuf",
    "OsStr",
    "OsString",
    "Cell",
    "RefCell",
    "OnceCell",
    "OnceLock",
    "LazyLock",
    "Mutex",
    "RwLock",
    "Duration",
    "Instant",
    "SystemTime",
    "Cow",
    "Default",
    "Iterator",
    "IntoIterator",
    "FromIterator",
    "Extend",
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "Clone",
    "Copy",
    "ToString",
    "ToOwned",
    "AsRef",
    "AsMut",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
    "Hasher",
    "Debug",
    "Display",
    "Ordering",
    "File",
    "Command",
    "Error",
    "Formatter",
    "Wrapping",
    "PhantomData",
    "Pin",
    "NonNull",
    "Range",
    "Any",
    "TypeId",
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Deref",
    "DerefMut",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Rem",
    "Neg",
    "Not",
    "BitAnd",
    "BitOr",
    "BitXor",
    "Shl",
    "Shr",
    "AddAssign",
    "SubAssign",
    "MulAssign",
    "DivAssign",
    "Index",
    "IndexMut",
    "Sum",
    "Product",
    "FromStr",
    "Borrow",
    "fmt",
    "ops",
    "convert",
    "iter",
    "collections",
    "Serialize",
    "Deserialize",
];

/// The indexes of the crates that count as user code, the current crate first.
pub struct Resolver<'a> {
    pub indexes: &'a [&'a CrateIndex],
}

/// The walk: units found so far and the names already looked up. Names borrow from the
/// indexes and the root's references: a walk allocates no strings.
struct Walk<'a> {
    indexes: &'a [&'a CrateIndex],
    seen: HashSet<UnitId>,
    expanded: HashSet<UnitId>,
    out: Vec<UnitId>,
    /// Units to include, and whether to follow what they name.
    queue: Vec<(UnitId, bool)>,
    names: HashSet<&'a str>,
    filed: HashSet<&'a str>,
    assoc: HashSet<&'a str>,
    bounds: HashSet<&'a str>,
    scopes: HashSet<&'a str>,
    components: HashSet<&'a str>,
    /// Whether any index has glob imports (else path components need no lookup).
    globs: bool,
    module_globs: HashSet<&'a str>,
}

/// What a walk found: the units, and every name it looked up (to pin the crates named).
pub struct Closure<'a> {
    pub units: Vec<UnitId>,
    pub names: HashSet<&'a str>,
}

impl<'a> Resolver<'a> {
    /// Units reachable from `refs` and from the units `roots` (the function itself, found
    /// in the index: its scope and position count, its own hash does not). Always-units
    /// are included.
    pub fn closure(&self, refs: &'a Refs, roots: &[UnitId], scopes: &[&'a str]) -> Closure<'a> {
        let mut w = Walk {
            indexes: self.indexes,
            seen: roots.iter().copied().collect(),
            expanded: roots.iter().copied().collect(),
            globs: self.indexes.iter().any(|i| !i.globs.is_empty()),
            out: Vec::new(),
            queue: Vec::new(),
            names: HashSet::default(),
            filed: HashSet::default(),
            assoc: HashSet::default(),
            bounds: HashSet::default(),
            scopes: HashSet::default(),
            components: HashSet::default(),
            module_globs: HashSet::default(),
        };
        for (i, idx) in self.indexes.iter().enumerate() {
            w.queue.extend(idx.always.iter().map(|&u| ((i, u), true)));
        }
        w.refs(refs);
        for &id in roots {
            w.expand(id);
        }
        for scope in scopes {
            w.scope(scope);
        }
        while let Some((id, follow)) = w.queue.pop() {
            if w.seen.insert(id) {
                w.out.push(id);
            }
            if follow && w.expanded.insert(id) {
                w.expand(id);
            }
        }
        Closure {
            units: w.out,
            names: w.names,
        }
    }
}

impl<'a> Walk<'a> {
    fn user_defined(&self, name: &str) -> bool {
        self.indexes.iter().any(|idx| idx.free.contains_key(name))
    }

    /// Whether `name` is a struct, enum, union or alias of the user's code (not a trait).
    fn is_user_type(&self, name: &str) -> bool {
        self.indexes.iter().any(|idx| {
            idx.free.get(name).is_some_and(|ids| {
                ids.iter().any(|&u| {
                    matches!(
                        idx.units[u].kind,
                        Kind::Struct | Kind::Enum | Kind::Union | Kind::TypeAlias
                    )
                })
            })
        })
    }

    fn each(&mut self, pick: impl Fn(&'a CrateIndex) -> Option<&'a Vec<usize>>) {
        let indexes = self.indexes;
        for (i, idx) in indexes.iter().enumerate() {
            if let Some(ids) = pick(idx) {
                for &u in ids {
                    if !self.expanded.contains(&(i, u)) {
                        self.queue.push(((i, u), true));
                    }
                }
            }
        }
    }

    /// What including unit `id` brings along.
    fn expand(&mut self, id: UnitId) {
        let indexes = self.indexes;
        let unit = &indexes[id.0].units[id.1];
        self.refs(&unit.refs);
        // Impls written on this type, trait or alias.
        self.filed(&unit.name, true);
        if !unit.kind.is_use() {
            for n in &unit.extra_names {
                self.filed(n, true);
            }
        }
        self.scope(&unit.scope);
        if self.globs {
            for c in unit.path.split("::") {
                self.component(c);
            }
        }
        if unit.kind == Kind::MacroRules {
            let name = unit.name.as_str();
            self.each(|idx| idx.invocations.get(name));
        }
    }

    fn refs(&mut self, refs: &'a Refs) {
        for n in refs.names.iter().chain(&refs.loose).chain(&refs.macros) {
            self.name(n);
        }
        for (q, n) in &refs.qualified {
            self.name(q);
            self.name(n);
            self.assoc(n);
            self.module_globs(q);
        }
        for n in refs.methods.iter().chain(&refs.loose) {
            self.assoc(n);
        }
        for b in &refs.bounds {
            self.name(b);
            if self.bounds.insert(b) {
                self.each(|idx| idx.filed.get(b.as_str()));
            }
        }
    }

    fn name(&mut self, n: &'a str) {
        if !self.names.insert(n) {
            return;
        }
        self.each(|idx| idx.free.get(n));
        self.each(|idx| idx.reverse.get(n));
        self.filed(n, false);
    }

    /// Trait impls filed under `n` (only once per name).
    fn filed(&mut self, n: &'a str, defined_here: bool) {
        if n.is_empty()
            || self.filed.contains(n)
            || !self.indexes.iter().any(|i| i.filed.contains_key(n))
        {
            return;
        }
        if is_common(n) && !defined_here && !self.user_defined(n) {
            return;
        }
        self.filed.insert(n);
        self.each(|idx| idx.filed.get(n));
    }

    fn assoc(&mut self, n: &'a str) {
        if self.assoc.insert(n) {
            self.each(|idx| idx.assoc.get(n));
        }
    }

    /// The `use` leaves of `scope` and of every scope around it, and the `mod`
    /// declarations of the modules it goes through.
    fn scope(&mut self, scope: &'a str) {
        if self.scopes.contains(scope) {
            return;
        }
        let mut end = 0;
        for (k, seg) in scope.split("::").enumerate() {
            if k > 0 {
                end += 2;
            }
            end += seg.len();
            let prefix = &scope[..end];
            if !self.scopes.insert(prefix) {
                continue;
            }
            // A leaf whose name the code uses is found by that name. The others in
            // scope can still change what the code means without being named — globs,
            // `use Trait as _`, and anything that may be a trait (method calls) — so
            // they are hashed, and followed only when a name reaches them.
            let indexes = self.indexes;
            for (i, idx) in indexes.iter().enumerate() {
                for &u in idx.scoped.get(prefix).into_iter().flatten() {
                    let name = idx.units[u].name.as_str();
                    let unnamed = name.is_empty() || name == "_";
                    let may_be_trait =
                        name.starts_with(char::is_uppercase) && !self.is_user_type(name);
                    if unnamed || may_be_trait {
                        self.queue.push(((i, u), false));
                    }
                }
            }
            if k > 0 {
                self.each(|idx| idx.mods.get(seg));
            }
        }
    }

    /// `q::name` where `q` is a crate or module: its glob re-exports (`pub use serde_json::*`
    /// in `mylib` makes `mylib::to_string` serde_json's), followed.
    fn module_globs(&mut self, q: &'a str) {
        if !self.globs || !self.module_globs.insert(q) {
            return;
        }
        let indexes = self.indexes;
        for (i, idx) in indexes.iter().enumerate() {
            for (scope, ids) in &idx.scoped {
                if scope.rsplit("::").next() != Some(q) {
                    continue;
                }
                for &u in ids {
                    if idx.units[u].name.is_empty() {
                        self.queue.push(((i, u), true));
                    }
                }
            }
        }
    }

    /// Glob imports of a module a unit's path goes through (`use imp::*`, `use Color::*`).
    fn component(&mut self, c: &'a str) {
        if !c.is_empty() && self.components.insert(c) {
            self.each(|idx| idx.globs.get(c));
        }
    }
}
