use checkpointer::checkpoint;

#[checkpoint(storage = "memroy,fs")]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
