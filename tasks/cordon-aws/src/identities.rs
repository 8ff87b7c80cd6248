//! Resolving the identities a function trusts or protects to IAM unique ids, once, at its
//! first use (cold start): Cordon's own roles (`CORDON_OWN_ROLE_ARNS`, plus the role the
//! function runs as), `protected_principals` and `allowlisted_actors`.
//!
//! Each entry is read strictly (`cordon_core::policy::IdentityEntry`: a wildcard is a
//! configuration error) and resolved to the unique id of the user or role that bears it
//! now (`iam:GetUser`, `iam:GetRole`; an ARN must match the one IAM reports, path
//! included). From then on only ids are compared, so a user or role created later under a
//! listed name is never trusted or protected. An entry that names nobody (not yet created,
//! or deleted) is reported and matches nobody; list unique ids to pin identities that come
//! and go.
use cordon_core::ResponsePolicy;
use cordon_core::TaskError;
use cordon_core::policy::{IdentityEntry, TrustedIds, UniqueId, parse_entries};
use tracing::{info, warn};

use crate::aws::Aws;
use crate::iam::IdentityStore;

/// A function's identity lists as configured, and what they resolved to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identities {
    own_roles: Vec<IdentityEntry>,
    protected: Vec<IdentityEntry>,
    allowlisted: Vec<IdentityEntry>,
    /// The unique ids; empty until [`Identities::resolve`] ran.
    pub resolved: TrustedIds,
    /// Entries that named no user or role when they were resolved.
    pub unresolved: Vec<String>,
}

fn config(e: String) -> TaskError {
    TaskError::Config(e)
}

impl Identities {
    /// Reads the lists: `own_role_arns` (`CORDON_OWN_ROLE_ARNS`) and the policy's
    /// `protected_principals` and `allowlisted_actors`. A wildcard or an entry that names
    /// no single user or role is a configuration error naming it.
    pub fn from_config(
        own_role_arns: &[String],
        policy: &ResponsePolicy,
    ) -> Result<Identities, TaskError> {
        Ok(Identities {
            own_roles: parse_entries(own_role_arns, "CORDON_OWN_ROLE_ARNS").map_err(config)?,
            protected: parse_entries(&policy.protected_principals, "protected_principals")
                .map_err(config)?,
            allowlisted: parse_entries(&policy.allowlisted_actors, "allowlisted_actors")
                .map_err(config)?,
            resolved: TrustedIds::none(),
            unresolved: Vec::new(),
        })
    }

    /// Already resolved ids (tests, and callers that resolved them elsewhere).
    pub fn resolved(ids: TrustedIds) -> Identities {
        Identities {
            resolved: ids,
            ..Identities::default()
        }
    }

    /// Resolves every entry through `iam`, adding `caller` (the function's own role, from
    /// `sts:GetCallerIdentity`) to Cordon's own roles.
    pub async fn resolve_with(
        &mut self,
        iam: &dyn IdentityStore,
        caller: Option<UniqueId>,
    ) -> Result<(), TaskError> {
        let mut resolved = TrustedIds::none();
        let mut unresolved = Vec::new();
        for (entries, into) in [
            (&self.own_roles, &mut resolved.own_roles),
            (&self.protected, &mut resolved.protected),
            (&self.allowlisted, &mut resolved.allowlisted),
        ] {
            for entry in entries {
                match resolve_entry(iam, entry).await? {
                    Some(id) => {
                        into.insert(id);
                    }
                    None => unresolved.push(describe(entry)),
                }
            }
        }
        if let Some(id) = caller {
            resolved.own_roles.insert(id);
        }
        if !unresolved.is_empty() {
            warn!(
                unresolved = ?unresolved,
                "these identities name no user or role now, so they match nobody (list unique \
                 ids to pin identities that come and go)"
            );
        }
        info!(
            own_roles = resolved.own_roles.len(),
            protected = resolved.protected.len(),
            allowlisted = resolved.allowlisted.len(),
            "identities resolved to unique ids"
        );
        self.resolved = resolved;
        self.unresolved = unresolved;
        Ok(())
    }

    /// Resolves with the function's own IAM client: what a function does when it prepares
    /// for its first event. Its own role is among the own roles already
    /// ([`own_role_arns`](crate::caller::own_role_arns) reads it from
    /// `CORDON_FUNCTION_ROLE_ARN`), so no `sts:GetCallerIdentity` call is needed.
    pub async fn resolve(&mut self, aws: &Aws) -> Result<(), TaskError> {
        self.resolve_with(&aws.identity_store(), None).await
    }
}

fn describe(entry: &IdentityEntry) -> String {
    match entry {
        IdentityEntry::Id(id) => id.to_string(),
        IdentityEntry::UserArn { arn, .. } | IdentityEntry::RoleArn { arn, .. } => arn.clone(),
        IdentityEntry::UserName(name) => name.clone(),
    }
}

/// The unique id `entry` names now, if any.
async fn resolve_entry(
    iam: &dyn IdentityStore,
    entry: &IdentityEntry,
) -> Result<Option<UniqueId>, TaskError> {
    let found = match entry {
        IdentityEntry::Id(id) => return Ok(Some(id.clone())),
        IdentityEntry::UserName(name) => iam.user_identity(name).await?,
        IdentityEntry::UserArn { arn, name } => iam
            .user_identity(name)
            .await?
            .filter(|found| found.arn == *arn),
        IdentityEntry::RoleArn { arn, name } => iam
            .role_identity(name)
            .await?
            .filter(|found| found.arn == *arn),
    };
    Ok(found.and_then(|f| UniqueId::issued(&f.id)))
}

#[cfg(all(test, feature = "fakes"))]
mod tests {
    use super::*;
    use crate::fakes::FakeIdentityStore;

    #[tokio::test]
    async fn entries_resolve_to_the_ids_iam_reports_now() {
        let iam = FakeIdentityStore::new();
        let mut breakglass = FakeIdentityStore::sample_user("breakglass");
        breakglass.user_id = "AIDABREAKGLASS0000001".into();
        iam.put_user(breakglass);
        iam.put_role(
            "cordon-prod-QuarantineFunctionRole-1",
            "arn:aws:iam::123456789012:role/cordon-prod-QuarantineFunctionRole-1",
            "AROAQUARANTINEROLE0001",
        );
        iam.put_role(
            "ci",
            "arn:aws:iam::123456789012:role/tools/ci",
            "AROACIROLE00000000001",
        );
        let policy = ResponsePolicy::from_json(
            r#"{"protected_principals": ["breakglass", "gone"],
                "allowlisted_actors": ["arn:aws:iam::123456789012:role/ci"]}"#,
        )
        .expect("policy");
        let mut ids = Identities::from_config(
            &["arn:aws:iam::123456789012:role/cordon-prod-QuarantineFunctionRole-1".into()],
            &policy,
        )
        .expect("lists");
        let caller = UniqueId::parse("AROACALLERROLE0000001");
        ids.resolve_with(&iam, caller.clone())
            .await
            .expect("resolved");
        let id = |s: &str| UniqueId::parse(s).expect("id");
        assert_eq!(
            ids.resolved.own_roles,
            [id("AROAQUARANTINEROLE0001"), id("AROACALLERROLE0000001")].into()
        );
        assert_eq!(ids.resolved.protected, [id("AIDABREAKGLASS0000001")].into());
        // The ARN names the role without its path: not the same role.
        assert!(ids.resolved.allowlisted.is_empty());
        assert_eq!(
            ids.unresolved,
            vec![
                "gone".to_string(),
                "arn:aws:iam::123456789012:role/ci".to_string()
            ]
        );
    }

    #[test]
    fn a_wildcard_anywhere_is_a_configuration_error() {
        let e = Identities::from_config(
            &["arn:aws:iam::123456789012:role/cordon-prod-*".into()],
            &ResponsePolicy::default(),
        )
        .expect_err("wildcard");
        assert!(e.to_string().contains("CORDON_OWN_ROLE_ARNS[0]"), "{e}");
        assert!(e.to_string().contains("wildcard"), "{e}");
    }
}
