pub struct Money(pub u64);

impl From<Money> for u64 {
    fn from(m: Money) -> u64 {
        m.0 * 100
    }
}

pub type Cash = Money;

impl std::fmt::Display for Cash {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "${}", self.0)
    }
}

pub enum Level {
    Low = 1,
    High = 5,
}
