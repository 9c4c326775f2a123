//! Disk trouble never loses a computed value: a write that fails (a file-size limit, a
//! directory that cannot be made) returns the value with a warning and leaves no file; a
//! store lock file that cannot be opened still locks, quietly.

mod common;
mod fs_support;

use checkpointer::checkpoint;
use common::{is_child, run_child};
use fs_support::all_files;

/// 64 Ki numbers: several hundred KiB of CBOR, far over the limit set below.
fn big_value(x: u64) -> Vec<u64> {
    (0..64 * 1024)
        .map(|j| (j + x).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect()
}

#[checkpoint]
fn big(x: u64) -> Vec<u64> {
    println!("\nBODY");
    big_value(x)
}

#[test]
fn child_big() {
    if !is_child("child_big") {
        return;
    }
    let v = big(3);
    assert!(v == big_value(3));
    println!("\nVALUE_OK");
}

/// Runs `child_big` under a file-size limit of 16 blocks (8 or 16 KiB, by shell), with
/// SIGXFSZ ignored as the limit's users do: writes past it fail with `EFBIG`.
#[cfg(unix)]
fn run_limited(dir: &std::path::Path) -> common::Child {
    let inner = fs_support::child_command("child_big", dir, &[]);
    let mut cmd = std::process::Command::new("sh");
    // An ignored signal stays ignored across exec.
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 16 && exec \"$0\" \"$@\"")
        .arg(inner.get_program());
    cmd.args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run the limited child").into()
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_returns_the_value_warns_and_leaves_no_file() {
    let cache = tempfile::tempdir().unwrap();
    let out = run_limited(cache.path());
    eprintln!("{}", out.stderr);
    out.assert_ok();
    assert_eq!(out.count("BODY"), 1);
    assert_eq!(out.count("VALUE_OK"), 1);
    assert!(
        out.stderr.contains("could not store the computed value"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("File too large") || out.stderr.contains("too large"),
        "{}",
        out.stderr
    );
    // No entry, no partial temporary file, no lock file.
    let files = all_files(cache.path());
    assert!(files.is_empty(), "{files:?}");

    // Without the limit the same cache works: computed and stored, then loaded.
    let free = run_child("child_big", cache.path(), &[]);
    assert_eq!(free.assert_ok().count("BODY"), 1);
    assert!(!free.stderr.contains("warning"), "{}", free.stderr);
    let again = run_child("child_big", cache.path(), &[]);
    assert_eq!(again.assert_ok().count("BODY"), 0);
    assert_eq!(again.count("VALUE_OK"), 1);
}

#[test]
fn a_cache_directory_below_a_regular_file_returns_the_value_with_a_warning() {
    // Unlike permission bits, this fails for root too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let cache = dir.path().join("file/cache");
    for _ in 0..2 {
        let out = run_child("child_big", &cache, &[]);
        out.assert_ok();
        assert_eq!(out.count("BODY"), 1);
        assert_eq!(out.count("VALUE_OK"), 1);
        assert!(
            out.stderr.contains("warning") && out.stderr.contains("failed"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(all_files(dir.path()), vec![dir.path().join("file")]);
}

/// Something other than a writable file where the store's lock file belongs (here a
/// directory; a link, another user's read-only file): keys lock with a file each, with no
/// warning, and the value is computed once and stored.
#[test]
fn a_store_lock_file_that_cannot_be_opened_still_locks_without_a_warning() {
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir(cache.path().join(checkpointer::backend::STORE_LOCK_FILE)).unwrap();
    let first = run_child("child_big", cache.path(), &[]);
    assert_eq!(first.assert_ok().count("BODY"), 1);
    assert_eq!(first.count("VALUE_OK"), 1);
    assert!(!first.stderr.contains("warning"), "{}", first.stderr);
    let again = run_child("child_big", cache.path(), &[]);
    assert_eq!(again.assert_ok().count("BODY"), 0, "{}", again.stdout);
    assert_eq!(again.count("VALUE_OK"), 1);
}
