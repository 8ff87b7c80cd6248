//! Who is this function? Used to protect Cordon's own role from containment, by its
//! unique id.
use cordon_core::TaskError;

use crate::aws::Aws;

/// The caller's ARN (`sts:GetCallerIdentity`), converted from an assumed-role session ARN
/// to the role ARN (see [`role_arn_from_session`]).
pub async fn own_principal_arn(aws: &Aws) -> Result<String, TaskError> {
    let caller = crate::caller_identity::caller_identity(aws).await?;
    Ok(role_arn_from_session(caller.display()))
}

/// The unique id of the role (or user) this process runs as, from
/// `sts:GetCallerIdentity` (`AROA…:session` for a Lambda's role): a function that
/// contains principals never contains the role it runs as
/// ([`Identities::resolve`](crate::identities::Identities::resolve) adds it). `None` when
/// STS reports no id.
pub async fn own_unique_id(aws: &Aws) -> Result<Option<cordon_core::policy::UniqueId>, TaskError> {
    let caller = crate::caller_identity::caller_identity(aws).await?;
    Ok(cordon_core::policy::unique_id_of_principal_id(
        &caller.user_id,
    ))
}

/// `arn:aws:sts::123456789012:assumed-role/Name/session` →
/// `arn:aws:iam::123456789012:role/Name`. Any other ARN is returned unchanged.
///
/// A session ARN does not carry the role's path, so the result has none: compare role
/// names, or list the full role ARNs in `CORDON_OWN_ROLE_ARNS` as well.
pub fn role_arn_from_session(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let [prefix, partition, "sts", _, account, resource] = parts.as_slice()
        && let Some(rest) = resource.strip_prefix("assumed-role/")
        && let Some((role, _session)) = rest.split_once('/')
    {
        return format!("{prefix}:{partition}:iam::{account}:role/{role}");
    }
    arn.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_arns_become_role_arns() {
        assert_eq!(
            role_arn_from_session(
                "arn:aws:sts::111122223333:assumed-role/cordon-quarantine-role/cordon-quarantine"
            ),
            "arn:aws:iam::111122223333:role/cordon-quarantine-role"
        );
        assert_eq!(
            role_arn_from_session("arn:aws-us-gov:sts::111122223333:assumed-role/r/s"),
            "arn:aws-us-gov:iam::111122223333:role/r"
        );
        assert_eq!(
            role_arn_from_session("arn:aws:iam::123456789012:user/moto"),
            "arn:aws:iam::123456789012:user/moto"
        );
    }
}
