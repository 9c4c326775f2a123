//! The on-disk cache of file indexes, so a rebuild parses only the files that changed.
//!
//! Parsing is the expensive part of the fingerprint (syn over every line of the crate, in a
//! proc macro that cargo builds unoptimized by default), and most rebuilds change one file.
//! Each file's [`FileIndex`] is stored under the build's output directory (rustc's
//! `--out-dir`, so `cargo clean` removes it) in a slot named after the file's path, crate and
//! module path, and is reused only when the blake3 of its content (with the same key and the
//! format version) matches: a changed file is always parsed again, whatever its mtime says.
//! Anything unreadable is simply parsed again; a write that fails is ignored.

use super::index::{FileIndex, Kind, Unit};
use super::refs::Refs;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bump when this encoding changes (the indexer's own sources are part of every key too).
const FORMAT: &[u8] = b"checkpointer-file-index-v3\0";

/// The index of one file: from the cache in `dir` when its content is unchanged, else parsed
/// (and stored).
pub fn file_index(
    dir: Option<&Path>,
    text: &str,
    path: &Path,
    crate_name: &str,
    module: &[String],
) -> FileIndex {
    let Some(dir) = dir else {
        return FileIndex::parse(text, path, crate_name, module);
    };
    let mut key = blake3::Hasher::new();
    key.update(FORMAT);
    // Another version of the indexer makes other units from the same file.
    key.update(env!("CHECKPOINTER_MACROS_SOURCE").as_bytes());
    key.update(path.to_string_lossy().as_bytes());
    key.update(b"\0");
    key.update(crate_name.as_bytes());
    for m in module {
        key.update(b"\0");
        key.update(m.as_bytes());
    }
    let slot = dir.join(format!("{}.idx", &key.finalize().to_hex()[..32]));
    key.update(b"\0content\0");
    key.update(text.as_bytes());
    let content = *key.finalize().as_bytes();

    if let Some(index) = std::fs::read(&slot)
        .ok()
        .and_then(|bytes| decode(&bytes, &content))
    {
        return index;
    }
    let index = FileIndex::parse(text, path, crate_name, module);
    let _ = store(dir, &slot, &encode(&index, &content));
    index
}

/// Writes `bytes` to `slot` atomically (temp file, rename): builds of the same crate in
/// parallel (a library and its test harness) may share a slot.
fn store(dir: &Path, slot: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = slot.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, slot).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn strs<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a String>) {
        self.u32(items.len());
        for s in items {
            self.str(s);
        }
    }
}

fn encode(index: &FileIndex, content: &[u8; 32]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(4096));
    w.0.extend_from_slice(FORMAT);
    w.0.extend_from_slice(content);
    w.u32(index.lines);
    w.u32(index.units.len());
    for u in &index.units {
        w.0.push(Kind::ALL.iter().position(|k| *k == u.kind).unwrap_or(0) as u8);
        w.str(&u.name);
        w.strs(u.extra_names.iter());
        w.str(&u.path);
        w.str(&u.scope);
        w.strs(u.filed_under.iter());
        w.strs(u.inputs.iter());
        match &u.site {
            Some((f, a, b)) => {
                w.0.push(1);
                w.str(f);
                w.u32(*a as usize);
                w.u32(*b as usize);
            }
            None => w.0.push(0),
        }
        w.0.extend_from_slice(&u.hash);
        match &u.layout {
            Some(l) => {
                w.0.push(1);
                w.0.extend_from_slice(l);
            }
            None => w.0.push(0),
        }
        match &u.root_key {
            Some(k) => {
                w.0.push(1);
                w.0.extend_from_slice(k);
            }
            None => w.0.push(0),
        }
        w.strs(u.refs.names.iter());
        w.u32(u.refs.qualified.len());
        for (q, n) in &u.refs.qualified {
            w.str(q);
            w.str(n);
        }
        w.strs(u.refs.methods.iter());
        w.strs(u.refs.loose.iter());
        w.strs(u.refs.macros.iter());
        w.strs(u.refs.bounds.iter());
    }
    w.u32(index.mods.len());
    for (p, m) in &index.mods {
        w.str(&p.to_string_lossy());
        w.strs(m.iter());
    }
    w.0
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?) as usize)
    }
    fn hash(&mut self) -> Option<[u8; 32]> {
        self.bytes(32)?.try_into().ok()
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
    fn strs(&mut self) -> Option<Vec<String>> {
        let n = self.u32()?;
        (0..n).map(|_| self.str()).collect()
    }
    fn set(&mut self) -> Option<BTreeSet<String>> {
        Some(self.strs()?.into_iter().collect())
    }
}

fn decode(bytes: &[u8], content: &[u8; 32]) -> Option<FileIndex> {
    let mut r = Reader(bytes);
    if r.bytes(FORMAT.len())? != FORMAT || &r.hash()? != content {
        return None;
    }
    let lines = r.u32()?;
    let n = r.u32()?;
    let mut units = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let kind = *Kind::ALL.get(r.u8()? as usize)?;
        let name = r.str()?;
        let extra_names = r.strs()?;
        let path = r.str()?;
        let scope = r.str()?;
        let filed_under = r.strs()?;
        let inputs = r.strs()?;
        let site = match r.u8()? {
            0 => None,
            _ => Some((r.str()?, r.u32()? as u32, r.u32()? as u32)),
        };
        let hash = r.hash()?;
        let layout = match r.u8()? {
            0 => None,
            _ => Some(r.hash()?),
        };
        let root_key = match r.u8()? {
            0 => None,
            _ => Some(r.hash()?),
        };
        let names = r.set()?;
        let q = r.u32()?;
        let qualified = (0..q)
            .map(|_| Some((r.str()?, r.str()?)))
            .collect::<Option<_>>()?;
        let refs = Refs {
            names,
            qualified,
            methods: r.set()?,
            loose: r.set()?,
            macros: r.set()?,
            bounds: r.set()?,
        };
        units.push(Unit {
            kind,
            name,
            extra_names,
            path,
            scope,
            filed_under,
            hash,
            refs,
            root_key,
            site,
            inputs,
            layout,
        });
    }
    let m = r.u32()?;
    let mods = (0..m)
        .map(|_| Some((PathBuf::from(r.str()?), r.strs()?)))
        .collect::<Option<_>>()?;
    r.0.is_empty().then_some(FileIndex { units, mods, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
use a::b as c;
mod sub;
#[checkpoint]
fn f(x: u64) -> u64 { helper(x).len() + LIMIT }
impl Shape for Sq { fn area(&self) -> f64 { 1.0 } }
macro_rules! m { () => { fn made() {} } }
"#;

    #[test]
    fn round_trip_and_content_check() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lib.rs");
        let parsed = FileIndex::parse(SRC, &path, "app", &[]);
        assert!(parsed.units.len() >= 4 && !parsed.mods.is_empty());
        assert!(parsed
            .units
            .iter()
            .any(|u| u.kind == Kind::Use && u.name == "c"));
        assert!(parsed
            .units
            .iter()
            .any(|u| u.site.is_some() && u.root_key.is_some()));
        let content = [7u8; 32];
        let bytes = encode(&parsed, &content);
        assert_eq!(decode(&bytes, &content), Some(parsed.clone()));
        assert_eq!(decode(&bytes, &[8u8; 32]), None, "another content");
        assert_eq!(
            decode(&bytes[..bytes.len() - 1], &content),
            None,
            "truncated"
        );

        let dir = tmp.path().join("cache");
        let first = file_index(Some(&dir), SRC, &path, "app", &[]);
        assert_eq!(first, parsed);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert_eq!(
            file_index(Some(&dir), SRC, &path, "app", &[]),
            parsed,
            "from the cache"
        );
        let edited = SRC.replace("1.0", "2.0");
        let again = file_index(Some(&dir), &edited, &path, "app", &[]);
        assert_eq!(
            again,
            FileIndex::parse(&edited, &path, "app", &[]),
            "a changed file is parsed again"
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "one slot per file"
        );
    }
}
