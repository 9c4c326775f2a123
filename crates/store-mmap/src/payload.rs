//! The raw array payload: a small descriptor, padding, then the elements.
//!
//! An array entry is the core's envelope (72-byte header: magic, format version, codec
//! `RawArray`, created time, payload length, payload blake3) around this payload:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `CKAR` |
//! | 4 | array format version (1) |
//! | 5 | element type code ([`Element::CODE`]) |
//! | 6 | number of dimensions `n` (at most [`MAX_NDIM`]) |
//! | 7 | zero |
//! | 8..16 | offset `D` of the elements from the payload's start (u64 LE) |
//! | 16..24 | length of the elements in bytes (u64 LE) |
//! | 24..24+8n | the shape, one u64 LE per dimension, row-major (C order) |
//! | 24+8n..32+8n | first 8 bytes of blake3 of bytes 0..24+8n (guards the descriptor) |
//! | ..D | zero padding |
//! | D.. | the elements, little-endian, row-major |
//!
//! `D` is chosen so that the elements start at a multiple of 64 bytes *in the entry file*
//! (72 + D), so a page-aligned map of the file gives aligned elements of every type — and so
//! does a read into a 16-byte-aligned buffer.
//!
//! Everything but the elements — the envelope header and this descriptor — carries its own
//! check, verified on every load in O(1); the elements are covered by the envelope's
//! checksum, verified on demand for maps.

use crate::{Element, MmapError};
use checkpointer_core::envelope;

/// The payload's magic.
pub const MAGIC: &[u8; 4] = b"CKAR";
/// The array format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Most dimensions an array may have.
pub const MAX_NDIM: usize = 255;
/// The elements' alignment within an entry file.
pub const ALIGN: usize = 64;
const FIXED: usize = 24;
const CHECK: usize = 8;

fn descriptor_check(bytes: &[u8]) -> [u8; CHECK] {
    let mut c = [0u8; CHECK];
    c.copy_from_slice(&blake3::hash(bytes).as_bytes()[..CHECK]);
    c
}

/// The descriptor of a raw array payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The element type code.
    pub code: u8,
    /// The shape.
    pub shape: Vec<usize>,
    /// Where the elements start in the payload.
    pub data_offset: usize,
    /// Their length in bytes.
    pub data_len: usize,
}

/// Where the elements start for an array of `ndim` dimensions.
pub fn data_offset(ndim: usize) -> usize {
    let min = FIXED + 8 * ndim + CHECK;
    let file = envelope::HEADER_LEN + min;
    file.next_multiple_of(ALIGN) - envelope::HEADER_LEN
}

/// The number of elements of `shape`, if it fits in memory at `size` bytes each.
pub fn element_count(shape: &[usize], size: usize) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    n.checked_mul(size)?;
    Some(n)
}

/// Builds the payload of an array: descriptor, padding, then `write_data` fills the elements.
pub fn build<T: Element>(shape: &[usize], elements: &[T]) -> Vec<u8> {
    let offset = data_offset(shape.len());
    let len = std::mem::size_of_val(elements);
    let mut out = Vec::with_capacity(offset + len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, T::CODE, shape.len() as u8, 0]);
    out.extend_from_slice(&(offset as u64).to_le_bytes());
    out.extend_from_slice(&(len as u64).to_le_bytes());
    for d in shape {
        out.extend_from_slice(&(*d as u64).to_le_bytes());
    }
    let check = descriptor_check(&out);
    out.extend_from_slice(&check);
    out.resize(offset, 0);
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(elements));
    } else {
        for x in elements {
            out.extend_from_slice(bytemuck::bytes_of(&x.native_to_le()));
        }
    }
    out
}

/// Parses and checks a payload's descriptor against the payload's length: every field is
/// untrusted, so all arithmetic is checked.
pub fn parse(payload: &[u8]) -> Result<Descriptor, MmapError> {
    let bad = |why: String| MmapError::Payload(why);
    if payload.len() < FIXED {
        return Err(bad(format!(
            "{} bytes is shorter than an array header",
            payload.len()
        )));
    }
    if &payload[0..4] != MAGIC {
        return Err(bad("not a raw array (bad magic)".into()));
    }
    if payload[4] != VERSION {
        return Err(bad(format!("unknown array format version {}", payload[4])));
    }
    let code = payload[5];
    let ndim = payload[6] as usize;
    if ndim > MAX_NDIM {
        return Err(bad(format!("{ndim} dimensions (at most {MAX_NDIM})")));
    }
    let u64_at = |at: usize| {
        let b: [u8; 8] = payload[at..at + 8].try_into().unwrap_or_default();
        u64::from_le_bytes(b)
    };
    let too_big = || bad("a length does not fit in memory".into());
    let data_offset = usize::try_from(u64_at(8)).map_err(|_| too_big())?;
    let data_len = usize::try_from(u64_at(16)).map_err(|_| too_big())?;
    let shape_end = FIXED + 8 * ndim;
    if payload.len() < shape_end + CHECK || data_offset < shape_end + CHECK {
        return Err(bad("the shape overlaps the elements".into()));
    }
    if payload[shape_end..shape_end + CHECK] != descriptor_check(&payload[..shape_end]) {
        return Err(bad("the array header's check failed".into()));
    }
    let shape = (0..ndim)
        .map(|i| usize::try_from(u64_at(FIXED + 8 * i)).map_err(|_| too_big()))
        .collect::<Result<Vec<_>, _>>()?;
    let end = data_offset.checked_add(data_len).ok_or_else(too_big)?;
    if end != payload.len() {
        return Err(bad(format!(
            "the header announces {end} bytes, the payload has {}",
            payload.len()
        )));
    }
    Ok(Descriptor {
        code,
        shape,
        data_offset,
        data_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_aligned_in_the_file() {
        for ndim in 0..=MAX_NDIM {
            let d = data_offset(ndim);
            assert_eq!((envelope::HEADER_LEN + d) % ALIGN, 0);
            assert!(d >= FIXED + 8 * ndim + CHECK);
        }
    }

    #[test]
    fn damaged_descriptors_are_errors_not_panics() {
        let good = build::<f32>(&[2, 3], &[1.0; 6]);
        assert_eq!(parse(&good).unwrap().shape, vec![2, 3]);
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = good.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&huge).is_err());
        let mut ndim = good.clone();
        ndim[6] = 255;
        assert!(parse(&ndim).is_err());
        let mut shape = good.clone();
        shape[24] = 3; // [3, 3]: same header length, other shape: the check catches it
        assert!(parse(&shape).is_err());
        let mut offset = good;
        offset[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&offset).is_err());
    }
}
