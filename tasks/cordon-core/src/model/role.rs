//! An IAM role as Cordon sees it: what enrich reads to decide whether its sessions can be
//! revoked.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// IAM facts about a role, gathered by enrich.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleFacts {
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub path: String,
    pub created: Option<DateTime<Utc>>,
}

impl RoleFacts {
    /// Why IAM will not let Cordon put an inline policy on this role, if it will not: a
    /// service-linked role (path `/aws-service-role/`) or one IAM Identity Center manages
    /// (path `/aws-reserved/`) refuses every change (`UnmodifiableEntity`); their sessions
    /// are revoked where they are managed.
    pub fn unmodifiable(&self) -> Option<String> {
        if self.path.starts_with("/aws-service-role/") {
            return Some(format!(
                "{} is a service-linked role (path {}); IAM refuses changes to it",
                self.role_name, self.path
            ));
        }
        if self.path.starts_with("/aws-reserved/") {
            return Some(format!(
                "{} is managed by IAM Identity Center (path {}); revoke its sessions in \
                 Identity Center",
                self.role_name, self.path
            ));
        }
        None
    }
}
