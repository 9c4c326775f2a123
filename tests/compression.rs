//! zstd-compressed entries across real processes: the codec in the envelope lets any reader
//! decode them, whatever its own options; a damaged compressed entry is a miss.

mod common;

use checkpointer::backend::{Codec, Entry};
use checkpointer::checkpoint;
use common::{child_command, entry_files, is_child, Child};
use std::path::{Path, PathBuf};

/// Compressible and not: repeated text with numbers and a pseudo-random tail.
fn value(n: u64) -> Vec<String> {
    (0..6000)
        .map(|i| format!("row {i} of {n}: {}", (i * 2654435761u64) % 1_000_003))
        .collect()
}

#[checkpoint]
fn rows(n: u64) -> Vec<String> {
    println!("\nBODY");
    value(n)
}

#[checkpoint(compress = "zstd:9")]
fn rows_attr(n: u64) -> Vec<String> {
    println!("\nBODY");
    value(n)
}

#[checkpoint(compress = "none")]
fn rows_never(n: u64) -> Vec<String> {
    println!("\nBODY");
    value(n)
}

#[test]
fn child_rows() {
    if !is_child("child_rows") {
        return;
    }
    assert_eq!(rows(7), value(7));
    println!("\nVALUE");
}

#[test]
fn child_attr() {
    if !is_child("child_attr") {
        return;
    }
    assert_eq!(rows_attr(7), value(7));
    assert_eq!(rows_never(7), value(7));
    println!("\nVALUE");
}

fn run(test: &str, dir: &Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = child_command(test, dir, env);
    if !env.iter().any(|(k, _)| *k == "CHECKPOINTER_COMPRESS") {
        cmd.env_remove("CHECKPOINTER_COMPRESS");
    }
    if !env.iter().any(|(k, _)| *k == "CHECKPOINTER_SECRET") {
        cmd.env_remove("CHECKPOINTER_SECRET");
    }
    let c = Child::from(cmd.output().expect("spawn child"));
    c.assert_ok();
    assert_eq!(c.count("VALUE"), 1, "{}", c.stdout);
    c
}

/// The value entries below `dir` whose path names `function`.
fn entries(dir: &Path, function: &str) -> Vec<PathBuf> {
    entry_files(dir)
        .into_iter()
        .filter(|p| {
            !p.to_string_lossy().contains("meta")
                && p.iter().any(|c| c.to_string_lossy() == function)
        })
        .collect()
}

fn stored(path: &Path) -> Entry {
    let e = Entry::from_envelope(std::fs::read(path).unwrap().into()).unwrap();
    e.verify().unwrap();
    e
}

#[test]
fn compressed_entries_are_read_by_a_process_without_the_option() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    let w = run("child_rows", dir, &[("CHECKPOINTER_COMPRESS", "zstd")]);
    assert_eq!(w.count("BODY"), 1);
    let files = entries(dir, "rows");
    assert_eq!(files.len(), 1);
    let e = stored(&files[0]);
    assert_eq!(e.meta.codec, Codec::Zstd);
    // Far smaller than the text it holds (a lower bound of its CBOR length).
    let text: usize = value(7).iter().map(String::len).sum();
    assert!(e.payload.len() * 3 < text, "{} vs {text}", e.payload.len());
    // A reader without the option loads it.
    let r = run("child_rows", dir, &[]);
    assert_eq!(r.count("BODY"), 0, "{}", r.stderr);
    // So does one that signs nothing but sets another level.
    assert_eq!(
        run("child_rows", dir, &[("CHECKPOINTER_COMPRESS", "zstd:1")]).count("BODY"),
        0
    );
}

#[test]
fn the_attribute_option_compresses_and_none_does_not() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    // The attribute wins over the environment in both directions.
    run("child_attr", dir, &[("CHECKPOINTER_COMPRESS", "none")]);
    assert_eq!(
        stored(&entries(dir, "rows_attr")[0]).meta.codec,
        Codec::Zstd
    );
    let cache2 = tempfile::tempdir().unwrap();
    run(
        "child_attr",
        cache2.path(),
        &[("CHECKPOINTER_COMPRESS", "zstd")],
    );
    assert_eq!(
        stored(&entries(cache2.path(), "rows_never")[0]).meta.codec,
        Codec::Cbor
    );
    assert_eq!(run("child_attr", dir, &[]).count("BODY"), 0);
}

#[test]
fn a_corrupted_compressed_entry_is_a_miss() {
    for fix_checksum in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path();
        run("child_rows", dir, &[("CHECKPOINTER_COMPRESS", "zstd")]);
        let path = entries(dir, "rows")[0].clone();
        let e = stored(&path);
        let mut payload = e.payload.to_vec();
        let mid = payload.len() / 2;
        payload[mid] ^= 0x10;
        let bytes = if fix_checksum {
            // Damage the checksum cannot see (recomputed): zstd's own check must catch it.
            let forged = Entry::with_created(e.meta.codec, payload.into(), e.meta.created);
            let mut b = forged.envelope_header().to_vec();
            b.extend_from_slice(&forged.payload);
            b
        } else {
            let mut b = e.envelope_header().to_vec();
            b.extend_from_slice(&payload);
            b
        };
        std::fs::write(&path, bytes).unwrap();
        let c = run("child_rows", dir, &[]);
        assert_eq!(c.count("BODY"), 1, "fix_checksum={fix_checksum}");
        assert!(c.stderr.contains("recomputing"), "{}", c.stderr);
        // Repaired: the next reader loads.
        assert_eq!(run("child_rows", dir, &[]).count("BODY"), 0);
    }
}

#[test]
fn compression_and_secrets_combine() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    run(
        "child_rows",
        dir,
        &[
            ("CHECKPOINTER_COMPRESS", "zstd"),
            ("CHECKPOINTER_SECRET", "s"),
        ],
    );
    let e = stored(&entries(dir, "rows")[0]);
    assert_eq!(e.meta.codec, Codec::Signed);
    assert_eq!(
        run("child_rows", dir, &[("CHECKPOINTER_SECRET", "s")]).count("BODY"),
        0
    );
    assert_eq!(
        run("child_rows", dir, &[("CHECKPOINTER_SECRET", "t")]).count("BODY"),
        1
    );
}
