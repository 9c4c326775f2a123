//! Leftovers of writers and lockers that died: temporary files and unheld lock files.
//!
//! Listing sweeps them from every directory it walks (so `cleanup`, `stats` and `prune` in
//! core, which all list, keep a store tidy), and [`crate::FsStore::sweep`] sweeps the whole
//! root on demand.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A temporary file whose writer is gone is removed once it has not been written for this
/// long (the writer may live in another PID namespace or on another machine sharing the
/// directory, where its pid means nothing here; a live writer keeps its file's time fresh).
pub const TEMP_GRACE_DEAD: Duration = Duration::from_secs(60);

/// Any temporary file not written for this long is removed, whatever its pid says.
pub const TEMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// What a sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Temporary files of writers that died (or stalled for longer than [`TEMP_MAX_AGE`]).
    pub temp_files: u64,
    /// Lock files nobody held.
    pub lock_files: u64,
}

impl SweepReport {
    pub(crate) fn add(&mut self, other: SweepReport) {
        self.temp_files += other.temp_files;
        self.lock_files += other.lock_files;
    }
}

/// What a dot-file in an entry directory is.
pub(crate) enum Leftover {
    /// `.<rest>.tmp.<pid>-<host>.<random>` (or the older `.<rest>.tmp.<pid>.<random>`):
    /// `local` when `<host>` is this machine's tag, so the pid means something here.
    Temp { pid: u32, local: bool },
    /// `.<rest>.lock`.
    Lock,
}

/// Recognizes the store's own dot-files; anything else is left alone.
pub(crate) fn classify(name: &str) -> Option<Leftover> {
    let rest = name.strip_prefix('.')?;
    if let Some(stem) = rest.strip_suffix(".lock") {
        return is_hex(stem).then_some(Leftover::Lock);
    }
    let (stem, tail) = rest.split_once(".tmp.")?;
    let (writer, random) = tail.split_once('.')?;
    let (pid, host) = match writer.split_once('-') {
        Some((pid, host)) if is_hex(host) => (pid, Some(host)),
        Some(_) => return None,
        None => (writer, None),
    };
    let local = host == Some(host_tag());
    (is_hex(stem) && is_hex(random))
        .then(|| pid.parse().ok().map(|pid| Leftover::Temp { pid, local }))
        .flatten()
}

/// This machine (and boot, and container) as 16 hex digits, written into temporary file
/// names (`.<rest>.tmp.<pid>-<host tag>.<random>`): a sweep judges a writer by its pid only when it ran here. A writer on another host
/// sharing the volume (or an older name without a tag) counts as alive until
/// [`TEMP_MAX_AGE`].
pub fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let mut id = hostname();
        // Distinguishes boots (pids are reused) and hosts with one name.
        id.extend(fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default());
        checkpointer_core::Digest::of_bytes(&id).short(16)
    })
}

#[cfg(unix)]
fn hostname() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return Vec::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf[..end].to_vec()
}

#[cfg(not(unix))]
fn hostname() -> Vec<u8> {
    std::env::var("COMPUTERNAME")
        .unwrap_or_default()
        .into_bytes()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes `path` if it is a leftover that nobody uses. Errors are ignored: a sweep is
/// housekeeping, and whatever it cannot remove now the next one retries.
pub(crate) fn sweep_one(path: &Path, what: Leftover, now: SystemTime) -> SweepReport {
    let mut report = SweepReport::default();
    match what {
        Leftover::Temp { pid, local } => {
            let Ok(meta) = fs::symlink_metadata(path) else {
                return report;
            };
            let idle = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let stale = idle > TEMP_MAX_AGE || (local && idle > TEMP_GRACE_DEAD && !pid_alive(pid));
            if stale && fs::remove_file(path).is_ok() {
                report.temp_files += 1;
            }
        }
        Leftover::Lock => {
            if remove_unheld_lock(path).unwrap_or(false) {
                report.lock_files += 1;
            }
        }
    }
    report
}

/// Removes a lock file if nobody holds it: take it without waiting, check it is still the
/// file at the path, remove it while holding it (exactly what a releasing holder does).
#[cfg(unix)]
fn remove_unheld_lock(path: &Path) -> io::Result<bool> {
    let file = match crate::lock::open(path, false, true) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if crate::lock::try_lock(&file)?.is_none() || !crate::lock::still_at(&file, path)? {
        return Ok(false);
    }
    fs::remove_file(path)?;
    Ok(true)
}

/// Windows: removal fails while anyone has the file open, which is all the check needed.
#[cfg(not(unix))]
fn remove_unheld_lock(path: &Path) -> io::Result<bool> {
    fs::remove_file(path).map(|()| true)
}

/// Whether process `pid` may still be running on this machine.
#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // Signal 0 checks existence only. EPERM means it exists but belongs to someone else.
    // SAFETY: kill with signal 0 sends nothing and has no memory effects.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Without a cheap check, every writer counts as alive; [`TEMP_MAX_AGE`] still applies.
#[cfg(not(unix))]
fn pid_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_only_own_dot_files() {
        let rest = "ab".repeat(31);
        assert!(matches!(
            classify(&format!(".{rest}.lock")),
            Some(Leftover::Lock)
        ));
        assert!(matches!(
            classify(&format!(".{rest}.tmp.4242.00000000deadbeef")),
            Some(Leftover::Temp {
                pid: 4242,
                local: false
            })
        ));
        assert!(matches!(
            classify(&format!(".{rest}.tmp.4242-{}.00000000deadbeef", host_tag())),
            Some(Leftover::Temp {
                pid: 4242,
                local: true
            })
        ));
        assert!(matches!(
            classify(&format!(
                ".{rest}.tmp.4242-0123456789abcdef.00000000deadbeef"
            )),
            Some(Leftover::Temp {
                pid: 4242,
                local: false
            })
        ));
        for other in [
            rest.clone(),
            ".lock".to_string(),
            format!(".{rest}.tmp.x.00"),
            format!(".{rest}.tmp.12"),
            ".bashrc".to_string(),
            format!(".{rest}.tmp.1.zz"),
        ] {
            assert!(classify(&other).is_none(), "{other}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn own_pid_is_alive_and_an_unused_one_is_not() {
        assert!(pid_alive(std::process::id()));
        // Above the largest pid Linux hands out (4194304).
        assert!(!pid_alive(999_999_999));
    }
}
