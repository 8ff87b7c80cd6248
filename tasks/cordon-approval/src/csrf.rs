//! The form's anti-CSRF value: HMAC-SHA256 of the link (its kind and hash) under a secret
//! only this browser holds: the session secret when signed in, else the `csrf` cookie
//! (`cookies.rs`). The page served to this browser carries the value; a form posted from
//! another site cannot (it can neither read the cookie nor compute the value), and nothing
//! about it is stored. In link-only mode it binds the POST to the browser that loaded the
//! page; it is not, and cannot be, protection against someone who holds the link: only
//! sign-in is.
use cordon_aws::links::{LinkHash, LinkKind, constant_time_eq, hmac_sha256_hex};

/// The value the form must post back for `kind`/`hash` in the browser holding `secret`.
pub(crate) fn value(secret: &str, kind: LinkKind, hash: &LinkHash) -> String {
    hmac_sha256_hex(
        secret.as_bytes(),
        format!("cordon-csrf:{}:{}", kind.as_str(), hash.as_str()).as_bytes(),
    )
}

/// Whether `candidate` is that value (compared in constant time).
pub(crate) fn matches(secret: &str, kind: LinkKind, hash: &LinkHash, candidate: &str) -> bool {
    constant_time_eq(value(secret, kind, hash).as_bytes(), candidate.as_bytes())
}
