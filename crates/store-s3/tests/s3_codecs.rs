//! Compressed and signed entries round-trip through a real S3 server: the codecs live in the
//! envelope, so the store carries them byte for byte and any reader opens them.

use checkpointer_core::seal::{open, seal, Secrets};
use checkpointer_core::{
    block_on, compress, Codec, Compression, Digest, Entry, FnPath, Key, Storage,
};
use checkpointer_store_s3::{S3Options, S3Store};
use std::sync::Arc;

fn store() -> S3Store {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests through scripts/test, which starts an S3 server, or point it at one")
        })
    };
    let mut o = S3Options::default();
    o.endpoint = Some(get("CHECKPOINTER_TEST_S3_ENDPOINT"));
    let url = format!(
        "s3://{}/codec-tests/{}-{:08x}",
        get("CHECKPOINTER_TEST_S3_BUCKET"),
        std::process::id(),
        fastrand::u32(..)
    );
    S3Store::open_with(&url, o).expect("open the test store")
}

#[test]
fn compressed_and_signed_entries_round_trip_through_s3() {
    let s3 = store();
    let key = Key {
        function: Arc::new(FnPath::from_module_path("codec_tests::m", "f")),
        identity: Digest::of_bytes(b"v1"),
        call: Digest::of_bytes(b"1"),
    };
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{} ", i % 977).into_bytes())
        .collect();
    let plain = Entry::new(Codec::Cbor, text.into());
    let packed = Compression { level: 3 }.apply(plain.clone()).unwrap();
    assert_eq!(packed.meta.codec, Codec::Zstd);
    let secrets = Secrets::new(["team"]).unwrap();
    let sealed = seal(&secrets, &key, packed.clone());

    for (stored, signed) in [(packed, false), (sealed, true)] {
        block_on(s3.store(&key, stored.clone())).unwrap();
        let back = block_on(s3.load(&key)).unwrap().expect("stored");
        back.verify().unwrap();
        assert_eq!(back.meta, stored.meta);
        assert_eq!(back.payload, stored.payload);
        let opened = open(signed.then_some(&secrets), &key, back).unwrap();
        let value = compress::expand(opened).unwrap();
        assert_eq!(value.meta.codec, Codec::Cbor);
        assert_eq!(value.payload, plain.payload);
    }
}
