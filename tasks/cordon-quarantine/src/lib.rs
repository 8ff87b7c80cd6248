//! The quarantine task.
