//! Identities Cordon trusts or protects, matched by IAM unique id, never by name.
//!
//! A name can be taken: anyone who may create roles can create `<stack>-x` and look like
//! one of Cordon's own roles; anyone who may create users can create the break-glass
//! user's name once it is deleted, or any name a wildcard like `breakglass-*` covers. A
//! unique id (`AIDA…` for a user, `AROA…` for a role) is issued by IAM once and never
//! reused, and CloudTrail carries it in every event (`userIdentity.principalId`;
//! `AROA…:session` for an assumed role).
//!
//! So every list entry (Cordon's own roles, `protected_principals`,
//! `allowlisted_actors`) is read as an [`IdentityEntry`] (a unique id, a user or role ARN,
//! or a user name; a wildcard is refused with a message), and resolved once, at the first
//! use of a function (`cordon_aws::identities`), to the unique id of the identity that
//! bears that name then. [`TrustedIds`] holds the result; the checks in `containment.rs`
//! and `assess.rs` compare unique ids only.
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Actor, Principal, PrincipalKind};

/// The prefixes of the unique ids Cordon matches: IAM users and roles.
const USER_ID_PREFIX: &str = "AIDA";
const ROLE_ID_PREFIX: &str = "AROA";

/// An IAM unique id of a user (`AIDA…`) or a role (`AROA…`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UniqueId(String);

impl UniqueId {
    /// `Some` for an `AIDA…`/`AROA…` id: 16 to 128 upper-case letters and digits, as IAM
    /// issues them.
    pub fn parse(s: &str) -> Option<UniqueId> {
        let valid = (s.starts_with(USER_ID_PREFIX) || s.starts_with(ROLE_ID_PREFIX))
            && (16..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        valid.then(|| UniqueId(s.to_owned()))
    }

    /// An id as IAM or CloudTrail reports it for a user or role: taken as issued (1 to
    /// 128 ASCII letters and digits), since it comes from IAM itself, not from a list a
    /// person wrote. (Emulators issue ids without the `AIDA`/`AROA` prefix; matching them
    /// all the same keeps the local stack as strict as AWS.) List entries are read with
    /// [`UniqueId::parse`] instead, so that a user name is never taken for an id.
    pub fn issued(s: &str) -> Option<UniqueId> {
        let valid = (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| UniqueId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A role's id (`AROA…`).
    pub fn is_role(&self) -> bool {
        self.0.starts_with(ROLE_ID_PREFIX)
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UniqueId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        UniqueId::parse(&s).ok_or_else(|| format!("{s:?} is not an IAM user or role unique id"))
    }
}

impl From<UniqueId> for String {
    fn from(id: UniqueId) -> String {
        id.0
    }
}

/// The unique id a CloudTrail `principalId` carries: `AIDA…` for a user, the role's
/// `AROA…` before the `:` of an assumed-role session.
pub fn unique_id_of_principal_id(principal_id: &str) -> Option<UniqueId> {
    UniqueId::issued(principal_id.split(':').next().unwrap_or_default())
}

impl Actor {
    /// The unique id of the user, or of the role whose session this is. `None` for root,
    /// services, federated users and events without a principal id.
    pub fn unique_id(&self) -> Option<UniqueId> {
        match self.kind {
            PrincipalKind::IamUser | PrincipalKind::AssumedRole | PrincipalKind::Role => self
                .principal_id
                .as_deref()
                .and_then(unique_id_of_principal_id),
            _ => None,
        }
    }
}

impl Principal {
    /// The unique id the event gives for this principal, if any.
    pub fn unique_id(&self) -> Option<UniqueId> {
        self.principal_id
            .as_deref()
            .and_then(unique_id_of_principal_id)
    }
}

/// One entry of an identity list, as configured.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdentityEntry {
    /// Already a unique id: used as is.
    Id(UniqueId),
    /// `arn:<partition>:iam::<account>:user/<path/>name`: the user named `name`, which must
    /// have exactly this ARN when it is resolved.
    UserArn { arn: String, name: String },
    /// `arn:<partition>:iam::<account>:role/<path/>name`.
    RoleArn { arn: String, name: String },
    /// A bare IAM user name.
    UserName(String),
}

impl IdentityEntry {
    /// Reads one list entry. A wildcard, an empty entry, an assumed-role session ARN and
    /// anything that names no single user or role are refused with what to write instead.
    pub fn parse(entry: &str) -> Result<IdentityEntry, String> {
        let e = entry.trim();
        if e.is_empty() {
            return Err("must not be empty".into());
        }
        if e.contains('*') || e.contains('?') {
            return Err(format!(
                "\"{e}\" has a wildcard; wildcards are not accepted, because anyone who can \
                 create a user or role with a matching name would match it. List each user or \
                 role by ARN, name or unique id (AIDA…/AROA…)"
            ));
        }
        if let Some(id) = UniqueId::parse(e) {
            return Ok(IdentityEntry::Id(id));
        }
        if let Some(rest) = e.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_partition, service, _region, account, resource] = parts.as_slice() else {
                return Err(format!("\"{e}\" is not an ARN"));
            };
            let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
            if *service != "iam" || !valid_account {
                return Err(format!(
                    "\"{e}\" is not an IAM user or role ARN (arn:aws:iam::<account>:user/NAME or \
                     :role/NAME); for a role's sessions list the role's ARN"
                ));
            }
            let name = |r: &str| r.rsplit('/').next().unwrap_or_default().to_owned();
            return match resource.split_once('/') {
                Some(("user", r)) if !name(r).is_empty() => Ok(IdentityEntry::UserArn {
                    arn: e.to_owned(),
                    name: name(r),
                }),
                Some(("role", r)) if !name(r).is_empty() => Ok(IdentityEntry::RoleArn {
                    arn: e.to_owned(),
                    name: name(r),
                }),
                _ => Err(format!(
                    "\"{e}\" names no IAM user or role; list user or role ARNs (the root user \
                     is never contained nor allowlisted)"
                )),
            };
        }
        let valid_name = e.len() <= 64
            && e.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if valid_name {
            Ok(IdentityEntry::UserName(e.to_owned()))
        } else {
            Err(format!(
                "\"{e}\" is neither an IAM user name, a user or role ARN, nor a unique id"
            ))
        }
    }
}

/// Reads a whole list; the error names the first bad entry (`<name>[i]: why`).
pub fn parse_entries(list: &[String], name: &str) -> Result<Vec<IdentityEntry>, String> {
    list.iter()
        .enumerate()
        .map(|(i, e)| IdentityEntry::parse(e).map_err(|why| format!("{name}[{i}]: {why}")))
        .collect()
}

/// The trusted and protected identities, resolved to unique ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedIds {
    /// Cordon's own roles (every function's role): never contained, their actions
    /// expected.
    pub own_roles: BTreeSet<UniqueId>,
    /// `protected_principals`: never contained.
    pub protected: BTreeSet<UniqueId>,
    /// `allowlisted_actors`: their actions are expected.
    pub allowlisted: BTreeSet<UniqueId>,
}

impl TrustedIds {
    /// No identity is trusted or protected (root still is never contained).
    pub fn none() -> TrustedIds {
        TrustedIds::default()
    }

    /// The actor is one of Cordon's own roles (or a session of one), by unique id.
    pub fn is_own_actor(&self, actor: &Actor) -> bool {
        actor
            .unique_id()
            .is_some_and(|id| self.own_roles.contains(&id))
    }

    /// The actor is allowlisted, by unique id. Root never is.
    pub fn is_allowlisted(&self, actor: &Actor) -> bool {
        actor.kind != PrincipalKind::Root
            && actor
                .unique_id()
                .is_some_and(|id| self.allowlisted.contains(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_are_iam_user_and_role_ids() {
        assert!(UniqueId::parse("AIDAJQABLZS4A3QDU576Q").is_some());
        assert!(UniqueId::parse("AROA3XFRBF535PLBIFPI4").is_some_and(|i| i.is_role()));
        for bad in [
            "",
            "AIDA",
            "aidajqablzs4a3qdu576q",
            "ASIAJQABLZS4A3QDU576Q",
            "AIDA-1234567890123",
        ] {
            assert!(UniqueId::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            unique_id_of_principal_id("AROA3XFRBF535PLBIFPI4:GitHubActions").map(String::from),
            Some("AROA3XFRBF535PLBIFPI4".to_string())
        );
        // What IAM issued is taken as is (an emulator's ids have no prefix); a list entry
        // must have the AWS shape, so a user name is never read as an id.
        assert!(UniqueId::issued("ll90ndsqng7cpkd9ab3h").is_some());
        assert!(UniqueId::issued("").is_none() && UniqueId::issued("a b").is_none());
        assert!(UniqueId::parse("breakglass").is_none());
    }

    #[test]
    fn entries_name_one_identity_and_wildcards_are_refused() {
        assert_eq!(
            IdentityEntry::parse("arn:aws:iam::111122223333:role/ci/deployer"),
            Ok(IdentityEntry::RoleArn {
                arn: "arn:aws:iam::111122223333:role/ci/deployer".into(),
                name: "deployer".into()
            })
        );
        assert!(matches!(
            IdentityEntry::parse(" breakglass "),
            Ok(IdentityEntry::UserName(n)) if n == "breakglass"
        ));
        assert!(matches!(
            IdentityEntry::parse("AIDAJQABLZS4A3QDU576Q"),
            Ok(IdentityEntry::Id(_))
        ));
        for bad in [
            "breakglass-*",
            "arn:aws:iam::111122223333:role/cordon-*",
            "*",
            "arn:aws:sts::111122223333:assumed-role/r/s",
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::1111:user/x",
            "",
            "name with spaces",
        ] {
            let e = IdentityEntry::parse(bad).expect_err(bad);
            assert!(!e.is_empty());
        }
        let e = IdentityEntry::parse("breakglass-*").expect_err("wildcard");
        assert!(e.contains("wildcard"), "{e}");
        let e = parse_entries(&["ok".into(), "x*".into()], "protected_principals")
            .expect_err("wildcard");
        assert!(e.starts_with("protected_principals[1]: "), "{e}");
    }
}
