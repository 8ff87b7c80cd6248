//! The notify task: render a notification (cordon-core) and publish it to SNS, once.
//!
//! Idempotency: before publishing, the task checks the incident's `NOTIFIED#<kind>` marker;
//! after publishing it writes the marker (conditional put). A redrive or replay that reaches
//! notify again answers `alreadySent: true` and sends nothing. The order (check, publish,
//! mark) means a crash between publish and mark can send a message twice, but never loses
//! one: a duplicate alert is better than a missing one.
//!
//! **Approval mode** (`kind: approvalRequest`, invoked with `.waitForTaskToken`,
//! [`approval`]): the task token is stored server-side under a random approval id (see
//! `cordon_aws::links`), and the email carries only the link
//! `{CORDON_APPROVAL_URL}/a/<approval id>` and its expiry. The approval is created once per
//! task token (an index keyed by the token's SHA-256), so a retry reuses it and re-sends
//! nothing once the message id is recorded on it; a redrive (a new token) gets a new
//! approval and a new email. The token never appears in the email, a log line or an error.
//!
//! For `contained`, a single-use release link `{CORDON_APPROVAL_URL}/r/<release id>`
//! (valid for `CORDON_RELEASE_LINK_HOURS`, 24 by default) is added the same way. Link ids
//! are stored only as their SHA-256, so a retry whose earlier run never sent its email
//! gets a new id (`cordon_aws::links`).
//!
//! **Failure notifications** (`kind: failure`, [`failure`]) are the last line of the
//! workflow's failure path and need neither a detection nor the table: see that module.
//!
//! Codemap: `config` (environment and dependencies), `payload` (input and output),
//! `handler` (send once), `approval` (approval mode), `failure` (the failure notification).
mod approval;
mod config;
pub mod failure;
mod handler;
mod payload;

pub use config::{
    Config, DEFAULT_APPROVAL_TIMEOUT_SECONDS, DEFAULT_RELEASE_LINK_HOURS, Deps, base_url,
};
pub use handler::handle;
pub use payload::{Input, Output, error_text};

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
}
