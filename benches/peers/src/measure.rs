//! Timing: warm, calibrated batches, medians. The same scheme as `python/workloads.py`.

use std::time::Instant;

/// Median, extremes (ns per operation) over `reps` batches of `iters` operations.
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub reps: usize,
    pub iters: u64,
}

impl Stats {
    /// Stats of per-operation times measured over batches of `iters`.
    pub fn of(mut per_op: Vec<f64>, iters: u64) -> Stats {
        per_op.sort_by(f64::total_cmp);
        let n = per_op.len();
        let median = if n % 2 == 1 {
            per_op[n / 2]
        } else {
            (per_op[n / 2 - 1] + per_op[n / 2]) / 2.0
        };
        Stats {
            median,
            min: per_op[0],
            max: per_op[n - 1],
            reps: n,
            iters,
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a positive integer")),
        Err(_) => default,
    }
}

/// Repetitions of a fast operation (`PEERS_REPS`, default 15).
pub fn reps() -> usize {
    env_usize("PEERS_REPS", 15).max(1)
}

/// Repetitions of an operation taking 0.1 s or more (`PEERS_REPS_BIG`, default 5).
pub fn reps_big() -> usize {
    env_usize("PEERS_REPS_BIG", 5).max(1)
}

/// Repetitions of workload 5, each writing and reading 10 000 entries (`PEERS_REPS_MANY`,
/// default 3).
pub fn reps_many() -> usize {
    env_usize("PEERS_REPS_MANY", 3).max(1)
}

/// Batch length the calibration aims at (`PEERS_BATCH_MS`, default 20 ms).
fn batch_ns() -> u128 {
    env_usize("PEERS_BATCH_MS", 20) as u128 * 1_000_000
}

fn time(iters: u64, op: &mut impl FnMut()) -> u128 {
    let t = Instant::now();
    for _ in 0..iters {
        op();
    }
    t.elapsed().as_nanos()
}

/// Warms up and calibrates (doubling the batch until it lasts `PEERS_BATCH_MS`; the
/// calibration batches are the warm-up), then times the repetitions.
pub fn batches(op: &mut impl FnMut()) -> Stats {
    let mut iters = 1u64;
    let mut took = time(iters, op);
    while took < batch_ns() && iters < 1 << 30 {
        iters *= 2;
        took = time(iters, op);
    }
    let reps = if took / iters as u128 >= 100_000_000 {
        reps_big()
    } else {
        reps()
    };
    let per_op = (0..reps)
        .map(|_| time(iters, op) as f64 / iters as f64)
        .collect();
    Stats::of(per_op, iters)
}
