//! Entry keys: `<crate>/<module path>/<fn name>/<identity hash>/<call hash>`.

use crate::Digest;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// Where a cached function lives: crate, module path and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnPath {
    /// The crate name (`CARGO_CRATE_NAME`).
    pub crate_name: String,
    /// The module path below the crate root, segments joined by `/` (empty at the root).
    pub module: String,
    /// The function's name; methods are `Type.method`.
    pub name: String,
}

impl FnPath {
    /// Builds a path from `module_path!()` (which starts with the crate name) and a name.
    pub fn from_module_path(module_path: &str, name: &str) -> Self {
        let mut parts = module_path.split("::");
        let crate_name = parts.next().unwrap_or_default().to_string();
        let module = parts.collect::<Vec<_>>().join("/");
        FnPath {
            crate_name,
            module,
            name: name.to_string(),
        }
    }

    /// The relative directory of this function: sanitized names joined by `/`.
    pub fn dir(&self) -> String {
        let mut out = String::with_capacity(self.dir_capacity());
        self.push_dir(&mut out);
        out
    }

    /// Appends [`FnPath::dir`] to `out`.
    fn push_dir(&self, out: &mut String) {
        sanitize_into(out, &self.crate_name);
        for seg in self.module.split('/').filter(|s| !s.is_empty()) {
            out.push('/');
            sanitize_into(out, seg);
        }
        out.push('/');
        sanitize_into(out, &self.name);
    }

    /// The length of [`FnPath::dir`] when nothing needs escaping.
    fn dir_capacity(&self) -> usize {
        self.crate_name.len() + self.module.len() + self.name.len() + 2
    }
}

impl fmt::Display for FnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.crate_name)?;
        for seg in self.module.split('/').filter(|s| !s.is_empty()) {
            write!(f, "::{seg}")?;
        }
        write!(f, "::{}", self.name)
    }
}

/// Makes a name safe as one path segment on every platform and object store, injectively:
/// distinct names give distinct segments, so two functions never share a directory.
///
/// ASCII letters, digits, `_` and `.` (not leading, so no hidden names and never `.`/`..`)
/// are kept; every other byte of the UTF-8 name is written `-XX` (two lowercase hex digits),
/// `-` itself included, so the mapping can be undone. The empty name is `-`. A result over
/// 120 bytes (well under every filesystem's 255-byte limit) is cut and ends in `--` plus 32 hex digits of the whole name's hash
/// (`--` never occurs otherwise), so long names stay distinct too.
///
/// ```
/// use checkpointer_core::sanitize;
/// assert_eq!(sanitize("square"), "square");
/// assert_eq!(sanitize("Type.method"), "Type.method");
/// assert_eq!(sanitize("größe"), "gr-c3-b6-c3-9fe");
/// assert_ne!(sanitize("größe"), sanitize("gr__e"));
/// assert_eq!(sanitize(".."), "-2e.");
/// ```
pub fn sanitize(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    sanitize_into(&mut s, name);
    s
}

/// Appends [`sanitize`]`(name)` to `out`.
fn sanitize_into(out: &mut String, name: &str) {
    // The common case, copied as is: what the loop below would copy byte for byte.
    let plain = !name.is_empty()
        && name.len() <= MAX_SEGMENT
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if plain {
        out.push_str(name);
    } else {
        out.push_str(&sanitize_escaped(name));
    }
}

/// [`sanitize`] for names that need escaping, cutting or restoring.
fn sanitize_escaped(name: &str) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || (b == b'.' && i > 0) {
            s.push(b as char);
        } else {
            let _ = write!(s, "-{b:02x}");
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    if let Some(cut) = name.strip_prefix(CUT_NAME).filter(|c| is_cut(c)) {
        return cut.to_string();
    }
    if s.len() > MAX_SEGMENT {
        let tail = Digest::of_bytes(name.as_bytes()).short(32);
        s.truncate(MAX_SEGMENT - 34);
        s.push_str("--");
        s.push_str(&tail);
    }
    s
}

/// The name [`unsanitize`] gives a cut segment: this prefix and the segment. It sanitizes
/// back to that segment, i.e. it stands for the (unknown) long name that was cut. A NUL never
/// occurs in a Rust path or type name.
const CUT_NAME: &str = "\0";

/// Whether `seg` is a cut long name: `MAX_SEGMENT` bytes ending in `--` and 32 hex digits.
fn is_cut(seg: &str) -> bool {
    seg.len() == MAX_SEGMENT
        && seg.as_bytes()[MAX_SEGMENT - 34..MAX_SEGMENT - 32] == *b"--"
        && seg[MAX_SEGMENT - 32..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name a segment was sanitized from: `sanitize(&unsanitize(seg)?) == seg`. `None` when
/// no name sanitizes to `seg`. A cut long name (see [`sanitize`]) cannot be restored; it
/// gives a stand-in that sanitizes back to the same segment.
///
/// ```
/// use checkpointer_core::{sanitize, unsanitize};
/// assert_eq!(unsanitize("gr-c3-b6-c3-9fe").as_deref(), Some("größe"));
/// assert_eq!(unsanitize("a_b").as_deref(), Some("a_b"));
/// assert_eq!(unsanitize("-61"), None); // `a` is never escaped
/// ```
pub fn unsanitize(seg: &str) -> Option<String> {
    if is_cut(seg) {
        return Some(format!("{CUT_NAME}{seg}"));
    }
    if seg == "-" {
        return Some(String::new());
    }
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            let hex = seg.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (sanitize(&name) == seg).then_some(name)
}

/// The longest sanitized name segment, well under every filesystem's 255-byte limit.
pub const MAX_SEGMENT: usize = 120;

/// The key of one cache entry.
///
/// Cheap to clone (the function path is shared). Equality compares everything; the `Hash`
/// impl uses only the call digest, which is already uniformly distributed.
#[derive(Clone, Debug)]
pub struct Key {
    /// The function.
    pub function: Arc<FnPath>,
    /// The function identity hash (code and dependencies, or `fn_hash_from`).
    pub identity: Digest,
    /// The call hash (arguments, captures, env, files).
    pub call: Digest,
}

/// Slots of the per-thread memo of [`Key`] directories.
const DIR_SLOTS: usize = 8;

/// A memoized `<fn dir>/<identity hex>/`.
struct Dir {
    function: Arc<FnPath>,
    identity: Digest,
    dir: Box<str>,
}

thread_local! {
    static DIRS: std::cell::RefCell<[Option<Dir>; DIR_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; DIR_SLOTS]) };
}

impl Key {
    /// The entry's path relative to a store root:
    /// `<crate>/<module>/<fn>/<identity hex>/<first two call hex>/<rest of call hex>`.
    pub fn relative_path(&self) -> String {
        let mut out = String::with_capacity(self.function.dir_capacity() + 2 * Digest::HEX_LEN + 3);
        self.push_dir(&mut out);
        let call = self.call.hex();
        let call = call.as_str();
        out.push_str(&call[..2]);
        out.push('/');
        out.push_str(&call[2..]);
        out
    }

    /// Appends `<crate>/<module>/<fn>/<identity hex>/` to `out`, from a small per-thread
    /// memo of recent (function, identity) pairs: every fs and S3 operation builds a path,
    /// and this part only changes with the function's state.
    fn push_dir(&self, out: &mut String) {
        let slot = (Arc::as_ptr(&self.function) as usize >> 4) % DIR_SLOTS;
        let found = DIRS
            .try_with(|dirs| {
                let dirs = dirs.try_borrow().ok()?;
                let d = dirs[slot].as_ref()?;
                // The memo holds its `Arc`, so an equal pointer is the same, live, immutable
                // `FnPath`, never another one at a reused address.
                (Arc::ptr_eq(&d.function, &self.function) && d.identity == self.identity)
                    .then(|| out.push_str(&d.dir))
            })
            .ok()
            .flatten();
        if found.is_some() {
            return;
        }
        let start = out.len();
        self.function.push_dir(out);
        out.push('/');
        self.identity.push_hex(out);
        out.push('/');
        let made = Dir {
            function: self.function.clone(),
            identity: self.identity,
            dir: out[start..].into(),
        };
        // Replaced outside the borrow: dropping the old `Arc` runs no user code, but keeps the
        // table free of re-entrancy questions.
        let old = DIRS
            .try_with(|dirs| dirs.try_borrow_mut().ok()?[slot].replace(made))
            .ok()
            .flatten();
        drop(old);
    }

    /// Parses a path made by [`Key::relative_path`]: names are turned back into the names
    /// they were sanitized from (see [`unsanitize`]), so the parsed key's path is the path
    /// parsed. `None` for anything [`Key::relative_path`] cannot have made.
    pub fn parse_relative_path(path: &str) -> Option<Key> {
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() < 5 {
            return None;
        }
        let n = parts.len();
        let call = Digest::from_hex(&format!("{}{}", parts[n - 2], parts[n - 1]))?;
        if parts[n - 2].len() != 2 {
            return None;
        }
        let identity = Digest::from_hex(parts[n - 3])?;
        let module = parts[1..n - 4]
            .iter()
            .map(|seg| unsanitize(seg))
            .collect::<Option<Vec<_>>>()?;
        let function = FnPath {
            crate_name: unsanitize(parts[0])?,
            module: module.join("/"),
            name: unsanitize(parts[n - 4])?,
        };
        Some(Key {
            function: Arc::new(function),
            identity,
            call,
        })
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.call == other.call
            && self.identity == other.identity
            && (Arc::ptr_eq(&self.function, &other.function)
                || self.function == other.function
                // Equal exactly when the entry paths are, as in every byte-oriented store.
                || self.function.dir() == other.function.dir())
    }
}
impl Eq for Key {}

impl Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.call.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// Which entries a listing covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every entry in the store.
    All,
    /// Every entry of one function, any identity.
    Function(Arc<FnPath>),
    /// The entries of one identity of one function.
    Version(Arc<FnPath>, Digest),
}

impl Scope {
    /// The relative directory that holds this scope (`""` for [`Scope::All`]).
    pub fn relative_dir(&self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::Function(f) => f.dir(),
            Scope::Version(f, id) => format!("{}/{}", f.dir(), id.to_hex()),
        }
    }

    /// Whether `key` lies in this scope.
    pub fn contains(&self, key: &Key) -> bool {
        match self {
            Scope::All => true,
            Scope::Function(f) => key.function.dir() == f.dir(),
            Scope::Version(f, id) => key.identity == *id && key.function.dir() == f.dir(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The copy-as-is shortcut gives exactly what escaping byte by byte gives.
        #[test]
        fn the_plain_shortcut_changes_nothing(name in "(\\PC|[._a-zA-Z0-9\\-]){0,300}") {
            let mut out = String::new();
            sanitize_into(&mut out, &name);
            proptest::prop_assert_eq!(out, sanitize_escaped(&name));
        }
    }

    /// The per-thread memo of directories never answers for another function or identity:
    /// equal contents in another `Arc`, another identity under the same `Arc`, and more
    /// functions than slots, interleaved, all give the path built from scratch.
    #[test]
    fn relative_path_memo_matches_the_plain_layout() {
        let plain = |k: &Key| {
            let call = k.call.to_hex();
            format!(
                "{}/{}/{}/{}",
                k.function.dir(),
                k.identity.to_hex(),
                &call[..2],
                &call[2..]
            )
        };
        let functions: Vec<Arc<FnPath>> = (0..3 * DIR_SLOTS)
            .map(|i| Arc::new(FnPath::from_module_path("c::m", &format!("f{}", i % 5))))
            .collect();
        for round in 0..3u8 {
            for (i, f) in functions.iter().enumerate() {
                for id in 0..3u8 {
                    let k = Key {
                        function: f.clone(),
                        identity: Digest::of_bytes(&[id, i as u8]),
                        call: Digest::of_bytes(&[round, id]),
                    };
                    assert_eq!(k.relative_path(), plain(&k));
                }
            }
            // A fresh `Arc` each time: whatever address it gets, the path is its own.
            for i in 0..20u8 {
                let k = Key {
                    function: Arc::new(FnPath::from_module_path("c::fresh", &format!("g{i}"))),
                    identity: Digest::of_bytes(&[i]),
                    call: Digest::of_bytes(&[round]),
                };
                assert_eq!(k.relative_path(), plain(&k));
            }
        }
    }

    #[test]
    fn relative_path_layout() {
        let key = Key {
            function: Arc::new(FnPath::from_module_path("my_crate::a::b", "Type.run")),
            identity: Digest([0xab; 32]),
            call: Digest([0x12; 32]),
        };
        let path = key.relative_path();
        let want = format!(
            "my_crate/a/b/Type.run/{}/12/{}",
            "ab".repeat(32),
            "12".repeat(31)
        );
        assert_eq!(path, want);
        assert_eq!(Key::parse_relative_path(&path), Some(key));
    }

    #[test]
    fn sanitize_never_escapes() {
        assert_eq!(sanitize(".."), "-2e.");
        assert_eq!(sanitize(".hidden"), "-2ehidden");
        assert_eq!(sanitize("../x"), "-2e.-2fx");
        let long = "x".repeat(300);
        let short = sanitize(&long);
        assert_eq!(short.len(), MAX_SEGMENT);
        assert_ne!(short, sanitize(&"x".repeat(301)));
        assert_eq!(sanitize(""), "-");
        assert_eq!(sanitize("a/b\\c"), "a-2fb-5cc");
        assert_eq!(sanitize("Type.method"), "Type.method");
    }

    /// Issue 9, finding 2: `größe` and `gr__e` (and `a-b`/`a_b`, `""`/`_`) shared a segment.
    #[test]
    fn sanitize_is_injective() {
        let names = [
            "größe",
            "gr__e",
            "gr_e",
            "a-b",
            "a_b",
            "a b",
            "",
            "_",
            "-",
            "--",
            "-2d",
            ".",
            "..",
            "_.",
            "-2e",
            "a.b",
            "a/b",
            "a\\b",
            "é",
            "e\u{301}",
            "Vec<u8>.len",
            "Vec_u8_.len",
        ];
        let mut seen = std::collections::HashMap::new();
        for n in names {
            if let Some(prev) = seen.insert(sanitize(n), n) {
                panic!("{prev:?} and {n:?} both sanitize to {:?}", sanitize(n));
            }
        }
        // Long names: cut ones never equal short ones, and differ from each other.
        let a = format!("{}é", "x".repeat(200));
        let b = format!("{}e", "x".repeat(200));
        assert_ne!(sanitize(&a), sanitize(&b));
        assert!(!sanitize(&"x".repeat(MAX_SEGMENT)).contains("--"));
        // Parsing a listed path gives back a key with the same path, cut names included.
        for name in [a.as_str(), "größe", "", "-", "a.b", "x"] {
            let key = Key {
                function: Arc::new(FnPath::from_module_path("c::größe", name)),
                identity: Digest::of_bytes(b"id"),
                call: Digest::of_bytes(b"call"),
            };
            let back = Key::parse_relative_path(&key.relative_path()).unwrap();
            assert_eq!(back.relative_path(), key.relative_path());
            assert_eq!(back, key);
        }
        for seg in ["-61", "-2", "-zz", "a--b", ".x", "-ff"] {
            assert_eq!(unsanitize(seg), None, "{seg}");
        }
    }

    /// Keys of functions whose names sanitize alike compare equal only when their paths do,
    /// in every backend: equality follows the sanitized directory.
    #[test]
    fn key_equality_follows_the_path() {
        let k = |m: &str| Key {
            function: Arc::new(FnPath {
                crate_name: "c".into(),
                module: m.into(),
                name: "f".into(),
            }),
            identity: Digest::of_bytes(b"id"),
            call: Digest::of_bytes(b"call"),
        };
        assert_eq!(k("a//b"), k("a/b"));
        assert_ne!(k("größe"), k("gr__e"));
    }

    #[test]
    fn key_path_round_trip() {
        let f = Arc::new(FnPath::from_module_path("my_crate::a::b", "square"));
        assert_eq!(f.to_string(), "my_crate::a::b::square");
        let key = Key {
            function: f,
            identity: Digest::of_bytes(b"id"),
            call: Digest::of_bytes(b"call"),
        };
        let p = key.relative_path();
        assert!(p.starts_with("my_crate/a/b/square/"));
        assert_eq!(Key::parse_relative_path(&p), Some(key));
        let root = Key {
            function: Arc::new(FnPath::from_module_path("c", "f")),
            ..Key::parse_relative_path(&p).unwrap()
        };
        assert_eq!(Key::parse_relative_path(&root.relative_path()), Some(root));
    }
}
