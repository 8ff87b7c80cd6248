//! An identity someone proved rather than typed: who approved, rejected or released, when
//! the channel could verify it.
use serde::{Deserialize, Serialize};

/// A verified identity, by how it was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verifiedBy")]
pub enum VerifiedIdentity {
    /// The AWS credentials of the caller (`sts:GetCallerIdentity`): the operator CLI.
    #[serde(rename = "sts:GetCallerIdentity", rename_all = "camelCase")]
    AwsCaller {
        /// `arn:aws:iam::123456789012:user/alice`, or an assumed-role session ARN.
        arn: String,
        account: String,
        /// `AIDA…` for a user, `AROA…:session` for a role session.
        user_id: String,
    },
}

impl VerifiedIdentity {
    /// What to show for it: the caller ARN.
    pub fn display(&self) -> &str {
        match self {
            VerifiedIdentity::AwsCaller { arn, .. } => arn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_says_how_it_was_verified() {
        let id = VerifiedIdentity::AwsCaller {
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            account: "123456789012".into(),
            user_id: "AIDAEXAMPLE".into(),
        };
        let json = serde_json::to_value(&id).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "verifiedBy": "sts:GetCallerIdentity",
                "arn": "arn:aws:iam::123456789012:user/alice",
                "account": "123456789012",
                "userId": "AIDAEXAMPLE"
            })
        );
        assert_eq!(
            serde_json::from_value::<VerifiedIdentity>(json).expect("reads back"),
            id
        );
        assert_eq!(id.display(), "arn:aws:iam::123456789012:user/alice");
    }
}
