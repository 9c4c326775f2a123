//! A broken cache never breaks the program under `on_error = "warn"`; `"raise"` returns the
//! error; `"ignore"` computes silently.

use checkpointer::{checkpoint, CheckpointError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A cache directory that cannot be created, even by root: its parent is a regular file.
fn broken_dir() -> PathBuf {
    static DIR: OnceLock<(tempfile::NamedTempFile, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let file = tempfile::NamedTempFile::new().unwrap();
        let dir = file.path().join("cache");
        (file, dir)
    })
    .1
    .clone()
}

static WARN_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(directory = broken_dir())]
fn warned(x: u64) -> u64 {
    WARN_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

#[derive(Debug)]
enum MyError {
    Cache(CheckpointError),
}

impl From<CheckpointError> for MyError {
    fn from(e: CheckpointError) -> Self {
        MyError::Cache(e)
    }
}

#[checkpoint(directory = broken_dir(), on_error = "raise")]
fn raised(x: u64) -> Result<u64, MyError> {
    Ok(x + 1)
}

static IGNORE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(directory = broken_dir(), on_error = "ignore")]
fn ignored(x: u64) -> u64 {
    IGNORE_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 2
}

#[test]
fn warn_returns_the_value_when_the_directory_is_unwritable() {
    assert_eq!(warned(1), 2);
    assert_eq!(warned(1), 2);
    assert_eq!(
        WARN_RUNS.load(Ordering::SeqCst),
        2,
        "nothing could be cached, so the body ran each time"
    );
    assert!(!broken_dir().exists());
}

#[test]
fn raise_returns_the_cache_error() {
    match raised(1) {
        Err(MyError::Cache(e)) => {
            assert!(e.to_string().contains("fs"), "error names the backend: {e}")
        }
        other => panic!("expected the cache error, got {other:?}"),
    }
}

#[test]
fn ignore_computes() {
    assert_eq!(ignored(1), 3);
    assert_eq!(IGNORE_RUNS.load(Ordering::SeqCst), 1);
}
