//! zstd compression of entries: `compress = "zstd"` / `"zstd:LEVEL"`, `CHECKPOINTER_COMPRESS`,
//! or `compress` in `checkpointer.toml`.
//!
//! A compressed entry has the [`Codec::Zstd`] codec, whose payload is
//!
//! | bytes | field |
//! |---|---|
//! | 0 | the inner codec |
//! | 1..9 | the inner payload's length (u64 LE) |
//! | 9.. | one zstd frame |
//!
//! Since the codec says so, any reader decodes it, whatever its own options. Payloads under
//! [`THRESHOLD`] bytes are stored as they are (see BENCHMARKS.md for the measurement).

use crate::{CheckpointError, Codec, Entry};
use std::io::Read;

/// Payloads shorter than this are never compressed. Measured (BENCHMARKS.md): compressing and
/// expanding costs a fixed ~35 µs per entry (seven fs hits) even for 1 KiB; at 64 KiB of mixed
/// data that is under a fifth of the 195 µs it takes, and the ~40 KiB saved outweigh it on
/// any network link.
pub const THRESHOLD: usize = 64 * 1024;
/// Inner codec and length.
const PREFIX: usize = 1 + 8;
/// The default zstd level: zstd's own default.
pub const DEFAULT_LEVEL: i32 = 3;

/// A compression setting: zstd at a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    /// The zstd level (1..=22; negative levels are zstd's fast modes).
    pub level: i32,
}

impl Compression {
    /// Parses `"zstd"`, `"zstd:LEVEL"`; `"none"` or `"off"` give `None` (no compression).
    pub fn parse(s: &str) -> Result<Option<Self>, CheckpointError> {
        let s = s.trim();
        let bad = |why: String| {
            CheckpointError::Config(format!(
                "compress = {s:?}: {why}; expected \"zstd\", \"zstd:LEVEL\" (LEVEL from -7 to 22) or \"none\""
            ))
        };
        match s {
            "none" | "off" => return Ok(None),
            "zstd" => {
                return Ok(Some(Compression {
                    level: DEFAULT_LEVEL,
                }))
            }
            _ => {}
        }
        let level = s
            .strip_prefix("zstd:")
            .ok_or_else(|| bad("unknown compression".into()))?;
        let level: i32 = level
            .trim()
            .parse()
            .map_err(|_| bad(format!("level {level:?} is not a number")))?;
        if !(-7..=22).contains(&level) {
            return Err(bad(format!("level {level} is out of range")));
        }
        Ok(Some(Compression { level }))
    }

    /// Compresses `entry` when it is at least [`THRESHOLD`] bytes and compression pays
    /// (a result no smaller is dropped); the created time is kept.
    pub fn apply(self, entry: Entry) -> Result<Entry, CheckpointError> {
        if entry.payload.len() < THRESHOLD {
            return Ok(entry);
        }
        let mut out = Vec::with_capacity(PREFIX + entry.payload.len() / 2);
        out.push(entry.meta.codec.to_byte());
        out.extend_from_slice(&(entry.payload.len() as u64).to_le_bytes());
        let zstd_err = |e: std::io::Error| CheckpointError::Encode(format!("zstd: {e}"));
        let mut encoder =
            zstd::stream::write::Encoder::new(&mut out, self.level).map_err(zstd_err)?;
        // The frame's own checksum: damage inside it is caught even without the envelope's.
        encoder.include_checksum(true).map_err(zstd_err)?;
        std::io::Write::write_all(&mut encoder, &entry.payload).map_err(zstd_err)?;
        encoder.finish().map_err(zstd_err)?;
        if out.len() >= entry.payload.len() {
            return Ok(entry);
        }
        Ok(Entry::with_created(
            Codec::Zstd,
            out.into(),
            entry.meta.created,
        ))
    }
}

/// Decompresses a [`Codec::Zstd`] entry whose checksum (and MAC, if any) passed; other entries
/// pass unchanged. Untrusted input: the announced length bounds the output, and memory grows
/// only with what actually decompresses, never with what a header claims.
pub fn expand(entry: Entry) -> Result<Entry, CheckpointError> {
    if entry.meta.codec != Codec::Zstd {
        return Ok(entry);
    }
    let corrupt = |why: String| CheckpointError::Corrupt(format!("compressed entry: {why}"));
    let bytes = &entry.payload;
    if bytes.len() < PREFIX {
        return Err(corrupt("shorter than its header".into()));
    }
    let inner = Codec::from_byte(bytes[0])
        .filter(|c| !matches!(c, Codec::Zstd | Codec::Signed))
        .ok_or_else(|| corrupt(format!("wraps unknown codec {}", bytes[0])))?;
    let len = u64::from_le_bytes(bytes[1..PREFIX].try_into().expect("8 bytes"));
    let decoder = zstd::stream::read::Decoder::new(&bytes[PREFIX..])
        .map_err(|e| corrupt(format!("zstd: {e}")))?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 24));
    decoder
        .take(len.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(format!("zstd: {e}")))?;
    if out.len() as u64 != len {
        return Err(corrupt(format!(
            "decompresses to {} bytes, its header says {len}",
            out.len()
        )));
    }
    let mut meta = entry.meta;
    meta.codec = inner;
    Ok(Entry {
        meta,
        payload: out.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn mixed(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| if i % 7 == 0 { (i / 7) as u8 } else { b'a' })
            .collect()
    }

    #[test]
    fn round_trip_threshold_and_damage() {
        let z = Compression::parse("zstd:5").unwrap().unwrap();
        let big = Entry::new(Codec::Cbor, Bytes::from(mixed(100_000)));
        let packed = z.apply(big.clone()).unwrap();
        assert_eq!(packed.meta.codec, Codec::Zstd);
        assert!(packed.payload.len() < big.payload.len() / 4);
        assert_eq!(packed.meta.created, big.meta.created);
        let back = expand(packed.clone()).unwrap();
        assert_eq!(back.meta.codec, Codec::Cbor);
        assert_eq!(back.payload, big.payload);

        // Below the threshold, and incompressible data, are stored as they are.
        let small = Entry::new(Codec::Cbor, Bytes::from(mixed(THRESHOLD - 1)));
        assert_eq!(z.apply(small).unwrap().meta.codec, Codec::Cbor);
        let mut noise = vec![0u8; 50_000];
        blake3::Hasher::new().finalize_xof().fill(&mut noise);
        let noise = Entry::new(Codec::Cbor, Bytes::from(noise));
        assert_eq!(z.apply(noise).unwrap().meta.codec, Codec::Cbor);

        // Any damage is an error, never a panic or a huge allocation.
        for i in [0, 1, 5, 8, 9, 20, packed.payload.len() - 1] {
            let mut p = packed.payload.to_vec();
            p[i] ^= 0x40;
            let e = Entry::new(Codec::Zstd, Bytes::from(p));
            assert!(expand(e).is_err(), "byte {i}");
        }
        let mut lying = packed.payload.to_vec();
        lying[1..9].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(expand(Entry::new(Codec::Zstd, Bytes::from(lying))).is_err());
        let truncated = packed.payload.slice(..packed.payload.len() - 10);
        assert!(expand(Entry::new(Codec::Zstd, truncated)).is_err());
        assert!(expand(Entry::new(Codec::Zstd, Bytes::from_static(b"\x01"))).is_err());
    }

    #[test]
    fn options_parse() {
        assert_eq!(Compression::parse("zstd").unwrap().unwrap().level, 3);
        assert_eq!(Compression::parse(" zstd:19 ").unwrap().unwrap().level, 19);
        assert_eq!(Compression::parse("none").unwrap(), None);
        for bad in ["gzip", "zstd:", "zstd:99", "zstd:x", ""] {
            let e = Compression::parse(bad).unwrap_err().to_string();
            assert!(e.contains("zstd"), "{bad}: {e}");
        }
    }
}
