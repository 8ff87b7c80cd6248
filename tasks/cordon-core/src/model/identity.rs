//! Identities in an incident: who made the call ([`Actor`]) and who it is about
//! ([`Principal`]), by CloudTrail `userIdentity.type` ([`PrincipalKind`]).
use serde::{Deserialize, Serialize};

/// CloudTrail `userIdentity.type`, plus `Unknown` for anything else or absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrincipalKind {
    Root,
    #[serde(rename = "IAMUser")]
    IamUser,
    AssumedRole,
    Role,
    FederatedUser,
    AWSService,
    AWSAccount,
    Unknown,
}

impl PrincipalKind {
    /// Maps CloudTrail `userIdentity.type`; anything unrecognised is `Unknown`.
    pub fn from_cloudtrail(s: &str) -> PrincipalKind {
        match s {
            "Root" => PrincipalKind::Root,
            "IAMUser" => PrincipalKind::IamUser,
            "AssumedRole" => PrincipalKind::AssumedRole,
            "Role" => PrincipalKind::Role,
            "FederatedUser" => PrincipalKind::FederatedUser,
            "AWSService" => PrincipalKind::AWSService,
            "AWSAccount" => PrincipalKind::AWSAccount,
            _ => PrincipalKind::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::IamUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::Role => "Role",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::AWSService => "AWSService",
            PrincipalKind::AWSAccount => "AWSAccount",
            PrincipalKind::Unknown => "Unknown",
        }
    }
}

/// The identity an incident is about: the one Cordon may contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub kind: PrincipalKind,
    /// IAM user or role name (without path). `None` when unknown.
    pub name: Option<String>,
    /// Taken from the event (e.g. `responseElements.user.arn`); never built from the name.
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub principal_id: Option<String>,
}

impl Principal {
    /// A short display name: user name, role name, "root", or the ARN.
    pub fn display_name(&self) -> String {
        display_name(
            self.kind,
            self.name.as_deref(),
            self.arn.as_deref(),
            "unknown principal",
        )
    }
}

/// Who made the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub kind: PrincipalKind,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub principal_id: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    /// For assumed-role sessions, the role ARN that issued the session. This, not the
    /// session ARN, is what the allowlist is checked against.
    pub session_issuer_arn: Option<String>,
    pub mfa_authenticated: Option<bool>,
}

impl Actor {
    /// The identity the allowlist is checked against: the session issuer role ARN for
    /// assumed-role sessions, else the actor ARN.
    pub fn allowlist_identity(&self) -> Option<&str> {
        self.session_issuer_arn
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.arn.as_deref().filter(|s| !s.is_empty()))
    }

    /// A short display name: user name, role name, "root", or the ARN.
    pub fn display_name(&self) -> String {
        display_name(
            self.kind,
            self.name.as_deref(),
            self.arn.as_deref(),
            "unknown actor",
        )
    }

    /// The actor as a containment target (used when the actor is the one to contain,
    /// e.g. after `DeleteUser` or `StopLogging`).
    pub fn as_principal(&self) -> Principal {
        Principal {
            kind: self.kind,
            name: self.name.clone(),
            arn: self.arn.clone(),
            account_id: self.account_id.clone(),
            principal_id: self.principal_id.clone(),
        }
    }
}

/// "root" for the root user, else the name, else the ARN, else `unknown`.
fn display_name(
    kind: PrincipalKind,
    name: Option<&str>,
    arn: Option<&str>,
    unknown: &str,
) -> String {
    if kind == PrincipalKind::Root {
        return "root".to_string();
    }
    [name, arn]
        .into_iter()
        .find_map(|s| s.filter(|s| !s.is_empty()))
        .unwrap_or(unknown)
        .to_string()
}
