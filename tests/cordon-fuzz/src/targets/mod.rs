//! One file per family of parsers; see the crate documentation.
pub(crate) mod api;
pub(crate) mod asl;
pub(crate) mod event;
pub(crate) mod jsonpath;
pub(crate) mod pattern;
