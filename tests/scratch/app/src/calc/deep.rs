//! Two calls below `two_down`.

pub fn second(x: u64) -> u64 {
    x * 10
}

/// Nothing calls it.
pub fn sibling() -> u64 {
    3
}
