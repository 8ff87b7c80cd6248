//! Who is this function? Used to protect Cordon's own role from containment.
use cordon_core::TaskError;

use crate::aws::Aws;

/// The caller's ARN (`sts:GetCallerIdentity`), converted from an assumed-role session ARN
/// to the role ARN (see [`role_arn_from_session`]).
pub async fn own_principal_arn(aws: &Aws) -> Result<String, TaskError> {
    let caller = crate::caller_identity::caller_identity(aws).await?;
    Ok(role_arn_from_session(caller.display()))
}

/// Adds the caller's own role to `own_role_arns` (once): a function that contains
/// principals never contains the role it runs as, whatever `CORDON_OWN_ROLE_ARNS` says.
pub async fn protect_own_role(aws: &Aws, own_role_arns: &mut Vec<String>) -> Result<(), TaskError> {
    let own = own_principal_arn(aws).await?;
    if !own_role_arns.contains(&own) {
        own_role_arns.push(own);
    }
    Ok(())
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
