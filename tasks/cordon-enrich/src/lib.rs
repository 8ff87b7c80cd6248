//! The enrich task.
