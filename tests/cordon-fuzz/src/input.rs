//! Inputs in two parts (a pattern and an event, a path and a document), split at a byte
//! valid UTF-8 never contains.

/// Splits a two-part input.
pub const SEPARATOR: u8 = 0xFF;

/// `data` split at the first [`SEPARATOR`]; the second part is empty without one.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == SEPARATOR) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// Two parts joined for [`split`].
pub fn join(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(first.len() + second.len() + 1);
    out.extend_from_slice(first);
    out.push(SEPARATOR);
    out.extend_from_slice(second);
    out
}
