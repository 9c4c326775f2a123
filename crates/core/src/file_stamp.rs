//! When a `files(...)` digest may be reused without reading the file again.
//!
//! Size and modification time alone miss a rewrite of equal size whose mtime was restored
//! (`tar -x`, `cp -p`, `rsync -t`), so the stamp also holds what such tools cannot set: the
//! inode and device (a rewrite by rename gets a new inode) and the change time (any write or
//! `utimes` moves it), all to the nanosecond. A file changed within [`RACY`] of being stamped
//! gets no stamp at all — timestamps tick coarsely (often every few milliseconds), so a
//! second write in the same tick would look unchanged — and is read again on every call until
//! it has been quiet that long (git's "racy clean" rule).

use std::fs::Metadata;
use std::time::{Duration, SystemTime};

/// How long a file must have been unchanged before its digest is reused.
pub(crate) const RACY: Duration = Duration::from_secs(2);

/// What identifies one version of a file's contents, as far as metadata can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: SystemTime,
    #[cfg(unix)]
    unix: (u64, u64, i64, i64),
}

/// The stamp of a file with metadata `m` read at `now`, or `None` when it must be re-read
/// next time (changed too recently, or the platform cannot tell a change apart).
pub(crate) fn of(m: &Metadata, now: SystemTime) -> Option<Stamp> {
    let modified = m.modified().ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let changed = ctime(m)?;
        let recent = |t: SystemTime| now.duration_since(t).map_or(true, |age| age < RACY);
        if recent(changed) || recent(modified) {
            return None;
        }
        Some(Stamp {
            len: m.len(),
            modified,
            unix: (m.dev(), m.ino(), m.ctime(), m.ctime_nsec()),
        })
    }
    #[cfg(not(unix))]
    {
        // No change time that `SetFileTime` cannot forge: always re-read.
        let _ = (modified, now);
        None
    }
}

#[cfg(unix)]
fn ctime(m: &Metadata) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let secs = u64::try_from(m.ctime()).ok()?;
    let nanos = u32::try_from(m.ctime_nsec()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}
