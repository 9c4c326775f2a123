use checkpointer::checkpoint;

#[checkpoint(storage = "s3://")]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
