//! A trait impl reached through a generic (`generic_trait`).

pub trait Shape {
    fn area(&self) -> f64;
}

pub struct Square {
    pub side: f64,
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
}

pub fn total<S: Shape>(items: &[S]) -> f64 {
    items.iter().map(|s| s.area()).sum()
}
