//! Reading a task's typed `Config` from its environment.
//!
//! The functions take a lookup (`|name| std::env::var(name).ok()` in `main`, a map in
//! tests), so configs are testable without mutating the process environment.
use cordon_core::TaskError;

/// A variable lookup: `Some(value)` if set.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A set, non-blank variable; `what` tells the operator what to set it to.
pub fn required(env: Lookup<'_>, name: &str, what: &str) -> Result<String, TaskError> {
    optional(env, name).ok_or_else(|| {
        TaskError::Config(format!(
            "environment variable {name} is not set; set it to {what}"
        ))
    })
}

/// `CORDON_TABLE_NAME`: the incident table every DynamoDB-backed task uses.
pub fn table_name(env: Lookup<'_>) -> Result<String, TaskError> {
    required(env, "CORDON_TABLE_NAME", "the incident table's name")
}

/// `CORDON_ACCOUNT_ID`: the account this stack protects (events of any other account are
/// rejected; the MFA audit audits this one).
pub fn home_account(env: Lookup<'_>) -> Result<cordon_core::model::AccountId, TaskError> {
    let account = required(
        env,
        "CORDON_ACCOUNT_ID",
        "the 12-digit id of the account this stack protects (the template sets it to \
         !Ref AWS::AccountId)",
    )?;
    cordon_core::model::AccountId::parse(&account)
        .map_err(|e| TaskError::Config(format!("CORDON_ACCOUNT_ID: {e}")))
}

/// A variable that may be absent; blank counts as absent.
pub fn optional(env: Lookup<'_>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A comma-separated list; blank entries are dropped.
pub fn list(env: Lookup<'_>, name: &str) -> Vec<String> {
    optional(env, name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The response policy: `CORDON_RESPONSE_POLICY` (inline JSON) if set, else the default;
/// then `CORDON_ALLOWLISTED_ACTORS` and `CORDON_PROTECTED_PRINCIPALS` (comma-separated) are
/// added to its lists, and `CORDON_APPROVAL_TIMEOUT_SECONDS` overrides its timeout. These
/// are the variables `infra/template.yaml` sets on every function.
pub fn response_policy(env: Lookup<'_>) -> Result<cordon_core::ResponsePolicy, TaskError> {
    let mut policy = match optional(env, "CORDON_RESPONSE_POLICY") {
        Some(json) => cordon_core::ResponsePolicy::from_json(&json).map_err(|e| match e {
            TaskError::Config(m) => TaskError::Config(format!(
                "CORDON_RESPONSE_POLICY is not a valid response policy ({m}); correct the \
                 stack's ResponsePolicy parameter (JSON, see the README) and redeploy"
            )),
            other => other,
        })?,
        None => cordon_core::ResponsePolicy::default(),
    };
    // The variables are held to the same rules as the JSON lists: one user or role per
    // entry, never a wildcard.
    let identities = |name: &str| -> Result<Vec<String>, TaskError> {
        let entries = list(env, name);
        cordon_core::policy::parse_entries(&entries, name).map_err(|why| {
            TaskError::Config(format!(
                "{why}; correct the stack's parameter that sets {name} and redeploy"
            ))
        })?;
        Ok(entries)
    };
    for actor in identities("CORDON_ALLOWLISTED_ACTORS")? {
        if !policy.allowlisted_actors.contains(&actor) {
            policy.allowlisted_actors.push(actor);
        }
    }
    for principal in identities("CORDON_PROTECTED_PRINCIPALS")? {
        if !policy.protected_principals.contains(&principal) {
            policy.protected_principals.push(principal);
        }
    }
    if let Some(raw) = optional(env, "CORDON_APPROVAL_TIMEOUT_SECONDS") {
        policy.approval_timeout_seconds = raw.parse().map_err(|_| {
            TaskError::Config(format!(
                "CORDON_APPROVAL_TIMEOUT_SECONDS is {raw:?}; set it to a whole number of seconds"
            ))
        })?;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "BLANK" => Some("  ".into()),
            "LIST" => Some(" a, ,b ,".into()),
            _ => None,
        }
    }

    #[test]
    fn required_names_the_missing_variable() {
        assert_eq!(required(&env, "SET", "x"), Ok("value".into()));
        let e = required(&env, "CORDON_TABLE_NAME", "the incident table name").expect_err("unset");
        assert_eq!(
            e.to_string(),
            "configuration error: environment variable CORDON_TABLE_NAME is not set; \
             set it to the incident table name"
        );
        assert!(required(&env, "BLANK", "x").is_err());
    }

    #[test]
    fn response_policy_defaults_and_names_the_variable() {
        assert_eq!(
            response_policy(&env),
            Ok(cordon_core::ResponsePolicy::default())
        );
        let bad = |n: &str| (n == "CORDON_RESPONSE_POLICY").then(|| "{not json".to_string());
        let e = response_policy(&bad).expect_err("invalid");
        assert!(e.to_string().contains("CORDON_RESPONSE_POLICY"), "{e}");
    }

    #[test]
    fn template_variables_extend_the_policy() {
        let env = |n: &str| match n {
            "CORDON_RESPONSE_POLICY" => Some(r#"{"protected_principals": ["breakglass"]}"#.into()),
            "CORDON_PROTECTED_PRINCIPALS" => Some("breakglass, ops-admin".into()),
            "CORDON_ALLOWLISTED_ACTORS" => {
                Some("arn:aws:iam::111122223333:role/github-actions-deployer".into())
            }
            "CORDON_APPROVAL_TIMEOUT_SECONDS" => Some("900".into()),
            _ => None,
        };
        let p = response_policy(&env).expect("policy");
        assert_eq!(p.protected_principals, vec!["breakglass", "ops-admin"]);
        assert_eq!(
            p.allowlisted_actors,
            vec!["arn:aws:iam::111122223333:role/github-actions-deployer"]
        );
        let wild =
            |n: &str| (n == "CORDON_PROTECTED_PRINCIPALS").then(|| "ok, breakglass-*".to_string());
        let e = response_policy(&wild).expect_err("a wildcard in a variable");
        assert!(
            e.to_string().contains("CORDON_PROTECTED_PRINCIPALS[1]")
                && e.to_string().contains("wildcard"),
            "{e}"
        );
        assert_eq!(p.approval_timeout_seconds, 900);
        let bad = |n: &str| (n == "CORDON_APPROVAL_TIMEOUT_SECONDS").then(|| "soon".to_string());
        let e = response_policy(&bad).expect_err("not a number");
        assert!(
            e.to_string().contains("CORDON_APPROVAL_TIMEOUT_SECONDS"),
            "{e}"
        );
    }

    #[test]
    fn lists_split_on_commas() {
        assert_eq!(list(&env, "LIST"), vec!["a".to_string(), "b".to_string()]);
        assert!(list(&env, "UNSET").is_empty());
    }
}
