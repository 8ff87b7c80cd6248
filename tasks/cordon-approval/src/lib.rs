//! The approval Lambda, behind a Function URL: the pages a human opens from Cordon's
//! emails, and the one decision path every approval, rejection and release takes.
//!
//! | route | does |
//! |---|---|
//! | `GET /a/{id}` | approval confirmation page; **changes nothing** (mail scanners pre-fetch links); with sign-in configured, redirects to the issuer first |
//! | `POST /a/{id}` | `decision=approve\|reject`, `csrf` (and `name` in link-only mode): decides once, then `SendTaskSuccess` |
//! | `GET /r/{id}` | release confirmation page; changes nothing |
//! | `POST /r/{id}` | `decision=release`, `csrf`, `confirm` (the user name, typed), `reason`: decides once, then starts the release workflow |
//! | `GET /oidc/callback` | the issuer's redirect back: verifies the ID token, opens a session |
//!
//! **Who decides.** With an OpenID Connect issuer configured (`oidc/`), only a signed-in
//! approver on the allowlist decides, under their verified identity; without one the pages
//! say, and the stack's outputs say, that decisions are not authenticated (link-only
//! mode: whoever holds the link decides). The incident's actor and target never decide it
//! (`authorize`).
//!
//! **Links.** A random 128-bit id sent only by email, stored only as its SHA-256; an
//! anti-CSRF value derived per browser (`csrf`), never stored; single use (a conditional
//! update); an expiry. A decision is recorded before it is delivered and delivered again
//! by the next request if it did not arrive (`decision`). The task token stays in the
//! table; it is never in a URL, a page, a log line or an error (`tests/secrecy.rs`).
//!
//! **No IAM rights.** A release link starts the release workflow (`deliver`); the release
//! runs in the release function, which is not reachable from the internet.
//!
//! Unknown, malformed and forged ids get one identical 404 page. Used links get 409,
//! expired ones 410, other methods 405. Every response carries the security headers in
//! [`SECURITY_HEADERS`]; every dynamic value is cleaned and HTML-escaped ([`html::escape`]).
//!
//! Codemap: `deps` (configuration and dependencies), `request` (route, requester, form),
//! `cookies`, `csrf`, `response` (HTML with the security headers), `handler` (GET shows,
//! POST decides), [`decision`] (the decision path, also for `cordon approve`),
//! [`authorize`] (who may decide), `deliver` (resume the workflow or start the release),
//! [`oidc`] (sign-in), [`html`] (the pages), [`local`] (the loopback server).
pub mod authorize;
mod cookies;
mod csrf;
pub mod decision;
mod deliver;
mod deps;
mod handler;
pub mod html;
pub mod local;
pub mod oidc;
mod request;
mod response;

pub use authorize::{Approver, Refusal};
pub use decision::{DecisionOutcome, DecisionRequest, LinkRef, decide};
pub use deliver::release_execution_name;
pub use deps::{Config, Deps};
pub use handler::handle;
pub use local::{LocalApprovalServer, serve_local};
pub use request::{
    CALLBACK_PATH, MAX_FORM_BYTES, MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_USER_AGENT_CHARS,
    requester, with_source_ip,
};
pub use response::{ApprovalError, SECURITY_HEADERS, respond};

impl cordon_aws::Configure for Deps {
    fn configure(
        env: cordon_aws::env::Lookup<'_>,
        aws: &cordon_aws::Aws,
        clock: cordon_aws::Clock,
    ) -> Result<Self, cordon_core::TaskError> {
        Self::build(Config::from_lookup(env)?, aws, clock)
    }
}
