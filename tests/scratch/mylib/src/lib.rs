//! The second workspace member: `from_lib` calls `scale`, which calls `inner::factor`.

pub fn scale(x: u64) -> u64 {
    inner::factor() * x
}

mod inner {
    pub fn factor() -> u64 {
        4
    }
}

/// Nothing in `app` calls it.
pub fn unused_in_app() -> u64 {
    1
}
