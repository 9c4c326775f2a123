//! Scratch binary of `tests/code_change.rs`: each cached body prints `RAN <name>`, `main`
//! prints `OUT <name>=<value>` for every function.

#[macro_use]
mod macros;
mod calc;
mod config;
mod counter;
mod shapes;
mod types;

use checkpointer::checkpoint;

/// Reformatted, commented and documented by the suite: never recomputed.
#[checkpoint]
fn layout(x: u64) -> u64 {
    println!("RAN layout");
    let y = x + 1;
    y * 2
}

#[checkpoint]
fn two_down(x: u64) -> u64 {
    println!("RAN two_down");
    calc::first(x)
}

#[checkpoint]
fn uses_config() -> u64 {
    println!("RAN uses_config");
    config::LIMIT + config::START.len() as u64
}

#[checkpoint]
fn method_value() -> u64 {
    println!("RAN method_value");
    let c = counter::make(3);
    c.bump()
}

#[checkpoint]
fn generic_trait() -> f64 {
    println!("RAN generic_trait");
    shapes::total(&[shapes::Square { side: 2.0 }, shapes::Square { side: 3.0 }])
}

#[checkpoint]
fn with_macro(x: u64) -> u64 {
    println!("RAN with_macro");
    triple!(x)
}

#[checkpoint]
fn from_lib(x: u64) -> u64 {
    println!("RAN from_lib");
    mylib::scale(x)
}

#[checkpoint]
fn returns_struct() -> types::Report {
    println!("RAN returns_struct");
    types::Report::new(5)
}

#[checkpoint(fn_hash_from = "v1")]
fn pinned(x: u64) -> u64 {
    println!("RAN pinned");
    x + 100
}

#[checkpoint(capture(config::THRESHOLD))]
fn captured() -> u64 {
    println!("RAN captured");
    config::THRESHOLD.get() * 2
}

#[checkpoint(env("APP_MODE"))]
fn env_watch() -> String {
    println!("RAN env_watch");
    std::env::var("APP_MODE").unwrap_or_default()
}

#[checkpoint(files("data.txt"))]
fn files_watch() -> usize {
    println!("RAN files_watch");
    std::fs::read_to_string("data.txt").map(|s| s.len()).unwrap_or(0)
}

fn unrelated() -> u64 {
    42
}

fn main() {
    let threshold = std::env::var("APP_THRESHOLD").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    config::THRESHOLD.set(threshold);
    println!("OUT layout={}", layout(1));
    println!("OUT two_down={}", two_down(2));
    println!("OUT uses_config={}", uses_config());
    println!("OUT method_value={}", method_value());
    println!("OUT generic_trait={}", generic_trait());
    println!("OUT with_macro={}", with_macro(4));
    println!("OUT from_lib={}", from_lib(5));
    println!("OUT returns_struct={:?}", returns_struct());
    println!("OUT pinned={}", pinned(6));
    println!("OUT captured={}", captured());
    println!("OUT env_watch={}", env_watch());
    println!("OUT files_watch={}", files_watch());
    println!("OUT unrelated={}", unrelated());
    for (path, hash) in two_down::handle().identity_items() {
        println!("ITEM two_down {path} {hash}");
    }
}
