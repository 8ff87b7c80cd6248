//! Cordon's embedded Step Functions engine: an Amazon States Language
//! (JSONPath query language) interpreter that agrees with AWS.
//!
//! The interpreter knows nothing about Lambda, HTTP or AWS: tasks are dispatched
//! through a trait, and time comes from a clock that tests replace with a virtual one.
pub mod intrinsics;
pub mod paths;
