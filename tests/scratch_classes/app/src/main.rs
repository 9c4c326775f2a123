//! Scratch binary of `tests/code_change.rs` (classes): each cached body prints
//! `RAN <name>`, `main` prints `OUT <name>=<value>` for every function.

mod gen;
mod money;
mod nested;
mod picks;

use checkpointer::checkpoint;
use money::Level::*;
use money::Money;
use picks::a::pick;

include!("../../shared/x.rs");

#[checkpoint]
fn a_into(x: u64) -> u64 {
    println!("RAN a_into");
    let v: u64 = Money(x).into();
    v
}

#[checkpoint]
fn b_variant() -> i32 {
    println!("RAN b_variant");
    High as i32
}

#[checkpoint]
fn c_use() -> u64 {
    println!("RAN c_use");
    pick()
}

#[checkpoint]
fn d_chain() -> u64 {
    println!("RAN d_chain");
    mylib::run()
}

#[checkpoint]
fn e_alias(x: u64) -> String {
    println!("RAN e_alias");
    Money(x).to_string()
}

#[checkpoint]
fn g_macro() -> u64 {
    println!("RAN g_macro");
    gen::seven()
}

#[checkpoint]
fn i_include() -> u64 {
    println!("RAN i_include");
    shared()
}

#[checkpoint]
fn j_data() -> usize {
    println!("RAN j_data");
    include_str!("../data.txt").len()
}

#[checkpoint]
fn j_feature() -> bool {
    println!("RAN j_feature");
    cfg!(feature = "fast")
}

#[checkpoint]
fn j_env() -> String {
    println!("RAN j_env");
    env!("APP_STAMP").to_string()
}

#[checkpoint]
fn k_line() -> u32 {
    println!("RAN k_line");
    line!()
}

#[checkpoint(verbosity = 0)]
fn callee() -> u64 {
    println!("RAN callee");
    1
}

#[checkpoint]
fn caller() -> u64 {
    println!("RAN caller");
    callee() + 1
}

#[checkpoint(env("APP_WATCHED"))]
fn watched() -> String {
    println!("RAN watched");
    std::env::var("APP_WATCHED").unwrap_or_default()
}

#[checkpoint]
fn watches_through() -> String {
    println!("RAN watches_through");
    format!("through {}", watched())
}

fn unrelated() -> u64 {
    1
}

fn main() {
    println!("OUT a_into={}", a_into(2));
    println!("OUT b_variant={}", b_variant());
    println!("OUT c_use={}", c_use());
    println!("OUT d_chain={}", d_chain());
    println!("OUT e_alias={}", e_alias(3));
    println!("OUT g_macro={}", g_macro());
    println!("OUT helper1={}", nested::outer());
    println!("OUT helper2={}", nested::outer2());
    println!("OUT i_include={}", i_include());
    println!("OUT j_data={}", j_data());
    println!("OUT j_feature={}", j_feature());
    println!("OUT j_env={}", j_env());
    println!("OUT k_line={}", k_line());
    println!("OUT callee={}", callee());
    println!("OUT caller={}", caller());
    println!("OUT watched={}", watched());
    println!("OUT watches_through={}", watches_through());
    println!("OUT unrelated={}", unrelated());
}
