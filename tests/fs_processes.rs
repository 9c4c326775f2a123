//! Single flight across real processes: one body run for six simultaneous callers, and a
//! waiter that takes over from an owner killed mid-compute.

mod common;
mod fs_support;

use checkpointer::checkpoint;
use common::is_child;
use fs_support::{all_files, count_files, finish, spawn, wait_until};
use std::path::PathBuf;
use std::time::Duration;

/// Appends a line to the file named by `FS_TEST_MARKS`, so the parent counts body runs
/// across processes.
fn mark(what: &str) {
    use std::io::Write;
    if let Some(p) = std::env::var_os("FS_TEST_MARKS") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        writeln!(f, "{what} {}", std::process::id()).unwrap();
    }
}

fn sleep_ms() -> u64 {
    std::env::var("FS_TEST_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

#[checkpoint]
fn slow_square(x: u64) -> u64 {
    println!("\nBODY");
    mark("BODY");
    std::thread::sleep(Duration::from_millis(sleep_ms()));
    x * x
}

#[checkpoint]
fn slow_successor(x: u64) -> u64 {
    println!("\nBODY");
    mark("BODY");
    std::thread::sleep(Duration::from_millis(sleep_ms()));
    x + 1
}

/// The same, tiered: memory over fs. The memory tier cannot lock across processes, the
/// fs tier under it must (`Storage::locks` of the stack is true).
#[checkpoint(storage = "memory,fs")]
fn slow_square_tiered(x: u64) -> u64 {
    println!("\nBODY");
    mark("BODY");
    std::thread::sleep(Duration::from_millis(sleep_ms()));
    x * x
}

/// A file barrier: every process calls at the same moment.
fn all_six_ready() {
    let sync = PathBuf::from(std::env::var_os("FS_TEST_SYNC").unwrap());
    std::fs::write(sync.join(std::process::id().to_string()), b"").unwrap();
    wait_until(Duration::from_secs(120), "six ready children", || {
        count_files(&sync) >= 6
    });
}

#[test]
fn child_six() {
    if !is_child("child_six") {
        return;
    }
    all_six_ready();
    println!("\nVALUE={}", slow_square(9));
}

#[test]
fn child_six_tiered() {
    if !is_child("child_six_tiered") {
        return;
    }
    all_six_ready();
    println!("\nVALUE={}", slow_square_tiered(9));
}

/// Six processes run `child` at once: the body runs once, every one gets 81, one entry.
fn six_processes_once(child: &str) {
    let cache = tempfile::tempdir().unwrap();
    let sync = tempfile::tempdir().unwrap();
    let marks = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let env = [
        ("FS_TEST_SYNC", sync.path().to_str().unwrap()),
        ("FS_TEST_MARKS", marks.to_str().unwrap()),
    ];
    let children: Vec<_> = (0..6).map(|_| spawn(child, cache.path(), &env)).collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| finish(c, Duration::from_secs(300)))
        .collect();
    for out in &outs {
        out.assert_ok();
        assert_eq!(out.count("VALUE=81"), 1, "{}", out.stdout);
    }
    let bodies: usize = outs.iter().map(|o| o.count("BODY")).sum();
    assert_eq!(bodies, 1, "the body ran in {bodies} processes");
    assert_eq!(std::fs::read_to_string(&marks).unwrap().lines().count(), 1);
    let computed = outs
        .iter()
        .filter(|o| o.stderr.contains("computed"))
        .count();
    assert_eq!(computed, 1);
    // One entry, and no lock or temporary file left behind.
    let files: Vec<_> = all_files(cache.path())
        .into_iter()
        .filter(|f| !common::is_meta(f))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
}

#[test]
fn six_processes_run_one_slow_call_once() {
    six_processes_once("child_six");
}

#[test]
fn six_processes_run_one_slow_call_once_through_a_memory_tier() {
    six_processes_once("child_six_tiered");
}

#[test]
fn child_takeover() {
    if !is_child("child_takeover") {
        return;
    }
    mark("CALLING");
    println!("\nVALUE={}", slow_successor(41));
}

#[test]
fn a_waiter_takes_over_from_an_owner_killed_mid_compute() {
    let cache = tempfile::tempdir().unwrap();
    let marks = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let marks_s = marks.to_str().unwrap().to_string();
    let lines = || std::fs::read_to_string(&marks).unwrap_or_default();
    let owner = spawn(
        "child_takeover",
        cache.path(),
        &[("FS_TEST_MARKS", &marks_s), ("FS_TEST_SLEEP_MS", "600000")],
    );
    wait_until(
        Duration::from_secs(120),
        "the owner to start computing",
        || lines().contains("BODY"),
    );

    let mut waiter = spawn(
        "child_takeover",
        cache.path(),
        &[("FS_TEST_MARKS", &marks_s), ("FS_TEST_SLEEP_MS", "0")],
    );
    wait_until(Duration::from_secs(120), "the waiter to call", || {
        lines().matches("CALLING").count() == 2
    });
    // The waiter would finish at once if it computed: it is waiting for the owner instead.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "the waiter did not wait for the owner"
    );
    assert_eq!(lines().matches("BODY").count(), 1);

    let mut owner = owner;
    owner.kill().unwrap(); // SIGKILL: no destructor, no unlock but the kernel's
    owner.wait().unwrap();
    let out = finish(waiter, Duration::from_secs(120));
    out.assert_ok();
    assert_eq!(out.count("BODY"), 1, "the waiter computed: {}", out.stdout);
    assert_eq!(out.count("VALUE=42"), 1);
    assert_eq!(lines().matches("BODY").count(), 2);

    // Stored by the waiter: a later process loads it. The dead owner's lock file was taken
    // over and removed on release.
    let later = finish(
        spawn("child_takeover", cache.path(), &[]),
        Duration::from_secs(120),
    );
    later.assert_ok();
    assert_eq!(later.count("BODY"), 0);
    assert_eq!(later.count("VALUE=42"), 1);
    let files: Vec<_> = all_files(cache.path())
        .into_iter()
        .filter(|f| !common::is_meta(f))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
}

// Two functions with one declared identity, called with equal arguments, have equal
// identity and call digests: only the function tells their keys apart. The outer one holds
// its lock while it runs and calls the inner one, which must not wait for that lock.

#[checkpoint(fn_hash_from = "v1")]
fn load_v1(x: u64) -> u64 {
    x + 1
}

#[checkpoint(fn_hash_from = "v1")]
fn process_v1(x: u64) -> u64 {
    load_v1(x) * 10
}

#[test]
fn child_nested() {
    if !is_child("child_nested") {
        return;
    }
    println!("\nVALUE={}", process_v1(4));
}

#[test]
fn a_cached_call_inside_another_with_the_same_identity_and_arguments_does_not_hang() {
    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = finish(
            spawn("child_nested", cache.path(), &[]),
            Duration::from_secs(60),
        );
        out.assert_ok();
        assert_eq!(out.count("VALUE=50"), 1, "{}", out.stdout);
    }
    let entries = common::entry_files(cache.path());
    assert_eq!(entries.len(), 2, "{entries:?}");
}
