//! Authenticated entries: a keyed blake3 MAC binding an entry to its key.
//!
//! The envelope's checksum is an unkeyed hash: it stops accidents, not people, since anyone
//! who can write to a shared store can recompute it. With secrets configured
//! (`CHECKPOINTER_SECRET` or [`crate::Checkpointer::secrets`]) every stored entry is wrapped in
//! the [`Codec::Signed`] codec, whose payload is
//!
//! | bytes | field |
//! |---|---|
//! | 0 | the inner codec |
//! | 1..33 | MAC: blake3 keyed hash (the private `mac`) |
//! | 33..64 | zero (keeps the inner payload's alignment: mapped arrays stay mapped) |
//! | 64.. | the inner payload |
//!
//! The MAC covers the key's full storage path, the created time, the inner codec and the
//! inner payload, so a planted, replayed (under another key) or re-dated entry fails it.
//! Because the wrapper is a codec inside the ordinary envelope, every byte backend (and the
//! memory store, which keeps entries whole) carries it unchanged, and the envelope checksum
//! still guards the whole sealed payload against accidents.
//!
//! A reader with secrets accepts only signed entries whose MAC one of its secrets verifies
//! (rotation: the first secret signs, every one verifies). A reader without secrets treats a
//! signed entry like an unsigned one: it trusts the store, as it always did.

use crate::{CheckpointError, Codec, Entry, Key};
use std::fmt;
use std::time::UNIX_EPOCH;

/// The key-derivation context: secrets are arbitrary strings, the MAC key is derived.
const CONTEXT: &str = "checkpointer 2026-11 entry MAC v1";
/// Inner codec byte, the MAC, zero padding: a multiple of every element alignment, so a
/// payload that was aligned in its file (a mapped `RawArray`) stays aligned when signed.
const PREFIX: usize = 64;
/// The end of the MAC within the prefix.
const MAC_END: usize = 1 + 32;
/// The separator of several secrets in `CHECKPOINTER_SECRET`.
pub const ENV_SEPARATOR: char = ',';

/// The secrets entries are signed and verified with: the first signs, all verify.
///
/// Holds only derived keys; its `Debug` output never shows them.
#[derive(Clone)]
pub struct Secrets {
    keys: Vec<[u8; 32]>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.keys.len())
    }
}

impl Secrets {
    /// Secrets from a list, the signing one first. Refuses an empty list and empty secrets.
    pub fn new<I, S>(secrets: I) -> Result<Self, CheckpointError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut keys = Vec::new();
        for (i, s) in secrets.into_iter().enumerate() {
            let s = s.as_ref();
            if s.is_empty() {
                return Err(CheckpointError::Config(format!(
                    "secret number {} is empty; an empty secret authenticates nothing",
                    i + 1
                )));
            }
            keys.push(blake3::derive_key(CONTEXT, s));
        }
        if keys.is_empty() {
            return Err(CheckpointError::Config(
                "no secret given: give at least one (the first signs)".into(),
            ));
        }
        Ok(Secrets { keys })
    }

    /// Secrets from the value of `CHECKPOINTER_SECRET`: one secret, or several separated by
    /// commas (surrounding whitespace is ignored), the signing one first.
    pub fn from_env_value(name: &str, value: &str) -> Result<Self, CheckpointError> {
        Self::new(value.split(ENV_SEPARATOR).map(str::trim))
            .map_err(|e| CheckpointError::Config(format!("{name}: {e}")))
    }

    /// How many secrets verify (the first of them signs).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: there is at least one secret.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The secrets in environment variable `name`: `None` when it is unset, an error when it is
/// set but holds no usable secret (an empty value must not silently turn authentication off).
pub fn from_env(name: &str) -> Result<Option<std::sync::Arc<Secrets>>, CheckpointError> {
    match std::env::var(name) {
        Ok(v) => Secrets::from_env_value(name, &v).map(|s| Some(std::sync::Arc::new(s))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CheckpointError::Config(format!(
            "{name} is not valid UTF-8"
        ))),
    }
}

/// The MAC of an entry's content under `key_path`, with the derived key `mac_key`.
fn mac(
    mac_key: &[u8; 32],
    key_path: &str,
    entry: &Entry,
    inner_codec: u8,
    payload: &[u8],
) -> blake3::Hash {
    // Signed nanoseconds from the epoch: one number per instant, either side of it.
    let nanos: i128 = match entry.meta.created.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    let mut h = blake3::Hasher::new_keyed(mac_key);
    // Lengths first, so no two (path, payload) pairs hash the same bytes.
    h.update(&(key_path.len() as u64).to_le_bytes());
    h.update(key_path.as_bytes());
    h.update(&nanos.to_le_bytes());
    h.update(&[inner_codec]);
    h.update(&(payload.len() as u64).to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Wraps `entry` in the signed codec for `key`, signed with the first secret. The created
/// time is kept.
pub fn seal(secrets: &Secrets, key: &Key, entry: Entry) -> Entry {
    let inner = entry.meta.codec.to_byte();
    let tag = mac(
        &secrets.keys[0],
        &key.relative_path(),
        &entry,
        inner,
        &entry.payload,
    );
    let mut payload = Vec::with_capacity(PREFIX + entry.payload.len());
    payload.push(inner);
    payload.extend_from_slice(tag.as_bytes());
    payload.resize(PREFIX, 0);
    payload.extend_from_slice(&entry.payload);
    Entry::with_created(Codec::Signed, payload.into(), entry.meta.created)
}

/// Checks and unwraps a loaded entry whose checksum already passed.
///
/// With `secrets`, only a signed entry whose MAC one of them verifies for `key` passes;
/// anything else is [`CheckpointError::Unauthenticated`] and its payload is never decoded.
/// Without, a signed entry is unwrapped unchecked and others pass as they are.
pub fn open(secrets: Option<&Secrets>, key: &Key, entry: Entry) -> Result<Entry, CheckpointError> {
    if entry.meta.codec != Codec::Signed {
        return match secrets {
            Some(_) => Err(CheckpointError::Unauthenticated(
                "the entry carries no MAC (it was stored without a secret, or planted)".into(),
            )),
            None => Ok(entry),
        };
    }
    let bytes = &entry.payload;
    if bytes.len() < PREFIX {
        return Err(CheckpointError::Corrupt(
            "signed entry shorter than its MAC".into(),
        ));
    }
    if bytes[MAC_END..PREFIX].iter().any(|b| *b != 0) {
        return Err(CheckpointError::Corrupt(
            "signed entry has non-zero padding".into(),
        ));
    }
    let inner = Codec::from_byte(bytes[0])
        .filter(|c| *c != Codec::Signed)
        .ok_or_else(|| {
            CheckpointError::Corrupt(format!("signed entry wraps unknown codec {}", bytes[0]))
        })?;
    let payload = entry.payload.slice(PREFIX..);
    if let Some(secrets) = secrets {
        let path = key.relative_path();
        let stored = blake3::Hash::from_bytes(bytes[1..MAC_END].try_into().expect("32 bytes"));
        // `blake3::Hash` compares in constant time.
        let verified = secrets
            .keys
            .iter()
            .any(|k| mac(k, &path, &entry, bytes[0], &payload) == stored);
        if !verified {
            return Err(CheckpointError::Unauthenticated(
                "its MAC matches none of the configured secrets".into(),
            ));
        }
    }
    let mut meta = entry.meta;
    meta.codec = inner;
    // The checksum field describes the sealed bytes; the inner payload is not re-hashed
    // (the outer checksum and the MAC already cover it).
    Ok(Entry { meta, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Digest, FnPath};
    use bytes::Bytes;
    use std::sync::Arc;
    use std::time::Duration;

    fn key(call: u8) -> Key {
        Key {
            function: Arc::new(FnPath::from_module_path("app::m", "f")),
            identity: Digest([7; 32]),
            call: Digest([call; 32]),
        }
    }

    fn secrets(s: &[&str]) -> Secrets {
        Secrets::new(s.iter().copied()).unwrap()
    }

    #[test]
    fn round_trip_rotation_and_refusals() {
        let e = Entry::new(Codec::Cbor, Bytes::from_static(b"\x18\x2a"));
        let a = secrets(&["alpha"]);
        let sealed = seal(&a, &key(1), e.clone());
        assert_eq!(sealed.meta.codec, Codec::Signed);
        sealed.verify().unwrap();
        let opened = open(Some(&a), &key(1), sealed.clone()).unwrap();
        assert_eq!(opened.meta.codec, Codec::Cbor);
        assert_eq!(opened.payload, e.payload);
        assert_eq!(opened.meta.created, e.meta.created);

        // Rotation: a reader whose list holds the old secret second accepts it.
        assert!(open(Some(&secrets(&["beta", "alpha"])), &key(1), sealed.clone()).is_ok());
        // Wrong secret, other key, unsigned entry: refused.
        let b = secrets(&["beta"]);
        for err in [
            open(Some(&b), &key(1), sealed.clone()).unwrap_err(),
            open(Some(&a), &key(2), sealed.clone()).unwrap_err(),
            open(Some(&a), &key(1), e.clone()).unwrap_err(),
        ] {
            assert!(matches!(err, CheckpointError::Unauthenticated(_)), "{err}");
        }
        // Re-dated (created moved later, checksum recomputed): refused.
        let mut redated = Entry::with_created(
            Codec::Signed,
            sealed.payload.clone(),
            sealed.meta.created + Duration::from_secs(3600),
        );
        redated.verify().unwrap();
        assert!(open(Some(&a), &key(1), redated.clone()).is_err());
        redated.meta.created = sealed.meta.created;
        // Any flipped bit of the sealed payload (checksum recomputed, as an attacker would).
        for i in 0..sealed.payload.len() {
            for bit in 0..8 {
                let mut p = sealed.payload.to_vec();
                p[i] ^= 1 << bit;
                let forged = Entry::with_created(Codec::Signed, p.into(), sealed.meta.created);
                assert!(
                    open(Some(&a), &key(1), forged).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
        // Without secrets, both forms open.
        assert_eq!(open(None, &key(1), sealed).unwrap().payload, e.payload);
        assert_eq!(open(None, &key(1), e.clone()).unwrap().payload, e.payload);
        // A short signed payload is corrupt, not a panic.
        let short = Entry::new(Codec::Signed, Bytes::from_static(b"\x01abc"));
        assert!(open(None, &key(1), short.clone()).is_err());
        assert!(open(Some(&a), &key(1), short).is_err());
    }

    #[test]
    fn secrets_are_validated_and_never_printed() {
        assert!(Secrets::new(Vec::<&str>::new()).is_err());
        assert!(Secrets::new(["a", ""]).is_err());
        assert!(Secrets::from_env_value("CHECKPOINTER_SECRET", " ").is_err());
        let s = Secrets::from_env_value("CHECKPOINTER_SECRET", "new-one, old-one").unwrap();
        assert_eq!(s.len(), 2);
        let shown = format!("{s:?}");
        assert!(!shown.contains("new") && !shown.contains("old"), "{shown}");
    }
}
