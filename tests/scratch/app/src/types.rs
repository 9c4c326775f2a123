//! The return type of `returns_struct`.

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub total: u64,
}

impl Report {
    pub fn new(n: u64) -> Report {
        Report { total: n * 2 }
    }
}
