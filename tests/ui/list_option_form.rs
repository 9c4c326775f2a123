use checkpointer::checkpoint;

static LIMIT: u32 = 3;

#[checkpoint(capture = LIMIT)]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    square(2);
}
