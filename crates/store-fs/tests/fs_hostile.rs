//! The fs store against hostile bytes and hostile neighbours (issue 9).

use checkpointer_core::{
    block_on, envelope, Bytes, CheckpointError, Codec, Digest, Entry, FnPath, Key, Scope, Storage,
};
use checkpointer_store_fs::FsStore;
use std::sync::Arc;

fn key(n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("tests::hostile", "f")),
        identity: Digest::of_bytes(b"code"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

/// Finding 5: a header announcing a payload near `u64::MAX` overflowed an unchecked add in
/// `load`, `checkpoint_date` and `list` (a panic in debug builds, which these tests are).
#[test]
fn a_header_claiming_an_impossible_length_is_damage_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    for (n, len) in [u64::MAX, u64::MAX - 71, u64::MAX - 72, 1 << 62]
        .into_iter()
        .enumerate()
    {
        let k = key(n as u32);
        block_on(store.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"ok")))).unwrap();
        let meta = block_on(store.load(&k)).unwrap().unwrap().meta;
        let mut bytes = envelope::header(&meta, len).to_vec();
        bytes.extend_from_slice(b"ok");
        std::fs::write(store.path_of(&k), &bytes).unwrap();

        let loaded = block_on(store.load(&k)).unwrap().unwrap();
        assert!(loaded.is_damaged(), "length {len}");
        assert!(loaded.verify().is_err());
        // Damaged: reported with the file's modification time, not the header's.
        assert!(block_on(store.checkpoint_date(&k)).unwrap().is_some());
        let listed = block_on(store.list(&Scope::All)).unwrap();
        let info = listed.iter().find(|i| i.key == k).expect("listed");
        assert_eq!(
            info.created, None,
            "a damaged entry has no trusted created time"
        );
    }
}

/// Finding 10: an existing root that another user made in a directory anyone can write to
/// (`/tmp`) was accepted, so its owner could plant entries that load as hits.
#[cfg(unix)]
#[test]
fn a_root_planted_by_another_user_in_a_shared_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let root = shared.path().join("checkpoints");
    std::fs::create_dir(&root).unwrap();
    let c = std::ffi::CString::new(root.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; chown has no memory effects.
    if unsafe { libc::chown(c.as_ptr(), 65534, 65534) } != 0 {
        // Only root can give a file away: this check needs it (CI runs as root).
        eprintln!("skipped: cannot chown as this user");
        return;
    }
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    // The other user plants an entry.
    let planter = FsStore::new(&root);
    let k = key(1);
    block_on(planter.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"planted")))).ok();

    let store = FsStore::new(&root);
    let err = block_on(store.load(&k)).unwrap_err();
    assert!(matches!(err, CheckpointError::Storage { .. }), "{err}");
    assert!(err.to_string().contains("another user"), "{err}");
    let err =
        block_on(store.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"x")))).unwrap_err();
    assert!(err.to_string().contains("another user"), "{err}");

    // The same root in a directory only its users can write to is a shared cache: accepted.
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = FsStore::new(&root);
    assert!(block_on(store.load(&key(2))).unwrap().is_none());
}
