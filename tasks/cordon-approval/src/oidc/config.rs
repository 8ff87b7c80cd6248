//! The sign-in configuration: which issuer, which client, and who may decide.
//!
//! | variable | meaning |
//! |---|---|
//! | `CORDON_OIDC_ISSUER` | the issuer URL (`https://…`; `http://` only on loopback, for tests); unset or empty: link-only mode |
//! | `CORDON_OIDC_CLIENT_ID` | the client registered with the issuer (the ID token's audience) |
//! | `CORDON_OIDC_CLIENT_SECRET` | the client's secret, for issuers that require one with PKCE (optional) |
//! | `CORDON_OIDC_APPROVERS` | who may decide: emails, and `group:<name>` entries matched against the groups claim |
//! | `CORDON_OIDC_GROUPS_CLAIM` | the claim holding groups (default `groups`) |
use std::collections::BTreeSet;

use cordon_aws::env::{self, Lookup};
use cordon_aws::links::Secret;
use cordon_core::TaskError;

/// Who may decide: verified emails, or members of groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvers {
    /// Lower-cased email addresses.
    pub emails: BTreeSet<String>,
    /// Group names, exactly as the issuer puts them in the groups claim.
    pub groups: BTreeSet<String>,
}

impl Approvers {
    /// Reads `alice@example.com, group:security-oncall`. A wildcard, an empty entry or an
    /// entry that is neither an email nor a group is refused, naming it.
    pub fn parse(list: &[String], variable: &str) -> Result<Approvers, TaskError> {
        let mut out = Approvers::default();
        for (i, entry) in list.iter().enumerate() {
            let e = entry.trim();
            let bad = |why: &str| TaskError::Config(format!("{variable}[{i}] \"{e}\": {why}"));
            if e.contains('*') || e.contains('?') {
                return Err(bad(
                    "wildcards are not accepted (anyone who can get a matching address or \
                     group would match); list each approver's email or a group",
                ));
            }
            if let Some(group) = e.strip_prefix("group:") {
                let group = group.trim();
                if group.is_empty() {
                    return Err(bad("names no group"));
                }
                out.groups.insert(group.to_string());
            } else if e.contains('@') && !e.starts_with('@') && !e.ends_with('@') {
                out.emails.insert(e.to_ascii_lowercase());
            } else {
                return Err(bad(
                    "is neither an email address nor a group (write group:<name>)",
                ));
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.groups.is_empty()
    }
}

/// OpenID Connect sign-in for the approval pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// Exactly as the issuer names itself (the ID token's `iss` must equal it).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub approvers: Approvers,
    pub groups_claim: String,
}

impl OidcConfig {
    /// `None` when no issuer is configured (link-only mode).
    pub fn from_lookup(env: Lookup<'_>) -> Result<Option<OidcConfig>, TaskError> {
        let Some(issuer) = env::optional(env, "CORDON_OIDC_ISSUER") else {
            return Ok(None);
        };
        check_issuer(&issuer)?;
        let client_id = env::required(
            env,
            "CORDON_OIDC_CLIENT_ID",
            "the client id registered with the OIDC issuer",
        )?;
        let approvers = Approvers::parse(
            &env::list(env, "CORDON_OIDC_APPROVERS"),
            "CORDON_OIDC_APPROVERS",
        )?;
        if approvers.is_empty() {
            return Err(TaskError::Config(
                "CORDON_OIDC_APPROVERS is empty: with an OIDC issuer, list who may decide \
                 (emails, group:<name>); nobody could approve otherwise"
                    .into(),
            ));
        }
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret: env::optional(env, "CORDON_OIDC_CLIENT_SECRET").map(Secret::new),
            approvers,
            groups_claim: env::optional(env, "CORDON_OIDC_GROUPS_CLAIM")
                .unwrap_or_else(|| "groups".into()),
        }))
    }
}

/// `https://…`, or `http://` on a loopback host (a test issuer on this machine).
fn check_issuer(issuer: &str) -> Result<(), TaskError> {
    let bad = |why: &str| {
        TaskError::Config(format!(
            "CORDON_OIDC_ISSUER \"{issuer}\" {why}; set it to the issuer URL your identity \
             provider documents (https://…)"
        ))
    };
    if issuer.contains('?') || issuer.contains('#') {
        return Err(bad("has a query or fragment"));
    }
    if let Some(rest) = issuer.strip_prefix("https://") {
        return match rest.split('/').next() {
            Some(host) if !host.is_empty() => Ok(()),
            _ => Err(bad("has no host")),
        };
    }
    if let Some(rest) = issuer.strip_prefix("http://") {
        let authority = rest.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if matches!(host, "127.0.0.1" | "localhost" | "::1") {
            return Ok(());
        }
        return Err(bad(
            "is plain http: only https is accepted (http only on loopback)",
        ));
    }
    Err(bad("is not an https URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn without_an_issuer_the_pages_are_link_only() {
        assert_eq!(OidcConfig::from_lookup(&lookup(&[])), Ok(None));
        assert_eq!(
            OidcConfig::from_lookup(&lookup(&[("CORDON_OIDC_ISSUER", " ")])),
            Ok(None)
        );
    }

    #[test]
    fn an_issuer_needs_a_client_and_approvers() {
        let c = OidcConfig::from_lookup(&lookup(&[
            (
                "CORDON_OIDC_ISSUER",
                "https://login.example.com/tenant/v2.0",
            ),
            ("CORDON_OIDC_CLIENT_ID", "cordon"),
            (
                "CORDON_OIDC_APPROVERS",
                "Alice@Example.com, group:sec-oncall",
            ),
        ]))
        .expect("valid")
        .expect("configured");
        assert!(c.approvers.emails.contains("alice@example.com"));
        assert!(c.approvers.groups.contains("sec-oncall"));
        assert_eq!(c.groups_claim, "groups");
        let e = OidcConfig::from_lookup(&lookup(&[
            ("CORDON_OIDC_ISSUER", "https://login.example.com"),
            ("CORDON_OIDC_CLIENT_ID", "cordon"),
        ]))
        .expect_err("no approvers");
        assert!(e.to_string().contains("CORDON_OIDC_APPROVERS"), "{e}");
        let e = OidcConfig::from_lookup(&lookup(&[
            ("CORDON_OIDC_ISSUER", "https://login.example.com"),
            ("CORDON_OIDC_CLIENT_ID", "cordon"),
            ("CORDON_OIDC_APPROVERS", "*@example.com"),
        ]))
        .expect_err("wildcard");
        assert!(e.to_string().contains("wildcard"), "{e}");
    }

    #[test]
    fn issuers_are_https_except_on_loopback() {
        assert!(check_issuer("https://idp.example.com").is_ok());
        assert!(check_issuer("http://127.0.0.1:8080/default").is_ok());
        assert!(check_issuer("http://localhost:9000").is_ok());
        assert!(check_issuer("http://idp.example.com").is_err());
        assert!(check_issuer("http://127.0.0.1.evil.com").is_err());
        assert!(check_issuer("ftp://idp").is_err());
        assert!(check_issuer("https://").is_err());
    }
}
