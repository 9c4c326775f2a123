//! Large arrays at memory speed: `cargo run --release --example arrays --features ndarray`,
//! twice.
//!
//! The first run computes a 256 MiB matrix and stores it on the mmap store; the second maps
//! the stored file instead — in microseconds, whatever the size — and reads only the rows it
//! touches. The argument is an `ndarray` view: it is hashed by the elements it shows.

use checkpointer::ndarray::{s, Array2, ArrayView2};
use checkpointer::{checkpoint, Array};
use std::time::Instant;

/// A stand-in for an expensive transform: each output row mixes the input's rows.
#[checkpoint(storage = "mmap")]
fn features(input: ArrayView2<f32>, width: usize) -> Array<f32> {
    let rows = input.nrows();
    let mut out = vec![0f32; rows * width];
    for (r, row) in out.chunks_mut(width).enumerate() {
        let src = input.row(r);
        for (c, x) in row.iter_mut().enumerate() {
            *x = src[c % src.len()] * (c as f32).sin();
        }
    }
    Array::from_shape_vec([rows, width], out).expect("rows × width elements")
}

fn main() {
    let base = Array2::from_shape_fn((4097, 64), |(i, j)| (i * 64 + j) as f32 / 1e3);
    // Rows 1.. of the base: a view, hashed by its own elements.
    let input = base.slice(s![1.., ..]);

    let start = Instant::now();
    let f = features(input, 16384);
    let elapsed = start.elapsed();
    println!(
        "{:?} array ({} MiB) in {elapsed:?}: {}",
        f.shape(),
        (f.len() * 4) >> 20,
        if f.is_mapped() {
            "mapped from the stored file"
        } else {
            "computed and stored; run again to map it instead"
        }
    );
    // Touching a row reads only its pages.
    let width = f.shape()[1];
    println!(
        "row 1234 starts with {:?}",
        &f[1234 * width..1234 * width + 4]
    );
}
