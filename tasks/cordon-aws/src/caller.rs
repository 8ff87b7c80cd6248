//! Who is this function? Used to protect Cordon's own roles from containment.
//!
//! The function's own role ARN comes from the environment the template gives it
//! (`CORDON_FUNCTION_ROLE_ARN: !GetAtt <Function>Role.Arn`), not from
//! `sts:GetCallerIdentity`: a function makes no network call before its first event, and a
//! missing variable is a `Cordon.Config` error on every invocation (the state machine
//! catches it and the team is told), never a function that might contain itself.
use cordon_core::TaskError;

use crate::env::{self, Lookup};

/// The variable that holds the function's own role ARN.
pub const FUNCTION_ROLE_ARN: &str = "CORDON_FUNCTION_ROLE_ARN";

/// The roles a function that contains principals must never contain: every ARN (or
/// `<stack>-*` pattern) in `CORDON_OWN_ROLE_ARNS`, plus its own role
/// (`CORDON_FUNCTION_ROLE_ARN`, required), each once.
pub fn own_role_arns(env: Lookup<'_>) -> Result<Vec<String>, TaskError> {
    let mut arns = env::list(env, "CORDON_OWN_ROLE_ARNS");
    let own = function_role_arn(env)?;
    if !arns.contains(&own) {
        arns.push(own);
    }
    Ok(arns)
}

/// `CORDON_FUNCTION_ROLE_ARN`: the IAM role this function runs as. An assumed-role
/// session ARN is accepted and turned into its role's ARN ([`role_arn_from_session`]);
/// anything else that is not an IAM role ARN is a configuration error.
pub fn function_role_arn(env: Lookup<'_>) -> Result<String, TaskError> {
    let raw = env::required(
        env,
        FUNCTION_ROLE_ARN,
        "the ARN of the role this function runs as (the template sets it with \
         !GetAtt <Function>Role.Arn)",
    )?;
    let arn = role_arn_from_session(&raw);
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty()) =>
        {
            Ok(arn)
        }
        _ => Err(TaskError::Config(format!(
            "{FUNCTION_ROLE_ARN} is {raw:?}, which is not an IAM role ARN; set it to the ARN \
             of the role this function runs as (arn:aws:iam::<account>:role/<name>)"
        ))),
    }
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

    const OWN: &str = "arn:aws:iam::111122223333:role/cordon-QuarantineFunctionRole-AbC123";

    #[test]
    fn the_functions_role_joins_the_template_list_once() {
        let env = |n: &str| match n {
            "CORDON_OWN_ROLE_ARNS" => Some("arn:aws:iam::111122223333:role/cordon-*".into()),
            FUNCTION_ROLE_ARN => Some(OWN.into()),
            _ => None,
        };
        assert_eq!(
            own_role_arns(&env),
            Ok(vec![
                "arn:aws:iam::111122223333:role/cordon-*".to_string(),
                OWN.to_string()
            ])
        );
        let twice = |n: &str| match n {
            "CORDON_OWN_ROLE_ARNS" | FUNCTION_ROLE_ARN => Some(OWN.into()),
            _ => None,
        };
        assert_eq!(own_role_arns(&twice), Ok(vec![OWN.to_string()]));
        let session = |n: &str| {
            (n == FUNCTION_ROLE_ARN)
                .then(|| "arn:aws:sts::111122223333:assumed-role/cordon-Q/cordon-q".into())
        };
        assert_eq!(
            own_role_arns(&session),
            Ok(vec!["arn:aws:iam::111122223333:role/cordon-Q".to_string()])
        );
    }

    #[test]
    fn a_missing_or_malformed_role_is_a_config_error() {
        let e = own_role_arns(&|_| None).expect_err("unset");
        assert!(matches!(e, TaskError::Config(_)), "{e:?}");
        assert!(e.to_string().contains(FUNCTION_ROLE_ARN), "{e}");
        for bad in [
            "cordon-role",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::1111:role/r",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:lambda:us-east-1:111122223333:function:f",
        ] {
            let env = |n: &str| (n == FUNCTION_ROLE_ARN).then(|| bad.to_string());
            let e = function_role_arn(&env).expect_err(bad);
            assert!(e.to_string().contains("not an IAM role ARN"), "{bad}: {e}");
        }
    }
}
