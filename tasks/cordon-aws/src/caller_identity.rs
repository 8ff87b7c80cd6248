//! Who is calling, as AWS verified it (`sts:GetCallerIdentity`): the identity the operator
//! CLI records as an approver or releaser, never a typed name.
use cordon_core::TaskError;
use cordon_core::model::VerifiedIdentity;

use crate::aws::Aws;
use crate::error::SdkResultExt;

/// The caller as STS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `arn:aws:iam::123456789012:user/alice`, or an assumed-role session ARN.
    pub arn: String,
    pub account: String,
    /// `AIDA…` for a user, `AROA…:session` for a role session.
    pub user_id: String,
}

impl CallerIdentity {
    /// As the audit records it: `method: "aws"`, the ARN as the subject.
    pub fn verified(&self) -> VerifiedIdentity {
        VerifiedIdentity {
            method: "aws".into(),
            issuer: "aws:sts".into(),
            subject: self.arn.clone(),
            email: None,
            name: None,
        }
    }

    /// What to show for it: the caller ARN.
    pub fn display(&self) -> &str {
        &self.arn
    }
}

/// The caller's account, ARN and unique id. `GetCallerIdentity` needs no permission: any
/// valid credentials may call it, so a failure here means the credentials themselves.
pub async fn caller_identity(aws: &Aws) -> Result<CallerIdentity, TaskError> {
    let out = aws
        .sts()
        .get_caller_identity()
        .send()
        .await
        .aws("sts:GetCallerIdentity")?;
    let missing = |what: &str| TaskError::Aws {
        operation: "sts:GetCallerIdentity".into(),
        code: "IncompleteResponse".into(),
        message: format!("STS returned no {what}"),
    };
    Ok(CallerIdentity {
        arn: out.arn.ok_or_else(|| missing("caller ARN"))?,
        account: out.account.ok_or_else(|| missing("account"))?,
        user_id: out.user_id.ok_or_else(|| missing("user id"))?,
    })
}
