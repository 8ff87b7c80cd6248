//! Who decided: an identity Cordon verified, as opposed to a name someone typed.
use serde::{Deserialize, Serialize};

/// An approver's identity as Cordon verified it: from an OpenID Connect ID token whose
/// signature, issuer, audience, expiry and nonce were checked (`method: "oidc"`), or from
/// the AWS credentials of `cordon approve`/`cordon release` (`method: "aws"`, the caller
/// ARN from `sts:GetCallerIdentity` as the subject).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedIdentity {
    /// `oidc` or `aws`.
    pub method: String,
    /// The OIDC issuer (`iss`), or `aws:sts`.
    pub issuer: String,
    /// The OIDC subject (`sub`), or the caller ARN.
    pub subject: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl VerifiedIdentity {
    /// "alice@example.com (oidc)", "arn:aws:iam::1:user/bob (aws)".
    pub fn display(&self) -> String {
        let who = self
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .unwrap_or(&self.subject);
        format!("{who} ({})", self.method)
    }
}
