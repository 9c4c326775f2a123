use checkpointer::checkpoint;

#[checkpoint(expiry = "7 dayz")]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
