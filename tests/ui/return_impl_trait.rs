use checkpointer::checkpoint;

#[checkpoint]
fn hidden(x: u64) -> impl serde::Serialize {
    x * 2
}

fn main() {}
