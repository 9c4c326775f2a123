use checkpointer::checkpoint;

struct Report {
    total: u64,
}

#[checkpoint]
fn report(x: u64) -> Report {
    Report { total: x }
}

fn main() {
    println!("{}", report(3).total);
}
