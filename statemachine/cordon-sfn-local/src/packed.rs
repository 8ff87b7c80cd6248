//! How the store keeps large JSON texts small on disk: deflated (fast level) into a BLOB.
//!
//! A column written by an older version holds TEXT; [`unpack`] reads both, so a database
//! created before compression opens and reads as it did.
use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rusqlite::types::ValueRef;

use crate::error::StoreError;

/// The compression level: 3 keeps about a tenth of the JSON the store writes (payloads that
/// embed the previous one); 1 keeps a third more, 6 a twentieth less for more time.
const LEVEL: u32 = 3;

thread_local! {
    // A (de)compressor holds hundreds of KiB of tables: one per thread, reset per use,
    // rather than allocated and zeroed for each column of each save.
    static COMPRESS: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
    static DECOMPRESS: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// `text`, deflated (raw deflate, no header).
pub(crate) fn pack(text: &[u8]) -> Vec<u8> {
    COMPRESS.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = Vec::with_capacity(text.len() / 4 + 64);
        loop {
            let read = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
            match c.compress_vec(
                &text[read.min(text.len())..],
                &mut out,
                FlushCompress::Finish,
            ) {
                Ok(Status::StreamEnd) => return out,
                // Out of room: grow and go on.
                Ok(_) => out.reserve(out.capacity().max(64)),
                // Compressing into a Vec cannot fail; were it to, keep nothing rather
                // than half a stream (the caller stores what it gets).
                Err(_) => return Vec::new(),
            }
        }
    })
}

/// The text [`pack`] deflated.
pub(crate) fn inflate(blob: &[u8]) -> Result<String, StoreError> {
    DECOMPRESS.with(|d| {
        let mut d = d.borrow_mut();
        d.reset(false);
        let mut out = Vec::with_capacity(blob.len() * 8 + 64);
        loop {
            let read = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
            let before = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(
                    &blob[read.min(blob.len())..],
                    &mut out,
                    FlushDecompress::None,
                )
                .map_err(|e| corrupt(format!("a packed column does not inflate: {e}")))?;
            match status {
                Status::StreamEnd => break,
                _ if out.len() < out.capacity() && before == (d.total_in(), d.total_out()) => {
                    return Err(corrupt(
                        "a packed column ends before its deflate stream does",
                    ));
                }
                _ => out.reserve(out.capacity().max(64)),
            }
        }
        String::from_utf8(out).map_err(corrupt)
    })
}

/// A packed column's text: a BLOB is inflated, TEXT (written before packing) read as is.
pub(crate) fn unpack(v: ValueRef<'_>) -> Result<String, StoreError> {
    match v {
        ValueRef::Blob(b) => inflate(b),
        ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(corrupt),
        other => Err(corrupt(format!(
            "a packed column holds {:?}, not text",
            other.data_type()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_text_reads_back_and_old_text_still_reads() {
        let text = r#"{"a":"x","b":[1,2,3],"c":"x"}"#.repeat(50);
        let blob = pack(text.as_bytes());
        assert!(
            blob.len() < text.len() / 10,
            "{} of {}",
            blob.len(),
            text.len()
        );
        assert_eq!(unpack(ValueRef::Blob(&blob)).expect("inflates"), text);
        assert_eq!(unpack(ValueRef::Text(b"{}")).expect("text"), "{}");
        assert!(unpack(ValueRef::Blob(b"\xff\x00garbage")).is_err());
        assert!(unpack(ValueRef::Integer(1)).is_err());
        assert!(unpack(ValueRef::Blob(&blob[..blob.len() / 2])).is_err());
    }

    #[test]
    fn the_reused_compressor_packs_one_text_after_another() {
        // Incompressible text outgrows the first buffer: the grow path runs.
        let mut x: u32 = 7;
        let noise: String = (0..100_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'!' + (x >> 16) as u8 % 90)
            })
            .collect();
        for text in [noise.as_str(), "", "{}", noise.as_str()] {
            let blob = pack(text.as_bytes());
            assert_eq!(inflate(&blob).expect("inflates"), text);
        }
    }
}
