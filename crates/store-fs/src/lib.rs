//! Filesystem storage backend for [checkpointer](https://docs.rs/checkpointer): the embedded
//! default (storage spec `"fs"`).
//!
//! # Layout
//!
//! Each entry is one file at `<root>/<Key::relative_path()>`:
//!
//! ```text
//! <root>/<crate>/<module path>/<fn>/<identity hex>/<first two call hex>/<rest of call hex>
//! ```
//!
//! Names are sanitized by [`Key`], hashes are hex, so nothing in a key leaves the root. The
//! file holds the entry's envelope: the 72-byte header of [`checkpointer_core::envelope`]
//! (created time, codec, checksum, length) and then the payload.
//!
//! # Guarantees
//!
//! - **Atomic writes**: an entry is written to a temporary file in its own directory
//!   (`.<rest>.tmp.<pid>.<random>`, never listed) and renamed over the entry, so a process
//!   killed at any instant leaves the old entry or the new one, never a torn file.
//! - **Power loss costs a recomputation, never a wrong value**: by default nothing is
//!   `fsync`ed (two syncs cost several milliseconds per write, most of a small miss). A file
//!   the kernel had not yet flushed may come back empty or torn after a power loss; every
//!   load checks the payload's checksum, so it is a miss and is overwritten.
//!   [`FsStore::durable`] syncs the data before the rename and the directory after it, for
//!   stores whose hits are not checksummed (the mmap store maps files without reading them).
//! - **Failed writes**: a failed write (full disk, file-size limit) removes its
//!   temporary file and returns an error; the core then returns the computed value with a
//!   warning.
//! - **Single flight across processes**: [`Storage::lock`] takes an OS lock that the kernel
//!   releases when the holder exits or is killed, so a dead owner never blocks anyone: a
//!   waiter takes over, re-checks the entry and computes. On 64-bit Linux it is one byte of
//!   [`STORE_LOCK_FILE`] in the root, at an offset hashed from the entry's path (an
//!   open-file-description lock: threads exclude each other too); a lock of a byte this
//!   process already holds for another key (perhaps the caller's own enclosing computation)
//!   takes a lock file of its own instead of waiting for itself. Elsewhere, where the file
//!   system refuses byte-range locks, or where the store's lock file cannot be opened, it is
//!   `flock` on `.<rest>.lock` beside the entry: holders remove their lock file on release
//!   (Unix); takers check after locking that the file they locked is still the one at the
//!   path, which keeps removal race-free. Waiting happens on a helper thread, never on the
//!   caller's executor thread.
//! - **Leftovers are swept**: every listing (so `cleanup`, `stats` and `prune`) removes, in
//!   the directories it walks, temporary files of dead writers (pid gone and idle for
//!   [`sweep::TEMP_GRACE_DEAD`], or idle for [`sweep::TEMP_MAX_AGE`] whatever the pid) and
//!   lock files nobody holds; [`FsStore::sweep`] does it for the whole root.
//! - **Damage is a miss**: a truncated, garbled or unreadable file loads as an entry whose
//!   [`Entry::verify`] fails (see [`FsStore`]'s `load`), so the core warns, recomputes and
//!   overwrites it.
//! - **Last use without a write per hit**: an entry file's modification time is its last
//!   use. Stores set it; a hit advances it only when it is more than [`TOUCH_AFTER`] old, so
//!   a hot entry costs one metadata write per hour. Listing reports it as
//!   [`EntryInfo::accessed`], which `prune` orders by (least recently used first). The
//!   modification time is used rather than the access time because `noatime`/`relatime`
//!   mounts and any other reader (backups, `grep -r`, listing itself) would blur the latter.
//! - **Privacy**: a root this store creates is made with mode `0700`, and below a root that
//!   only its owner can enter, directories are made `0700` and files `0600` (Unix).
//! - **No symbolic links** are followed below the root; the root itself may be one.
//! - **Tidy**: deleting an entry removes its directory and its identity's directory once
//!   they are empty.
//!
//! Operations are blocking file I/O inside `async fn`s, so they run under any executor and
//! under the core's `block_on` alike.
//!
//! ```
//! use checkpointer_core::{block_on, Codec, Digest, Entry, FnPath, Key, Storage};
//! use checkpointer_store_fs::FsStore;
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FsStore::new(dir.path().join("checkpoints"));
//! let key = Key {
//!     function: Arc::new(FnPath::from_module_path("demo::math", "square")),
//!     identity: Digest::of_bytes(b"code"),
//!     call: Digest::of_bytes(b"args"),
//! };
//! block_on(store.store(&key, Entry::new(Codec::Cbor, "sixteen".into()))).unwrap();
//! assert!(store.path_of(&key).starts_with(dir.path().join("checkpoints/demo/math/square")));
//! let back = block_on(store.load(&key)).unwrap().unwrap();
//! back.verify().unwrap();
//! assert_eq!(&back.payload[..], b"sixteen");
//! ```

#![warn(missing_docs)]

mod lock;
mod open;
pub mod sweep;

pub use lock::STORE_LOCK_FILE;
pub use sweep::SweepReport;

use checkpointer_core::{
    async_trait, envelope, read_hashed, CheckpointError, Entry, EntryInfo, EntryMeta, Key, KeyLock,
    Scope, Storage,
};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What went wrong in the filesystem store, with the path involved.
///
/// Converts into [`CheckpointError::Storage`] with backend `"fs"`; the path stays in the
/// message and the I/O error stays reachable as the source.
///
/// ```
/// use checkpointer_core::{block_on, CheckpointError, Codec, Digest, Entry, FnPath, Key, Storage};
/// use checkpointer_store_fs::FsStore;
/// use std::sync::Arc;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("file"), b"").unwrap();
/// // The root lies below a regular file: storing fails with an error naming the path.
/// let store = FsStore::new(dir.path().join("file/cache"));
/// let key = Key {
///     function: Arc::new(FnPath::from_module_path("demo", "f")),
///     identity: Digest::of_bytes(b"code"),
///     call: Digest::of_bytes(b"args"),
/// };
/// let err = block_on(store.store(&key, Entry::new(Codec::Cbor, "x".into()))).unwrap_err();
/// assert!(matches!(err, CheckpointError::Storage { ref backend, .. } if backend == "fs"));
/// assert!(err.to_string().contains("file"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// A filesystem call failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// The storage operation (`store`, `load`, …).
        op: &'static str,
        /// What the store was doing (`create`, `rename`, …).
        action: &'static str,
        /// The path it was doing it to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path below the root is a symbolic link (or not a directory where one belongs); the
    /// store does not follow links inside its root, so a key cannot lead out of it.
    #[error("{} is not a plain directory (the store follows no symbolic links below its root)", path.display())]
    NotADirectory {
        /// The storage operation.
        op: &'static str,
        /// The offending path.
        path: PathBuf,
    },
    /// The root exists in a directory anyone can write to (like `/tmp`) but belongs to another
    /// user, who could plant entries in it; the store refuses it.
    #[error("{} belongs to another user (uid {owner}) and sits in a directory anyone can write to; refusing it as a cache root, since its owner could plant entries (choose another directory)", path.display())]
    ForeignRoot {
        /// The storage operation.
        op: &'static str,
        /// The root.
        path: PathBuf,
        /// The root's owner.
        owner: u32,
    },
}

impl FsError {
    /// The storage operation that failed (`store`, `load`, `delete`, …).
    ///
    /// ```
    /// # use checkpointer_store_fs::FsError;
    /// let e = FsError::NotADirectory { op: "store", path: "/x".into() };
    /// assert_eq!(e.op(), "store");
    /// ```
    pub fn op(&self) -> &'static str {
        match self {
            FsError::Io { op, .. }
            | FsError::NotADirectory { op, .. }
            | FsError::ForeignRoot { op, .. } => op,
        }
    }

    /// The path involved.
    ///
    /// ```
    /// # use checkpointer_store_fs::FsError;
    /// let e = FsError::NotADirectory { op: "store", path: "/x".into() };
    /// assert_eq!(e.path(), std::path::Path::new("/x"));
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            FsError::Io { path, .. }
            | FsError::NotADirectory { path, .. }
            | FsError::ForeignRoot { path, .. } => path,
        }
    }
}

impl From<FsError> for CheckpointError {
    fn from(e: FsError) -> Self {
        CheckpointError::storage("fs", e.op(), e)
    }
}

fn io_err<'a>(
    op: &'static str,
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| FsError::Io {
        op,
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The filesystem store.
///
/// `load` returns `Ok(None)` only when there is no file. A file that is there but cannot be
/// an entry (truncated, bad header, wrong length) or cannot be read (an I/O error, a
/// symbolic link) loads as an entry that fails [`Entry::verify`] — empty payload, a checksum
/// no payload has, the file's modification time (or now) as created time — and a `tracing`
/// warning with the path and the reason. The core then treats it like any corrupt entry: a
/// warning, a recomputation and an overwrite. `checkpoint_date` reports a malformed file with
/// its modification time.
///
/// [`Storage::lock`] is implemented (see the crate documentation): the core holds it while
/// computing a missing entry, so processes sharing a directory compute each key once.
///
/// ```
/// use checkpointer_store_fs::FsStore;
/// let store = FsStore::new("/tmp/my-cache"); // touches nothing until the first store
/// assert_eq!(store.root(), std::path::Path::new("/tmp/my-cache"));
/// ```
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    /// Whether the root is private to its owner (files `0600`, directories `0700`);
    /// decided at the first write.
    private: OnceLock<bool>,
    /// Directories below the root already checked to be plain directories, by relative path;
    /// saves the walk on every hit.
    checked: Mutex<HashSet<String>>,
    /// Whether writes are synced to disk before and after the rename (see [`FsStore::durable`]).
    durable: bool,
    /// Whether keys are locked by a byte of the store's lock file (rather than a file each);
    /// turned off for good when the file system refuses such locks.
    range_locks: AtomicBool,
}

/// How many checked directories to remember before starting over (bounds memory).
const CHECKED_MAX: usize = 1 << 16;

/// A hit records its use (the file's modification time) only when the recorded one is older
/// than this: last use is known to within an hour without a write on every hit.
pub const TOUCH_AFTER: Duration = Duration::from_secs(3600);

/// How many times an operation starts over when a directory vanishes under it (a concurrent
/// delete removed it) or a lock file is replaced while it waits.
const RETRIES: usize = 64;

/// How many lock files a waiter may find replaced before giving up: each replacement is
/// another holder's whole turn, so under heavy contention (many waiters, a sweeper) an
/// unlucky waiter can lose dozens of rounds. Bounded only so that a file system whose inode
/// numbers are not stable cannot loop forever (there every round fails at once).
const LOCK_RETRIES: usize = 10_000;

impl FsStore {
    /// A store rooted at `root`. Nothing is created until the first store; loads from a
    /// missing root are misses.
    ///
    /// ```
    /// # use checkpointer_store_fs::FsStore;
    /// let store = FsStore::new(std::env::temp_dir().join("checkpoints"));
    /// # let _ = store;
    /// ```
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore {
            root: root.into(),
            private: OnceLock::new(),
            checked: Mutex::new(HashSet::new()),
            durable: false,
            range_locks: AtomicBool::new(cfg!(all(
                target_os = "linux",
                target_pointer_width = "64"
            ))),
        }
    }

    /// Locks keys with a lock file each, as on platforms without byte-range locks (for
    /// testing that way here; not part of the API).
    #[doc(hidden)]
    pub fn lock_files_per_key(self) -> Self {
        self.range_locks.store(false, Ordering::Relaxed);
        self
    }

    /// Syncs every write to disk: the entry's data before it is renamed into place, and its
    /// directory after. Without it (the default) a power loss may leave a recent entry empty
    /// or torn, which fails its checksum on the next load and is recomputed; with it, entries
    /// survive a power loss, at the cost of two syncs per write (milliseconds on most disks).
    /// The mmap store turns it on, since a mapped hit does not read the payload.
    ///
    /// ```
    /// # use checkpointer_store_fs::FsStore;
    /// let store = FsStore::new("cache").durable(true);
    /// assert!(store.is_durable());
    /// assert!(!FsStore::new("cache").is_durable());
    /// ```
    pub fn durable(mut self, yes: bool) -> Self {
        self.durable = yes;
        self
    }

    /// Whether writes are synced (see [`FsStore::durable`]).
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// The root directory.
    ///
    /// ```
    /// # use checkpointer_store_fs::FsStore;
    /// assert_eq!(FsStore::new("cache").root(), std::path::Path::new("cache"));
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds (or would hold) the entry under `key`.
    ///
    /// ```
    /// # use checkpointer_core::{Digest, FnPath, Key};
    /// # use checkpointer_store_fs::FsStore;
    /// # use std::sync::Arc;
    /// let key = Key {
    ///     function: Arc::new(FnPath::from_module_path("app::io", "load")),
    ///     identity: Digest::of_bytes(b"code"),
    ///     call: Digest::of_bytes(b"args"),
    /// };
    /// let path = FsStore::new("/cache").path_of(&key);
    /// assert!(path.starts_with("/cache/app/io/load"));
    /// ```
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.under_root(&key.relative_path())
    }

    /// `root/rel`, built in one allocation (every operation builds one).
    fn under_root(&self, rel: &str) -> PathBuf {
        let mut path = PathBuf::with_capacity(self.root.as_os_str().len() + 1 + rel.len());
        path.push(&self.root);
        path.push(rel);
        path
    }

    /// Checks that every directory of `rel_dir` below the root is a plain directory (not a
    /// link), creating the missing ones when `create`. Returns whether they all exist.
    fn check_dirs(&self, op: &'static str, rel_dir: &str, create: bool) -> Result<bool, FsError> {
        if self
            .checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(rel_dir)
        {
            return Ok(true);
        }
        if create {
            // Also brings back a root removed since the last store.
            self.make_root(op)?;
        } else {
            match fs::metadata(&self.root) {
                // Loads trust no root another user planted either.
                Ok(m) if m.is_dir() => self.check_owner(op, &m)?,
                _ => {}
            }
        }
        let mut dir = self.root.clone();
        for seg in rel_dir.split('/').filter(|s| !s.is_empty()) {
            dir.push(seg);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => return Err(FsError::NotADirectory { op, path: dir }),
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    match self.dir_builder(op)?.create(&dir) {
                        Ok(()) => {}
                        // Made by someone else meanwhile: check what it is.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            if !fs::symlink_metadata(&dir)
                                .map_err(io_err(op, "inspect", &dir))?
                                .is_dir()
                            {
                                return Err(FsError::NotADirectory { op, path: dir });
                            }
                        }
                        Err(e) => return Err(io_err(op, "create directory", &dir)(e)),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(io_err(op, "inspect", &dir)(e)),
            }
        }
        let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        if checked.len() >= CHECKED_MAX {
            checked.clear();
        }
        checked.insert(rel_dir.to_string());
        Ok(true)
    }

    fn forget_dir(&self, rel_dir: &str) {
        self.checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(rel_dir);
    }

    /// Creates the root if needed (mode `0700` when new) and decides whether the store is
    /// private.
    fn private(&self, op: &'static str) -> Result<bool, FsError> {
        match self.private.get() {
            Some(p) => Ok(*p),
            None => self.make_root(op),
        }
    }

    /// Creates the root if it is missing (mode `0700`: a new root is private) and returns
    /// whether it is private.
    fn make_root(&self, op: &'static str) -> Result<bool, FsError> {
        let private = match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => {
                self.check_owner(op, &m)?;
                mode_is_private(&m)
            }
            Ok(_) => {
                return Err(FsError::NotADirectory {
                    op,
                    path: self.root.clone(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut b = fs::DirBuilder::new();
                b.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                b.create(&self.root).map_err(io_err(
                    op,
                    "create the store directory",
                    &self.root,
                ))?;
                true
            }
            Err(e) => return Err(io_err(op, "inspect", &self.root)(e)),
        };
        Ok(*self.private.get_or_init(|| private))
    }

    /// Refuses a root that another user made in a directory anyone can write to (see
    /// [`FsError::ForeignRoot`]). A root shared on purpose (a team directory) lives in a
    /// directory only the team can write to, and passes.
    #[cfg(unix)]
    fn check_owner(&self, op: &'static str, m: &fs::Metadata) -> Result<(), FsError> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if m.uid() == me {
            return Ok(());
        }
        let parent = match self.root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let open_to_all = fs::metadata(&parent)
            .map(|p| p.permissions().mode() & 0o002 != 0)
            .unwrap_or(false);
        if open_to_all {
            return Err(FsError::ForeignRoot {
                op,
                path: self.root.clone(),
                owner: m.uid(),
            });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_owner(&self, _op: &'static str, _m: &fs::Metadata) -> Result<(), FsError> {
        Ok(())
    }

    fn dir_builder(&self, op: &'static str) -> Result<fs::DirBuilder, FsError> {
        #[allow(unused_mut)]
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(
            &mut b,
            if self.private(op)? { 0o700 } else { 0o777 },
        );
        #[cfg(not(unix))]
        let _ = self.private(op)?;
        Ok(b)
    }

    /// Writes `entry` to a new temporary file in `dir` and returns its path.
    fn write_temp(
        &self,
        op: &'static str,
        dir: &Path,
        name: &str,
        entry: &Entry,
    ) -> Result<PathBuf, FsError> {
        let tmp = dir.join(format!(
            ".{name}.tmp.{}-{}.{:016x}",
            std::process::id(),
            sweep::host_tag(),
            fastrand::u64(..)
        ));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(
            &mut opts,
            if self.private(op)? { 0o600 } else { 0o666 },
        );
        let mut file = opts.open(&tmp).map_err(io_err(op, "create", &tmp))?;
        let written = (|| {
            write_both(&mut file, &entry.envelope_header(), &entry.payload)?;
            if self.durable {
                // The data must be on disk before the rename makes it the entry.
                file.sync_data()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            drop(file);
            let _ = fs::remove_file(&tmp);
            return Err(io_err(op, "write", &tmp)(e));
        }
        Ok(tmp)
    }
}

/// Writes `head` then `body`, in one system call when the file takes both at once.
fn write_both(file: &mut File, head: &[u8], body: &[u8]) -> io::Result<()> {
    let n = loop {
        match file.write_vectored(&[io::IoSlice::new(head), io::IoSlice::new(body)]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    match n.checked_sub(head.len()) {
        Some(done) => file.write_all(&body[done..]),
        None => {
            file.write_all(&head[n..])?;
            file.write_all(body)
        }
    }
}

#[cfg(unix)]
fn mode_is_private(m: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn mode_is_private(_: &fs::Metadata) -> bool {
    false
}

/// Opens an entry file without following a link in its last component.
fn open_entry(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
    opts.open(path)
}

/// Makes a directory's entries durable (a rename is only durable once its directory is).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

fn modified(m: &fs::Metadata) -> SystemTime {
    m.modified().unwrap_or(UNIX_EPOCH)
}

/// Reads the header of an open entry file: its metadata, or why it is not an entry.
fn read_header(file: &mut File, size: u64) -> io::Result<Result<EntryMeta, String>> {
    let mut header = [0u8; envelope::HEADER_LEN];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => {
                return Ok(Err(format!(
                    "file of {size} bytes is shorter than an entry header"
                )))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(envelope::parse_header(&header)
        .and_then(|(meta, len)| envelope::check_size(len, size).map(|()| meta))
        .map_err(|e| e.to_string()))
}

/// Splits a relative entry path into its directory and file name.
fn split_rel(rel: &str) -> (&str, &str) {
    // An entry's file name is the call hash's last 62 hex digits (`Key::relative_path`): no
    // search needed for the common case.
    const NAME: usize = checkpointer_core::Digest::HEX_LEN - 2;
    if let Some(at) = rel.len().checked_sub(NAME + 1) {
        if rel.as_bytes()[at] == b'/' && !rel[at + 1..].contains('/') {
            return (&rel[..at], &rel[at + 1..]);
        }
    }
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Reads a whole entry file already opened, or says why it cannot be an entry. A large
/// payload is hashed while it is read (see `checkpointer_core::read_hashed`).
fn read_entry(file: &mut File, len: u64) -> io::Result<Result<Entry, CheckpointError>> {
    Ok(Entry::from_envelope(read_hashed::read_envelope(file, len)?))
}

impl FsStore {
    /// Sweeps the whole root: removes temporary files of dead writers and lock files nobody
    /// holds (see [`sweep`]). Listing does the same for the directories it walks, so the
    /// core's `cleanup`, `stats` and `prune` sweep too; this is for doing it alone.
    ///
    /// ```
    /// # use checkpointer_store_fs::FsStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let report = FsStore::new(dir.path()).sweep().unwrap();
    /// assert_eq!(report.temp_files + report.lock_files, 0);
    /// ```
    pub fn sweep(&self) -> Result<SweepReport, CheckpointError> {
        Ok(self.walk(&Scope::All, false, true)?.1)
    }

    /// Walks the directories of `scope`, sweeping leftovers when `sweep` (skipping them
    /// otherwise), and when `collect` lists the entries (reading only their headers).
    fn walk(
        &self,
        scope: &Scope,
        collect: bool,
        sweep: bool,
    ) -> Result<(Vec<EntryInfo>, SweepReport), FsError> {
        const OP: &str = "list";
        let rel_dir = scope.relative_dir();
        let mut out = Vec::new();
        let mut swept = SweepReport::default();
        if !self.check_dirs(OP, &rel_dir, false)? {
            return Ok((out, swept));
        }
        let now = SystemTime::now();
        let mut stack = vec![(self.root.join(&rel_dir), rel_dir)];
        while let Some((dir, rel)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // Removed while walking (a concurrent cleanup): nothing to list there.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(OP, "read directory", &dir)(e)),
            };
            for item in entries {
                let item = item.map_err(io_err(OP, "read directory", &dir))?;
                let Ok(name) = item.file_name().into_string() else {
                    continue;
                };
                // `file_type` does not follow links: links are neither walked nor listed.
                let Ok(kind) = item.file_type() else { continue };
                if kind.is_file() {
                    if let Some(what) = sweep::classify(&name) {
                        if sweep {
                            swept.add(sweep::sweep_one(&item.path(), what, now));
                        }
                        continue;
                    }
                }
                // Sanitized names never start with a dot, but keys are parsed, not assumed:
                // anything that is not a 62-hex-digit file two levels below an identity fails
                // `Key::parse_relative_path`.
                let child_rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if kind.is_dir() {
                    stack.push((item.path(), child_rel));
                    continue;
                }
                if !collect || !kind.is_file() {
                    continue;
                }
                let Some(key) = Key::parse_relative_path(&child_rel) else {
                    continue;
                };
                if !scope.contains(&key) {
                    continue;
                }
                let path = item.path();
                let mut file = match open_entry(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err(OP, "open", &path)(e)),
                };
                let meta = file.metadata().map_err(io_err(OP, "inspect", &path))?;
                // A file that cannot be read is still listed, so cleanup can reach it.
                let created = read_header(&mut file, meta.len())
                    .ok()
                    .and_then(Result::ok)
                    .map(|m| m.created);
                out.push(EntryInfo {
                    key,
                    size: meta.len(),
                    created,
                    accessed: meta.modified().ok(),
                });
            }
        }
        Ok((out, swept))
    }

    /// Takes the lock of `key` (see the crate documentation): a byte of the store's lock
    /// file where the platform and file system have such locks, else a lock file of its own.
    async fn lock_key(&self, key: &Key) -> Result<KeyLock, FsError> {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        if self.range_locks.load(Ordering::Relaxed) {
            match self.lock_range(key).await {
                Err(FsError::Io { source, .. }) if source.kind() == io::ErrorKind::Unsupported => {
                    tracing::debug!(target: "checkpointer", root = %self.root.display(), "no byte-range locks here ({source}); locking with a file per key");
                    self.range_locks.store(false, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        self.lock_own_file(key).await
    }

    /// Locks the byte of `key` in the store's lock file.
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    async fn lock_range(&self, key: &Key) -> Result<KeyLock, FsError> {
        self.lock_range_at(key, lock::range::offset(key)).await
    }

    /// Locks the byte at `offset` of the store's lock file for `key`; locks `key` with a file
    /// of its own instead when the lock file cannot be opened or when this process holds
    /// that byte for another key (see `lock::range::held_here_for_another`).
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    async fn lock_range_at(&self, key: &Key, offset: u64) -> Result<KeyLock, FsError> {
        const OP: &str = "lock";
        let private = self.private(OP)?;
        let path = self.root.join(lock::STORE_LOCK_FILE);
        let mut attempt = 0;
        let file = loop {
            match lock::open(&path, true, private) {
                Ok(f) => break f,
                // The root was removed since it was made: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < RETRIES => {
                    attempt += 1;
                    self.make_root(OP)?;
                }
                // A directory or a link in its place, another user's file not writable
                // here: this key gets a lock file of its own (it still excludes every
                // process that cannot open the file either).
                Err(e) => {
                    tracing::debug!(target: "checkpointer", path = %path.display(), "cannot open the store's lock file ({e}); locking with a file for the key");
                    return self.lock_own_file(key).await;
                }
            }
        };
        let file = match lock::range::try_lock(&file, offset).map_err(io_err(OP, "lock", &path))? {
            Some(()) => file,
            // Perhaps held by the caller's own enclosing computation: never wait for it.
            None if lock::range::held_here_for_another(&path, offset, key) => {
                drop(file);
                return self.lock_own_file(key).await;
            }
            None => lock::wait_with(file, move |f| lock::range::lock(f, offset))
                .await
                .map_err(io_err(OP, "wait for the lock", &path))?,
        };
        let entry = lock::range::enter(&path, offset, key);
        Ok(KeyLock::new(lock::held_range(file, entry)))
    }

    /// Locks `key` with a lock file of its own beside the entry.
    async fn lock_own_file(&self, key: &Key) -> Result<KeyLock, FsError> {
        const OP: &str = "lock";
        let rel = key.relative_path();
        let (rel_dir, name) = split_rel(&rel);
        let dir = self.root.join(rel_dir);
        let path = dir.join(format!(".{name}.lock"));
        let private = self.private(OP)?;
        for _ in 0..LOCK_RETRIES {
            self.check_dirs(OP, rel_dir, true)?;
            let file = match lock::open(&path, true, private) {
                Ok(f) => f,
                // The directory was removed since it was checked: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.forget_dir(rel_dir);
                    continue;
                }
                Err(e) => return Err(io_err(OP, "open", &path)(e)),
            };
            let file = match lock::try_lock(&file).map_err(io_err(OP, "lock", &path))? {
                Some(()) => file,
                None => lock::wait(file)
                    .await
                    .map_err(io_err(OP, "wait for the lock", &path))?,
            };
            // The previous holder removed the file on release, or a sweep did: whoever
            // holds the file now at the path is the owner, so start over with that one.
            if lock::still_at(&file, &path).map_err(io_err(OP, "inspect", &path))? {
                return Ok(KeyLock::new(lock::held(file, path)));
            }
        }
        Err(io_err(OP, "lock", &path)(io::Error::other(
            "the lock file kept being replaced",
        )))
    }

    /// Writes an entry file atomically; starts over when a concurrent delete removed its
    /// directory meanwhile.
    fn store_file(&self, key: &Key, entry: &Entry) -> Result<(), FsError> {
        const OP: &str = "store";
        let rel = key.relative_path();
        let (rel_dir, name) = split_rel(&rel);
        let dir = self.root.join(rel_dir);
        self.private(OP)?;
        let mut attempt = 0;
        let tmp = loop {
            self.check_dirs(OP, rel_dir, true)?;
            match self.write_temp(OP, &dir, name, entry) {
                Ok(tmp) => break tmp,
                Err(FsError::Io { source, .. })
                    if source.kind() == io::ErrorKind::NotFound && attempt < RETRIES =>
                {
                    attempt += 1;
                    self.forget_dir(rel_dir);
                }
                Err(e) => return Err(e),
            }
        };
        let path = dir.join(name);
        // rename replaces the entry atomically, and replaces a link rather than following it.
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(OP, "rename into", &path)(e));
        }
        if self.durable {
            sync_dir(&dir).map_err(io_err(OP, "sync", &dir))?;
        }
        Ok(())
    }

    /// Loads an entry file. Only a missing file is `None`; a file that is there but cannot be
    /// read or is not an entry loads as [`Entry::damaged`].
    fn load_file(&self, key: &Key) -> Result<Option<Entry>, FsError> {
        const OP: &str = "load";
        let rel = key.relative_path();
        if !self.check_dirs(OP, split_rel(&rel).0, false)? {
            return Ok(None);
        }
        let path = self.under_root(&rel);
        let unusable = |why: &dyn std::fmt::Display, created: SystemTime| {
            tracing::warn!(target: "checkpointer", path = %path.display(), "unusable cache entry: {why}");
            Ok(Some(Entry::damaged(created)))
        };
        let mut file = match open_entry(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return unusable(&e, SystemTime::now()),
        };
        let meta = match file.metadata() {
            Ok(m) => m,
            Err(e) => return unusable(&e, SystemTime::now()),
        };
        let entry = match read_entry(&mut file, meta.len()) {
            Ok(Ok(entry)) => entry,
            Ok(Err(e)) => return unusable(&e, modified(&meta)),
            Err(e) => return unusable(&e, modified(&meta)),
        };
        let now = SystemTime::now();
        if now.duration_since(modified(&meta)).unwrap_or_default() > TOUCH_AFTER {
            // Records the use for LRU pruning. Needs ownership of the file; in a cache shared
            // between users this may fail, and then the entry just looks older than it is.
            let _ = file.set_modified(now);
        }
        Ok(Some(entry))
    }

    /// Removes an entry file, then its directory and its identity's directory if that left
    /// them empty.
    fn delete_file(&self, key: &Key) -> Result<bool, FsError> {
        const OP: &str = "delete";
        let rel = key.relative_path();
        let (rel_dir, _) = split_rel(&rel);
        if !self.check_dirs(OP, rel_dir, false)? {
            return Ok(false);
        }
        let path = self.under_root(&rel);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(OP, "remove", &path)(e)),
        }
        // `remove_dir` fails on a non-empty directory, which is the common case and fine.
        // Writers whose directory vanishes this way make it again (see `store_file`).
        let mut dir = rel_dir;
        for _ in 0..2 {
            if fs::remove_dir(self.root.join(dir)).is_err() {
                break;
            }
            self.forget_dir(dir);
            dir = split_rel(dir).0;
        }
        Ok(true)
    }
}

#[async_trait]
impl Storage for FsStore {
    fn name(&self) -> &str {
        "fs"
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        Ok(self.store_file(key, &entry)?)
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        Ok(self.load_file(key)?)
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        const OP: &str = "stat";
        let rel = key.relative_path();
        if !self.check_dirs(OP, split_rel(&rel).0, false)? {
            return Ok(None);
        }
        let path = self.under_root(&rel);
        let mut file = match open_entry(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(OP, "open", &path)(e).into()),
        };
        let meta = file.metadata().map_err(io_err(OP, "inspect", &path))?;
        Ok(Some(
            match read_header(&mut file, meta.len()).map_err(io_err(OP, "read", &path))? {
                Ok(m) => m.created,
                // Damaged: the same created time `load` reports for it.
                Err(_) => modified(&meta),
            },
        ))
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        Ok(self.delete_file(key)?)
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        Ok(self.walk(scope, true, true)?.0)
    }

    /// Lists without sweeping: leftovers are skipped, not removed.
    async fn list_read_only(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        Ok(self.walk(scope, true, false)?.0)
    }

    async fn lock(&self, key: &Key) -> Result<Option<KeyLock>, CheckpointError> {
        Ok(Some(self.lock_key(key).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::split_rel;

    #[test]
    fn split_rel_is_rsplit_once_on_every_shape() {
        let name = "a".repeat(62);
        let cases = [
            format!("c/m/f/id/ab/{name}"),
            format!("ab/{name}"),
            format!("/{name}"),
            name.clone(),
            format!("x/{}", "a".repeat(61)),
            format!("x/{}/b", "a".repeat(60)),
            format!("x/b/{}", "a".repeat(63)),
            "c/m/f/id".to_string(),
            String::new(),
            "/".to_string(),
            format!("é/{name}"),
        ];
        for rel in &cases {
            assert_eq!(
                split_rel(rel),
                rel.rsplit_once('/').unwrap_or(("", rel)),
                "{rel}"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux", target_pointer_width = "64"))]
mod range_tests {
    //! Keys that draw one byte (forced here; 2^-62 per pair otherwise).
    use super::*;
    use checkpointer_core::{block_on, Digest, FnPath};
    use std::sync::atomic::AtomicBool;
    use std::sync::{mpsc, Arc};

    const X: u64 = 0x1234_5678;

    fn key(name: &str) -> Key {
        Key {
            function: Arc::new(FnPath::from_module_path("tests::collide", name)),
            identity: Digest::of_bytes(b"id"),
            call: Digest::of_bytes(b"call"),
        }
    }

    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(secs))
            .expect("did not finish in time")
    }

    /// Starts a thread taking `key` at byte `X`; its flag is set once it holds it.
    fn taker(store: &Arc<FsStore>, key: Key) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
        let got = Arc::new(AtomicBool::new(false));
        let (store, flag) = (store.clone(), got.clone());
        let t = std::thread::spawn(move || {
            let l = block_on(store.lock_range_at(&key, X)).unwrap();
            flag.store(true, Ordering::SeqCst);
            drop(l);
        });
        (got, t)
    }

    #[test]
    fn a_nested_lock_of_a_byte_held_here_for_another_key_does_not_wait_and_still_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::new(dir.path()));
        let s = store.clone();
        within(20, move || {
            let outer = block_on(s.lock_range_at(&key("a"), X)).unwrap();
            // The nested key draws the byte its caller holds: it must not wait for it.
            let inner = block_on(s.lock_range_at(&key("b"), X)).unwrap();
            // Other takers of either key still wait for their holders.
            let (got_a, ta) = taker(&s, key("a"));
            let (got_b, tb) = taker(&s, key("b"));
            std::thread::sleep(Duration::from_millis(300));
            assert!(!got_a.load(Ordering::SeqCst), "a held key was taken");
            assert!(!got_b.load(Ordering::SeqCst), "a held nested key was taken");
            drop(inner);
            tb.join().unwrap();
            assert!(!got_a.load(Ordering::SeqCst), "a held key was taken");
            drop(outer);
            ta.join().unwrap();
        });
        // Released: the table lists nothing, the byte is free.
        assert!(!lock::range::held_here_for_another(
            &dir.path().join(lock::STORE_LOCK_FILE),
            X,
            &key("c")
        ));
    }

    /// A file system that refuses byte-range locks (the kernel's errno injected: none such is
    /// mounted here): the store locks with a file per key from then on, and those locks
    /// exclude each other. Any other error is an error, not a reason to switch.
    #[test]
    fn a_store_refused_byte_range_locks_switches_to_lock_files_for_good_and_still_excludes() {
        for errno in [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOLCK] {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(FsStore::new(dir.path()));
            let k = key("a");
            lock::range::FAIL_WITH.with(|f| f.set(Some(errno)));
            let held = block_on(store.lock(&k));
            lock::range::FAIL_WITH.with(|f| f.set(None));
            let held = held.unwrap().expect("locked");
            assert!(!store.range_locks.load(Ordering::Relaxed), "errno {errno}");
            let name = store.path_of(&k).file_name().unwrap().to_owned();
            let own = store
                .path_of(&k)
                .with_file_name(format!(".{}.lock", name.to_string_lossy()));
            assert!(own.exists(), "errno {errno}: no lock file of its own");
            // Another thread (no injected refusal) locks the same way and waits.
            let got = Arc::new(AtomicBool::new(false));
            let t = {
                let (store, k, got) = (store.clone(), k.clone(), got.clone());
                std::thread::spawn(move || {
                    let l = block_on(store.lock(&k)).unwrap().unwrap();
                    got.store(true, Ordering::SeqCst);
                    drop(l);
                })
            };
            std::thread::sleep(Duration::from_millis(200));
            assert!(
                !got.load(Ordering::SeqCst),
                "errno {errno}: a held key was taken"
            );
            drop(held);
            t.join().unwrap();
            assert!(!own.exists(), "errno {errno}: lock file left");
        }
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        lock::range::FAIL_WITH.with(|f| f.set(Some(libc::EIO)));
        let r = block_on(store.lock(&key("a")));
        lock::range::FAIL_WITH.with(|f| f.set(None));
        assert!(r.is_err());
        assert!(store.range_locks.load(Ordering::Relaxed));
    }
}
