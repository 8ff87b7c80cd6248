//! The notify task.
