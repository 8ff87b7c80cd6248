//! Why a sign-in failed.

/// Why a sign-in failed. The message is safe to show: it names what was wrong, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered nonsense: try again.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The issuer refused (a bad code, a bad client).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token failed verification.
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
}
