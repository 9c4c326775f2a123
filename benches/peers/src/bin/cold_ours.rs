//! Workload 6, ours: a whole program whose one call is a hit in the default fs store
//! (`CHECKPOINTER_DIR`). The body reports on stderr when it runs, so the driver can tell a
//! hit from a recompute.

use checkpointer::checkpoint;

#[checkpoint(verbosity = 0)]
fn square(x: u64) -> u64 {
    eprintln!("computed");
    x * x
}

fn main() {
    println!("{}", square(7));
}
