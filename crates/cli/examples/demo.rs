//! A small program whose cache the README inspects with the `checkpointer` command:
//!
//! ```sh
//! CHECKPOINTER_DIR=/tmp/demo-cache cargo run -p checkpointer-cli --example demo
//! cargo run -p checkpointer-cli -- --dir /tmp/demo-cache ls
//! ```

use checkpointer::checkpoint;

#[checkpoint]
fn square(x: u64) -> u64 {
    x * x
}

mod features {
    use checkpointer::checkpoint;

    /// A nested cached call: computed inside `pipeline`, recorded as its child.
    #[checkpoint]
    pub fn embed(text: String) -> Vec<f32> {
        text.bytes().map(|b| f32::from(b) / 255.0).collect()
    }
}

#[derive(checkpointer::ObjectHash)]
struct Model {
    scale: f32,
}

impl Model {
    #[checkpoint]
    fn predict(&self, text: String) -> f32 {
        features::embed(text).iter().sum::<f32>() * self.scale
    }
}

#[checkpoint]
fn pipeline(texts: Vec<String>) -> Vec<f32> {
    let model = Model { scale: 2.0 };
    texts.into_iter().map(|t| model.predict(t)).collect()
}

fn main() {
    let total: u64 = (1..=20).map(square).sum();
    let scores = pipeline(vec!["hello".into(), "world".into()]);
    println!("sum of squares {total}, scores {scores:?}");
}
