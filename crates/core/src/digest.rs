//! A 256-bit blake3 digest with hex formatting and parsing.

use std::fmt;
use std::str::FromStr;

/// A 256-bit blake3 digest: the form of every hash in checkpointer (identity, call, checksum).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The number of hex characters in [`Digest::to_hex`].
    pub const HEX_LEN: usize = 64;

    /// The digest of `bytes` (plain blake3, no framing); on all cores from
    /// [`crate::hash::PARALLEL_THRESHOLD`] bytes with the `parallel` feature (checksums of
    /// large entries).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        if bytes.len() >= crate::hash::PARALLEL_THRESHOLD {
            let mut h = blake3::Hasher::new();
            crate::hash::update_large(&mut h, bytes);
            return Digest(*h.finalize().as_bytes());
        }
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(Self::HEX_LEN);
        self.push_hex(&mut s);
        s
    }

    /// Appends [`Digest::to_hex`] to `out` (entry paths are built on every fs and S3 hit).
    pub fn push_hex(&self, out: &mut String) {
        out.push_str(self.hex().as_str());
    }

    /// The hex digits, without allocating: one table lookup per byte (a path has two
    /// digests, built on every fs hit and miss).
    pub(crate) fn hex(&self) -> Hex {
        let mut buf = [[0u8; 2]; 32];
        for (pair, b) in buf.iter_mut().zip(self.0) {
            *pair = HEX_PAIRS[b as usize];
        }
        Hex(buf)
    }

    /// The first `n` hex characters (for messages; never for keys).
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_hex();
        s.truncate(n.min(Self::HEX_LEN));
        s
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != Self::HEX_LEN {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Digest(out))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [HEX[b >> 4], HEX[b & 15]];
        b += 1;
    }
    t
};

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short(16))
    }
}

impl FromStr for Digest {
    type Err = crate::CheckpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::from_hex(s).ok_or_else(|| {
            crate::CheckpointError::Config(format!(
                "not a 64-character lowercase hex digest: {s:?}"
            ))
        })
    }
}

/// A digest's 64 lowercase hex digits, on the stack.
pub(crate) struct Hex([[u8; 2]; 32]);

impl Hex {
    /// The digits as text.
    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII; the fallback is unreachable.
        std::str::from_utf8(self.0.as_flattened()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = Digest::of_bytes(b"abc");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(d.to_hex(), blake3::hash(b"abc").to_hex().as_str());
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex(&"A".repeat(64)), None);
        // Every byte value, in every position, against an independent formatting.
        for start in (0..256).step_by(32) {
            let d = Digest(std::array::from_fn(|i| (start + i) as u8));
            let expected: String = d.0.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(d.to_hex(), expected);
            assert_eq!(Digest::from_hex(&expected), Some(d));
        }
    }
}
