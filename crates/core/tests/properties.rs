//! Property tests (issue 9): the parsers of untrusted or user-written text — the entry
//! envelope, storage specs, `checkpointer.toml` — never panic and accept exactly what they
//! should, and `ObjectHash` framing never lets two distinct values of one type share a digest.
//!
//! `cargo test` runs each property on 256 cases; set `PROPTEST_CASES` for a longer run
//! (`PROPTEST_CASES=200000 cargo test -p checkpointer-core --test properties --release`).

use checkpointer_core::config::{open_spec, FileConfig, OpenTier, Settings};
use checkpointer_core::{
    envelope, Bytes, CheckpointError, Codec, Digest, Entry, Hasher, ObjectHash, Storage,
};
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn d<T: ObjectHash + ?Sized>(v: &T) -> Digest {
    let mut h = Hasher::new();
    v.object_hash(&mut h);
    h.finish()
}

/// `v` split at two cut points into three parts.
fn cut3(v: &str, i: usize, j: usize) -> (String, String, String) {
    let chars: Vec<char> = v.chars().collect();
    let (i, j) = (i.min(chars.len()), j.min(chars.len()));
    let (i, j) = (i.min(j), i.max(j));
    (
        chars[..i].iter().collect(),
        chars[i..j].iter().collect(),
        chars[j..].iter().collect(),
    )
}

fn entry_bytes(payload: &[u8], secs: i64, nanos: u32) -> Vec<u8> {
    let created = if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos)
    } else {
        UNIX_EPOCH - Duration::new(secs.unsigned_abs(), 0) + Duration::from_nanos(nanos as u64)
    };
    let e = Entry::with_created(Codec::Cbor, Bytes::copy_from_slice(payload), created);
    let mut bytes = e.envelope_header().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

proptest! {
    // ---- The envelope: every byte read from a store is untrusted. ----

    #[test]
    fn envelope_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(e) = Entry::from_envelope(Bytes::from(bytes.clone())) {
            prop_assert_eq!(e.payload.len() + envelope::HEADER_LEN, bytes.len());
        }
        let _ = envelope::parse_header(&bytes);
    }

    #[test]
    fn envelope_with_a_forged_length_is_corrupt(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        len in any::<u64>(),
    ) {
        let e = Entry::new(Codec::Cbor, Bytes::copy_from_slice(&payload));
        let mut bytes = envelope::header(&e.meta, len).to_vec();
        bytes.extend_from_slice(&payload);
        let parsed = Entry::from_envelope(Bytes::from(bytes));
        prop_assert_eq!(parsed.is_ok(), len == payload.len() as u64);
        prop_assert!(envelope::check_size(len, payload.len() as u64 + 72).is_ok() == (len == payload.len() as u64));
    }

    #[test]
    fn envelope_round_trips_and_every_flipped_bit_is_caught(
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        secs in -4_000_000_000i64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        bit in any::<usize>(),
    ) {
        let bytes = entry_bytes(&payload, secs, nanos);
        let back = Entry::from_envelope(Bytes::from(bytes.clone())).unwrap();
        back.verify().unwrap();
        prop_assert_eq!(&back.payload[..], &payload[..]);
        let bit = bit % (bytes.len() * 8);
        let mut flipped = bytes;
        flipped[bit / 8] ^= 1 << (bit % 8);
        match Entry::from_envelope(Bytes::from(flipped)) {
            // Only a payload bit passes framing, and then fails its checksum.
            Ok(e) => {
                prop_assert!(bit / 8 >= envelope::HEADER_LEN);
                prop_assert!(e.verify().is_err());
            }
            Err(e) => prop_assert!(matches!(e, CheckpointError::Corrupt(_))),
        }
    }

    // ---- Storage specs. ----

    #[test]
    fn storage_specs_open_their_tiers_in_order_or_say_why_not(
        tiers in proptest::collection::vec(prop_oneof![
            Just("fs".to_string()), Just("memory".to_string()), Just("".to_string()),
            "[ -~]{0,12}", "s3://[a-z0-9./_-]{0,20}",
        ], 1..5),
        pad in proptest::collection::vec("[ \t]{0,2}", 10),
    ) {
        let spec = tiers
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}{t}{}", pad[i % 10], pad[(i + 5) % 10]))
            .collect::<Vec<_>>()
            .join(",");
        let settings = Settings { directory: PathBuf::from("/nonexistent") };
        OPENED.with(|o| o.borrow_mut().clear());
        let result = open_spec(&spec, &settings, recording as OpenTier);
        let parts: Vec<String> = spec.split(',').map(|t| t.trim().to_string()).collect();
        if parts.iter().any(String::is_empty) {
            prop_assert!(matches!(result, Err(CheckpointError::Spec { .. })), "{spec:?}");
            prop_assert!(OPENED.with(|o| o.borrow().is_empty()), "opened tiers of a bad spec");
        } else {
            let opened = OPENED.with(|o| o.borrow().clone());
            match result {
                Ok(storage) => {
                    prop_assert_eq!(&opened, &parts);
                    prop_assert_eq!(storage.name(), parts.join(","));
                }
                // The opener refused a tier: that error, naming it.
                Err(CheckpointError::Spec { spec: t, .. }) => prop_assert!(parts.contains(&t)),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }

    // ---- checkpointer.toml. ----

    #[test]
    fn config_files_never_panic(text in "[ -~\n]{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpointer.toml");
        std::fs::write(&path, &text).unwrap();
        let _ = FileConfig::read(&path);
    }

    #[test]
    fn config_files_read_back_what_they_say(
        dir_name in proptest::option::of("[a-z][a-z0-9_]{0,8}"),
        absolute in any::<bool>(),
        storage in proptest::option::of("[a-z0-9:/,]{1,16}"),
        verbosity in proptest::option::of(0u8..6),
        disable in proptest::option::of(any::<bool>()),
        key_name in prop_oneof![Just("dir"), Just("directory")],
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("checkpointer.toml");
        let mut text = String::new();
        let dir_value = dir_name.as_ref().map(|n| if absolute { format!("/abs/{n}") } else { n.clone() });
        if let Some(v) = &dir_value {
            text += &format!("{key_name} = {v:?}\n");
        }
        if let Some(s) = &storage {
            text += &format!("storage = {s:?}\n");
        }
        if let Some(v) = verbosity {
            text += &format!("verbosity = {v}\n");
        }
        if let Some(b) = disable {
            text += &format!("disable = {b}\n");
        }
        std::fs::write(&path, &text).unwrap();
        match FileConfig::read(&path) {
            Ok(cfg) => {
                prop_assert!(verbosity.is_none_or(|v| v <= 2));
                prop_assert_eq!(cfg.storage, storage);
                prop_assert_eq!(cfg.verbosity, verbosity);
                prop_assert_eq!(cfg.disable, disable);
                let expected = dir_value.map(|v| if absolute { PathBuf::from(v) } else { tmp.path().join(v) });
                prop_assert_eq!(cfg.dir, expected);
            }
            Err(e) => {
                prop_assert!(verbosity.is_some_and(|v| v > 2), "{e}");
                prop_assert!(e.to_string().contains("verbosity"));
            }
        }
    }

    // ---- ObjectHash framing: distinct values of one type, distinct digests. ----

    #[test]
    fn strings_cut_differently_hash_differently(s in "\\PC{0,12}", i in 0usize..14, j in 0usize..14, k in 0usize..14, l in 0usize..14) {
        let a = cut3(&s, i, j);
        let b = cut3(&s, k, l);
        prop_assert_eq!(a == b, d(&a) == d(&b));
        let va = vec![a.0.clone(), a.1.clone(), a.2.clone()];
        let vb = vec![b.0.clone(), b.1.clone(), b.2.clone()];
        prop_assert_eq!(va == vb, d(&va) == d(&vb));
        // Fewer parts: dropping empty strings must still differ from keeping them.
        let fa: Vec<&String> = va.iter().filter(|p| !p.is_empty()).collect();
        prop_assert_eq!(fa.len() == va.len(), d(&fa) == d(&va));
    }

    #[test]
    fn byte_vectors_cut_differently_hash_differently(v in proptest::collection::vec(any::<u8>(), 0..12), i in 0usize..14, j in 0usize..14) {
        let (i, j) = (i.min(v.len()), j.min(v.len()));
        let a = vec![v[..i].to_vec(), v[i..].to_vec()];
        let b = vec![v[..j].to_vec(), v[j..].to_vec()];
        prop_assert_eq!(a == b, d(&a) == d(&b));
        let a16: Vec<Vec<u16>> = a.iter().map(|x| x.iter().map(|&b| b as u16).collect()).collect();
        prop_assert_ne!(d(&a), d(&a16));
    }

    #[test]
    fn distinct_values_of_one_type_have_distinct_digests(
        a in any::<(Option<u32>, Vec<i16>, String, bool)>(),
        b in any::<(Option<u32>, Vec<i16>, String, bool)>(),
    ) {
        prop_assert_eq!(a == b, d(&a) == d(&b));
    }

    #[test]
    fn nested_collections(
        a in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..3), 0..4),
        b in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..3), 0..4),
    ) {
        prop_assert_eq!(a == b, d(&a) == d(&b));
        let sa: Vec<String> = a.iter().map(|x| x.iter().map(|n| n.to_string()).collect()).collect();
        let sb: Vec<String> = b.iter().map(|x| x.iter().map(|n| n.to_string()).collect()).collect();
        prop_assert_eq!(sa == sb, d(&sa) == d(&sb));
    }

    #[test]
    fn maps_and_sets(
        a in proptest::collection::btree_map("[ab]{0,2}", 0u8..3, 0..4),
        b in proptest::collection::btree_map("[ab]{0,2}", 0u8..3, 0..4),
    ) {
        prop_assert_eq!(a == b, d(&a) == d(&b));
        let (ha, hb): (HashMap<_, _>, HashMap<_, _>) = (a.clone().into_iter().collect(), b.clone().into_iter().collect());
        prop_assert_eq!(ha == hb, d(&ha) == d(&hb));
        let (sa, sb): (HashSet<_>, HashSet<_>) = (a.keys().cloned().collect(), b.keys().cloned().collect());
        prop_assert_eq!(sa == sb, d(&sa) == d(&sb));
        // A map is not the sequence of its pairs, nor the set of its keys.
        let pairs: Vec<(String, u8)> = a.clone().into_iter().collect();
        prop_assert_ne!(d(&a), d(&pairs));
        let keys: BTreeMap<String, ()> = a.keys().map(|k| (k.clone(), ())).collect();
        prop_assert_ne!(d(&keys), d(&a.keys().cloned().collect::<HashSet<_>>()));
    }

    #[test]
    fn floats_by_bits(a in any::<f64>(), b in any::<f64>()) {
        prop_assert_eq!(a.to_bits() == b.to_bits(), d(&a) == d(&b));
        let (va, vb) = (vec![a, b], vec![b, a]);
        prop_assert_eq!(a.to_bits() == b.to_bits(), d(&va) == d(&vb));
    }

    #[cfg(unix)]
    #[test]
    fn os_paths_by_exact_bytes(
        a in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'a'), Just(0xffu8), Just(0xfeu8), Just(0xc3u8), Just(0xa9u8)], 0..8),
        b in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'a'), Just(0xffu8), Just(0xfeu8), Just(0xc3u8), Just(0xa9u8)], 0..8),
    ) {
        use std::os::unix::ffi::OsStrExt;
        let (pa, pb) = (std::path::Path::new(std::ffi::OsStr::from_bytes(&a)), std::path::Path::new(std::ffi::OsStr::from_bytes(&b)));
        prop_assert_eq!(pa == pb, d(pa) == d(pb));
        let (oa, ob) = (std::ffi::OsStr::from_bytes(&a), std::ffi::OsStr::from_bytes(&b));
        prop_assert_eq!(oa == ob, d(oa) == d(ob));
    }
}

thread_local! {
    static OPENED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A tier opener that records what it opened and refuses tiers containing `!`.
fn recording(tier: &str, _: &Settings) -> Result<Arc<dyn Storage>, CheckpointError> {
    if tier.contains('!') {
        return Err(CheckpointError::Spec {
            spec: tier.to_string(),
            reason: "refused".into(),
        });
    }
    OPENED.with(|o| o.borrow_mut().push(tier.to_string()));
    Ok(Arc::new(Named(tier.to_string())))
}

/// A storage that only has a name.
#[derive(Debug)]
struct Named(String);

#[checkpointer_core::async_trait]
impl Storage for Named {
    fn name(&self) -> &str {
        &self.0
    }
    async fn store(&self, _: &checkpointer_core::Key, _: Entry) -> Result<(), CheckpointError> {
        Ok(())
    }
    async fn load(&self, _: &checkpointer_core::Key) -> Result<Option<Entry>, CheckpointError> {
        Ok(None)
    }
    async fn delete(&self, _: &checkpointer_core::Key) -> Result<bool, CheckpointError> {
        Ok(false)
    }
    async fn list(
        &self,
        _: &checkpointer_core::Scope,
    ) -> Result<Vec<checkpointer_core::EntryInfo>, CheckpointError> {
        Ok(Vec::new())
    }
}
