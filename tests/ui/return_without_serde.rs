use checkpointer::checkpoint;

struct Report {
    total: u64,
}

#[checkpoint]
fn summarize(x: u64) -> Report {
    Report { total: x }
}

fn main() {
    println!("{}", summarize(3).total);
}
