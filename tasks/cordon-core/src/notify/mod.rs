//! Rendering of SNS notifications (subject, body, message attributes).
//!
//! SNS rules enforced here: the subject is printable ASCII, has no line breaks or
//! control characters, starts with a letter/digit/punctuation and is at most
//! [`MAX_SUBJECT_LEN`] characters (truncated with `...`). The body is plain text, with
//! every event-derived value stripped of control characters and capped in length.
//!
//! Never rendered: task tokens, passwords, secrets. Evidence keys that look secret are
//! redacted, and a link that carries a token parameter is withheld: the approval link must
//! only hold an opaque approval id.
//!
//! Files: `message.rs` (the kinds of notification and what they may mention),
//! `sanitize.rs` (SNS limits and the text rules that keep event data inside them),
//! `render.rs` (subject, body and message attributes), `actions.rs` (the recommended next
//! steps for each rule), `failure.rs` (for a failed response: where it stands and which
//! recovery applies).
mod actions;
mod failure;
mod message;
mod render;
mod sanitize;

pub use actions::recommended_actions;
pub use failure::{Containment, Standing, standing};
pub use message::{FailureReport, Notification, NotificationContext, NotificationKind, attributes};
pub use render::render;
pub use sanitize::{
    Clean, MAX_BODY_LEN, MAX_SUBJECT_LEN, MAX_VALUE_LEN, clean, sanitize_line, sanitize_subject,
};
