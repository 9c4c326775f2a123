//! Helpers for the fs store's process tests: children started without waiting (so they can
//! run at once, or be killed), a file barrier, and a wait with a deadline.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub use super::common::child_command;

/// Starts a child with its output captured.
pub fn spawn(test: &str, dir: &Path, env: &[(&str, &str)]) -> Child {
    child_command(test, dir, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test process")
}

/// Waits for `child` at most `limit`; kills it and fails the test past that.
pub fn finish(mut child: Child, limit: Duration) -> super::common::Child {
    let start = Instant::now();
    while child.try_wait().expect("wait for child").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect child output");
            panic!(
                "child still running after {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child
        .wait_with_output()
        .expect("collect child output")
        .into()
}

/// Waits until `cond` holds, failing the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many files are in `dir` (0 if it does not exist).
pub fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|rd| rd.count()).unwrap_or(0)
}

pub use super::common::all_files;
