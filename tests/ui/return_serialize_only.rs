use checkpointer::checkpoint;
use serde::Serialize;

// Serialize, but a cached value is also read back: it needs Deserialize too.
#[derive(Serialize)]
struct Written {
    total: u64,
}

#[checkpoint]
fn write_only(x: u64) -> Written {
    Written { total: x }
}

// A borrowed return type cannot be read back into an owned value.
#[checkpoint]
fn borrowed(x: u64) -> &'static str {
    if x > 0 { "yes" } else { "no" }
}

fn main() {}
