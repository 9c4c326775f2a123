//! Damaged and replaced array files on the mmap store, with real files and real processes:
//! a truncated or corrupted file is a miss and a recompute — never a crash, never a wrong
//! value — and a file replaced while another process holds its map leaves that map intact.

mod common;
mod fs_support;

use checkpointer::backend::{MmapStore, Scope};
use checkpointer::{checkpoint, Array};
use common::{entry_files, is_child, run_child};
#[allow(unused_imports)]
use fs_support::all_files as _;
use fs_support::{finish, spawn, wait_until};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const N: usize = 100_000;

fn ramp_values(n: usize) -> Array<f64> {
    Array::from_vec((0..n).map(|i| i as f64 * 0.5).collect())
}

fn doubled(n: usize) -> Array<f64> {
    Array::from_vec((0..n).map(|i| i as f64).collect())
}

#[checkpoint(storage = "mmap")]
fn ramp(n: usize) -> Array<f64> {
    println!("\nBODY");
    ramp_values(n)
}

#[checkpoint(storage = "fs")]
fn ramp_fs(n: usize) -> Array<f64> {
    println!("\nBODY");
    ramp_values(n)
}

/// Calls `ramp(N)` (or `ramp_fs`), checks the value, reports whether it ran and was mapped.
#[test]
fn child_call() {
    if !is_child("child_call") {
        return;
    }
    let got = if std::env::var("MMAP_TEST_FS").is_ok() {
        ramp_fs(N)
    } else {
        ramp(N)
    };
    assert_eq!(got, ramp_values(N), "never a wrong value");
    if got.is_mapped() {
        println!("\nMAPPED");
    }
}

fn the_entry(dir: &Path) -> PathBuf {
    let files = entry_files(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Rewrites the entry file in place with `damage` applied (after making it writable, as a
/// careless program would have to).
fn damage_in_place(path: &Path, damage: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    damage(&mut bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(path, &bytes).unwrap();
}

/// Stores a fresh entry, damages it, and checks the next process recomputes it (with a
/// warning) and the one after maps the repaired file.
fn damaged_is_a_miss(what: &str, damage: impl FnOnce(&mut Vec<u8>)) {
    let dir = tempfile::tempdir().unwrap();
    run_child("child_call", dir.path(), &[]).assert_ok();
    damage_in_place(&the_entry(dir.path()), damage);

    let after = run_child("child_call", dir.path(), &[]);
    after.assert_ok();
    assert_eq!(
        after.count("BODY"),
        1,
        "{what}: recomputed\n{}",
        after.stdout
    );
    assert!(
        after.stderr.contains("recomputing"),
        "{what}: warned\n{}",
        after.stderr
    );

    let repaired = run_child("child_call", dir.path(), &[]);
    repaired.assert_ok();
    assert_eq!(
        repaired.count("BODY"),
        0,
        "{what}: repaired\n{}",
        repaired.stdout
    );
    assert_eq!(repaired.count("MAPPED"), 1, "{what}\n{}", repaired.stdout);
}

#[test]
fn truncated_files_are_misses() {
    // Envelope header (72), array descriptor padded so the elements start at 128, elements.
    let full = 128 + N * 8;
    for cut in [0, 50, 72, 100, 127, 128, full / 2, full - 1] {
        damaged_is_a_miss(&format!("truncated to {cut}"), |b| {
            assert_eq!(b.len(), full);
            b.truncate(cut)
        });
    }
    damaged_is_a_miss("extended", |b| b.extend_from_slice(&[0; 4096]));
}

#[test]
fn corrupted_headers_and_descriptors_are_misses() {
    // Envelope: codec, length, checksum, the header check itself; descriptor: magic,
    // element type, number of dimensions, element offset and length, shape, its check.
    for at in [5, 26, 40, 70, 72, 77, 78, 80, 90, 96, 104, 111] {
        damaged_is_a_miss(&format!("byte {at} flipped"), |b| b[at] ^= 0x10);
    }
}

#[test]
fn a_flipped_element_is_found_by_verify_and_by_the_fs_store() {
    // On the mmap store a hit does not read the elements: `verify` finds the damage and
    // removes the entry, and the next call recomputes it.
    let dir = tempfile::tempdir().unwrap();
    run_child("child_call", dir.path(), &[]).assert_ok();
    let path = the_entry(dir.path());
    damage_in_place(&path, |b| {
        let last = b.len() - 3;
        b[last] ^= 1;
    });
    let store = MmapStore::new(dir.path());
    // (The store also holds the function's manifest, an ordinary entry of `ramp-meta`.)
    let report = checkpointer::backend::block_on(store.verify(&Scope::All, true)).unwrap();
    assert_eq!((report.damaged.len(), report.removed), (1, 1), "{report:?}");
    assert_eq!(report.damaged[0].0.function.name, "ramp");
    assert!(
        report.damaged[0].1.contains("checksum"),
        "{:?}",
        report.damaged
    );
    let after = run_child("child_call", dir.path(), &[]);
    after.assert_ok();
    assert_eq!(after.count("BODY"), 1);
    let report = checkpointer::backend::block_on(store.verify(&Scope::All, false)).unwrap();
    assert!(
        report.checked >= 1 && report.damaged.is_empty(),
        "{report:?}"
    );

    // The fs store reads every byte of a hit, so it checks them: a miss at once.
    let dir = tempfile::tempdir().unwrap();
    let fs = [("MMAP_TEST_FS", "1")];
    run_child("child_call", dir.path(), &fs).assert_ok();
    damage_in_place(&the_entry(dir.path()), |b| {
        let last = b.len() - 3;
        b[last] ^= 1;
    });
    let after = run_child("child_call", dir.path(), &fs);
    after.assert_ok();
    assert_eq!(after.count("BODY"), 1, "{}", after.stdout);
}

/// Holds maps of `ramp(N)` while another process replaces and deletes the entry: every hit
/// is one whole version, and every map handed out keeps its values to the end.
#[test]
fn child_holder() {
    if !is_child("child_holder") {
        return;
    }
    let sync = PathBuf::from(std::env::var_os("MMAP_TEST_SYNC").unwrap());
    let (a, b) = (ramp_values(N), doubled(N));
    let first = ramp(N);
    assert!(first.is_mapped());
    let mut held = vec![first];
    std::fs::write(sync.join("ready"), b"").unwrap();
    let start = Instant::now();
    let mut hits = 0;
    while !sync.join("done").exists() || hits < 20 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "replacer never finished"
        );
        let v = ramp(N);
        assert!(v == a || v == b, "a hit is one whole version");
        hits += 1;
        if held.len() < 64 {
            held.push(v);
        }
    }
    for v in &held {
        assert!(
            *v == a || *v == b,
            "a map keeps its values after replacement"
        );
    }
    println!(
        "\nHELD={} MAPPED={}",
        held.len(),
        held.iter().filter(|v| v.is_mapped()).count()
    );
}

/// Replaces the entry (rename over it) and deletes it, alternately, many times.
#[test]
fn child_replacer() {
    if !is_child("child_replacer") {
        return;
    }
    let sync = PathBuf::from(std::env::var_os("MMAP_TEST_SYNC").unwrap());
    for i in 0..60 {
        match i % 3 {
            0 => ramp::set(doubled(N), N).unwrap(),
            1 => ramp::set(ramp_values(N), N).unwrap(),
            _ => {
                ramp::delete(N).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ramp::handle().clear().unwrap();
    std::fs::write(sync.join("done"), b"").unwrap();
}

#[test]
fn replacing_and_deleting_under_live_maps_is_safe() {
    let dir = tempfile::tempdir().unwrap();
    let sync = tempfile::tempdir().unwrap();
    run_child("child_call", dir.path(), &[]).assert_ok();
    let env = [("MMAP_TEST_SYNC", sync.path().to_str().unwrap())];
    let holder = spawn("child_holder", dir.path(), &env);
    wait_until(Duration::from_secs(60), "the holder's first map", || {
        sync.path().join("ready").exists()
    });
    let replacer = spawn("child_replacer", dir.path(), &env);
    let replacer = finish(replacer, Duration::from_secs(120));
    replacer.assert_ok();
    let holder = finish(holder, Duration::from_secs(120));
    holder.assert_ok();
    assert!(holder.stdout.contains("HELD="), "{}", holder.stdout);
}
