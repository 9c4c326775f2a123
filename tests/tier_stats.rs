//! Per-tier counters from `handle().stats()`: hits, misses and promotions of a
//! `memory,fs` stack across two real processes.

mod common;

use checkpointer::checkpoint;
use common::{child_command, is_child, Child};

#[checkpoint(storage = "memory,fs", verbosity = 0)]
fn tiered(x: u64) -> u64 {
    x + 1
}

/// `memory hits/misses/promotions, fs hits/misses/promotions`, as one line.
fn counters() -> String {
    let stats = tiered::handle().stats().unwrap();
    assert_eq!(stats.tiers.len(), 2);
    assert_eq!(stats.tiers[0].tier, "memory");
    assert_eq!(stats.tiers[1].tier, "fs");
    assert!(
        stats.tiers.iter().all(|t| t.errors == 0),
        "{:?}",
        stats.tiers
    );
    stats
        .tiers
        .iter()
        .map(|t| format!("{} {} {}", t.hits, t.misses, t.promotions))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn child_first() {
    if !is_child("child_first") {
        return;
    }
    // Computed: both tiers miss twice (counters count loads, and a computing call loads
    // again after taking the lock, in case another process just stored the value).
    assert_eq!(tiered(1), 2);
    assert_eq!(counters(), "0 2 0, 0 2 0");
    assert_eq!(tiered(1), 2); // memory hit
    assert_eq!(counters(), "1 2 0, 0 2 0");
    println!("\nCOUNTED");
}

#[test]
fn child_second() {
    if !is_child("child_second") {
        return;
    }
    assert_eq!(tiered(1), 2); // memory miss, fs hit, promoted into memory
    assert_eq!(counters(), "0 1 1, 1 0 0");
    assert_eq!(tiered(1), 2); // memory hit
    assert_eq!(counters(), "1 1 1, 1 0 0");
    println!("\nCOUNTED");
}

#[test]
fn tiers_count_hits_misses_and_promotions() {
    let cache = tempfile::tempdir().unwrap();
    for test in ["child_first", "child_second"] {
        let c = Child::from(child_command(test, cache.path(), &[]).output().unwrap());
        c.assert_ok();
        assert_eq!(c.count("COUNTED"), 1, "{}", c.stdout);
    }
}
