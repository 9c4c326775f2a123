//! Reading an envelope while its payload is hashed: a large hit costs one pass, not two.
//!
//! A byte-oriented backend must read the whole entry, and the core must checksum the whole
//! payload before decoding it. Done one after the other, a 256 MiB hit pays both in full. Here
//! one thread reads the file in chunks while the calling thread hashes each chunk as soon as it
//! has arrived, so the hit costs about the slower of the two. The digest is recorded with the
//! buffer ([`crate::mapped`]), and [`Entry::check_loaded`](crate::Entry::check_loaded) compares
//! it with the entry's checksum instead of hashing again — the same check, on the same bytes,
//! which are never written after they were hashed.

use crate::{entry::envelope, hash::PARALLEL_THRESHOLD, mapped, Digest};
use bytes::Bytes;
use std::io::{self, Read};
use std::sync::mpsc;

/// How much is read before it is handed to the hasher: large enough that the channel costs
/// nothing, small enough that the hasher starts at once and finds its chunk in cache.
const CHUNK: usize = 1 << 20;

/// Reads an envelope of `len` bytes (header and payload) from `reader`.
///
/// Below [`PARALLEL_THRESHOLD`] payload bytes this is a plain read. From there, the payload is
/// hashed while it is read and the digest recorded, so loading the entry does not hash it
/// again. A file shorter than `len` is an `UnexpectedEof` error and one longer an
/// `InvalidData` error (both make the entry unusable, as a framing error would).
pub fn read_envelope<R: Read + Send>(reader: &mut R, len: u64) -> io::Result<Bytes> {
    let n = usize::try_from(len).map_err(|_| io::Error::other("file too large for memory"))?;
    if n < envelope::HEADER_LEN + PARALLEL_THRESHOLD {
        // `len` is the file's size when it was opened; a file that grew since reads one byte
        // more, and then fails its framing check. (Through `Take`, not `File::read_to_end`,
        // which would ask the file for its size and position again: two system calls.)
        let mut buf = Vec::with_capacity(n);
        Read::take(&mut *reader, len + 1).read_to_end(&mut buf)?;
        return Ok(Bytes::from(buf));
    }
    // Anonymous memory with its pages made up front: faulting 4 KiB pages in one by one, as
    // a fresh `Vec` does while the read fills it, costs more than the copy itself (a 256 MiB
    // read: 150 ms into a `Vec`, 108 ms into a populated map, on the benchmark machine).
    let mut buf = memmap2::MmapOptions::new().len(n).populate().map_anon()?;
    let digest = read_and_hash(reader, &mut buf)?;
    Ok(mapped::hashed(buf, envelope::HEADER_LEN..n, digest))
}

/// Fills `buf` from `reader` on a second thread while this one hashes everything after the
/// header, chunk by chunk, in order.
fn read_and_hash<R: Read + Send>(reader: &mut R, buf: &mut [u8]) -> io::Result<Digest> {
    let (head, payload) = buf.split_at_mut(envelope::HEADER_LEN);
    std::thread::scope(|scope| {
        let (filled, arrived) = mpsc::sync_channel::<&[u8]>(4);
        let read = scope.spawn(move || -> io::Result<()> {
            reader.read_exact(head)?;
            for chunk in payload.chunks_mut(CHUNK) {
                reader.read_exact(chunk)?;
                if filled.send(chunk).is_err() {
                    return Ok(());
                }
            }
            drop(filled);
            if longer_than_expected(reader)? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "file is longer than when it was opened",
                ));
            }
            Ok(())
        });
        let mut hasher = blake3::Hasher::new();
        for chunk in arrived {
            hasher.update(chunk);
        }
        read.join()
            .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")))?;
        Ok(Digest(*hasher.finalize().as_bytes()))
    })
}

/// Whether `reader` has anything left.
fn longer_than_expected<R: Read>(reader: &mut R) -> io::Result<bool> {
    let mut probe = [0u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(n) => return Ok(n > 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Codec, Entry};

    fn envelope_of(payload: &[u8]) -> Vec<u8> {
        let entry = Entry::new(Codec::Cbor, Bytes::copy_from_slice(payload));
        let mut file = entry.envelope_header().to_vec();
        file.extend_from_slice(payload);
        file
    }

    #[test]
    fn large_payloads_are_hashed_once_and_checked_by_that_digest() {
        let payload: Vec<u8> = (0..PARALLEL_THRESHOLD + 12_345)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let file = envelope_of(&payload);
        let bytes = read_envelope(&mut &file[..], file.len() as u64).unwrap();
        assert_eq!(&bytes[..], &file[..]);
        let entry = Entry::from_envelope(bytes).unwrap();
        assert_eq!(
            mapped::recorded(&entry.payload),
            Some(Digest::of_bytes(&payload))
        );
        entry.check_loaded().unwrap();

        // The recorded digest is the one compared: a lying checksum is still caught.
        let mut lying = entry.clone();
        lying.meta.checksum = Digest([9; 32]);
        assert!(lying.check_loaded().is_err());
        // Only the exact range hashed is recognized, not a part of it.
        assert_eq!(mapped::recorded(&entry.payload.slice(1..)), None);
    }

    #[test]
    fn a_file_that_changed_size_is_an_error() {
        let file = envelope_of(&vec![5u8; PARALLEL_THRESHOLD * 2]);
        let short = read_envelope(&mut &file[..file.len() - 1], file.len() as u64);
        assert_eq!(short.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let long = read_envelope(&mut &file[..], file.len() as u64 - 1);
        assert_eq!(long.unwrap_err().kind(), io::ErrorKind::InvalidData);
        let empty = read_envelope(&mut &[][..], file.len() as u64);
        assert_eq!(empty.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn small_payloads_are_a_plain_read() {
        let file = envelope_of(b"small");
        let bytes = read_envelope(&mut &file[..], file.len() as u64).unwrap();
        let entry = Entry::from_envelope(bytes).unwrap();
        assert_eq!(mapped::recorded(&entry.payload), None);
        entry.check_loaded().unwrap();
    }
}
