//! Crash safety: a writer of multi-MiB entries killed with SIGKILL at random instants leaves
//! every entry absent or exactly right; leftovers are swept; a normal call then returns the
//! right value.

mod common;
mod fs_support;

use checkpointer::backend::{FsStore, Key};
use checkpointer::{checkpoint, Storage};
use common::{entry_files, is_child, run_child};
use fs_support::{all_files, child_command};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

const ENTRIES: u32 = 6;
/// 384 Ki numbers: about 3 MiB of CBOR per entry.
const LEN: u64 = 384 * 1024;

fn blob_value(i: u32) -> Vec<u64> {
    (0..LEN)
        .map(|j| (j ^ u64::from(i) << 40).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect()
}

#[checkpoint]
fn blob(i: u32) -> Vec<u64> {
    blob_value(i)
}

#[test]
fn child_writer() {
    if !is_child("child_writer") {
        return;
    }
    // Overwrites every entry again and again until killed.
    loop {
        for i in 0..ENTRIES {
            blob::rerun(i);
        }
    }
}

#[test]
fn child_reader() {
    if !is_child("child_reader") {
        return;
    }
    for i in 0..ENTRIES {
        assert!(blob(i) == blob_value(i), "wrong value for {i}");
        println!("\nOK {i}");
    }
}

fn key(i: u32) -> Key {
    let h = blob::handle();
    Key {
        function: h.path(),
        identity: h.identity(),
        call: blob::call_hash(i),
    }
}

/// A small xorshift generator: the kill instants, reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_at_random_instants_leaves_entries_absent_or_complete() {
    let cache = tempfile::tempdir().unwrap();
    let store = FsStore::new(cache.path());
    let expected: Vec<Vec<u8>> = (0..ENTRIES)
        .map(|i| {
            checkpointer_core::encode(&blob_value(i))
                .unwrap()
                .payload
                .to_vec()
        })
        .collect();
    let paths: Vec<_> = (0..ENTRIES).map(|i| store.path_of(&key(i))).collect();
    let seed = std::env::var("FS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("FS_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let (mut present, mut temps_seen) = (0, 0);
    for round in 0..40 {
        let mut writer = child_command(
            "child_writer",
            cache.path(),
            &[("CHECKPOINTER_VERBOSITY", "0")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(20 + rng.below(600)));
        writer.kill().unwrap(); // SIGKILL
        writer.wait().unwrap();

        for (i, path) in paths.iter().enumerate() {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            present += 1;
            let entry = checkpointer::backend::Entry::from_envelope(bytes.into())
                .unwrap_or_else(|e| panic!("round {round}, entry {i} is torn: {e} (seed {seed})"));
            entry
                .verify()
                .unwrap_or_else(|e| panic!("round {round}, entry {i}: {e} (seed {seed})"));
            assert!(
                entry.payload[..] == expected[i][..],
                "round {round}, entry {i} has other bytes (seed {seed})"
            );
        }
        let files = entry_files(cache.path());
        assert!(
            files.iter().all(|f| paths.contains(f)),
            "stray entry files: {files:?}"
        );
        temps_seen += all_files(cache.path())
            .iter()
            .filter(|f| f.to_string_lossy().contains(".tmp."))
            .count();
    }
    println!(
        "entries found complete: {present}; temporary files of killed writes seen: {temps_seen}"
    );

    // Killed writers' temporary files go at the next listing: after a minute idle when their
    // pid is gone, after an hour whatever the pid (it may have been reused meanwhile). Make
    // them look two hours old rather than wait.
    for f in all_files(cache.path()) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".tmp.") || name.ends_with(".lock") {
            let file = std::fs::File::options().write(true).open(&f).unwrap();
            file.set_modified(SystemTime::now() - Duration::from_secs(7200))
                .unwrap();
        }
    }
    // (Version manifests beside the entries are not entries: `common::is_meta`.)
    let listed =
        checkpointer::backend::block_on(store.list(&checkpointer::backend::Scope::All)).unwrap();
    let listed_entries = listed
        .iter()
        .filter(|i| checkpointer::backend::manifest::owner(&i.key.function).is_none())
        .count();
    assert!(listed_entries <= ENTRIES as usize);
    let left: Vec<_> = all_files(cache.path())
        .into_iter()
        .filter(|f| !paths.contains(f) && !common::is_meta(f))
        .collect();
    assert!(left.is_empty(), "leftovers not swept: {left:?}");

    // A normal run gets every right value (computing what is missing).
    let reader = run_child("child_reader", cache.path(), &[]);
    reader.assert_ok();
    for i in 0..ENTRIES {
        assert_eq!(reader.count(&format!("OK {i}")), 1, "{}", reader.stdout);
    }
}
