//! Helpers for tests that re-execute their own test binary as child processes, so
//! persistence, crashes and stderr output are observed across real process boundaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CHILD: &str = "CHECKPOINTER_TEST_CHILD";

/// Whether this process is the child running `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(test)
}

/// The command running test `test` of this binary as a child with the cache in `dir`, with
/// the caller's checkpointer environment cleared.
pub fn child_command(test: &str, dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env("CHECKPOINTER_DIR", dir)
        .env("NO_COLOR", "1")
        .env_remove("CHECKPOINTER_DISABLE")
        .env_remove("CHECKPOINTER_STORAGE")
        .env_remove("CHECKPOINTER_VERBOSITY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the test `test` of this binary in a child process with the cache in `dir`.
pub fn run_child(test: &str, dir: &Path, env: &[(&str, &str)]) -> Child {
    let out = child_command(test, dir, env)
        .output()
        .expect("spawn child test process");
    Child::from(out)
}

/// A finished child: its stdout, stderr and status.
pub struct Child {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
}

impl From<Output> for Child {
    fn from(o: Output) -> Self {
        Child {
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            ok: o.status.success(),
        }
    }
}

impl Child {
    /// How many times the child printed `marker` on a line of its own. (The harness may
    /// print `test name ... ` on the same line before the first output.)
    pub fn count(&self, marker: &str) -> usize {
        self.stdout
            .lines()
            .filter(|l| {
                l.rsplit("... ")
                    .next()
                    .is_some_and(|tail| tail.trim() == marker)
            })
            .count()
    }

    /// Asserts the child succeeded, showing its output otherwise.
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok,
            "child failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Every file below `dir`, dot-files included, without following links — except an fs
/// store's lock file ([`is_store_lock`]), which a store keeps for good: what tests look for
/// here is entries and leftovers.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else if !is_store_lock(&e.path()) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Every cache entry below `dir`: the files that are not dot-files (temp and lock files)
/// nor the metadata the runtime keeps beside entries (see [`is_meta`]).
pub fn entry_files(dir: &Path) -> Vec<PathBuf> {
    all_files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                && !is_meta(p)
        })
        .collect()
}

/// Whether `path` is an fs store's lock file (one per store root, kept: not a leftover).
pub fn is_store_lock(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == checkpointer::backend::STORE_LOCK_FILE)
}

/// Whether `path` is one of the metadata objects (version manifests, call records) kept in a
/// function's reserved `<fn>-meta` directory (`checkpointer_core::manifest`).
pub fn is_meta(path: &Path) -> bool {
    // The directory is the function's name with the suffix, as the stores write names.
    let suffix = checkpointer::backend::sanitize(&format!(
        "f{}",
        checkpointer::backend::manifest::META_SUFFIX
    ));
    let suffix = suffix.trim_start_matches('f');
    path.iter().any(|c| c.to_string_lossy().ends_with(suffix))
}
