use checkpointer::checkpoint;

#[checkpoint(verbosity = 0, storage = "memory", verbosity = 1)]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
