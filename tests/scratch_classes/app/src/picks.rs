pub mod a {
    pub fn pick() -> u64 {
        1
    }
}

pub mod b {
    pub fn pick() -> u64 {
        2
    }
}
