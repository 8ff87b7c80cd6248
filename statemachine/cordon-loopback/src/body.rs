//! The body type every loopback response and client request carries.
use hyper::body::Bytes;

/// A body read in full: what every response a loopback service sends, and every request the
/// client sends, carries.
pub type Body = http_body_util::Full<Bytes>;
