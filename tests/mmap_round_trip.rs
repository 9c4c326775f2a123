//! `Array<T>` on the mmap store through real processes: every element type and the shapes
//! 0-d, empty, 1-d and 3-d are computed by one process and mapped — not recomputed — by the
//! next. And `ndarray` arguments hash by what they show, not by the buffer behind them.

mod common;

use checkpointer::ndarray::{self, s, Array2, Array3, ArrayView2, Axis};
use checkpointer::{checkpoint, Array, Element, ObjectHash};
use common::{is_child, run_child};

const SHAPES: &[&[usize]] = &[&[], &[0], &[3, 0, 2], &[7], &[3, 4, 5]];

fn fill<T: Element>(shape: &[usize], f: impl Fn(usize) -> T) -> Array<T> {
    let n = shape.iter().product();
    Array::from_shape_vec(shape.to_vec(), (0..n).map(f).collect()).unwrap()
}

fn body() {
    println!("\nBODY");
}

// One function per element type; the values use the type's whole range (sign, high bits).
#[checkpoint(storage = "mmap")]
fn make_u8(shape: Vec<usize>) -> Array<u8> {
    body();
    fill(&shape, |i| (i as u8).wrapping_mul(37).wrapping_add(200))
}
#[checkpoint(storage = "mmap")]
fn make_u16(shape: Vec<usize>) -> Array<u16> {
    body();
    fill(&shape, |i| (i as u16).wrapping_mul(40_503))
}
#[checkpoint(storage = "mmap")]
fn make_u32(shape: Vec<usize>) -> Array<u32> {
    body();
    fill(&shape, |i| (i as u32).wrapping_mul(2_654_435_761))
}
#[checkpoint(storage = "mmap")]
fn make_u64(shape: Vec<usize>) -> Array<u64> {
    body();
    fill(&shape, |i| (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}
#[checkpoint(storage = "mmap")]
fn make_u128(shape: Vec<usize>) -> Array<u128> {
    body();
    fill(&shape, |i| (i as u128 + 1) << 100 | i as u128)
}
#[checkpoint(storage = "mmap")]
fn make_i8(shape: Vec<usize>) -> Array<i8> {
    body();
    fill(&shape, |i| i8::MIN.wrapping_add((i as i8).wrapping_mul(3)))
}
#[checkpoint(storage = "mmap")]
fn make_i16(shape: Vec<usize>) -> Array<i16> {
    body();
    fill(&shape, |i| -30_000 + i as i16 * 7)
}
#[checkpoint(storage = "mmap")]
fn make_i32(shape: Vec<usize>) -> Array<i32> {
    body();
    fill(&shape, |i| i32::MIN + i as i32 * 1_000_003)
}
#[checkpoint(storage = "mmap")]
fn make_i64(shape: Vec<usize>) -> Array<i64> {
    body();
    fill(&shape, |i| -(i as i64) * 0x1234_5678_9abc)
}
#[checkpoint(storage = "mmap")]
fn make_i128(shape: Vec<usize>) -> Array<i128> {
    body();
    fill(&shape, |i| -((i as i128) << 90) - 1)
}
#[checkpoint(storage = "mmap")]
fn make_f32(shape: Vec<usize>) -> Array<f32> {
    body();
    fill(&shape, |i| i as f32 * -0.25 + 1e-30)
}
#[checkpoint(storage = "mmap")]
fn make_f64(shape: Vec<usize>) -> Array<f64> {
    body();
    fill(&shape, |i| (i as f64).sqrt() * 1e300)
}

/// Calls every function on every shape, checks each result against the uncached body, and
/// prints `MAPPED` for each result that is a map.
fn call_all() {
    macro_rules! check {
        ($($f:ident),*) => {$(
            for shape in SHAPES {
                let got = $f(shape.to_vec());
                let want = $f::uncached(shape.to_vec());
                assert_eq!(got.shape(), *shape, "{} {shape:?}", stringify!($f));
                assert_eq!(got, want, "{} {shape:?}", stringify!($f));
                assert_eq!(got.digest(), want.digest());
                if got.is_mapped() {
                    println!("\nMAPPED");
                }
            }
        )*};
    }
    check!(
        make_u8, make_u16, make_u32, make_u64, make_u128, make_i8, make_i16, make_i32, make_i64,
        make_i128, make_f32, make_f64
    );
}

#[test]
fn child_round_trip() {
    if is_child("child_round_trip") {
        call_all();
    }
}

#[test]
fn every_element_type_and_shape_round_trips_through_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let cases = 12 * SHAPES.len();
    let first = run_child("child_round_trip", dir.path(), &[]);
    first.assert_ok();
    // Each case ran its body once for the cached call, once more for `uncached`.
    assert_eq!(first.count("BODY"), 2 * cases, "{}", first.stdout);
    assert_eq!(first.count("MAPPED"), 0, "computed values are on the heap");

    let second = run_child("child_round_trip", dir.path(), &[]);
    second.assert_ok();
    assert_eq!(
        second.count("BODY"),
        cases,
        "only `uncached` runs the body: {}",
        second.stdout
    );
    // Arrays with elements are maps of the stored files (an empty one has nothing to map).
    let empty = SHAPES.iter().filter(|s| s.contains(&0)).count() * 12;
    assert_eq!(second.count("MAPPED"), cases - empty, "{}", second.stdout);
}

#[checkpoint(storage = "mmap")]
fn column_sums(a: ArrayView2<f32>) -> Vec<f32> {
    body();
    a.sum_axis(Axis(0)).to_vec()
}

#[test]
fn views_hash_by_their_elements_not_their_buffer() {
    let base = Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f32);
    // Two overlapping windows of one buffer.
    let a = base.slice(s![1..4, ..]);
    let b = base.slice(s![2..5, ..]);
    assert_ne!(a.digest(), b.digest());
    // Equal content, different layouts: a copy, a transposed transpose, a Fortran-order copy.
    let copy = a.to_owned();
    assert_eq!(a.digest(), copy.digest());
    let f_order = {
        let mut f = ndarray::Array2::<f32>::zeros(ndarray::ShapeBuilder::f((3, 5)));
        f.assign(&a);
        f
    };
    assert!(!f_order.is_standard_layout());
    assert_eq!(f_order.digest(), a.digest());
    let t = copy.t().to_owned();
    assert_eq!(t.t().digest(), a.digest());
    // A transposed view is a different array (shape 5×3), not the same bytes.
    assert_ne!(copy.t().digest(), copy.digest());
    assert_eq!(copy.t().digest(), t.digest());
    // Stepped slices hash their own elements.
    let even = base.slice(s![.., ..;2]);
    let even_copy = even.to_owned();
    assert_eq!(even.digest(), even_copy.digest());
    assert_ne!(even.digest(), base.slice(s![.., 1..;2]).digest());
    // Element type and shape are part of the hash.
    assert_ne!(copy.mapv(|x| x as f64).digest(), copy.digest());
    let flat = copy.clone().into_shape_with_order(15).unwrap();
    assert_ne!(flat.digest(), copy.digest());
    // An Array and an ndarray with the same shape and elements hash alike, 0-d included.
    let arr: Array<f32> = copy.clone().into();
    assert_eq!(arr.digest(), copy.digest());
    assert_eq!(
        Array::scalar(2.5f64).digest(),
        ndarray::arr0(2.5f64).digest()
    );
    let three = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as i64);
    let permuted = three.view().permuted_axes([2, 0, 1]);
    assert_eq!(permuted.digest(), permuted.to_owned().digest());
    assert_ne!(permuted.digest(), three.digest());
}

#[test]
fn cached_calls_with_views_hit_by_content() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("CHECKPOINTER_DIR", dir.path());
    let base = Array2::from_shape_fn((6, 4), |(i, j)| (i * 4 + j) as f32);
    let a = base.slice(s![0..3, ..]);
    let b = base.slice(s![1..4, ..]);
    let ra = column_sums(a);
    let rb = column_sums(b);
    assert_ne!(ra, rb, "overlapping views are different arguments");
    assert_eq!(ra, vec![12.0, 15.0, 18.0, 21.0]);
    // The same content in Fortran order, as a view: a hit.
    let mut f = ndarray::Array2::<f32>::zeros(ndarray::ShapeBuilder::f((3, 4)));
    f.assign(&a);
    assert!(column_sums::exists(f.view()).unwrap());
    assert_eq!(column_sums::call_hash(f.view()), column_sums::call_hash(a));
}

#[test]
fn conversions_do_not_copy_where_the_layout_allows() {
    let nd = Array2::from_shape_fn((300, 200), |(i, j)| (i ^ j) as u32);
    let ptr = nd.as_ptr();
    let arr: Array<u32> = nd.into();
    assert_eq!(arr.as_ptr(), ptr, "standard layout: moved, not copied");
    assert_eq!(arr.shape(), &[300, 200]);
    let view = arr.view();
    assert_eq!(view.as_ptr(), ptr, "a view borrows");
    assert_eq!(view[[7, 9]], 7 ^ 9);
    let back = arr.into_ndarray();
    assert_eq!(back.as_ptr(), ptr, "sole owner: moved back");
    // A Fortran-order array is copied, in logical order.
    let mut f = ndarray::Array2::<u32>::zeros(ndarray::ShapeBuilder::f((200, 300)));
    f.assign(&back.t());
    assert!(!f.is_standard_layout());
    let arr: Array<u32> = f.into();
    assert_eq!(arr.shape(), &[200, 300]);
    assert_eq!(arr[9 * 300 + 7], 7 ^ 9);
}
