//! Detection rules: one EventBridge event in, one [`Classification`] out.
//!
//! Pure and total: every JSON input yields `Ok` or `Err(TaskError::InvalidEvent)`,
//! never a panic. `Err` means the event is malformed and must be recorded as rejected
//! (never dropped silently); `Ok(NotAnIncident)` means the event was understood and
//! needs no incident.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::TaskError;
use crate::event::{
    CloudTrailRecord, Envelope, excerpt, parse_bool_lenient, parse_cloudtrail, parse_envelope,
    str_at, value_at,
};
use crate::incident::incident_id_for_event;
use crate::model::{Actor, Detection, Principal, PrincipalKind};

/// Stable rule ids. They appear in notifications, message attributes, the audit table
/// and the response policy, so never rename one.
pub mod rules {
    pub const USER_CREATED: &str = "iam.user-created";
    /// Informational: used only in `NotAnIncident` reasons and for denied-attempt counters.
    pub const USER_CREATE_DENIED: &str = "iam.user-create-denied";
    pub const CONSOLE_LOGIN_FAILED: &str = "signin.console-login-failed";
    pub const CONSOLE_LOGIN_NO_MFA: &str = "signin.console-login-no-mfa";
    pub const ROOT_CONSOLE_LOGIN: &str = "signin.root-console-login";
    pub const ROOT_CONSOLE_LOGIN_FAILED: &str = "signin.root-console-login-failed";
    pub const ACCESS_KEY_FOR_OTHER_USER: &str = "iam.access-key-for-other-user";
    pub const ROOT_ACCESS_KEY_CREATED: &str = "iam.root-access-key-created";
    pub const LOGIN_PROFILE_CREATED: &str = "iam.login-profile-created";
    pub const LOGIN_PROFILE_UPDATED: &str = "iam.login-profile-updated";
    pub const ADMIN_POLICY_ATTACHED: &str = "iam.admin-policy-attached";
    pub const INLINE_ADMIN_POLICY: &str = "iam.inline-admin-policy";
    pub const ADDED_TO_ADMIN_GROUP: &str = "iam.added-to-admin-group";
    pub const MFA_DEACTIVATED: &str = "iam.mfa-deactivated";
    pub const USER_DELETED: &str = "iam.user-deleted";
    pub const ROLE_EXTERNAL_TRUST: &str = "iam.role-external-trust";
    pub const LOGGING_STOPPED: &str = "cloudtrail.logging-stopped";
    /// Any other successful write call made by the root user.
    pub const ROOT_API_CALL: &str = "root.api-call";
    /// The scheduled MFA audit trigger (S3).
    pub const SCHEDULED_MFA_AUDIT: &str = "audit.scheduled-mfa";
    /// A per-user finding of the MFA audit: console password without MFA.
    pub const AUDIT_MFA_MISSING: &str = "audit.mfa-missing";

    /// Every rule that can open an incident.
    pub const INCIDENT_RULES: &[&str] = &[
        USER_CREATED,
        CONSOLE_LOGIN_FAILED,
        CONSOLE_LOGIN_NO_MFA,
        ROOT_CONSOLE_LOGIN,
        ROOT_CONSOLE_LOGIN_FAILED,
        ACCESS_KEY_FOR_OTHER_USER,
        ROOT_ACCESS_KEY_CREATED,
        LOGIN_PROFILE_CREATED,
        LOGIN_PROFILE_UPDATED,
        ADMIN_POLICY_ATTACHED,
        INLINE_ADMIN_POLICY,
        ADDED_TO_ADMIN_GROUP,
        MFA_DEACTIVATED,
        USER_DELETED,
        ROLE_EXTERNAL_TRUST,
        LOGGING_STOPPED,
        ROOT_API_CALL,
        AUDIT_MFA_MISSING,
    ];
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
// One value per event: the size difference is irrelevant, and an unboxed `Detection` keeps
// the task code simple.
#[allow(clippy::large_enum_variant)]
pub enum Classification {
    /// Open an incident.
    Incident(Detection),
    /// Understood, nothing to do. `reason` says why (and names informational rules such as
    /// `iam.user-create-denied`).
    #[serde(rename_all = "camelCase")]
    NotAnIncident { reason: String },
    /// The scheduled MFA audit should run (`rule_arn` = the schedule rule from `resources`).
    #[serde(rename_all = "camelCase")]
    AuditTrigger { rule_arn: Option<String> },
}

impl Classification {
    pub fn detection(&self) -> Option<&Detection> {
        match self {
            Classification::Incident(d) => Some(d),
            _ => None,
        }
    }
}

/// The user name CloudTrail writes for failed sign-ins to users that do not exist.
pub const HIDDEN_USER_NAME: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// AWS-managed policies treated as administrator-equivalent when attached to a user.
pub const ADMIN_MANAGED_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
];

/// User agents of offensive-security distributions (an attacker signal).
const SUSPICIOUS_USER_AGENT_MARKERS: &[&str] = &[
    "distrib#kali",
    "kali-linux",
    "kali linux",
    "distrib#parrot",
    "parrot os",
    "pentoo",
    "blackarch",
];

/// Classifies one EventBridge event (the raw JSON a rule target receives).
pub fn classify(raw: &Value) -> Result<Classification, TaskError> {
    let env = parse_envelope(raw)?;
    if env.is_scheduled() {
        return Ok(Classification::AuditTrigger {
            rule_arn: env.resources.first().cloned(),
        });
    }
    if !env.is_cloudtrail() {
        return Ok(Classification::NotAnIncident {
            reason: format!(
                "not a CloudTrail event (detail-type {:?}, source {:?}); no rule applies",
                env.detail_type.as_deref().unwrap_or("none"),
                env.source.as_deref().unwrap_or("none")
            ),
        });
    }
    let rec = parse_cloudtrail(&env.detail)?;
    Ctx::new(&env, &rec).classify()
}

/// Checks an IAM user name: ASCII `[A-Za-z0-9+=,.@_-]{1,64}`.
pub fn validate_iam_user_name(name: &str, field: &str) -> Result<(), TaskError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(TaskError::invalid(field, "is empty"));
    }
    if len > 64 {
        return Err(TaskError::invalid(
            field,
            format!(
                "is {len} characters long, but IAM user names are at most 64; \
                 IAM cannot produce this record, so it is forged or corrupted"
            ),
        ));
    }
    if let Some((pos, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        let what = if c.is_ascii() {
            "a character IAM does not allow"
        } else {
            "a non-ASCII character (possible homoglyph)"
        };
        return Err(TaskError::invalid(
            field,
            format!(
                "contains {what} U+{:04X} at position {pos} in \"{}\"; IAM user names match \
                 [A-Za-z0-9+=,.@_-]{{1,64}}, so the record is forged or corrupted",
                c as u32,
                excerpt(name)
            ),
        ));
    }
    Ok(())
}

fn is_valid_iam_name(name: &str) -> bool {
    validate_iam_user_name(name, "").is_ok()
}

/// Builds the actor from `userIdentity`.
pub fn actor_from_record(rec: &CloudTrailRecord) -> Actor {
    let ui = &rec.user_identity;
    let issuer = ui
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref());
    let name = match ui.kind {
        PrincipalKind::Root => None,
        PrincipalKind::AssumedRole => issuer
            .and_then(|i| i.user_name.clone())
            .or_else(|| role_name_from_session_arn(ui.arn.as_deref())),
        _ => ui.user_name.clone().filter(|n| n != HIDDEN_USER_NAME),
    };
    Actor {
        kind: ui.kind,
        arn: ui.arn.clone(),
        name,
        principal_id: ui.principal_id.clone(),
        account_id: ui.account_id.clone(),
        access_key_id: ui.access_key_id.clone(),
        session_issuer_arn: issuer.and_then(|i| i.arn.clone()),
        mfa_authenticated: ui
            .session_context
            .as_ref()
            .and_then(|s| s.mfa_authenticated),
    }
}

/// `arn:aws:sts::123:assumed-role/NAME/SESSION` → `NAME`.
fn role_name_from_session_arn(arn: Option<&str>) -> Option<String> {
    let rest = arn?.split_once(":assumed-role/")?.1;
    rest.split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

struct Ctx<'a> {
    env: &'a Envelope,
    rec: &'a CloudTrailRecord,
    actor: Actor,
}

impl<'a> Ctx<'a> {
    fn new(env: &'a Envelope, rec: &'a CloudTrailRecord) -> Self {
        Ctx {
            env,
            rec,
            actor: actor_from_record(rec),
        }
    }

    fn account(&self) -> String {
        self.rec
            .recipient_account_id
            .clone()
            .or_else(|| self.env.account.clone())
            .or_else(|| self.rec.user_identity.account_id.clone())
            .unwrap_or_else(|| "unknown".to_string())
    }

    fn region(&self) -> String {
        self.rec
            .aws_region
            .clone()
            .or_else(|| self.env.region.clone())
            .unwrap_or_else(|| "unknown".to_string())
    }

    fn is_root(&self) -> bool {
        self.actor.kind == PrincipalKind::Root
    }

    fn actor_name(&self) -> String {
        self.actor.display_name()
    }

    fn none(&self, reason: impl Into<String>) -> Result<Classification, TaskError> {
        Ok(Classification::NotAnIncident {
            reason: reason.into(),
        })
    }

    fn user_principal(&self, name: String, arn: Option<String>, id: Option<String>) -> Principal {
        Principal {
            kind: PrincipalKind::IamUser,
            name: Some(name),
            arn,
            account_id: Some(self.account()),
            principal_id: id,
        }
    }

    fn root_principal(&self) -> Principal {
        Principal {
            kind: PrincipalKind::Root,
            name: None,
            arn: self.rec.user_identity.arn.clone(),
            account_id: Some(self.account()),
            principal_id: self.rec.user_identity.principal_id.clone(),
        }
    }

    fn incident(
        &self,
        rule: &str,
        title: String,
        principal: Option<Principal>,
        mut evidence: BTreeMap<String, Value>,
    ) -> Result<Classification, TaskError> {
        if let Some(ua) = self.rec.user_agent.as_deref() {
            let lower = ua.to_ascii_lowercase();
            if let Some(marker) = SUSPICIOUS_USER_AGENT_MARKERS
                .iter()
                .find(|m| lower.contains(*m))
            {
                evidence.insert("suspiciousUserAgent".into(), json!(marker));
            }
        }
        if let Some(mfa) = self.actor.mfa_authenticated {
            evidence
                .entry("actorMfaAuthenticated".into())
                .or_insert(json!(mfa));
        }
        Ok(Classification::Incident(Detection {
            incident_id: incident_id_for_event(&self.rec.event_id),
            rule: rule.to_string(),
            title,
            event_id: self.rec.event_id.clone(),
            event_name: self.rec.event_name.clone(),
            event_source: self.rec.event_source.clone(),
            event_time: self.rec.event_time,
            region: self.region(),
            account: self.account(),
            principal,
            actor: self.actor.clone(),
            source_ip: self.rec.source_ip_address.clone(),
            user_agent: self.rec.user_agent.clone(),
            evidence,
            root_activity: self.is_root(),
        }))
    }

    /// `requestParameters.<key>` as a validated IAM user name. `None` when absent/null.
    fn request_user_name(&self, key: &str) -> Result<Option<String>, TaskError> {
        let field = format!("detail.requestParameters.{key}");
        match value_at(&self.rec.request_parameters, &[key]) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                validate_iam_user_name(s, &field)?;
                Ok(Some(s.clone()))
            }
            Some(other) => Err(TaskError::invalid(
                field,
                format!(
                    "must be a string, got {}",
                    crate::event::json_type_name(other)
                ),
            )),
        }
    }

    /// The user a call targets: `requestParameters.userName`, else the caller (IAM API
    /// calls without `userName` act on the calling user).
    fn target_user(&self) -> Result<Option<String>, TaskError> {
        Ok(self.request_user_name("userName")?.or_else(|| {
            (self.actor.kind == PrincipalKind::IamUser)
                .then(|| self.actor.name.clone())
                .flatten()
        }))
    }

    fn is_self(&self, target: &str) -> bool {
        self.actor.kind == PrincipalKind::IamUser
            && self
                .actor
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
    }

    fn classify(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        if rec.is_data_event() {
            return self.none(format!(
                "{} {} is a data event (eventCategory {:?}); Cordon only acts on management events",
                rec.event_source,
                rec.event_name,
                rec.event_category.as_deref().unwrap_or("unknown")
            ));
        }
        match rec.event_source.as_str() {
            "signin.amazonaws.com" => self.signin(),
            "iam.amazonaws.com" => self.iam(),
            "cloudtrail.amazonaws.com" => self.cloudtrail(),
            _ => self.other(),
        }
    }

    // ---------------------------------------------------------------- sign-in

    fn signin(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        if rec.event_name != "ConsoleLogin" {
            let result = str_at(&rec.service_event_details, &[&rec.event_name])
                .or_else(|| str_at(&rec.response_elements, &[&rec.event_name]))
                .unwrap_or("unknown");
            return self.none(format!(
                "{} ({result}) is a sign-in step, not a console login result; \
                 no incident (failures may feed the per-IP failure counter)",
                rec.event_name
            ));
        }
        let result = str_at(&rec.response_elements, &["ConsoleLogin"]);
        let failed = result.is_some_and(|r| r.eq_ignore_ascii_case("failure"));
        let succeeded = result.is_some_and(|r| r.eq_ignore_ascii_case("success"));
        let aed = &rec.additional_event_data;
        let mfa_identifier = str_at(aed, &["MFAIdentifier"]);
        let mfa_used = value_at(aed, &["MFAUsed"])
            .and_then(parse_bool_lenient)
            .or(mfa_identifier.map(|_| true));

        let mut ev = BTreeMap::new();
        ev.insert("loginResult".to_string(), json!(result));
        ev.insert("mfaUsed".to_string(), json!(mfa_used));
        if let Some(m) = mfa_identifier {
            ev.insert("mfaIdentifier".into(), json!(m));
        }
        if let Some(m) = rec.error_message.as_deref() {
            ev.insert("errorMessage".into(), json!(m));
        }
        if let Some(l) = str_at(aed, &["LoginTo"]) {
            ev.insert("loginTo".into(), json!(l));
        }
        if let Some(s) = str_at(aed, &["SamlProviderArn"]) {
            ev.insert("samlProviderArn".into(), json!(s));
        }

        if self.is_root() {
            if failed {
                return self.incident(
                    rules::ROOT_CONSOLE_LOGIN_FAILED,
                    "Failed root user console sign-in".to_string(),
                    Some(self.root_principal()),
                    ev,
                );
            }
            let title = match mfa_used {
                Some(true) => "Root user signed in to the console (with MFA)",
                _ => "Root user signed in to the console WITHOUT MFA",
            };
            return self.incident(
                rules::ROOT_CONSOLE_LOGIN,
                title.to_string(),
                Some(self.root_principal()),
                ev,
            );
        }

        if failed {
            let ui = &self.rec.user_identity;
            let hidden = ui.user_name.as_deref() == Some(HIDDEN_USER_NAME);
            if let Some(n) = ui.user_name.as_deref() {
                ev.insert("attemptedUserName".into(), json!(excerpt(n)));
            }
            let principal = match (ui.kind, ui.user_name.as_deref()) {
                (PrincipalKind::IamUser, Some(n)) if !hidden && is_valid_iam_name(n) => Some(
                    self.user_principal(n.to_string(), ui.arn.clone(), ui.principal_id.clone()),
                ),
                _ => None,
            };
            let title = match &principal {
                Some(p) => format!("Failed console sign-in for IAM user {}", p.display_name()),
                None => "Failed console sign-in for an unknown user name".to_string(),
            };
            ev.insert("knownUser".into(), json!(principal.is_some()));
            return self.incident(rules::CONSOLE_LOGIN_FAILED, title, principal, ev);
        }

        let federated = matches!(
            self.actor.kind,
            PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
        ) || str_at(aed, &["SamlProviderArn"]).is_some();
        if federated {
            let via = if str_at(aed, &["SamlProviderArn"]).is_some() {
                "SAML"
            } else if self
                .actor
                .session_issuer_arn
                .as_deref()
                .is_some_and(|a| a.contains("/aws-reserved/sso.amazonaws.com/"))
            {
                "IAM Identity Center"
            } else {
                "federation"
            };
            return self.none(format!(
                "federated console sign-in via {via} by {}; MFA is enforced at the identity \
                 provider, so MFAUsed=No is expected",
                self.actor_name()
            ));
        }
        if !succeeded {
            return self.none(format!(
                "ConsoleLogin with unrecognised result {:?}; no rule applies",
                result.map(excerpt).unwrap_or_else(|| "none".into())
            ));
        }
        if self.actor.kind != PrincipalKind::IamUser {
            return self.none(format!(
                "console sign-in by a {} identity; no rule applies",
                self.actor.kind.as_str()
            ));
        }
        if mfa_used == Some(true) {
            return self.none(format!("console sign-in with MFA by {}", self.actor_name()));
        }
        let ui = &self.rec.user_identity;
        let principal = ui
            .user_name
            .clone()
            .filter(|n| is_valid_iam_name(n))
            .map(|n| self.user_principal(n, ui.arn.clone(), ui.principal_id.clone()));
        self.incident(
            rules::CONSOLE_LOGIN_NO_MFA,
            format!(
                "IAM user {} signed in to the console without MFA",
                self.actor_name()
            ),
            principal,
            ev,
        )
    }

    // ---------------------------------------------------------------- IAM

    fn iam(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        if let Some(code) = rec.error_code.as_deref() {
            if rec.event_name == "CreateUser" {
                return self.none(format!(
                    "{}: CreateUser by {} failed with {code}; nothing was created \
                     (informational, may feed a denied-attempt counter)",
                    rules::USER_CREATE_DENIED,
                    self.actor_name()
                ));
            }
            return self.none(format!(
                "{} by {} failed with {code}; nothing changed",
                rec.event_name,
                self.actor_name()
            ));
        }
        match rec.event_name.as_str() {
            "CreateUser" => self.create_user(),
            "CreateAccessKey" => self.create_access_key(),
            "CreateLoginProfile" => self.login_profile(rules::LOGIN_PROFILE_CREATED, "created"),
            "UpdateLoginProfile" => self.login_profile(rules::LOGIN_PROFILE_UPDATED, "reset"),
            "AttachUserPolicy" => self.attach_user_policy(),
            "PutUserPolicy" => self.put_user_policy(),
            "AddUserToGroup" => self.add_user_to_group(),
            "DeactivateMFADevice" => self.deactivate_mfa(),
            "DeleteUser" => self.delete_user(),
            "CreateRole" | "UpdateAssumeRolePolicy" => self.role_trust(),
            _ => self.other(),
        }
    }

    fn create_user(&self) -> Result<Classification, TaskError> {
        let requested = self.request_user_name("userName")?;
        let user = value_at(&self.rec.response_elements, &["user"]);
        let responded = match user.and_then(|u| u.get("userName")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                validate_iam_user_name(s, "detail.responseElements.user.userName")?;
                Some(s.clone())
            }
            Some(other) => {
                return Err(TaskError::invalid(
                    "detail.responseElements.user.userName",
                    format!(
                        "must be a string, got {}",
                        crate::event::json_type_name(other)
                    ),
                ));
            }
        };
        let name = match (requested, responded) {
            (Some(a), Some(b)) if a != b => {
                return Err(TaskError::invalid(
                    "detail.responseElements.user.userName",
                    format!(
                        "\"{}\" does not match requestParameters.userName \"{}\"",
                        excerpt(&b),
                        excerpt(&a)
                    ),
                ));
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(TaskError::invalid(
                    "detail.requestParameters.userName",
                    "is missing (a successful CreateUser always names the user)",
                ));
            }
        };
        let arn = user.and_then(|u| str_at(u, &["arn"])).map(str::to_string);
        let user_id = user
            .and_then(|u| str_at(u, &["userId"]))
            .map(str::to_string);
        let mut ev = BTreeMap::new();
        ev.insert("userName".to_string(), json!(name));
        ev.insert("userArn".to_string(), json!(arn));
        if let Some(p) = user
            .and_then(|u| str_at(u, &["path"]))
            .or_else(|| self.rec.request_str("path"))
        {
            ev.insert("path".into(), json!(p));
        }
        if let Some(tags) =
            value_at(&self.rec.request_parameters, &["tags"]).filter(|t| t.is_array())
        {
            ev.insert("tags".into(), tags.clone());
        }
        if let Some(k) = self.actor.access_key_id.as_deref() {
            ev.insert("actorAccessKeyId".into(), json!(k));
        }
        let title = format!("IAM user {name} created by {}", self.actor_name());
        let principal = self.user_principal(name, arn, user_id);
        self.incident(rules::USER_CREATED, title, Some(principal), ev)
    }

    fn create_access_key(&self) -> Result<Classification, TaskError> {
        let key = value_at(&self.rec.response_elements, &["accessKey"]);
        let key_id = key.and_then(|k| str_at(k, &["accessKeyId"]));
        let requested = self.request_user_name("userName")?;
        let target = requested.or_else(|| {
            key.and_then(|k| str_at(k, &["userName"]))
                .filter(|n| is_valid_iam_name(n))
                .map(str::to_string)
        });
        let mut ev = BTreeMap::new();
        ev.insert("accessKeyId".to_string(), json!(key_id));
        if let Some(s) = key.and_then(|k| str_at(k, &["status"])) {
            ev.insert("keyStatus".into(), json!(s));
        }
        let Some(target) = target else {
            if self.is_root() {
                return self.incident(
                    rules::ROOT_ACCESS_KEY_CREATED,
                    "Access key created for the root user".to_string(),
                    Some(self.root_principal()),
                    ev,
                );
            }
            return self.none(format!(
                "CreateAccessKey by {} for itself",
                self.actor_name()
            ));
        };
        if self.is_self(&target) {
            return self.none(format!("self-service access key rotation by {target}"));
        }
        ev.insert("targetUserName".into(), json!(target));
        let title = format!(
            "Access key {} created for IAM user {target} by {}",
            key_id.unwrap_or("(unknown id)"),
            self.actor_name()
        );
        let principal = self.user_principal(target, None, None);
        self.incident(rules::ACCESS_KEY_FOR_OTHER_USER, title, Some(principal), ev)
    }

    fn login_profile(&self, rule: &str, verb: &str) -> Result<Classification, TaskError> {
        let target = self.target_user()?;
        let mut ev = BTreeMap::new();
        // Never copy `password` from requestParameters.
        if let Some(v) = value_at(&self.rec.request_parameters, &["passwordResetRequired"])
            .and_then(parse_bool_lenient)
        {
            ev.insert("passwordResetRequired".to_string(), json!(v));
        }
        ev.insert("targetUserName".to_string(), json!(target));
        ev.insert(
            "selfService".to_string(),
            json!(target.as_deref().is_some_and(|t| self.is_self(t))),
        );
        let title = format!(
            "Console password {verb} for IAM user {} by {}",
            target.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        let principal = target.map(|t| self.user_principal(t, None, None));
        self.incident(rule, title, principal, ev)
    }

    fn attach_user_policy(&self) -> Result<Classification, TaskError> {
        let policy_arn = self.rec.request_str("policyArn").unwrap_or("");
        if !is_admin_managed_policy(policy_arn) {
            return self.none(format!(
                "AttachUserPolicy of {} is not an administrator policy",
                excerpt(policy_arn)
            ));
        }
        let target = self.target_user()?;
        let mut ev = BTreeMap::new();
        ev.insert("policyArn".to_string(), json!(policy_arn));
        ev.insert("targetUserName".to_string(), json!(target));
        let title = format!(
            "{} attached to IAM user {} by {}",
            policy_arn.rsplit('/').next().unwrap_or(policy_arn),
            target.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        let principal = target.map(|t| self.user_principal(t, None, None));
        self.incident(rules::ADMIN_POLICY_ATTACHED, title, principal, ev)
    }

    fn put_user_policy(&self) -> Result<Classification, TaskError> {
        let doc = value_at(&self.rec.request_parameters, &["policyDocument"]);
        let parsed = doc.and_then(parse_policy_document);
        let policy_name = self.rec.request_str("policyName");
        let mut ev = BTreeMap::new();
        ev.insert("policyName".to_string(), json!(policy_name));
        match &parsed {
            Some(p) => {
                let admin = admin_statements(p);
                if admin.is_empty() {
                    return self.none(format!(
                        "inline policy {} does not grant administrator access",
                        excerpt(policy_name.unwrap_or("(unnamed)"))
                    ));
                }
                ev.insert("adminPolicyConfirmed".into(), json!(true));
                ev.insert("adminStatements".into(), Value::Array(admin));
            }
            None => {
                // Uncertain: keep it as an incident; the policy routes it to a human.
                ev.insert("adminPolicyConfirmed".into(), json!(false));
                ev.insert(
                    "policyDocumentProblem".into(),
                    json!("policyDocument is missing or not a parseable IAM policy"),
                );
            }
        }
        let target = self.target_user()?;
        ev.insert("targetUserName".into(), json!(target));
        let title = format!(
            "Inline administrator policy {} put on IAM user {} by {}",
            policy_name.unwrap_or("(unnamed)"),
            target.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        let principal = target.map(|t| self.user_principal(t, None, None));
        self.incident(rules::INLINE_ADMIN_POLICY, title, principal, ev)
    }

    fn add_user_to_group(&self) -> Result<Classification, TaskError> {
        let group = self.rec.request_str("groupName").unwrap_or("");
        if !is_admin_group_name(group) {
            return self.none(format!(
                "AddUserToGroup to {} (not an administrator group)",
                excerpt(group)
            ));
        }
        let target = self.target_user()?;
        let mut ev = BTreeMap::new();
        ev.insert("groupName".to_string(), json!(group));
        ev.insert("targetUserName".to_string(), json!(target));
        let title = format!(
            "IAM user {} added to group {group} by {}",
            target.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        let principal = target.map(|t| self.user_principal(t, None, None));
        self.incident(rules::ADDED_TO_ADMIN_GROUP, title, principal, ev)
    }

    fn deactivate_mfa(&self) -> Result<Classification, TaskError> {
        let target = self.target_user()?;
        let mut ev = BTreeMap::new();
        ev.insert(
            "serialNumber".to_string(),
            json!(self.rec.request_str("serialNumber")),
        );
        ev.insert("targetUserName".to_string(), json!(target));
        let title = format!(
            "MFA device deactivated for IAM user {} by {}",
            target.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        let principal = target.map(|t| self.user_principal(t, None, None));
        self.incident(rules::MFA_DEACTIVATED, title, principal, ev)
    }

    fn delete_user(&self) -> Result<Classification, TaskError> {
        let deleted = self.request_user_name("userName")?;
        let mut ev = BTreeMap::new();
        ev.insert("deletedUserName".to_string(), json!(deleted));
        let title = format!(
            "IAM user {} deleted by {}",
            deleted.as_deref().unwrap_or("(unknown)"),
            self.actor_name()
        );
        // The target no longer exists: the one to contain is the actor.
        let principal = if self.is_root() {
            self.root_principal()
        } else {
            self.actor.as_principal()
        };
        self.incident(rules::USER_DELETED, title, Some(principal), ev)
    }

    fn role_trust(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        let key = if rec.event_name == "CreateRole" {
            "assumeRolePolicyDocument"
        } else {
            "policyDocument"
        };
        let role = value_at(&rec.response_elements, &["role"]);
        let doc = value_at(&rec.request_parameters, &[key])
            .and_then(parse_policy_document)
            .or_else(|| {
                role.and_then(|r| r.get("assumeRolePolicyDocument"))
                    .and_then(parse_policy_document)
            });
        let role_name = rec
            .request_str("roleName")
            .or_else(|| role.and_then(|r| str_at(r, &["roleName"])))
            .map(str::to_string);
        let role_arn = role.and_then(|r| str_at(r, &["arn"])).map(str::to_string);
        let home = self.account();
        let mut ev = BTreeMap::new();
        ev.insert("roleName".to_string(), json!(role_name));
        ev.insert("roleArn".to_string(), json!(role_arn));
        match &doc {
            Some(d) => {
                let principals = trust_principals(d);
                let external: Vec<&String> = principals
                    .iter()
                    .filter(|p| is_external_principal(p, &home))
                    .collect();
                if external.is_empty() {
                    return self.none(format!(
                        "{} for role {}: trust policy names no external account",
                        rec.event_name,
                        excerpt(role_name.as_deref().unwrap_or("(unknown)"))
                    ));
                }
                ev.insert("externalPrincipals".into(), json!(external));
                ev.insert("trustPrincipals".into(), json!(principals));
                ev.insert("trustPolicyParsed".into(), json!(true));
            }
            None => {
                ev.insert("trustPolicyParsed".into(), json!(false));
            }
        }
        let title = format!(
            "Role {} trusts an external account ({} by {})",
            role_name.as_deref().unwrap_or("(unknown)"),
            rec.event_name,
            self.actor_name()
        );
        let principal = role_name.map(|n| Principal {
            kind: PrincipalKind::Role,
            name: Some(n),
            arn: role_arn,
            account_id: Some(home.clone()),
            principal_id: role
                .and_then(|r| str_at(r, &["roleId"]))
                .map(str::to_string),
        });
        self.incident(rules::ROLE_EXTERNAL_TRUST, title, principal, ev)
    }

    // ---------------------------------------------------------------- CloudTrail

    fn cloudtrail(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        if let Some(code) = rec.error_code.as_deref() {
            return self.none(format!(
                "{} by {} failed with {code}; nothing changed",
                rec.event_name,
                self.actor_name()
            ));
        }
        if !matches!(rec.event_name.as_str(), "StopLogging" | "DeleteTrail") {
            return self.other();
        }
        let trail = rec.request_str("name");
        let mut ev = BTreeMap::new();
        ev.insert("trail".to_string(), json!(trail));
        ev.insert("trailAction".to_string(), json!(rec.event_name));
        let title = format!(
            "CloudTrail trail {} {} by {}",
            trail
                .map(|t| t.rsplit('/').next().unwrap_or(t))
                .unwrap_or("(unknown)"),
            if rec.event_name == "DeleteTrail" {
                "deleted"
            } else {
                "stopped"
            },
            self.actor_name()
        );
        let principal = if self.is_root() {
            self.root_principal()
        } else {
            self.actor.as_principal()
        };
        self.incident(rules::LOGGING_STOPPED, title, Some(principal), ev)
    }

    // ---------------------------------------------------------------- anything else

    fn other(&self) -> Result<Classification, TaskError> {
        let rec = self.rec;
        if self.is_root() && rec.error_code.is_none() && rec.read_only != Some(true) {
            let mut ev = BTreeMap::new();
            ev.insert("readOnly".to_string(), json!(rec.read_only));
            return self.incident(
                rules::ROOT_API_CALL,
                format!(
                    "Root user called {}:{}",
                    service_prefix(&rec.event_source),
                    rec.event_name
                ),
                Some(self.root_principal()),
                ev,
            );
        }
        self.none(format!(
            "no rule for {} {}",
            excerpt(&rec.event_source),
            excerpt(&rec.event_name)
        ))
    }
}

fn service_prefix(event_source: &str) -> &str {
    event_source.split('.').next().unwrap_or(event_source)
}

/// `true` for AWS-managed admin-equivalent policies (see [`ADMIN_MANAGED_POLICIES`]).
pub fn is_admin_managed_policy(arn: &str) -> bool {
    ADMIN_MANAGED_POLICIES.contains(&arn)
}

/// Heuristic for administrator groups: the name contains "admin" (any case).
pub fn is_admin_group_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("admin")
}

/// Decodes `%XX` escapes (the `CreateRole` response carries the trust policy this way).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document given as an object, a JSON string, or a URL-encoded JSON string.
pub fn parse_policy_document(v: &Value) -> Option<Value> {
    let doc = match v {
        Value::Object(_) => v.clone(),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .or_else(|| serde_json::from_str::<Value>(&percent_decode(s)).ok())?,
        _ => return None,
    };
    doc.get("Statement").is_some().then_some(doc)
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

fn str_or_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Allow statements granting `*` (or `*:*`, `iam:*`) on `*`, or `NotAction` on `*`.
pub fn admin_statements(doc: &Value) -> Vec<Value> {
    statements(doc)
        .into_iter()
        .filter(|st| {
            let allow = st
                .get("Effect")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case("allow"));
            let all_resources = str_or_list(st.get("Resource")).iter().any(|r| r == "*");
            let all_actions = str_or_list(st.get("Action"))
                .iter()
                .any(|a| a == "*" || a == "*:*" || a.eq_ignore_ascii_case("iam:*"))
                || st.get("NotAction").is_some();
            allow && all_resources && all_actions
        })
        .cloned()
        .collect()
}

/// Every principal an Allow statement trusts (`"*"`, AWS, Federated and Service values).
pub fn trust_principals(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in statements(doc) {
        let allow = st
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("allow"));
        if !allow {
            continue;
        }
        match st.get("Principal") {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Object(m)) => {
                for key in ["AWS", "Federated", "Service", "CanonicalUser"] {
                    out.extend(str_or_list(m.get(key)));
                }
            }
            _ => {}
        }
    }
    out
}

/// `"*"`, a bare account id or an ARN in another account than `home`.
pub fn is_external_principal(p: &str, home: &str) -> bool {
    if p == "*" {
        return true;
    }
    if p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) {
        return p != home;
    }
    if let Some(rest) = p.strip_prefix("arn:") {
        // arn:partition:service:region:account:resource
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() == 5 && parts[1] == "iam" {
            let account = parts[3];
            return !account.is_empty() && account != home && account != "aws";
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_name_validation() {
        assert!(validate_iam_user_name("ops+bot=ci,eu.deploy@example.com_2-x", "f").is_ok());
        assert!(validate_iam_user_name(&"a".repeat(64), "f").is_ok());
        let e = validate_iam_user_name(&"a".repeat(65), "f").unwrap_err();
        assert!(e.to_string().contains("65 characters"), "{e}");
        let e = validate_iam_user_name("\u{430}dministrator", "f").unwrap_err();
        assert!(e.to_string().contains("non-ASCII"), "{e}");
        assert!(validate_iam_user_name("a b", "f").is_err());
        assert!(validate_iam_user_name("", "f").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn external_principals() {
        assert!(is_external_principal(
            "arn:aws:iam::444455556666:root",
            "111122223333"
        ));
        assert!(!is_external_principal(
            "arn:aws:iam::111122223333:root",
            "111122223333"
        ));
        assert!(is_external_principal("*", "111122223333"));
        assert!(is_external_principal("444455556666", "111122223333"));
        assert!(!is_external_principal("ec2.amazonaws.com", "111122223333"));
    }

    #[test]
    fn admin_statement_detection() {
        let doc = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]});
        assert!(admin_statements(&doc).is_empty());
        let doc =
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*"]}});
        assert_eq!(admin_statements(&doc).len(), 1);
    }
}
