//! A method called through a value (`method_value`).

pub struct Counter {
    n: u64,
}

pub fn make(n: u64) -> Counter {
    Counter { n }
}

impl Counter {
    pub fn bump(&self) -> u64 {
        self.n + 1
    }
}
