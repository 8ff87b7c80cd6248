//! Who is calling, as AWS verified it (`sts:GetCallerIdentity`): the identity the operator
//! CLI records as an approver or releaser, never a typed name.
use cordon_core::TaskError;
use cordon_core::model::VerifiedIdentity;

use crate::aws::Aws;
use crate::error::SdkResultExt;

/// The caller's account, ARN and unique id. `GetCallerIdentity` needs no permission: any
/// valid credentials may call it, so a failure here means the credentials themselves.
pub async fn caller_identity(aws: &Aws) -> Result<VerifiedIdentity, TaskError> {
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
    Ok(VerifiedIdentity::AwsCaller {
        arn: out.arn.ok_or_else(|| missing("caller ARN"))?,
        account: out.account.ok_or_else(|| missing("account"))?,
        user_id: out.user_id.ok_or_else(|| missing("user id"))?,
    })
}
