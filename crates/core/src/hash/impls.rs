//! `ObjectHash` for std types.

use super::{tag, Hasher, ObjectHash};
use crate::Digest;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Numbers: a tag and little-endian bytes alone; in a slice, one tag and one byte run.
macro_rules! number {
    ($($t:ty => $tag:ident as $wire:ty),* $(,)?) => {$(
        impl ObjectHash for $t {
            #[inline]
            fn object_hash(&self, h: &mut Hasher) {
                h.write_tagged(tag::$tag, &(<$wire>::from(*self)).to_le_bytes());
            }
            fn object_hash_slice(parts: &[&[Self]], h: &mut Hasher) {
                h.write_tagged(tag::NUM_RUN, &[tag::$tag]);
                for items in parts.iter().copied() {
                if cfg!(target_endian = "little") && size_of::<$t>() == size_of::<$wire>() {
                    // SAFETY: plain integer/float types have no padding and every byte is
                    // initialised; on little-endian targets their memory is the wire format.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items))
                    };
                    h.write_raw(bytes);
                } else {
                    // Big-endian or widened (`usize`/`isize`): convert in blocks.
                    let mut buf = Vec::with_capacity(items.len().min(8192) * size_of::<$wire>());
                    for chunk in items.chunks(8192) {
                        buf.clear();
                        for x in chunk {
                            buf.extend_from_slice(&(<$wire>::from(*x)).to_le_bytes());
                        }
                        h.write_raw(&buf);
                    }
                }
                }
            }
        }
    )*};
}

/// `usize`/`isize` are hashed as 64-bit so digests agree across platforms.
struct Wide;
impl Wide {
    #[inline]
    fn u(x: usize) -> u64 {
        x as u64
    }
    #[inline]
    fn i(x: isize) -> i64 {
        x as i64
    }
}

number!(
    u8 => U8 as u8, u16 => U16 as u16, u32 => U32 as u32, u64 => U64 as u64, u128 => U128 as u128,
    i8 => I8 as i8, i16 => I16 as i16, i32 => I32 as i32, i64 => I64 as i64, i128 => I128 as i128,
);

macro_rules! wide {
    ($t:ty, $tag:ident, $conv:path) => {
        impl ObjectHash for $t {
            #[inline]
            fn object_hash(&self, h: &mut Hasher) {
                h.write_tagged(tag::$tag, &$conv(*self).to_le_bytes());
            }
            fn object_hash_slice(parts: &[&[Self]], h: &mut Hasher) {
                h.write_tagged(tag::NUM_RUN, &[tag::$tag]);
                for items in parts.iter().copied() {
                    if cfg!(all(target_endian = "little", target_pointer_width = "64")) {
                        // SAFETY: as for the other integers; on 64-bit little-endian targets the
                        // memory of a usize/isize slice is the 64-bit little-endian wire format.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(
                                items.as_ptr().cast::<u8>(),
                                std::mem::size_of_val(items),
                            )
                        };
                        h.write_raw(bytes);
                    } else {
                        for chunk in items.chunks(8192) {
                            let buf: Vec<u8> =
                                chunk.iter().flat_map(|x| $conv(*x).to_le_bytes()).collect();
                            h.write_raw(&buf);
                        }
                    }
                }
            }
        }
    };
}
wide!(usize, USIZE, Wide::u);
wide!(isize, ISIZE, Wide::i);

macro_rules! float {
    ($($t:ty => $tag:ident),*) => {$(
        impl ObjectHash for $t {
            #[inline]
            fn object_hash(&self, h: &mut Hasher) {
                h.write_tagged(tag::$tag, &self.to_bits().to_le_bytes());
            }
            fn object_hash_slice(parts: &[&[Self]], h: &mut Hasher) {
                h.write_tagged(tag::NUM_RUN, &[tag::$tag]);
                for items in parts.iter().copied() {
                if cfg!(target_endian = "little") {
                    // SAFETY: floats have no padding; on little-endian targets their memory is
                    // the little-endian bit pattern, which is the wire format.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items))
                    };
                    h.write_raw(bytes);
                } else {
                    for chunk in items.chunks(8192) {
                        let buf: Vec<u8> = chunk.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
                        h.write_raw(&buf);
                    }
                }
                }
            }
        }
    )*};
}
float!(f32 => F32, f64 => F64);

impl ObjectHash for bool {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        h.write_tagged(tag::BOOL, &[*self as u8]);
    }
}

impl ObjectHash for char {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        h.write_tagged(tag::CHAR, &(*self as u32).to_le_bytes());
    }
}

impl ObjectHash for () {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        h.write_tagged(tag::UNIT, &[]);
    }
}

impl ObjectHash for str {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        h.write_bytes(tag::STR, self.as_bytes());
    }
}

impl ObjectHash for String {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        self.as_str().object_hash(h);
    }
}

/// Paths hash by their components, so `a//b` and `a/b` agree; each component hashes as an
/// [`OsStr`] (exact bytes, never lossy).
impl ObjectHash for Path {
    fn object_hash(&self, h: &mut Hasher) {
        let parts: Vec<_> = self.components().collect();
        h.write_header(tag::PATH, parts.len());
        for part in parts {
            part.as_os_str().object_hash(h);
        }
    }
}

/// An OS string: as a `str` when it is UTF-8 (so valid names hash like strings on every
/// platform), otherwise its exact platform bytes under a tag naming the platform family, so
/// two strings that differ only in an invalid byte never share a digest.
impl ObjectHash for OsStr {
    fn object_hash(&self, h: &mut Hasher) {
        if let Some(s) = self.to_str() {
            return s.object_hash(h);
        }
        #[cfg(windows)]
        {
            use std::os::windows::ffi::OsStrExt;
            let units: Vec<u8> = self.encode_wide().flat_map(u16::to_le_bytes).collect();
            h.write_bytes(tag::OS_WIDE, &units);
        }
        #[cfg(not(windows))]
        h.write_bytes(tag::OS_BYTES, self.as_encoded_bytes());
    }
}

impl ObjectHash for OsString {
    fn object_hash(&self, h: &mut Hasher) {
        self.as_os_str().object_hash(h);
    }
}

impl ObjectHash for PathBuf {
    fn object_hash(&self, h: &mut Hasher) {
        self.as_path().object_hash(h);
    }
}

// Every sequence (slice, array, Vec, VecDeque) hashes alike, so `&[T]` and `Vec<T>` agree.
impl<T: ObjectHash> ObjectHash for [T] {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        h.write_header(tag::SEQ, self.len());
        T::object_hash_slice(&[self], h);
    }
}

impl<T: ObjectHash, const N: usize> ObjectHash for [T; N] {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        self.as_slice().object_hash(h);
    }
}

impl<T: ObjectHash> ObjectHash for Vec<T> {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        self.as_slice().object_hash(h);
    }
}

impl<T: ObjectHash> ObjectHash for VecDeque<T> {
    fn object_hash(&self, h: &mut Hasher) {
        h.write_header(tag::SEQ, self.len());
        let (a, b) = self.as_slices();
        T::object_hash_slice(&[a, b], h);
    }
}

impl<K: ObjectHash, V: ObjectHash> ObjectHash for BTreeMap<K, V> {
    fn object_hash(&self, h: &mut Hasher) {
        h.write_header(tag::MAP, self.len());
        for (k, v) in self {
            k.object_hash(h);
            v.object_hash(h);
        }
    }
}

impl<T: ObjectHash> ObjectHash for BTreeSet<T> {
    fn object_hash(&self, h: &mut Hasher) {
        h.write_header(tag::SET, self.len());
        for x in self {
            x.object_hash(h);
        }
    }
}

/// Order-independent: each element is hashed alone, and the sorted digests are written.
fn unordered<'a, T: 'a>(
    h: &mut Hasher,
    tag: u8,
    items: impl ExactSizeIterator<Item = T>,
    each: impl Fn(&T, &mut Hasher),
) {
    h.write_header(tag, items.len());
    let mut digests: Vec<Digest> = items
        .map(|item| {
            let mut one = Hasher::new();
            each(&item, &mut one);
            one.finish()
        })
        .collect();
    digests.sort_unstable();
    for d in &digests {
        h.write_raw(&d.0);
    }
}

impl<K: ObjectHash, V: ObjectHash, S> ObjectHash for HashMap<K, V, S> {
    fn object_hash(&self, h: &mut Hasher) {
        unordered(h, tag::UNORDERED_MAP, self.iter(), |(k, v), one| {
            k.object_hash(one);
            v.object_hash(one);
        });
    }
}

impl<T: ObjectHash, S> ObjectHash for HashSet<T, S> {
    fn object_hash(&self, h: &mut Hasher) {
        unordered(h, tag::UNORDERED_SET, self.iter(), |x, one| {
            x.object_hash(one)
        });
    }
}

impl<T: ObjectHash> ObjectHash for Option<T> {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        match self {
            None => h.write_tagged(tag::NONE, &[]),
            Some(x) => {
                h.write_tagged(tag::SOME, &[]);
                x.object_hash(h);
            }
        }
    }
}

impl<T: ObjectHash, E: ObjectHash> ObjectHash for Result<T, E> {
    fn object_hash(&self, h: &mut Hasher) {
        match self {
            Ok(x) => {
                h.write_tagged(tag::OK, &[]);
                x.object_hash(h);
            }
            Err(e) => {
                h.write_tagged(tag::ERR, &[]);
                e.object_hash(h);
            }
        }
    }
}

impl ObjectHash for Duration {
    fn object_hash(&self, h: &mut Hasher) {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.as_secs().to_le_bytes());
        b[8..].copy_from_slice(&self.subsec_nanos().to_le_bytes());
        h.write_tagged(tag::DURATION, &b);
    }
}

/// Hashed as a signed offset from the Unix epoch.
impl ObjectHash for SystemTime {
    fn object_hash(&self, h: &mut Hasher) {
        let (sign, d) = match self.duration_since(UNIX_EPOCH) {
            Ok(d) => (1u8, d),
            Err(e) => (0u8, e.duration()),
        };
        let mut b = [0u8; 13];
        b[0] = sign;
        b[1..9].copy_from_slice(&d.as_secs().to_le_bytes());
        b[9..].copy_from_slice(&d.subsec_nanos().to_le_bytes());
        h.write_tagged(tag::SYSTEM_TIME, &b);
    }
}

// Pointers and borrows are transparent: they hash their referent.
macro_rules! transparent {
    ($($ptr:ty),*) => {$(
        impl<T: ObjectHash + ?Sized> ObjectHash for $ptr {
            #[inline]
            fn object_hash(&self, h: &mut Hasher) {
                (**self).object_hash(h);
            }
        }
    )*};
}
transparent!(&T, &mut T, Box<T>, Rc<T>, Arc<T>);

impl<B: ObjectHash + ToOwned + ?Sized> ObjectHash for Cow<'_, B> {
    #[inline]
    fn object_hash(&self, h: &mut Hasher) {
        (**self).object_hash(h);
    }
}

macro_rules! tuple {
    ($n:expr; $($name:ident)+) => {
        impl<$($name: ObjectHash),+> ObjectHash for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn object_hash(&self, h: &mut Hasher) {
                h.write_header(tag::TUPLE, $n);
                let ($($name,)+) = self;
                $($name.object_hash(h);)+
            }
        }
    };
}
tuple!(1; A);
tuple!(2; A B);
tuple!(3; A B C);
tuple!(4; A B C D);
tuple!(5; A B C D E);
tuple!(6; A B C D E F);
tuple!(7; A B C D E F G);
tuple!(8; A B C D E F G H);
tuple!(9; A B C D E F G H I);
tuple!(10; A B C D E F G H I J);
tuple!(11; A B C D E F G H I J K);
tuple!(12; A B C D E F G H I J K L);

impl ObjectHash for Digest {
    fn object_hash(&self, h: &mut Hasher) {
        h.write_bytes(tag::DIGEST, &self.0);
    }
}
