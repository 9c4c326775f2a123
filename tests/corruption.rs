//! Damaged entries: right value, recomputed, overwritten, warning printed.

mod common;
use checkpointer::checkpoint;
use common::{entry_files, is_child, run_child};
use std::path::Path;

#[checkpoint]
fn series(n: u32) -> Vec<String> {
    println!("BODY");
    (0..n).map(|i| format!("item-{i}")).collect()
}

#[test]
fn child_series() {
    if !is_child("child_series") {
        return;
    }
    println!("VALUE={}", series(50).join(","));
}

fn expected() -> String {
    format!(
        "VALUE={}",
        (0..50)
            .map(|i| format!("item-{i}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn damage_then_check(dir: &Path, damage: impl FnOnce(&Path)) {
    run_child("child_series", dir, &[]).assert_ok();
    let files = entry_files(dir);
    assert_eq!(files.len(), 1);
    damage(&files[0]);

    let after = run_child("child_series", dir, &[]);
    after.assert_ok();
    assert_eq!(
        after.count("BODY"),
        1,
        "a damaged entry must be recomputed:\n{}\n{}",
        after.stdout,
        after.stderr
    );
    assert_eq!(
        after.count(&expected()),
        1,
        "wrong value after damage:\n{}",
        after.stdout
    );
    assert_eq!(
        after.stderr.matches("unusable").count(),
        1,
        "one warning, printed once:\n{}",
        after.stderr
    );

    // The entry was overwritten with a good one: the next run remembers.
    let healed = run_child("child_series", dir, &[]);
    assert_eq!(healed.assert_ok().count("BODY"), 0);
    assert_eq!(healed.count(&expected()), 1);
}

#[test]
fn truncated_entry_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        let len = std::fs::metadata(f).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(f).unwrap();
        file.set_len(len - 7).unwrap();
    });
}

#[test]
fn flipped_byte_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        let mut bytes = std::fs::read(f).unwrap();
        let i = bytes.len() - 20; // inside the payload
        bytes[i] ^= 0x01;
        std::fs::write(f, bytes).unwrap();
    });
}

#[test]
fn flipped_header_byte_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        let mut bytes = std::fs::read(f).unwrap();
        bytes[9] ^= 0x80; // the created time
        std::fs::write(f, bytes).unwrap();
    });
}

/// What a power loss can leave of an entry that was renamed into place but never synced (the
/// fs store does not `fsync` by default): an empty file, or the right size with its blocks
/// still zero.
#[test]
fn unsynced_entry_after_power_loss_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(f)
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        let len = std::fs::metadata(f).unwrap().len();
        std::fs::write(f, vec![0u8; len as usize]).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    damage_then_check(dir.path(), |f| {
        // The header made it, the payload's last block did not.
        let mut bytes = std::fs::read(f).unwrap();
        let n = bytes.len();
        bytes[n.saturating_sub(16).max(72)..].fill(0);
        std::fs::write(f, bytes).unwrap();
    });
}
