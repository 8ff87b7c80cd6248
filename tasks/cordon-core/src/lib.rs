//! Cordon's domain. No AWS SDK, no Lambda event shapes: pure functions and data.
pub mod error;
pub mod model;

pub use error::{TaskError, names};
