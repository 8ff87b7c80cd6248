//! The incident timeline steps release reads and writes.

/// The timeline step release writes (and reads, to report an earlier release).
pub const RELEASE_STEP: &str = "Release";
/// The timeline step quarantine writes; its `details` name what it attached
/// (`policyArn`, `forceMfaPolicyArn`) or revoked (`roleSessions`).
pub const QUARANTINE_STEP: &str = "Quarantine";
