//! The approval Lambda, behind a Function URL: the pages a human opens from Cordon's
//! emails.
//!
//! | route | does |
//! |---|---|
//! | `GET /a/{id}` | approval confirmation page; **changes nothing** (mail scanners pre-fetch links) |
//! | `POST /a/{id}` | `decision=approve\|reject`, `csrf`, `name`: decides once, then `SendTaskSuccess` |
//! | `GET /r/{id}` | release confirmation page; changes nothing |
//! | `POST /r/{id}` | `decision=release`, `csrf`, `name`: uses the link once, then releases the principal |
//!
//! The authentication is the link itself: a random 128-bit id (only ever sent by email),
//! a per-link anti-CSRF value that must come back with the POST (compared in constant
//! time), single use (a conditional update) and an expiry. The task token stays in the
//! table; it is never in a URL, a page, a log line or an error message.
//!
//! Unknown, malformed and forged ids get one identical 404 page. Used links get 409,
//! expired ones 410, other methods 405. Every response carries the security headers in
//! [`SECURITY_HEADERS`]; every dynamic value is HTML-escaped ([`html::escape`]).
//!
//! Codemap: `deps` (configuration and dependencies), `request` (route, requester,
//! form), `response` (HTML with the security headers), `handler` (GET shows, POST decides
//! once), [`decision`] (the single-use decision and its delivery, shared with `cordon
//! approve` / `reject`), `deliver` (the page for a delivered decision, or the release),
//! [`html`] (the pages).
pub mod decision;
mod deliver;
mod deps;
mod handler;
pub mod html;
pub mod local;
mod request;
mod response;

pub use deps::{Config, CordonRelease, Deps, ReleaseAction};
pub use handler::handle;
pub use local::{LocalApprovalServer, serve_local};
pub use request::{
    MAX_FORM_BYTES, MAX_NAME_CHARS, MAX_USER_AGENT_CHARS, requester, with_source_ip,
};
pub use response::{ApprovalError, SECURITY_HEADERS, respond};

impl cordon_aws::Configure for Deps {
    fn configure(
        env: cordon_aws::env::Lookup<'_>,
        aws: &cordon_aws::Aws,
        clock: cordon_aws::Clock,
    ) -> Result<Self, cordon_core::TaskError> {
        Ok(Self::build(Config::from_lookup(env)?, aws, clock))
    }
}
