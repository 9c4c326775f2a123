//! What a user reads about tiers, across real processes on a real fs store: the `remembered`
//! line names the tier that answered (and where the entry was promoted), and
//! `handle().stats()` gives entries and bytes per tier that add up to its totals — with a
//! read-only tier and with a tier that fails.

mod common;

use checkpointer::checkpoint;
use common::{is_child, run_child, Child};

/// Storage and verbosity come from the environment, so each child picks its stack.
#[checkpoint]
fn tiered(x: u64) -> Vec<u64> {
    println!("BODY {x}");
    vec![x; 64]
}

/// Checks the arithmetic of `stats()` and prints it: `STATS` then its `Display`.
fn print_stats() {
    let stats = tiered::handle().stats().unwrap();
    let tier_bytes: u64 = stats.tiers.iter().map(|t| t.stored.bytes).sum();
    assert_eq!(
        tier_bytes,
        stats.current.bytes + stats.invalidated.bytes,
        "per-tier bytes add up to the totals: {stats:?}"
    );
    let versions: u64 = stats.versions.values().map(|v| v.bytes).sum();
    assert_eq!(versions, tier_bytes, "{stats:?}");
    // An entry counts once however many tiers hold it.
    let entries = stats.current.entries + stats.invalidated.entries;
    let most = stats.tiers.iter().map(|t| t.stored.entries).max();
    let all: u64 = stats.tiers.iter().map(|t| t.stored.entries).sum();
    assert!(most <= Some(entries) && entries <= all, "{stats:?}");
    println!("STATS\n{stats}\nEND");
}

#[test]
fn child_compute_then_hit() {
    if !is_child("child_compute_then_hit") {
        return;
    }
    assert_eq!(tiered(1).len(), 64); // computed
    assert_eq!(tiered(1).len(), 64); // memory hit
    print_stats();
}

#[test]
fn child_hit_from_below() {
    if !is_child("child_hit_from_below") {
        return;
    }
    assert_eq!(tiered(1).len(), 64); // lower tier, promoted
    assert_eq!(tiered(1).len(), 64); // memory
    print_stats();
}

/// The stats block a child printed: the lines between `STATS` and `END`.
fn stats_block(c: &Child) -> Vec<String> {
    c.stdout
        .lines()
        .skip_while(|l| !l.ends_with("STATS"))
        .skip(1)
        .take_while(|l| *l != "END")
        .map(str::to_string)
        .collect()
}

/// The `[checkpointer] remembered …` lines, with the call hash prefix checked and removed.
fn remembered(c: &Child) -> Vec<String> {
    c.stderr
        .lines()
        .filter(|l| l.starts_with("[checkpointer] remembered"))
        .map(|l| {
            let open = l
                .find('[')
                .and_then(|i| l[i + 1..].find('[').map(|j| i + 1 + j));
            let open = open.unwrap_or_else(|| panic!("no bracket: {l}"));
            let close = open + 13;
            assert_eq!(&l[close..close + 1], "]", "{l}");
            assert!(
                l[open + 1..close].chars().all(|c| c.is_ascii_hexdigit()),
                "{l}"
            );
            format!("{}[…]{}", &l[..open], &l[close + 1..])
        })
        .collect()
}

fn env(storage: &str) -> [(&str, &str); 2] {
    [
        ("CHECKPOINTER_STORAGE", storage),
        ("CHECKPOINTER_VERBOSITY", "2"),
    ]
}

#[test]
fn hit_lines_name_the_tier_and_stats_add_up_per_tier() {
    let cache = tempfile::tempdir().unwrap();
    let first = run_child("child_compute_then_hit", cache.path(), &env("memory,fs"));
    first.assert_ok();
    assert_eq!(first.count("BODY 1"), 1, "{}", first.stdout);
    assert_eq!(
        remembered(&first),
        ["[checkpointer] remembered tier_report::tiered […] from memory"],
        "{}",
        first.stderr
    );
    let stats = stats_block(&first);
    assert_eq!(stats.len(), 3, "{stats:?}");
    assert!(stats[0].starts_with("current code: 1 entry, "), "{stats:?}");
    assert!(
        stats[1].starts_with("  memory: 1 entry, ")
            && stats[1].ends_with("(hits 1, misses 2, promotions 0, errors 0)"),
        "{stats:?}"
    );
    assert!(
        stats[2].starts_with("  fs: 1 entry, ")
            && stats[2].ends_with("(hits 0, misses 2, promotions 0, errors 0)"),
        "{stats:?}"
    );

    // A new process: memory is empty, fs answers and the entry is promoted into memory.
    let second = run_child("child_hit_from_below", cache.path(), &env("memory,fs"));
    second.assert_ok();
    assert_eq!(second.count("BODY 1"), 0, "{}", second.stdout);
    assert_eq!(
        remembered(&second),
        [
            "[checkpointer] remembered tier_report::tiered […] from fs, promoted to memory",
            "[checkpointer] remembered tier_report::tiered […] from memory",
        ],
        "{}",
        second.stderr
    );

    // Three tiers, the lowest read-only: it answers, is promoted past, and is never written.
    let third = run_child("child_hit_from_below", cache.path(), &env("memory,ro:fs"));
    third.assert_ok();
    assert_eq!(third.count("BODY 1"), 0, "{}", third.stdout);
    assert_eq!(
        remembered(&third),
        [
            "[checkpointer] remembered tier_report::tiered […] from ro:fs, promoted to memory",
            "[checkpointer] remembered tier_report::tiered […] from memory",
        ],
        "{}",
        third.stderr
    );
    let stats = stats_block(&third);
    assert_eq!(stats.len(), 3, "{stats:?}");
    assert!(stats[1].starts_with("  memory: 1 entry, "), "{stats:?}");
    assert!(stats[2].starts_with("  ro:fs: 1 entry, "), "{stats:?}");
}

#[test]
fn a_failing_tier_is_named_and_holds_nothing_in_stats() {
    // The fs tier's directory is a regular file: every fs operation fails.
    let cache = tempfile::tempdir().unwrap();
    let blocker = cache.path().join("not-a-directory");
    std::fs::write(&blocker, b"x").unwrap();
    let c = run_child("child_compute_then_hit", &blocker, &env("memory,fs"));
    c.assert_ok();
    assert_eq!(c.count("BODY 1"), 1, "{}", c.stdout);
    let warnings: Vec<&str> = c
        .stderr
        .lines()
        .filter(|l| l.contains("storage tier fs failed"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning until it recovers:\n{}",
        c.stderr
    );
    assert_eq!(
        remembered(&c),
        ["[checkpointer] remembered tier_report::tiered […] from memory"],
        "{}",
        c.stderr
    );
    let stats = stats_block(&c);
    assert!(stats[0].starts_with("current code: 1 entry, "), "{stats:?}");
    assert!(stats[1].starts_with("  memory: 1 entry, "), "{stats:?}");
    assert!(
        stats[2].starts_with("  fs: 0 entries, 0 B (hits 0, misses 0, promotions 0, errors "),
        "{stats:?}"
    );
}
