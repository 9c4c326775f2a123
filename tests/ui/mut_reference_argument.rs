use checkpointer::checkpoint;

// Issue 9, finding 11: a `&mut` argument's changes would be lost on a hit.
#[checkpoint(storage = "memory")]
fn push_one(v: &mut Vec<u32>) -> usize {
    v.push(1);
    v.len()
}

// Also inside another type.
#[checkpoint(storage = "memory")]
fn first(v: Option<&mut u32>) -> u32 {
    v.map_or(0, |x| *x)
}

// `#[no_hash]` says the loss is intended: accepted.
#[checkpoint(storage = "memory")]
fn logged(x: u32, #[no_hash] log: &mut Vec<String>) -> u32 {
    log.push(format!("{x}"));
    x
}

fn main() {
    let _ = logged(1, &mut Vec::new());
}
