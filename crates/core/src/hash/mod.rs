//! `ObjectHash`: a stable, typed, platform-independent hash of values into blake3.
//!
//! Every value writes a one-byte type tag before its content, and every variable-length
//! value writes its length, so distinct values of distinct types cannot collide by framing:
//! `("ab", "c")` and `("a", "bc")` differ, and so do `1u8` and `1u16`. Integers are written
//! little-endian and `usize`/`isize` as 64-bit, so a digest is the same on every platform.
//! Slices of plain numbers are written as one byte run (one tag, then the raw bytes), and runs
//! of [`PARALLEL_THRESHOLD`] bytes and more are hashed on all cores.

mod impls;
mod memo;
pub mod nd;
mod tag;

use crate::Digest;

/// Byte runs at least this long are hashed with blake3's multi-threaded `update_rayon` (with
/// the `parallel` feature; the digest is the same either way).
pub const PARALLEL_THRESHOLD: usize = 2 << 20;

/// `hasher.update(bytes)`, on all cores from [`PARALLEL_THRESHOLD`] bytes when the
/// `parallel` feature is on (same digest).
#[inline]
pub(crate) fn update_large(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    #[cfg(feature = "parallel")]
    if bytes.len() >= PARALLEL_THRESHOLD {
        hasher.update_rayon(bytes);
        return;
    }
    hasher.update(bytes);
}

/// A value that can be hashed into a call hash.
///
/// Implemented for std scalars, strings, paths, collections, smart pointers, tuples up to 12,
/// `Duration`, `SystemTime` and `()`. Derive it with `#[derive(ObjectHash)]` (from the
/// `checkpointer` crate), with `#[hash(skip)]` and `#[hash(by = path)]` on fields.
///
/// ```
/// use checkpointer_core::{ObjectHash, Digest};
/// assert_ne!(("ab", "c").digest(), ("a", "bc").digest());
/// assert_ne!(1u8.digest(), 1u16.digest());
/// // Strings hash the same whatever owns them.
/// assert_eq!(String::from("x").digest(), "x".digest());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be hashed into a call hash: it does not implement `ObjectHash`",
    label = "`{Self}` does not implement `ObjectHash`",
    note = "for your own type, add `#[derive(checkpointer::ObjectHash)]` to it (with `#[hash(skip)]` on fields that must not count)",
    note = "for an argument that must not be part of the key, mark it `#[no_hash]`; to hash something derived from it, `#[hash_by(f)]`"
)]
pub trait ObjectHash {
    /// Writes this value, framed and tagged, into `hasher`.
    fn object_hash(&self, hasher: &mut Hasher);

    /// Writes the elements of a sequence given as contiguous parts (a `VecDeque` has two);
    /// the caller has already written the sequence's tag and length.
    ///
    /// Plain number types override this to write all parts as one byte run, like
    /// `std::hash::Hash::hash_slice`; the result depends only on the elements, not the split.
    fn object_hash_slice(parts: &[&[Self]], hasher: &mut Hasher)
    where
        Self: Sized,
    {
        for item in parts.iter().flat_map(|p| p.iter()) {
            item.object_hash(hasher);
        }
    }

    /// The digest of this value alone.
    fn digest(&self) -> Digest {
        let mut h = Hasher::new();
        self.object_hash(&mut h);
        h.finish()
    }
}

/// The blake3 hasher values write themselves into, with typed framing helpers.
///
/// Small inputs (the usual call hash: a few arguments) are buffered inline and hashed in one
/// shot at the end, so the hasher is cheap to create and move; past [`Hasher::INLINE`] bytes it
/// switches to a streaming blake3 hasher. The digest is the blake3 of the bytes written either
/// way.
#[derive(Clone)]
pub struct Hasher {
    buf: [u8; Self::INLINE],
    len: usize,
    stream: Option<Box<blake3::Hasher>>,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            buf: [0; Self::INLINE],
            len: 0,
            stream: None,
        }
    }
}

impl Hasher {
    /// Bytes buffered inline before switching to streaming.
    pub const INLINE: usize = 128;

    /// A fresh hasher.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn update(&mut self, bytes: &[u8]) {
        if self.stream.is_none() {
            if self.len + bytes.len() <= Self::INLINE {
                self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
                self.len += bytes.len();
                return;
            }
            let mut stream = Box::new(blake3::Hasher::new());
            stream.update(&self.buf[..self.len]);
            self.stream = Some(stream);
        }
        if let Some(stream) = &mut self.stream {
            update_large(stream, bytes);
        }
    }

    /// Writes a type tag followed by up to 16 bytes of fixed-size content in one update.
    #[inline]
    pub fn write_tagged(&mut self, tag: u8, content: &[u8]) {
        debug_assert!(content.len() <= 16);
        let mut buf = [0u8; 17];
        buf[0] = tag;
        buf[1..=content.len()].copy_from_slice(content);
        self.update(&buf[..=content.len()]);
    }

    /// Writes a type tag and a length: the header of every variable-length value.
    #[inline]
    pub fn write_header(&mut self, tag: u8, len: usize) {
        self.write_tagged(tag, &(len as u64).to_le_bytes());
    }

    /// Writes a length-prefixed byte string under `tag` (strings, paths, byte blobs).
    #[inline]
    pub fn write_bytes(&mut self, tag: u8, bytes: &[u8]) {
        self.write_header(tag, bytes.len());
        self.write_raw(bytes);
    }

    /// Writes raw bytes with no framing; long runs use all cores.
    ///
    /// Only for content whose length has already been framed by the caller.
    #[inline]
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }

    /// Writes a string field name or type name (used by `#[derive(ObjectHash)]`).
    #[inline]
    pub fn write_name(&mut self, name: &str) {
        self.write_bytes(tag::NAME, name.as_bytes());
    }

    /// Starts a struct of `fields` fields named `name` (what `#[derive(ObjectHash)]` writes
    /// before the fields, so types with equal fields but different names differ).
    #[inline]
    pub fn begin_struct(&mut self, name: &str, fields: usize) {
        self.write_header(tag::STRUCT, fields);
        self.write_name(name);
    }

    /// Starts the variant `variant` of enum `name`, with `fields` fields.
    #[inline]
    pub fn begin_variant(&mut self, name: &str, variant: &str, fields: usize) {
        self.write_header(tag::ENUM, fields);
        self.write_name(name);
        self.write_name(variant);
    }

    /// The digest, memoized per thread for inputs that fit inline: a repeated call hash —
    /// which is what every cache hit computes — skips blake3, whose fixed cost dominates
    /// short inputs (about half of a memory-store hit). The memo is keyed by the exact bytes
    /// written, so it returns exactly what [`Hasher::finish`] would.
    pub fn finish_memoized(&self) -> Digest {
        if self.stream.is_some() {
            return self.finish();
        }
        memo::digest(&self.buf, self.len)
    }

    /// The bytes written, when they fit inline (what [`Hasher::finish_memoized`] keys by).
    #[inline]
    pub fn inline_bytes(&self) -> Option<&[u8]> {
        self.stream.is_none().then(|| &self.buf[..self.len])
    }

    /// The whole inline buffer and how many of its bytes were written, when everything fits
    /// inline. The bytes past those written are zero: the buffer starts zeroed and is only
    /// ever written at its end.
    #[inline]
    pub(crate) fn inline_buf(&self) -> Option<(&[u8; Self::INLINE], usize)> {
        self.stream.is_none().then_some((&self.buf, self.len))
    }

    /// The digest of everything written.
    pub fn finish(&self) -> Digest {
        match &self.stream {
            Some(stream) => Digest(*stream.finalize().as_bytes()),
            None => Digest(*blake3::hash(&self.buf[..self.len]).as_bytes()),
        }
    }
}
