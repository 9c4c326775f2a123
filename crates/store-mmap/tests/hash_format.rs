//! The array hash framing, spelled out byte by byte: it is part of the stable hash format.

use checkpointer_core::ObjectHash;
use checkpointer_store_mmap::Array;

fn u64le(x: u64) -> [u8; 8] {
    x.to_le_bytes()
}

#[test]
fn an_array_hashes_as_a_struct_of_shape_and_one_number_run() {
    let a = Array::from_shape_vec([2, 3], vec![1.0f32, -2.0, 3.5, 0.0, 7.25, -0.5]).unwrap();
    let mut wire = Vec::new();
    wire.push(0x70); // STRUCT
    wire.extend(u64le(2)); // two fields
    wire.push(0x32); // NAME
    wire.extend(u64le(19));
    wire.extend(b"checkpointer::Array");
    wire.push(0x40); // SEQ: the shape
    wire.extend(u64le(2));
    wire.extend([0x7f, 0x13]); // NUM_RUN of u64
    wire.extend(u64le(2));
    wire.extend(u64le(3));
    wire.push(0x40); // SEQ: the elements
    wire.extend(u64le(6));
    wire.extend([0x7f, 0x20]); // NUM_RUN of f32
    for x in a.iter() {
        wire.extend(x.to_bits().to_le_bytes());
    }
    assert_eq!(a.digest().0, *blake3::hash(&wire).as_bytes());

    // Shape and element type are in the hash; a 0-d array has an empty shape.
    let flat = Array::from_vec(a.to_vec());
    assert_ne!(flat.digest(), a.digest());
    let ints = Array::from_shape_vec([2, 3], vec![1i32, -2, 3, 0, 7, 0]).unwrap();
    assert_ne!(ints.digest(), a.digest());
    assert_ne!(
        Array::scalar(1u8).digest(),
        Array::from_vec(vec![1u8]).digest()
    );
}
