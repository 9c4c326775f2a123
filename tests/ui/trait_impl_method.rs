use checkpointer::checkpoint;

struct Square(u64);

trait Area {
    fn area(&self) -> u64;
}

impl Area for Square {
    #[checkpoint]
    fn area(&self) -> u64 {
        self.0 * self.0
    }
}

fn main() {}
