//! The first thing to run, twice: `cargo run --manifest-path examples/quickstart/Cargo.toml`.
//!
//! The first run computes (slowly) and stores each result in the default fs store
//! (`$CHECKPOINTER_DIR`, else the user cache directory + `/checkpoints`); the second run
//! loads them instead. Edit `slow_square`'s body and run again: `slow_square` computes anew,
//! `parse_numbers` is still remembered.

use checkpointer::checkpoint;
use std::time::{Duration, Instant};

/// A stand-in for expensive work: a simulation step, a feature extraction, an API call.
#[checkpoint]
fn slow_square(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    x * x
}

/// `Result` functions cache only `Ok`: errors are retried on the next run.
#[checkpoint]
fn parse_numbers(text: &str) -> Result<Vec<i64>, std::num::ParseIntError> {
    text.split(',').map(|s| s.trim().parse()).collect()
}

fn main() {
    let cached_before = matches!(slow_square::exists(4), Ok(true));
    let start = Instant::now();
    let squares: Vec<u64> = (1..=4).map(slow_square).collect();
    println!("squares {squares:?} in {:?}", start.elapsed());
    println!("numbers {:?}", parse_numbers("1, 2, 3"));

    let dir = slow_square::handle().config().map(|c| c.settings.directory);
    match dir {
        Ok(dir) => println!("cache directory: {}", dir.display()),
        Err(e) => println!("cache unavailable: {e}"),
    }
    if cached_before {
        println!(
            "loaded from the cache; edit slow_square's body and run again to see it recompute"
        );
    } else {
        println!("computed and stored; run again: the second run loads instead of computing");
    }
}
