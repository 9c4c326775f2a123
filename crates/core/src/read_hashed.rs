//! Reading an envelope while its payload is hashed: a large hit costs one pass, not two, and
//! that pass runs on every core.
//!
//! A byte-oriented backend must read the whole entry, and the core must checksum the whole
//! payload before decoding it. Done one after the other on one thread, a 256 MiB hit pays in
//! full for making 65 536 fresh pages, copying the file into them and hashing them. Here the
//! payload is cut into 1 MiB pieces that a few threads take in turn: each makes its
//! piece's pages, reads the piece with a positioned read, and hashes it while it is still in
//! cache, as one subtree of blake3's tree; the subtrees are joined into the payload's digest
//! at the end (blake3's `hazmat` merges, checked against `blake3::hash` in the tests). The
//! digest is recorded with the buffer ([`crate::mapped`]), and
//! [`Entry::check_loaded`](crate::Entry::check_loaded) compares it with the entry's checksum
//! instead of hashing again — the same check, on the same bytes, each hashed by the thread
//! that read it and never written after.

use crate::{entry::envelope, hash::PARALLEL_THRESHOLD, Digest};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read};

/// How much one thread reads and hashes at a time: a whole blake3 subtree (a power of two of
/// its 1 KiB chunks, so pieces can be hashed apart and merged), small enough to be hashed
/// from cache right after it was read, large enough that the system calls and the merge cost
/// nothing. Also a multiple of the page size, so each piece's pages can be made in one call.
const UNIT: usize = 1 << 20;

/// At most this many threads read at once (the caller's and up to three more).
#[cfg(unix)]
const MAX_READERS: usize = 4;

// Reading in pieces needs at least two of them (a single piece would be the root itself).
const _: () = assert!(PARALLEL_THRESHOLD > UNIT && UNIT.is_power_of_two());

/// Reads the envelope of `len` bytes (header and payload) in `file`, from its start. `file`
/// is a freshly opened file: small envelopes are read from its current position.
///
/// Below [`PARALLEL_THRESHOLD`] payload bytes this is a plain read. From there (on Unix), the
/// payload is hashed while it is read and the digest recorded, so loading the entry does not
/// hash it again. A file shorter than `len` is an `UnexpectedEof` error and one longer an
/// `InvalidData` error (both make the entry unusable, as a framing error would).
pub fn read_envelope(file: &File, len: u64) -> io::Result<Bytes> {
    let n = usize::try_from(len).map_err(|_| io::Error::other("file too large for memory"))?;
    #[cfg(unix)]
    if n >= envelope::HEADER_LEN + PARALLEL_THRESHOLD {
        return unix::read_large(file, n);
    }
    // `len` is the file's size when it was opened; a file that grew since reads one byte
    // more, and then fails its framing check. (Through `Take`, not `File::read_to_end`,
    // which would ask the file for its size and position again: two system calls.)
    let mut buf = Vec::with_capacity(n);
    Read::take(file, len + 1).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}

#[cfg(unix)]
mod unix {
    use super::{envelope, Digest, UNIT};
    use crate::mapped;
    use blake3::hazmat::{self, ChainingValue, HasherExt, Mode};
    use bytes::Bytes;
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// Reads a large envelope of `n` bytes into fresh anonymous memory, hashing its payload.
    pub(super) fn read_large(file: &File, n: usize) -> io::Result<Bytes> {
        // The header goes at the end of the first page, so the payload starts on a page
        // boundary and every piece covers whole pages of its own.
        let page = page_size();
        let pad = (page - envelope::HEADER_LEN % page) % page;
        // Not populated up front: each reader makes the pages of the piece it is about to
        // read, so that work (most of the cost: a 256 MiB populate alone took 106 ms on the
        // benchmark machine, reading into those pages 34 ms) is shared by the readers too.
        let mut buf = memmap2::MmapOptions::new().len(pad + n).map_anon()?;
        let (head, payload) = buf[pad..].split_at_mut(envelope::HEADER_LEN);
        file.read_exact_at(head, 0)?;
        let digest = read_and_hash(file, payload)?;
        // Nothing more than `len` bytes: a file that grew since it was opened is not the one
        // measured (and its header's size check would not catch it).
        let mut probe = [0u8; 1];
        if read_at_retrying(file, &mut probe, n as u64)? > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file is longer than when it was opened",
            ));
        }
        let hashed = pad + envelope::HEADER_LEN..pad + n;
        Ok(mapped::hashed(buf, hashed, digest).slice(pad..))
    }

    /// Fills `payload` from `file` (where it starts at `HEADER_LEN`) and returns its blake3
    /// digest: the calling thread and up to `MAX_READERS - 1` others each take the next
    /// unread piece, read it, and hash it as a subtree.
    fn read_and_hash(file: &File, payload: &mut [u8]) -> io::Result<Digest> {
        let len = payload.len() as u64;
        let count = payload.len().div_ceil(UNIT);
        let pieces = Mutex::new(payload.chunks_mut(UNIT).enumerate());
        let failed = AtomicBool::new(false);
        let work = || -> io::Result<Vec<(usize, ChainingValue)>> {
            let mut done = Vec::new();
            loop {
                // A failed reader stops the others: the entry is unusable anyway.
                if failed.load(Ordering::Relaxed) {
                    return Ok(done);
                }
                let next = pieces
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .next();
                let Some((i, piece)) = next else {
                    return Ok(done);
                };
                let offset = (i * UNIT) as u64;
                populate(piece);
                if let Err(e) = file.read_exact_at(piece, envelope::HEADER_LEN as u64 + offset) {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                let cv = blake3::Hasher::new()
                    .set_input_offset(offset)
                    .update(piece)
                    .finalize_non_root();
                done.push((i, cv));
            }
        };
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, super::MAX_READERS)
            .min(count);
        let results: Vec<io::Result<Vec<(usize, ChainingValue)>>> = std::thread::scope(|scope| {
            // A thread that cannot be started leaves its share to the others.
            let others: Vec<_> = (1..readers)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            let mut results = vec![work()];
            results.extend(others.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")))
            }));
            results
        });
        let mut cvs: Vec<Option<ChainingValue>> = vec![None; count];
        for result in results {
            for (i, cv) in result? {
                cvs[i] = Some(cv);
            }
        }
        let cvs: Vec<ChainingValue> = cvs
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| io::Error::other("a piece of the payload was not read"))?;
        Ok(root(&cvs, len))
    }

    /// The root digest of `len` bytes (more than one [`UNIT`]) whose `UNIT`-sized subtrees,
    /// in order, have the chaining values `cvs`: joined in blake3's tree shape, whose left
    /// subtree is always the largest power of two of chunks that leaves something to the right
    /// ([`hazmat::left_subtree_len`]), so every `UNIT` boundary is a subtree boundary.
    fn root(cvs: &[ChainingValue], len: u64) -> Digest {
        let left = hazmat::left_subtree_len(len);
        let k = (left / UNIT as u64) as usize;
        let (l, r) = (subtree(&cvs[..k], left), subtree(&cvs[k..], len - left));
        Digest(*hazmat::merge_subtrees_root(&l, &r, Mode::Hash).as_bytes())
    }

    fn subtree(cvs: &[ChainingValue], len: u64) -> ChainingValue {
        if cvs.len() == 1 {
            return cvs[0];
        }
        let left = hazmat::left_subtree_len(len);
        let k = (left / UNIT as u64) as usize;
        let (l, r) = (subtree(&cvs[..k], left), subtree(&cvs[k..], len - left));
        hazmat::merge_subtrees_non_root(&l, &r, Mode::Hash)
    }

    /// Makes the pages of `piece` at once: one call, instead of one fault per 4 KiB page
    /// during the read that follows (on the benchmark machine the faults cost a quarter more
    /// CPU time). A kernel without `MADV_POPULATE_WRITE` (before 5.14) just faults them.
    #[cfg(target_os = "linux")]
    fn populate(piece: &mut [u8]) {
        // SAFETY: `piece` is a page-aligned range of a live anonymous mapping this thread
        // holds exclusively; populating only makes its (zeroed) pages present.
        unsafe {
            libc::madvise(
                piece.as_mut_ptr().cast(),
                piece.len(),
                libc::MADV_POPULATE_WRITE,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn populate(_piece: &mut [u8]) {}

    fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two() && *s <= UNIT)
            .unwrap_or(4096)
    }

    fn read_at_retrying(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match file.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{mapped, Codec, Entry};
    use std::io::Write;

    const MIB: usize = 1 << 20;

    fn envelope_of(payload: &[u8]) -> Vec<u8> {
        let entry = Entry::new(Codec::Cbor, Bytes::copy_from_slice(payload));
        let mut file = entry.envelope_header().to_vec();
        file.extend_from_slice(payload);
        file
    }

    fn pattern(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
    }

    /// A real file holding `bytes`, opened for reading.
    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        (tmp, file)
    }

    fn read(bytes: &[u8]) -> io::Result<Bytes> {
        let (_tmp, file) = file_of(bytes);
        read_envelope(&file, bytes.len() as u64)
    }

    #[test]
    fn large_payloads_are_hashed_once_and_checked_by_that_digest() {
        let payload = pattern(PARALLEL_THRESHOLD + 12_345, 0);
        let file = envelope_of(&payload);
        let bytes = read(&file).unwrap();
        assert_eq!(&bytes[..], &file[..]);
        let entry = Entry::from_envelope(bytes).unwrap();
        assert_eq!(
            entry.payload.as_ptr() as usize % 4096,
            0,
            "payload page-aligned"
        );
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
        assert_eq!(
            mapped::recorded(&entry.payload.slice(..entry.payload.len() - 1)),
            None
        );
    }

    /// The pieces' subtrees joined give blake3's digest of the whole payload, whatever its
    /// length relative to the pieces and to powers of two of them.
    #[test]
    fn the_joined_digest_is_blake3_of_the_payload_at_every_shape() {
        let lens = [
            PARALLEL_THRESHOLD,
            PARALLEL_THRESHOLD + 1,
            3 * MIB - 1,
            3 * MIB,
            3 * MIB + 1,
            4 * MIB,
            4 * MIB + 1023,
            4 * MIB + 1025,
            5 * MIB + 12_345,
            8 * MIB - 1,
            8 * MIB,
            9 * MIB + 1,
            13 * MIB + 7,
        ];
        for (seed, len) in lens.into_iter().enumerate() {
            let payload = pattern(len, seed);
            let entry = Entry::from_envelope(read(&envelope_of(&payload)).unwrap()).unwrap();
            assert_eq!(&entry.payload[..], &payload[..], "{len} bytes");
            assert_eq!(
                mapped::recorded(&entry.payload),
                Some(Digest(*blake3::hash(&payload).as_bytes())),
                "{len} bytes"
            );
            entry.check_loaded().unwrap();
        }
    }

    #[test]
    fn a_damaged_large_file_fails_its_check() {
        let payload = pattern(5 * MIB + 3, 1);
        for at in [0, MIB - 1, MIB, 3 * MIB + 17, payload.len() - 1] {
            let mut file = envelope_of(&payload);
            file[envelope::HEADER_LEN + at] ^= 0x40;
            let entry = Entry::from_envelope(read(&file).unwrap()).unwrap();
            assert!(mapped::recorded(&entry.payload).is_some());
            assert!(entry.check_loaded().is_err(), "byte {at} flipped");
        }
    }

    #[test]
    fn a_file_that_changed_size_is_an_error() {
        let file = envelope_of(&vec![5u8; PARALLEL_THRESHOLD * 2]);
        let (_tmp, short) = file_of(&file[..file.len() - 1]);
        let err = read_envelope(&short, file.len() as u64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let (_tmp, whole) = file_of(&file);
        let err = read_envelope(&whole, file.len() as u64 - 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let (_tmp, empty) = file_of(&[]);
        let err = read_envelope(&empty, file.len() as u64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        // Short by less than a piece, and by a whole piece in the middle of the payload.
        let (_tmp, shorter) = file_of(&file[..file.len() - UNIT - 5]);
        let err = read_envelope(&shorter, file.len() as u64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error_not_a_panic() {
        let file = envelope_of(&vec![1u8; PARALLEL_THRESHOLD + 1]);
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &file).unwrap();
        let write_only = std::fs::OpenOptions::new()
            .write(true)
            .open(tmp.path())
            .unwrap();
        assert!(read_envelope(&write_only, file.len() as u64).is_err());
    }

    /// A file rewritten, cut short or grown in place while it is read: every read either
    /// fails or hands out bytes whose recorded digest is the digest of exactly those bytes,
    /// so the load check accepts them only if they are the entry the header describes.
    #[cfg(unix)]
    #[test]
    fn a_file_changing_under_the_reader_is_never_handed_out_unchecked() {
        for resize in [false, true] {
            let (accepted, rejected, failed) = read_while_changing(resize);
            // Which of them happen depends on timing; what is asserted is that none is wrong.
            eprintln!("resize {resize}: accepted {accepted}, rejected {rejected}, failed {failed}");
        }
    }

    #[cfg(unix)]
    fn read_while_changing(resize: bool) -> (usize, usize, usize) {
        use std::os::unix::fs::FileExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        let payload = pattern(6 * MIB + 11, 2);
        let file = envelope_of(&payload);
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &file).unwrap();
        /// Stops the writer however the reader's loop ends, a failed assertion included
        /// (the scope would otherwise wait for the writer forever).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = AtomicBool::new(false);
        let (mut accepted, mut rejected, mut failed) = (0, 0, 0);
        std::thread::scope(|scope| {
            let writer = std::fs::OpenOptions::new()
                .write(true)
                .open(tmp.path())
                .unwrap();
            let (stop, file) = (&stop, &file);
            scope.spawn(move || {
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let at = envelope::HEADER_LEN + (round * 40_999) % payload_len(file);
                    if !resize {
                        // Damage a few bytes for a while, then put them back.
                        writer.write_all_at(&[round as u8; 64], at as u64).unwrap();
                        std::thread::sleep(Duration::from_micros(500));
                        writer.write_all_at(&file[at..at + 64], at as u64).unwrap();
                    } else if round.is_multiple_of(2) {
                        // Cut the file short, then restore it.
                        writer.set_len(at as u64).unwrap();
                        std::thread::sleep(Duration::from_micros(500));
                        writer.write_all_at(&file[at..], at as u64).unwrap();
                    } else {
                        // Grow it, then cut it back.
                        writer.write_all_at(b"extra", file.len() as u64).unwrap();
                        std::thread::sleep(Duration::from_micros(500));
                        writer.set_len(file.len() as u64).unwrap();
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
            });
            let _stop = Stop(stop);
            for _ in 0..40 {
                let reader = File::open(tmp.path()).unwrap();
                match read_envelope(&reader, file.len() as u64) {
                    Err(_) => failed += 1,
                    Ok(bytes) => match Entry::from_envelope(bytes) {
                        Err(_) => failed += 1,
                        Ok(entry) => {
                            let digest = mapped::recorded(&entry.payload)
                                .expect("a large payload read whole has its digest");
                            assert_eq!(digest, Digest::of_bytes(&entry.payload));
                            if entry.check_loaded().is_ok() {
                                assert_eq!(&entry.payload[..], &payload[..]);
                                accepted += 1;
                            } else {
                                rejected += 1;
                            }
                        }
                    },
                }
            }
        });
        (accepted, rejected, failed)
    }

    fn payload_len(file: &[u8]) -> usize {
        file.len() - envelope::HEADER_LEN - 64
    }

    #[test]
    fn small_payloads_are_a_plain_read() {
        let file = envelope_of(b"small");
        let entry = Entry::from_envelope(read(&file).unwrap()).unwrap();
        assert_eq!(mapped::recorded(&entry.payload), None);
        entry.check_loaded().unwrap();
        // Just under the threshold: still a plain read, checked in full.
        let payload = pattern(PARALLEL_THRESHOLD - 1, 3);
        let entry = Entry::from_envelope(read(&envelope_of(&payload)).unwrap()).unwrap();
        assert_eq!(mapped::recorded(&entry.payload), None);
        entry.check_loaded().unwrap();
    }
}
