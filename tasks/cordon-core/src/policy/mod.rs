//! The response policy: what Cordon does with each detection.
//!
//! Loaded from JSON ([`ResponsePolicy::from_json`]); every field is optional and falls
//! back to [`ResponsePolicy::default`]. Unknown fields are rejected, and errors name the
//! bad field.
//!
//! # Default response table
//!
//! | rule | severity | disposition | why |
//! |---|---|---|---|
//! | `iam.admin-policy-attached` | critical | auto | AdministratorAccess/IAMFullAccess on a user: high confidence |
//! | `iam.inline-admin-policy` | critical | auto | inline `*` on `*`; approve when the document could not be parsed |
//! | `iam.added-to-admin-group` | critical | auto | membership of an `*admin*` group |
//! | `iam.user-created` | high | approve | backdoor users are the S1/S2 case, but CI and admins create users too |
//! | `iam.access-key-for-other-user` | high | approve | persistence technique, but the target is often a service user |
//! | `iam.login-profile-created` | high | approve | console access for a (programmatic) user |
//! | `iam.login-profile-updated` | high | approve | password reset of another user |
//! | `iam.mfa-deactivated` | high | approve | |
//! | `iam.user-deleted` | high | approve | contains the actor (the target is gone) |
//! | `cloudtrail.logging-stopped` | critical | approve | contains the actor |
//! | `cloudtrail.trail-weakened` | critical | approve | management events off or narrowed, single-Region, logs elsewhere: as blinding as stopping it; contains the actor |
//! | `cloudtrail.trail-changed` | high | notify | validation, encryption or monitoring of the logs changed; everything is still recorded |
//! | `iam.role-external-trust` | high | notify | a role is not an IAM user, so it is not contained |
//! | `iam.root-access-key-created` | critical | notify | root is never contained |
//! | `root.api-call` | critical | notify | root is never contained |
//! | `signin.root-console-login` | high (critical without MFA) | notify | root is never contained |
//! | `signin.root-console-login-failed` | high | notify | |
//! | `signin.console-login-no-mfa` | medium | approve | |
//! | `signin.console-login-failed` | medium (low for unknown user names) | notify | escalated by the failed sign-in count |
//! | `audit.mfa-missing` | medium | notify (auto with `attach_force_mfa_policy`) | the force-MFA remediation, not a quarantine |
//! | `audit.root-mfa-missing` | critical | notify | root is never contained |
//! | `audit.access-key-stale` | low | notify | only when the key limits are set |
//! | `iam.admin-granted-to-role` | critical | approve | revokes the role's older sessions |
//! | `iam.admin-granted-to-group` | critical | approve | contains the actor (a group is not a principal) |
//! | `iam.admin-policy-version` | critical | approve | contains the actor; notify when the policy is attached to nothing |
//! | `iam.identity-provider-changed` | high | approve | contains the actor |
//! | `iam.mfa-device-deleted` | high | notify | |
//! | `iam.user-renamed` | high | notify | |
//! | `iam.aws-compromised-key-quarantine` | critical | auto | AWS found the key in public |
//! | `signin.root-password-changed` | critical | notify | root is never contained |
//! | `signin.console-login-after-failures` | high | approve | a guessed password |
//! | `cordon.quarantine-tampered` | critical | auto | contained again (notify when Cordon does not hold it contained) |
//! | `cordon.quarantine-policy-changed` | critical | approve | contains the actor |
//! | `cordon.rules-tampered` | critical | approve | contains the actor |
//! | `cordon.workflow-tampered` | critical | approve | contains the actor |
//! | any other rule (`default_rule`) | high | approve | uncertain: ask a human |
//!
//! Then [`ResponsePolicy::assess_with`] adjusts, from the detection and what enrich read
//! ([`Facts`]):
//! - a grant enrich read (a customer-managed policy, a policy version, a group's policies):
//!   no administrator access → `ignore` (or `notify` when the event itself showed one),
//!   attached to nothing → `notify`, unreadable → never `auto`;
//! - containment undone on a principal no `CONTAINED` incident holds → `notify`, medium;
//! - root activity → critical; a suspicious user agent (Kali, Parrot, …) → one level up;
//!   a target that already holds admin rights (from enrich's facts) → one level up;
//! - repeated failed sign-ins (`failureCount` evidence that reached `failure_threshold`)
//!   → at least high, critical at twice the threshold, and at least `approve`;
//! - an uncertain detection (unparsed policy document, unreadable trail settings) is never
//!   `auto`, it is `approve`;
//! - an allowlisted actor or Cordon's own role, matched by IAM unique id (the role's for an
//!   assumed-role session; see `identities.rs`: names and wildcards are never matched) →
//!   `allowlisted_disposition` (`notify` by default). Root is never allowlisted, and neither
//!   is anyone for an attack on Cordon (`cordon.*`);
//! - a principal that cannot be contained (root, Cordon's own roles, `protected_principals`,
//!   unknown, a role that is missing, in another account, service-linked or managed by
//!   Identity Center, anything but a user or a role) → never `auto` or `approve`: `notify`;
//! - root activity is never `ignore`.
//!
//! Other defaults: `approval_timeout_seconds` 3600, `on_approval_timeout` `notify`,
//! `deactivate_access_keys`, `delete_login_profile` and `attach_force_mfa_policy` false,
//! `failure_window_seconds` 900, `failure_threshold` 5, `audit_key_max_age_days` and
//! `audit_key_max_unused_days` unset (not checked).
//!
//! Files: `settings.rs` (the policy's fields and built-in defaults), `load.rs` (reading and
//! validating the JSON), `assess.rs` (severity and disposition of a detection), `facts.rs`
//! (what enrich read, and the judgements made from it), `containment.rs` (allowlisted
//! actors, protected principals, Cordon's own roles), `identities.rs` (list entries, unique
//! ids, and the resolved [`TrustedIds`]).
mod assess;
mod containment;
mod facts;
mod identities;
mod load;
mod settings;

pub use facts::Facts;
pub use identities::{
    IdentityEntry, TrustedIds, UniqueId, parse_entries, unique_id_of_principal_id,
};
pub use settings::{ResponsePolicy, RuleOverride, RuleResponse, default_rule_table};
