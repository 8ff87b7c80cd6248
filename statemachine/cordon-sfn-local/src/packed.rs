//! How the store keeps large JSON texts small on disk: deflated (fast level) into a BLOB.
//!
//! A column written by an older version holds TEXT; [`unpack`] reads both, so a database
//! created before compression opens and reads as it did.
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use rusqlite::types::ValueRef;

use crate::error::StoreError;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// `text`, deflated. The fastest level: the texts are JSON with long repeats (payloads that
/// embed the previous one), where it already keeps about a tenth, for a fraction of the
/// time the default level takes.
pub(crate) fn pack(text: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::with_capacity(text.len() / 4 + 16), Compression::new(3));
    // Writing to a Vec cannot fail.
    let _ = e.write_all(text);
    e.finish().unwrap_or_default()
}

/// The text [`pack`] deflated.
pub(crate) fn inflate(blob: &[u8]) -> Result<String, StoreError> {
    let mut out = String::with_capacity(blob.len() * 8);
    DeflateDecoder::new(blob)
        .read_to_string(&mut out)
        .map_err(|e| corrupt(format!("a packed column does not inflate: {e}")))?;
    Ok(out)
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
        assert!(blob.len() < text.len() / 10, "{} of {}", blob.len(), text.len());
        assert_eq!(unpack(ValueRef::Blob(&blob)).expect("inflates"), text);
        assert_eq!(unpack(ValueRef::Text(b"{}")).expect("text"), "{}");
        assert!(unpack(ValueRef::Blob(b"\xff\x00garbage")).is_err());
        assert!(unpack(ValueRef::Integer(1)).is_err());
    }
}
