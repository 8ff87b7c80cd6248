//! The IAM policies Cordon attaches when it contains a principal, and the record of what
//! one containment changed (what release may undo, and nothing else).
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Name of the inline deny-all policy (kept from S1/S2 so existing runbooks still apply).
pub const QUARANTINE_POLICY_NAME: &str = "AutomatedSecurityQuarantine";
/// The AWS-managed deny-all policy. Nobody in the account can edit it: a
/// `CreatePolicyVersion` on the customer-managed quarantine policy frees no one while this
/// one is attached too.
pub const AWS_DENY_ALL_POLICY_NAME: &str = "AWSDenyAll";

/// `arn:<partition>:iam::aws:policy/AWSDenyAll`.
pub fn aws_deny_all_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{AWS_DENY_ALL_POLICY_NAME}")
}

/// The partition of an ARN (`aws`, `aws-us-gov`, `aws-cn`); `aws` when it is not one.
pub fn partition_of(arn: &str) -> &str {
    arn.strip_prefix("arn:")
        .and_then(|r| r.split(':').next())
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// What remediation did to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// Keys this run deactivated (empty on a re-run: they were already inactive).
    pub deactivated_keys: Vec<String>,
    pub login_profile_deleted: bool,
}

/// What one quarantine run changed, kept as its timeline entry's details: release undoes
/// exactly this (keys this lists, policies this attached) and reports anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuarantineRecord {
    /// The customer-managed deny-all policy.
    pub policy_arn: String,
    /// The deny-all policies this run attached (the customer-managed one and
    /// `AWSDenyAll`, unless already attached).
    pub attached_policy_arns: Vec<String>,
    /// Every deny-all policy was attached before this run.
    pub already_attached: bool,
    pub remediation: Remediation,
    pub snapshot_saved: bool,
    /// The unique id of the user this run contained.
    pub user_id: Option<String>,
}
/// Name of the inline force-MFA policy attached for MFA findings (optional remediation).
pub const FORCE_MFA_POLICY_NAME: &str = "CordonForceMFA";

/// Deny every action on every resource. An explicit Deny overrides every Allow, so this
/// contains the user whatever else is attached (until it is removed on release).
pub fn deny_all_policy_document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CordonQuarantineDenyAll",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*"
            }
        ]
    })
}

/// The standard AWS "force MFA" pattern: without MFA in the session the user can only
/// view account info, change their own password and set up their own MFA device.
pub fn force_mfa_policy_document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                "Resource": "*"
            },
            {
                "Sid": "AllowManageOwnPasswords",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": "arn:aws:iam::*:user/${aws:username}"
            },
            {
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/*"
            },
            {
                "Sid": "AllowManageOwnUserMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:GetMFADevice",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice"
                ],
                "Resource": "arn:aws:iam::*:user/${aws:username}"
            },
            {
                "Sid": "DenyAllExceptListedIfNoMFA",
                "Effect": "Deny",
                "NotAction": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:GetMFADevice",
                    "iam:ListMFADevices",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                    "iam:ChangePassword",
                    "iam:GetAccountPasswordPolicy",
                    "sts:GetSessionToken"
                ],
                "Resource": "*",
                "Condition": {
                    "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}
                }
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_shape() {
        let d = deny_all_policy_document();
        assert_eq!(d["Version"], "2012-10-17");
        let st = d["Statement"].as_array().map(Vec::len);
        assert_eq!(st, Some(1));
        assert_eq!(d["Statement"][0]["Effect"], "Deny");
        assert_eq!(d["Statement"][0]["Action"], "*");
        assert_eq!(d["Statement"][0]["Resource"], "*");
        assert!(d["Statement"][0]["Sid"].is_string());
        // IAM inline policies are at most 2048 characters (users).
        assert!(d.to_string().len() < 2048);
    }

    #[test]
    fn the_aws_managed_deny_follows_the_partition() {
        assert_eq!(
            aws_deny_all_policy_arn(partition_of("arn:aws-us-gov:iam::1:policy/Q")),
            "arn:aws-us-gov:iam::aws:policy/AWSDenyAll"
        );
        assert_eq!(partition_of("not an arn"), "aws");
    }

    #[test]
    fn force_mfa_denies_without_mfa() {
        let d = force_mfa_policy_document();
        let deny = d["Statement"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["Effect"] == "Deny"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            deny["Condition"]["BoolIfExists"]["aws:MultiFactorAuthPresent"],
            "false"
        );
        assert!(d.to_string().len() < 2048);
    }
}
