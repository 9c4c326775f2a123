//! The mmap store under the command: `verify` reads and checks the elements of array entries,
//! which a mapped hit does not (it is O(1)), so it is the on-demand check they rely on.

use crate::support::cli;
use checkpointer::{checkpoint, Array};
use std::path::PathBuf;
use std::sync::OnceLock;

static DIR: OnceLock<PathBuf> = OnceLock::new();

fn dir() -> PathBuf {
    DIR.get().cloned().unwrap_or_default()
}

#[checkpoint(storage = "mmap", directory = dir(), verbosity = 0)]
fn grid(n: usize) -> Array<f32> {
    Array::from_shape_vec([n, 4], (0..n * 4).map(|i| i as f32).collect()).unwrap()
}

#[test]
fn verify_checks_the_elements_of_mapped_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    DIR.set(cache.clone()).unwrap();
    grid(10_000);
    assert!(grid(10_000).is_mapped());
    let mmap = |cmd: &mut assert_cmd::Command| {
        cmd.env("CHECKPOINTER_STORAGE", "mmap");
    };
    let mut ok = cli(&cache);
    mmap(&mut ok);
    ok.arg("verify")
        .assert()
        .success()
        .stdout(predicates::str::contains("all sound"));

    let file = crate::support::files(&cache)
        .into_iter()
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::remove_file(&file).unwrap(); // the file is read-only; replace it
    std::fs::write(&file, bytes).unwrap();

    let mut bad = cli(&cache);
    mmap(&mut bad);
    let out = bad.arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("grid"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
