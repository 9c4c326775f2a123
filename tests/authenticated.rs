//! Authenticated entries across real processes: a reader loads only what a holder of one of
//! its secrets stored, and never decodes anything else.

mod common;

use checkpointer::{checkpoint, Checkpointer};
use common::{child_command, is_child, Child};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;
use std::sync::LazyLock;

/// A value that announces every decode, so the parent sees whether a child decoded an entry.
#[derive(Serialize, Debug, PartialEq)]
struct Probe(u64);

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        println!("\nDECODED");
        u64::deserialize(d).map(Probe)
    }
}

#[checkpoint]
fn probe(x: u64) -> Probe {
    println!("\nBODY");
    Probe(x * 3)
}

static SIGNED: LazyLock<Checkpointer> = LazyLock::new(|| {
    Checkpointer::new()
        .secrets(["builder-secret"])
        .expect("valid secret")
});

#[checkpoint(using = SIGNED)]
fn probe_preset(x: u64) -> Probe {
    println!("\nBODY");
    Probe(x + 1000)
}

#[test]
fn child_call() {
    if !is_child("child_call") {
        return;
    }
    assert_eq!(probe(14), Probe(42));
    println!("\nVALUE");
}

#[test]
fn child_preset() {
    if !is_child("child_preset") {
        return;
    }
    assert_eq!(probe_preset(1), Probe(1001));
    println!("\nVALUE");
}

/// Runs `test` in a child with the cache in `dir` and `CHECKPOINTER_SECRET` set to `secret`
/// (`None`: unset).
fn run(test: &str, dir: &Path, secret: Option<&str>) -> Child {
    let mut cmd = child_command(test, dir, &[]);
    cmd.env_remove("CHECKPOINTER_SECRET");
    if let Some(s) = secret {
        cmd.env("CHECKPOINTER_SECRET", s);
    }
    let child = Child::from(cmd.output().expect("spawn child"));
    child.assert_ok();
    assert_eq!(child.count("VALUE"), 1, "{}", child.stdout);
    child
}

/// The value entries below `dir` (not the metadata kept beside them).
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    common::entry_files(dir)
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("meta"))
        .collect()
}

/// `(bodies run, entries decoded, authentication warnings)`.
fn seen(c: &Child) -> (usize, usize, usize) {
    (
        c.count("BODY"),
        c.count("DECODED"),
        c.stderr.matches("failed authentication").count(),
    )
}

#[test]
fn only_holders_of_a_secret_are_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    // Writer with A, then a reader with A loads.
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (1, 0, 0));
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (0, 1, 0));
    // A reader with B computes, never decodes, warns once (and stores its own, signed B).
    assert_eq!(seen(&run("child_call", dir, Some("secret-B"))), (1, 0, 1));
    // Rotation: B is still accepted by a reader that signs with C.
    assert_eq!(
        seen(&run("child_call", dir, Some("secret-C, secret-B"))),
        (0, 1, 0)
    );
    // A reader with only A cannot load B's entry.
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (1, 0, 1));
    // A reader without a secret trusts the store, as before: it loads the signed entry.
    assert_eq!(seen(&run("child_call", dir, None)), (0, 1, 0));
}

#[test]
fn an_entry_without_a_mac_is_never_loaded_with_a_secret() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    // Planted: a writer without a secret stores a perfectly valid, checksummed entry.
    assert_eq!(seen(&run("child_call", dir, None)), (1, 0, 0));
    assert_eq!(seen(&run("child_call", dir, None)), (0, 1, 0));
    // With a secret it is a miss with one warning, never decoded; the signed replacement loads.
    let first = run("child_call", dir, Some("secret-A"));
    assert_eq!(seen(&first), (1, 0, 1));
    assert!(first.stderr.contains("carries no MAC"), "{}", first.stderr);
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (0, 1, 0));
}

#[test]
fn a_tampered_signed_entry_is_never_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (1, 0, 0));
    // An attacker without the secret edits the value and fixes the checksum and header
    // check, as anyone can (they are unkeyed): only the MAC stops it.
    let files = entries(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let entry = checkpointer::backend::Entry::from_envelope(bytes.into()).unwrap();
    entry.verify().unwrap();
    let mut payload = entry.payload.to_vec();
    *payload.last_mut().unwrap() ^= 1; // 42 → 43, still valid CBOR
    let forged = checkpointer::backend::Entry::with_created(
        entry.meta.codec,
        payload.into(),
        entry.meta.created,
    );
    let mut out = forged.envelope_header().to_vec();
    out.extend_from_slice(&forged.payload);
    std::fs::write(&files[0], out).unwrap();
    assert_eq!(seen(&run("child_call", dir, Some("secret-A"))), (1, 0, 1));
}

#[test]
fn the_builder_option_signs_and_verifies() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    // The builder's secret wins over the environment's.
    assert_eq!(seen(&run("child_preset", dir, Some("other"))), (1, 0, 0));
    assert_eq!(seen(&run("child_preset", dir, None)), (0, 1, 0));
    // The entry is signed: a reader with only the environment secret refuses it.
    let files = entries(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let entry = checkpointer::backend::Entry::from_envelope(bytes.into()).unwrap();
    assert_eq!(entry.meta.codec, checkpointer::backend::Codec::Signed);
}

#[test]
fn an_empty_secret_is_refused_not_ignored() {
    let cache = tempfile::tempdir().unwrap();
    let c = run("child_call", cache.path(), Some(" "));
    // The options do not resolve: the call computes uncached, with a warning naming the variable.
    assert_eq!(seen(&c).0, 1);
    assert!(c.stderr.contains("CHECKPOINTER_SECRET"), "{}", c.stderr);
    assert!(entries(cache.path()).is_empty());
}
