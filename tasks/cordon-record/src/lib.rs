//! The record task.
