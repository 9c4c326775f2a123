//! Cross-process single flight: one OS file lock per key, released by the kernel when its
//! holder exits or dies.
//!
//! The lock of an entry `<dir>/<rest>` is an exclusive `flock` (Unix; `LockFileEx` on
//! Windows, both through `fs4`) on `<dir>/.<rest>.lock`. Unix holders remove the lock file
//! when they release it, while still holding it; every taker therefore checks, once it holds
//! the lock, that the file it locked is still the one at the path (same device and inode) and
//! starts over otherwise. That check is what makes removing a lock file safe while others
//! wait on it: a waiter woken on a removed file never believes it holds the lock.
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

/// A held key lock. Dropping it removes the lock file (Unix) and then releases the lock.
#[derive(Debug)]
pub(crate) struct Held {
    #[cfg_attr(not(unix), allow(dead_code))]
    path: PathBuf,
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
        if still_at(&self.file, &self.path).unwrap_or(false) {
            let _ = std::fs::remove_file(&self.path);
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

/// Makes the guard for a lock that [`still_at`] confirmed.
pub(crate) fn held(file: File, path: PathBuf) -> Held {
    Held { path, file }
}

/// Waits for the lock on `file` without blocking the caller's thread: resolves to the file,
/// locked.
pub(crate) fn wait(file: File) -> Wait {
    let shared = Arc::new(Mutex::new(Slot::default()));
    let slot = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("checkpointer-fs-lock".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let result = fs4::FileExt::lock(&file).map(|()| file);
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
