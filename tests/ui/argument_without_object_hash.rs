use checkpointer::checkpoint;

struct Settings {
    scale: u64,
}

#[checkpoint]
fn scaled(settings: Settings, x: u64) -> u64 {
    settings.scale * x
}

fn main() {
    scaled(Settings { scale: 2 }, 3);
}
