//! The mmap store passes the core's conformance suite, and serves arrays from maps.

use checkpointer_core::{block_on, decode, encode, Digest, FnPath, Key, Storage};
use checkpointer_store_mmap::{Array, MmapStore};
use std::sync::Arc;

fn key(call: &str) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("demo::arrays", "grid")),
        identity: Digest::of_bytes(b"code"),
        call: Digest::of_bytes(call.as_bytes()),
    }
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    checkpointer_core::testing::conformance_blocking(&MmapStore::new(dir.path().join("root")));
}

#[test]
fn arrays_load_as_maps_and_other_values_as_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // A root the store creates is private: files 0600, array files 0400.
    let store = MmapStore::new(dir.path().join("root"));
    let a = Array::from_shape_vec([3, 2, 2], (0..12).map(|i| i as f32 * 0.5).collect()).unwrap();
    block_on(store.store(&key("a"), encode(&a).unwrap())).unwrap();
    block_on(store.store(&key("v"), encode(&vec![1u8, 2, 3]).unwrap())).unwrap();

    let entry = block_on(store.load(&key("a"))).unwrap().unwrap();
    assert!(checkpointer_core::mapped::is_mapped(&entry.payload));
    entry.check_loaded().unwrap();
    entry.verify().unwrap();
    let back: Array<f32> = decode(&entry).unwrap();
    assert!(back.is_mapped());
    assert_eq!(back, a);
    // Another element type, or a non-array type, is a decode error (a miss), not garbage.
    assert!(decode::<Array<u32>>(&entry).is_err());
    assert!(decode::<Vec<f32>>(&entry).is_err());

    let entry = block_on(store.load(&key("v"))).unwrap().unwrap();
    assert!(!checkpointer_core::mapped::is_mapped(&entry.payload));
    assert_eq!(decode::<Vec<u8>>(&entry).unwrap(), vec![1, 2, 3]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path_of(&key("a")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o400,
            "array files are read-only for their owner"
        );
    }
}

#[test]
fn verify_finds_and_removes_a_flipped_element() {
    let dir = tempfile::tempdir().unwrap();
    let store = MmapStore::new(dir.path());
    let a = Array::from_vec((0..1000u64).collect());
    block_on(store.store(&key("a"), encode(&a).unwrap())).unwrap();
    block_on(store.store(&key("b"), encode(&a).unwrap())).unwrap();
    let all = checkpointer_core::Scope::All;
    let report = block_on(store.verify(&all, false)).unwrap();
    assert_eq!((report.checked, report.damaged.len()), (2, 0));

    let path = store.path_of(&key("a"));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &bytes).unwrap();

    let report = block_on(store.verify(&all, true)).unwrap();
    assert_eq!(report.damaged.len(), 1);
    assert_eq!(report.damaged[0].0, key("a"));
    assert_eq!(report.removed, 1);
    assert!(block_on(store.load(&key("a"))).unwrap().is_none());
    assert!(block_on(store.load(&key("b"))).unwrap().is_some());
}

#[test]
fn arrays_nested_in_other_values_use_the_portable_form() {
    use checkpointer_core::Codec;
    let a = Array::from_shape_vec([2, 0, 3], Vec::<i16>::new()).unwrap();
    let b = Array::from_shape_vec([2, 2], vec![u128::MAX, 0, 1 << 100, 7]).unwrap();
    let value = (a.clone(), Some(b.clone()), "label".to_string());
    let entry = encode(&value).unwrap();
    assert_eq!(entry.meta.codec, Codec::Cbor);
    let back: (Array<i16>, Option<Array<u128>>, String) = decode(&entry).unwrap();
    assert_eq!(back, value);
    // At the top level an Array is raw, and a raw entry is no other type.
    let raw = encode(&b).unwrap();
    assert_eq!(raw.meta.codec, Codec::RawArray);
    assert_eq!(decode::<Array<u128>>(&raw).unwrap(), b);
    assert!(decode::<(Array<u128>, String)>(&raw).is_err());
    // A CBOR entry holding a portable array of another element type is refused.
    let cbor = encode(&(b.clone(),)).unwrap();
    assert!(decode::<(Array<u64>,)>(&cbor).is_err());
}
