//! `MmapStore`: the fs store's files, with array entries served as read-only maps.

use checkpointer_core::{
    async_trait, envelope, mapped, CheckpointError, Codec, Entry, EntryInfo, Key, KeyLock, Scope,
    Storage,
};
use checkpointer_store_fs::FsStore;
use memmap2::Mmap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The mmap store (storage spec `"mmap"`): the fs store's layout, files and guarantees, and
/// O(1) hits for arrays.
///
/// - **Writes** are the fs store's: the whole entry (envelope header, array descriptor,
///   elements) goes to a temporary file, is fsynced and renamed over the entry. An array
///   file is then made read-only (mode `0400` under a private root), so nothing writes it in
///   place by accident. Nothing in checkpointer ever writes or truncates a published file.
/// - **A hit on an array** opens the file, reads the 72-byte header (its own check, codec,
///   length), compares the file's length with the header, maps the file read-only, checks
///   the length of the map and of the file again, and returns an entry whose payload *is*
///   the map (see `checkpointer_core::mapped`): no byte of the elements is read. Decoding
///   checks the array's descriptor (element type, shape × element size = length) and
///   builds the [`Array`](crate::Array) over the map without copying.
/// - **Checksums of arrays are verified on demand**: [`MmapStore::verify`] (and any reader
///   calling `Entry::verify`) reads the file and checks its blake3; a hit does not, which is
///   what keeps it O(1). Headers are checked on every hit.
/// - **Other values** are ordinary envelope entries, read and checksummed on every hit, as in
///   the fs store.
/// - **Damage**: a file whose header, length or descriptor is wrong is a miss; the core
///   recomputes and overwrites it (by rename, so maps of the old file stay valid).
/// - Locks, listing, sweeping, maintenance and last-use times are the fs store's: the two
///   stores share files and a directory can be used by both.
#[derive(Debug)]
pub struct MmapStore {
    fs: FsStore,
}

/// What [`MmapStore::verify`] found.
#[derive(Debug, Default, Clone)]
pub struct VerifyReport {
    /// Entries whose checksum was checked.
    pub checked: u64,
    /// Entries that failed (checksum, framing or reading), with why.
    pub damaged: Vec<(Key, String)>,
    /// Of those, how many were removed.
    pub removed: u64,
}

impl MmapStore {
    /// A store rooted at `root` (the same layout as [`FsStore`]). Nothing is created until
    /// the first store.
    ///
    /// ```
    /// # use checkpointer_store_mmap::MmapStore;
    /// let store = MmapStore::new(std::env::temp_dir().join("checkpoints"));
    /// # let _ = store;
    /// ```
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MmapStore {
            // Mapped hits are not checksummed: files must survive a power loss whole.
            fs: FsStore::new(root).durable(true),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.fs.root()
    }

    /// The file that holds (or would hold) the entry under `key`.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.fs.path_of(key)
    }

    /// Verifies the checksum of every entry in `scope`, reading each file (with `read`, not a
    /// map, so a file truncated meanwhile is an error, not a fault). Damaged entries are
    /// reported, and removed when `remove` is set so the next call recomputes them.
    pub async fn verify(
        &self,
        scope: &Scope,
        remove: bool,
    ) -> Result<VerifyReport, CheckpointError> {
        let mut report = VerifyReport::default();
        for info in self.fs.list(scope).await? {
            report.checked += 1;
            let why = match self.fs.load(&info.key).await {
                Ok(Some(entry)) => match entry.verify() {
                    Ok(()) => continue,
                    Err(e) => e.to_string(),
                },
                Ok(None) => continue, // deleted meanwhile
                Err(e) => e.to_string(),
            };
            if remove && self.fs.delete(&info.key).await? {
                report.removed += 1;
            }
            report.damaged.push((info.key, why));
        }
        Ok(report)
    }

    /// The fast path of `load`: `Ok(None)` when the file is missing, `Err(Damaged)` when it
    /// is anything but a well-formed entry (the caller then lets the fs store report it).
    fn load_fast(&self, key: &Key) -> Result<Option<Entry>, Fallback> {
        let Some(mut file) = self.fs.open_entry_file(key).map_err(Fallback::Error)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(|_| Fallback::Damaged)?;
        let mut head = [0u8; envelope::HEADER_LEN];
        file.read_exact(&mut head).map_err(|_| Fallback::Damaged)?;
        let (entry_meta, len) = envelope::parse_header(&head).map_err(|_| Fallback::Damaged)?;
        let expected = len
            .checked_add(envelope::HEADER_LEN as u64)
            .ok_or(Fallback::Damaged)?;
        if meta.len() != expected {
            return Err(Fallback::Damaged);
        }
        let payload = if entry_meta.codec == Codec::RawArray {
            map_checked(&file, expected, &head)?.slice(envelope::HEADER_LEN..)
        } else {
            let mut rest = Vec::with_capacity(usize::try_from(len).map_err(|_| Fallback::Damaged)?);
            (&mut file)
                .take(len)
                .read_to_end(&mut rest)
                .map_err(|_| Fallback::Damaged)?;
            if rest.len() as u64 != len {
                return Err(Fallback::Damaged);
            }
            rest.into()
        };
        FsStore::note_use(&file, &meta);
        Ok(Some(Entry {
            meta: entry_meta,
            payload,
        }))
    }

    /// Makes a published array file read-only, so it is not written in place by accident.
    fn protect(&self, key: &Key) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = self.fs.path_of(key);
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                if m.is_file() {
                    let mode = m.permissions().mode() & !0o222;
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
                }
            }
        }
        #[cfg(not(unix))]
        let _ = key;
    }
}

/// Why the fast path gave up.
enum Fallback {
    /// The file is not a well-formed entry (or changed under us): let the fs store read it.
    Damaged,
    /// The store itself failed (the directory could not be inspected).
    Error(CheckpointError),
}

/// Maps `file` read-only, insisting that the map and the file are `expected` bytes long and
/// that the map starts with the header that was read: a map shorter than its header says is
/// never handed out (touching past the end of a file would fault).
fn map_checked(
    file: &File,
    expected: u64,
    head: &[u8],
) -> Result<checkpointer_core::Bytes, Fallback> {
    let len = usize::try_from(expected).map_err(|_| Fallback::Damaged)?;
    // SAFETY: the map is read-only and private to this process's view of an inode that
    // checkpointer never writes in place (entries are published by rename and removed by
    // unlink, both of which leave this inode intact). The length is checked against the
    // header before and after mapping, so the map is never longer than the file as it is
    // now. What no process can rule out is another program truncating the file in place
    // later (see the crate documentation: files are read-only and private to their owner).
    let map =
        unsafe { memmap2::MmapOptions::new().len(len).map(file) }.map_err(|_| Fallback::Damaged)?;
    let now = file.metadata().map_err(|_| Fallback::Damaged)?.len();
    if map.len() != len || now != expected || map[..head.len()] != *head {
        return Err(Fallback::Damaged);
    }
    Ok(mapped::payload::<Mmap>(map))
}

#[async_trait]
impl Storage for MmapStore {
    fn name(&self) -> &str {
        "mmap"
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        let array = entry.meta.codec == Codec::RawArray;
        self.fs.store(key, entry).await?;
        if array {
            self.protect(key);
        }
        Ok(())
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        match self.load_fast(key) {
            Ok(found) => Ok(found),
            Err(Fallback::Error(e)) => Err(e),
            // The fs store reads the file and reports damage its way: an entry that fails
            // verification, so the core warns, recomputes and overwrites it.
            Err(Fallback::Damaged) => self.fs.load(key).await,
        }
    }

    async fn promote(&self, key: &Key, entry: Entry) -> Result<Entry, CheckpointError> {
        let array = entry.meta.codec == Codec::RawArray;
        self.store(key, entry.clone()).await?;
        if array {
            // Serve the promoted array from its map, like any later hit.
            if let Ok(Some(mapped)) = self.load_fast(key) {
                if mapped.meta == entry.meta {
                    return Ok(mapped);
                }
            }
        }
        Ok(entry)
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        self.fs.checkpoint_date(key).await
    }

    async fn exists(&self, key: &Key) -> Result<bool, CheckpointError> {
        self.fs.exists(key).await
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        // Unlinking leaves live maps of the file intact.
        self.fs.delete(key).await
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        self.fs.list(scope).await
    }

    async fn list_read_only(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        self.fs.list_read_only(scope).await
    }

    async fn lock(&self, key: &Key) -> Result<Option<KeyLock>, CheckpointError> {
        self.fs.lock(key).await
    }
}
