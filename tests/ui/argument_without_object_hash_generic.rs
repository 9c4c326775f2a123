use checkpointer::checkpoint;

struct Settings;

// A reference, a generic wrapper, a method: each one error, at the argument's type.
#[checkpoint]
fn by_ref(settings: &Settings, x: u64) -> u64 {
    let _ = settings;
    x
}

#[checkpoint]
fn listed(all: Vec<Settings>) -> usize {
    all.len()
}

#[derive(checkpointer::ObjectHash)]
struct Service;

impl Service {
    #[checkpoint]
    fn method(&self, (a, _b): (Settings, u64)) -> u64 {
        let _ = a;
        1
    }
}

fn main() {}
