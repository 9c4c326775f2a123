use checkpointer::checkpoint;

#[checkpoint(storag = "memory")]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
