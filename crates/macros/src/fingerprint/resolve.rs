//! The closure: every unit reachable from the function's references, by name.
//!
//! Rules (each over-approximates: a name that could refer to a unit does):
//! - a plain name `helper` → free items so named (functions, types, consts, statics, traits,
//!   macros), and the originals of `use … as helper`;
//! - `Q::name` → free items `name`, items of `Q` itself (`Shape::Circle` needs `Shape`), and
//!   associated items `name` of impls of type or trait `Q` and of trait `Q`; when `Q` is not a
//!   type or trait of the indexed code (`Self`, a generic parameter, an associated type) →
//!   associated items `name` of every impl and trait;
//! - `x.name()` and `<T>::name` → associated items `name` of every impl and trait;
//! - an identifier inside a macro invocation or attribute → anything so named;
//! - `name!` → `macro_rules! name`, and a reached `macro_rules!` brings its item-position
//!   invocations (`impl_hash!(u8, u16)`): what they generate is code too;
//! - a reached struct, enum, union or type alias brings every trait impl of it: operators,
//!   `Display`, `Drop`, `Deref`, `Iterator` are called without naming the method.

use super::index::{CrateIndex, Kind};
use super::refs::Refs;
use std::collections::HashSet;

/// A unit of one of the indexes: (index position, unit position).
pub type UnitId = (usize, usize);

/// Std and prelude names that are never user types; `Vec::new` must not pull in every
/// method called `new`. A user impl for one of them (`impl MyTrait for Vec<u8>`) makes it
/// a known owner again.
const STD_TYPES: &[&str] = &[
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
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "Clone",
    "ToString",
    "ToOwned",
    "AsRef",
    "AsMut",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
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
    "Sender",
    "Receiver",
    "Thread",
    "Condvar",
    "Barrier",
    "AtomicBool",
    "AtomicUsize",
    "AtomicU64",
    "AtomicI64",
    "AtomicU32",
    "AtomicI32",
];

/// The indexes of the crates that count as user code, the current crate first.
pub struct Resolver<'a> {
    pub indexes: &'a [&'a CrateIndex],
}

impl Resolver<'_> {
    /// Units reachable from `roots`, excluding `skip` (the function itself), in no
    /// particular order. Opaque units are always included.
    pub fn closure(&self, roots: &Refs, skip: &HashSet<UnitId>) -> Vec<UnitId> {
        let mut seen: HashSet<UnitId> = skip.clone();
        let mut out = Vec::new();
        let mut queue: Vec<UnitId> = Vec::new();
        for (i, idx) in self.indexes.iter().enumerate() {
            for &u in &idx.always {
                queue.push((i, u));
            }
        }
        self.resolve(roots, &mut queue);
        while let Some(id) = queue.pop() {
            if !seen.insert(id) {
                continue;
            }
            out.push(id);
            let unit = &self.indexes[id.0].units[id.1];
            self.resolve(&unit.refs, &mut queue);
            if unit.kind.is_type() {
                self.each(|idx| idx.trait_impls.get(&unit.name), &mut queue);
            }
            if unit.kind == Kind::MacroRules {
                self.each(|idx| idx.invocations.get(&unit.name), &mut queue);
            }
        }
        out
    }

    fn each<'s>(
        &'s self,
        mut pick: impl FnMut(&'s CrateIndex) -> Option<&'s Vec<usize>>,
        queue: &mut Vec<UnitId>,
    ) {
        for (i, idx) in self.indexes.iter().enumerate() {
            if let Some(ids) = pick(idx) {
                queue.extend(ids.iter().map(|&u| (i, u)));
            }
        }
    }

    fn resolve(&self, refs: &Refs, queue: &mut Vec<UnitId>) {
        for name in &refs.names {
            self.free(name, queue);
        }
        for (q, name) in &refs.qualified {
            self.free(name, queue);
            self.assoc_of(q, name, queue);
            for orig in self.aliases(q) {
                self.assoc_of(&orig, name, queue);
            }
        }
        for name in &refs.methods {
            self.assoc(name, queue);
        }
        for name in &refs.loose {
            self.free(name, queue);
            self.assoc(name, queue);
        }
        for name in &refs.macros {
            self.each(|idx| idx.free.get(name), queue);
        }
    }

    fn aliases(&self, name: &str) -> Vec<String> {
        self.indexes
            .iter()
            .filter_map(|idx| idx.aliases.get(name))
            .flatten()
            .cloned()
            .collect()
    }

    /// Free items named `name`, through `use … as name` renames too.
    fn free(&self, name: &str, queue: &mut Vec<UnitId>) {
        self.each(|idx| idx.free.get(name), queue);
        for orig in self.aliases(name) {
            self.each(|idx| idx.free.get(&orig), queue);
        }
    }

    /// Associated items named `name` of every impl and trait.
    fn assoc(&self, name: &str, queue: &mut Vec<UnitId>) {
        self.each(|idx| idx.assoc.get(name), queue);
    }

    /// Associated items named `name` reached through the qualifier `q`.
    fn assoc_of(&self, q: &str, name: &str, queue: &mut Vec<UnitId>) {
        let known = self.indexes.iter().any(|idx| idx.by_owner.contains_key(q));
        if known {
            for (i, idx) in self.indexes.iter().enumerate() {
                if let Some(ids) = idx.by_owner.get(q) {
                    queue.extend(
                        ids.iter()
                            .filter(|&&u| idx.units[u].name == name)
                            .map(|&u| (i, u)),
                    );
                }
            }
        }
        let is_type_like = q.chars().next().is_some_and(char::is_uppercase);
        let is_user_type = self.indexes.iter().any(|idx| {
            idx.free.get(q).is_some_and(|ids| {
                ids.iter().any(|&u| {
                    matches!(
                        idx.units[u].kind,
                        Kind::Struct | Kind::Enum | Kind::Union | Kind::Trait
                    )
                })
            })
        });
        // `Self::f`, `T::f`, `Alias::f`, `T::Assoc::f`: the type is not known by this name.
        if is_type_like && !known && !is_user_type && !STD_TYPES.contains(&q) {
            self.assoc(name, queue);
        }
        let is_alias = self.indexes.iter().any(|idx| {
            idx.free
                .get(q)
                .is_some_and(|ids| ids.iter().any(|&u| idx.units[u].kind == Kind::TypeAlias))
        });
        if is_alias {
            self.assoc(name, queue);
        }
    }
}
