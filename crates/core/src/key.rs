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
        let mut out = sanitize(&self.crate_name);
        for seg in self.module.split('/').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(&sanitize(seg));
        }
        out.push('/');
        out.push_str(&sanitize(&self.name));
        out
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

/// Makes a name safe as one path segment on every platform and object store: keeps ASCII
/// letters, digits, `_`, `-` and `.` (not leading, so no hidden names and never `.`/`..`),
/// replaces everything else with `_`, never yields `""`, and shortens names over
/// [`MAX_SEGMENT`] bytes to a prefix plus a hash of the whole name (distinct names stay
/// distinct).
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    if s.len() > MAX_SEGMENT {
        let tail = Digest::of_bytes(name.as_bytes()).short(16);
        s.truncate(MAX_SEGMENT - 17);
        s.push('-');
        s.push_str(&tail);
    }
    s
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

impl Key {
    /// The entry's path relative to a store root:
    /// `<crate>/<module>/<fn>/<identity hex>/<first two call hex>/<rest of call hex>`.
    pub fn relative_path(&self) -> String {
        let call = self.call.to_hex();
        format!(
            "{}/{}/{}/{}",
            self.function.dir(),
            self.identity.to_hex(),
            &call[..2],
            &call[2..]
        )
    }

    /// Parses a path made by [`Key::relative_path`] (names are taken as sanitized).
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
        let function = FnPath {
            crate_name: parts[0].to_string(),
            module: parts[1..n - 4].join("/"),
            name: parts[n - 4].to_string(),
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
            && (Arc::ptr_eq(&self.function, &other.function) || self.function == other.function)
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

    #[test]
    fn sanitize_never_escapes() {
        assert_eq!(sanitize(".."), "_.");
        assert_eq!(sanitize(".hidden"), "_hidden");
        assert_eq!(sanitize("../x"), "_._x");
        let long = "x".repeat(300);
        let short = sanitize(&long);
        assert_eq!(short.len(), MAX_SEGMENT);
        assert_ne!(short, sanitize(&"x".repeat(301)));
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("a/b\\c"), "a_b_c");
        assert_eq!(sanitize("Type.method"), "Type.method");
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
