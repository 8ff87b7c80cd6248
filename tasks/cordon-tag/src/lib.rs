//! The tag task.
