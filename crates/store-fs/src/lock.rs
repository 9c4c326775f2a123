//! Cross-process single flight: OS file locks, released by the kernel when their holder exits
//! or dies.
//!
//! **Byte-range locks (64-bit Linux).** Every key locks one byte of one file per store,
//! `<root>/.checkpointer-locks` ([`STORE_LOCK_FILE`]), at an offset hashed from the entry
//! path (an open-file-description lock, `F_OFD_SETLK`, on a file opened for that one lock, so
//! threads exclude each other as processes do). The file is made once and never removed, so
//! a miss makes and removes no lock file: on ext4 that halves the files a miss creates. Two
//! keys that draw the same byte merely wait for each other, except in one process, where the
//! holder may be the waiter's own caller: there the second key takes a lock file of its own
//! (see `range::held_here_for_another`).
//!
//! **Lock files per key (elsewhere, and where the file system refuses such locks).** The lock
//! of an entry `<dir>/<rest>` is an exclusive `flock` (Unix; `LockFileEx` on Windows, both
//! through `fs4`) on `<dir>/.<rest>.lock`. Unix holders remove the lock file when they
//! release it, while still holding it; every taker therefore checks, once it holds the lock,
//! that the file it locked is still the one at the path (same device and inode) and starts
//! over otherwise. That check is what makes removing a lock file safe while others wait on
//! it: a waiter woken on a removed file never believes it holds the lock.
//!
//! A blocked wait runs on a short-lived thread of its own, so a future waiting for a lock
//! never blocks an executor's thread; it is woken when the thread gets the lock.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The name of the file in an fs store's root whose bytes are its keys' locks (64-bit Linux).
///
/// It is made at the first lock, empty, and kept: it is neither an entry nor a leftover, so
/// listing skips it and sweeping keeps it. Removing it by hand is harmless to values but
/// lets a process that opens the new file compute a key that a holder of the old one is
/// computing (twice, never wrongly).
pub const STORE_LOCK_FILE: &str = ".checkpointer-locks";

/// A held key lock. Dropping it closes its file, which releases the lock; a per-key lock file
/// is removed first (Unix), while still held.
#[derive(Debug)]
pub(crate) struct Held {
    /// The per-key lock file to remove; `None` for a byte-range lock.
    #[cfg_attr(not(unix), allow(dead_code))]
    path: Option<PathBuf>,
    /// A byte-range lock's entry in this process's table of held bytes; dropped (fields drop
    /// in order) before `file` closes, so the table never lists a byte already released.
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    _entry: Option<range::Entry>,
    // Closed after `drop` below has run: the removal happens while the lock is held.
    #[cfg_attr(not(unix), allow(dead_code))]
    file: File,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Windows refuses to remove a file others have open, and Windows lockers cannot check
        // inodes, so there the file stays until a sweep finds it unheld.
        // The check only matters if someone removed the file by hand meanwhile: then the
        // file at the path is another taker's, which must stay.
        #[cfg(unix)]
        if let Some(path) = &self.path {
            if still_at(&self.file, path).unwrap_or(false) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Opens (creating if needed) a lock file without following a link.
pub(crate) fn open(path: &Path, create: bool, private: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(create);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o666 })
            .custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(windows)]
    {
        // No FILE_SHARE_DELETE: nobody can remove a lock file someone has open.
        std::os::windows::fs::OpenOptionsExt::share_mode(&mut opts, 0x1 | 0x2);
        let _ = private;
    }
    #[cfg(not(any(unix, windows)))]
    let _ = private;
    opts.open(path)
}

/// Takes the lock without waiting: `Ok(None)` when someone else holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<Option<()>> {
    match fs4::FileExt::try_lock(file) {
        Ok(()) => Ok(Some(())),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => Err(e),
    }
}

/// Whether the locked `file` is still the file at `path` (not removed or replaced by a
/// releasing holder or a sweep since it was opened).
#[cfg(unix)]
pub(crate) fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Windows lock files are never removed while open (see [`open`]), so a locked file is
/// always the one at its path.
#[cfg(not(unix))]
pub(crate) fn still_at(_file: &File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

/// Makes the guard for a per-key lock that [`still_at`] confirmed.
pub(crate) fn held(file: File, path: PathBuf) -> Held {
    Held {
        path: Some(path),
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        _entry: None,
        file,
    }
}

/// Makes the guard for a byte-range lock, listed in this process's table of held bytes.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn held_range(file: File, entry: range::Entry) -> Held {
    Held {
        path: None,
        _entry: Some(entry),
        file,
    }
}

/// Waits for the per-key lock on `file` without blocking the caller's thread.
pub(crate) fn wait(file: File) -> Wait {
    wait_with(file, fs4::FileExt::lock)
}

/// Waits without blocking the caller's thread for `lock` (a blocking call) to lock `file`:
/// resolves to the file, locked.
pub(crate) fn wait_with(
    file: File,
    lock: impl FnOnce(&File) -> io::Result<()> + Send + 'static,
) -> Wait {
    let shared = Arc::new(Mutex::new(Slot::default()));
    let slot = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("checkpointer-fs-lock".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let result = lock(&file).map(|()| file);
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.abandoned {
                // The waiter went away: dropping the file releases the lock at once.
                return;
            }
            slot.result = Some(result);
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        });
    match spawned {
        Ok(_) => Wait {
            shared,
            failed: None,
        },
        Err(e) => Wait {
            shared,
            failed: Some(e),
        },
    }
}

#[derive(Default)]
struct Slot {
    result: Option<io::Result<File>>,
    waker: Option<Waker>,
    abandoned: bool,
}

/// The future of [`wait`].
pub(crate) struct Wait {
    shared: Arc<Mutex<Slot>>,
    failed: Option<io::Error>,
}

impl Future for Wait {
    type Output = io::Result<File>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Err(e));
        }
        let mut slot = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let mut slot = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        slot.abandoned = true;
        // A lock obtained but never collected is released here.
        slot.result = None;
    }
}

/// Byte-range locks on the store's lock file (see the module documentation).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) mod range {
    use checkpointer_core::Key;
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, PoisonError};

    /// The byte a key locks: 62 bits (in range of `off_t`) of the hash of its whole entry
    /// path. The function counts: two functions with one identity (`fn_hash_from`, the
    /// `static_identity` preset) called with equal arguments have equal identity and call
    /// digests, and one may call the other while holding its own lock.
    pub(crate) fn offset(key: &Key) -> u64 {
        let d = checkpointer_core::Digest::of_bytes(key.relative_path().as_bytes());
        let mut w = [0u8; 8];
        w.copy_from_slice(&d.0[..8]);
        u64::from_le_bytes(w) >> 2
    }

    /// The bytes this process holds: lock file, offset, and the key each was taken for.
    ///
    /// Byte-range locks of one process exclude each other (each is its own open file
    /// description), and the kernel detects no deadlock among them: a cached function whose
    /// key draws the byte its caller holds (two keys, one byte: 2^-62 per pair) would wait
    /// for itself forever. So a taker that finds its byte held by this process for another
    /// key does not wait for it (see [`held_here_for_another`]).
    static HELD: Mutex<Vec<Holding>> = Mutex::new(Vec::new());
    static NEXT: AtomicU64 = AtomicU64::new(0);

    struct Holding {
        id: u64,
        file: PathBuf,
        offset: u64,
        key: Key,
    }

    /// A held byte's entry in the table; dropping it removes the entry.
    #[derive(Debug)]
    pub(crate) struct Entry(u64);

    impl Drop for Entry {
        fn drop(&mut self) {
            let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = held.iter().position(|h| h.id == self.0) {
                held.swap_remove(i);
            }
        }
    }

    /// Lists a byte this process has just taken for `key`.
    pub(crate) fn enter(file: &Path, offset: u64, key: &Key) -> Entry {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        HELD.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Holding {
                id,
                file: file.to_path_buf(),
                offset,
                key: key.clone(),
            });
        Entry(id)
    }

    /// Whether this process holds the byte at `offset` of `file` for a key other than `key`:
    /// perhaps the caller's own enclosing computation, which waiting would deadlock. (A
    /// holder of the same key is another thread: the core never locks a key inside its own
    /// computation.)
    pub(crate) fn held_here_for_another(file: &Path, offset: u64, key: &Key) -> bool {
        HELD.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|h| h.offset == offset && h.file == file && h.key != *key)
    }

    #[cfg(test)]
    thread_local! {
        /// The errno every request on this thread fails with (a file system without such
        /// locks cannot be had here).
        pub(crate) static FAIL_WITH: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
    }

    fn request(file: &File, cmd: libc::c_int, offset: u64) -> io::Result<()> {
        #[cfg(test)]
        if let Some(errno) = FAIL_WITH.with(|f| f.get()) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let start = libc::off_t::try_from(offset).map_err(io::Error::other)?;
        // SAFETY: `flock` is a plain C struct for which all zeroes is a valid value.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = start;
        fl.l_len = 1;
        // l_pid must be 0 for open-file-description locks.
        // SAFETY: a valid descriptor and a pointer to an initialised `flock` that outlives
        // the call.
        let r = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Takes the byte at `offset` without waiting: `Ok(None)` when someone else holds it.
    /// An error of kind `Unsupported` means the file system (or kernel) has no such locks.
    pub(crate) fn try_lock(file: &File, offset: u64) -> io::Result<Option<()>> {
        classify(request(file, libc::F_OFD_SETLK, offset))
    }

    /// What an `F_OFD_SETLK` outcome means: taken, held by someone else, or refused.
    pub(super) fn classify(r: io::Result<()>) -> io::Result<Option<()>> {
        match r {
            Ok(()) => Ok(Some(())),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(None),
            Err(e) if unsupported(&e) => Err(io::Error::new(io::ErrorKind::Unsupported, e)),
            Err(e) => Err(e),
        }
    }

    /// Takes the byte at `offset`, waiting as long as it takes.
    pub(crate) fn lock(file: &File, offset: u64) -> io::Result<()> {
        loop {
            match request(file, libc::F_OFD_SETLKW, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::ENOLCK)
        )
    }
}

#[cfg(all(test, target_os = "linux", target_pointer_width = "64"))]
mod tests {
    use super::range::*;
    use std::io;
    use std::os::fd::AsRawFd;

    #[test]
    fn refusals_mean_no_byte_range_locks_here_and_conflicts_mean_held() {
        for errno in [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOLCK] {
            let e = classify(Err(io::Error::from_raw_os_error(errno))).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "errno {errno}");
        }
        for errno in [libc::EAGAIN, libc::EACCES] {
            assert!(classify(Err(io::Error::from_raw_os_error(errno)))
                .unwrap()
                .is_none());
        }
        // Anything else is an error of its own, not a reason to give up byte ranges.
        for errno in [libc::EBADF, libc::EIO, libc::EINTR] {
            let e = classify(Err(io::Error::from_raw_os_error(errno))).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(errno));
        }
    }

    #[test]
    fn the_kernel_answers_as_classified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks");
        let a = super::open(&path, true, true).unwrap();
        let b = super::open(&path, false, true).unwrap();
        assert_eq!(try_lock(&a, 1 << 61).unwrap(), Some(()));
        // Another open file description of this very process conflicts.
        assert_eq!(try_lock(&b, 1 << 61).unwrap(), None);
        assert_eq!(try_lock(&b, (1 << 61) + 1).unwrap(), Some(()));
        // A malformed request (l_pid must be 0) is the kernel's EINVAL, read as "no such
        // locks here".
        // SAFETY: as in `request`.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_len = 1;
        fl.l_pid = 1;
        // SAFETY: a valid descriptor and an initialised `flock`.
        let r = unsafe {
            libc::fcntl(
                a.as_raw_fd(),
                libc::F_OFD_SETLK,
                &mut fl as *mut libc::flock,
            )
        };
        assert_eq!(r, -1);
        let e = classify(Err(io::Error::last_os_error())).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        // A file open only for reading cannot take a write lock: EBADF, an error.
        let ro = std::fs::File::open(&path).unwrap();
        assert_eq!(
            try_lock(&ro, 5).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
    }
}
