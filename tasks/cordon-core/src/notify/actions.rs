//! The recommended next steps of a notification: what a responder should check and run,
//! per rule, then per kind of notification.
use serde_json::Value;

use super::message::{NotificationContext, NotificationKind};
use super::sanitize::sanitize_line;
use crate::classify::rules;
use crate::model::PrincipalKind;
use crate::quarantine::QUARANTINE_POLICY_NAME;

/// Concrete next steps for a notification (rule-specific, then kind-specific).
pub fn recommended_actions(kind: NotificationKind, ctx: &NotificationContext) -> Vec<String> {
    let mut out = Vec::new();
    let Some(d) = &ctx.detection else {
        if kind != NotificationKind::Rejected {
            // No detection (its OpenIncident step failed): the raw event is all there is.
            let event_id = ctx
                .event
                .as_ref()
                .and_then(|e| e.event_id.as_deref())
                .map(|id| sanitize_line(id, 200))
                .unwrap_or_else(|| "<event-id>".to_string());
            out.push(format!(
                "Read the event in CloudTrail: `aws cloudtrail lookup-events --lookup-attributes \
                 AttributeKey=EventId,AttributeValue={event_id}`, and judge whether its actor and \
                 target need a response before Cordon's replay gives one."
            ));
            return out;
        }
        let id = sanitize_line(&ctx.incident_id, 100);
        out.push(format!(
            "Inspect the rejected event, kept as evidence: `cordon incidents show {id}`, and \
             compare it with the CloudTrail event history; a forged or corrupted record may \
             indicate tampering with the event pipeline."
        ));
        out.push(
            "A rejected event stays rejected (a replay of it is rejected again): if it was \
             legitimate, fix what rejected it (the stack's account, or the event source) and \
             let the source send it again."
                .to_string(),
        );
        return out;
    };
    let target = d
        .principal
        .as_ref()
        .and_then(|p| p.name.clone())
        .map(|n| sanitize_line(&n, 128))
        .unwrap_or_else(|| "<user>".to_string());
    let actor = sanitize_line(&d.actor.display_name(), 256);
    let ip = d
        .source_ip
        .as_deref()
        .map(|s| sanitize_line(s, 100))
        .unwrap_or_else(|| "<source-ip>".to_string());
    let ev = |k: &str| {
        d.evidence
            .get(k)
            .and_then(Value::as_str)
            .map(|s| sanitize_line(s, 300))
    };
    let actor_step = match d.actor.kind {
        PrincipalKind::IamUser => format!(
            "Verify with the owner of {actor} that they made this call; if not, treat {actor} as \
             compromised: `aws iam list-access-keys --user-name {actor}` and deactivate its keys, \
             and review its other activity from {ip} in CloudTrail \
             (`aws cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue={actor}`)."
        ),
        PrincipalKind::AssumedRole | PrincipalKind::Role => format!(
            "Verify that role {actor} was expected to make this call; if not, revoke its active \
             sessions (IAM console: Roles > {actor} > Revoke active sessions) and review its trust \
             policy (`aws iam get-role --role-name {actor}`) and its activity from {ip} in CloudTrail."
        ),
        PrincipalKind::Root => format!(
            "The root user made this call from {ip}: confirm with the root credential custodians; \
             if unplanned, reset the root password and MFA and delete any root access keys."
        ),
        _ => format!(
            "Identify the caller ({actor}) and review its activity from {ip} in CloudTrail."
        ),
    };
    match d.rule.as_str() {
        rules::USER_CREATED => {
            out.push(format!(
                "Confirm whether user {target} is expected (change ticket, IaC). If not, delete it \
                 after the investigation: `aws iam list-access-keys --user-name {target}`, \
                 `aws iam delete-login-profile --user-name {target}`, then `aws iam delete-user`."
            ));
            out.push(format!(
                "Check what {target} was given: `aws iam list-attached-user-policies --user-name {target}`, \
                 `aws iam list-user-policies --user-name {target}`, `aws iam list-groups-for-user --user-name {target}`."
            ));
            out.push(actor_step);
        }
        rules::ACCESS_KEY_FOR_OTHER_USER => {
            let key = ev("accessKeyId").unwrap_or_else(|| "<key-id>".into());
            out.push(format!(
                "Deactivate the new key unless it is expected: `aws iam update-access-key --user-name {target} \
                 --access-key-id {key} --status Inactive`."
            ));
            out.push(format!(
                "Search CloudTrail for use of {key} (`AttributeKey=AccessKeyId,AttributeValue={key}`)."
            ));
            out.push(actor_step);
        }
        rules::LOGIN_PROFILE_CREATED | rules::LOGIN_PROFILE_UPDATED => {
            out.push(format!(
                "If {target} should not have console access, remove it: `aws iam delete-login-profile --user-name {target}`; \
                 otherwise reset the password and require a change at next sign-in."
            ));
            out.push(format!(
                "Review console sign-ins of {target} (eventName ConsoleLogin) since the change."
            ));
            out.push(actor_step);
        }
        rules::ADMIN_POLICY_ATTACHED => {
            let arn = ev("policyArn").unwrap_or_else(|| "<policy-arn>".into());
            out.push(format!(
                "Detach the policy unless approved: `aws iam detach-user-policy --user-name {target} --policy-arn {arn}`."
            ));
            out.push(actor_step);
        }
        rules::INLINE_ADMIN_POLICY => {
            let name = ev("policyName").unwrap_or_else(|| "<policy-name>".into());
            out.push(format!(
                "Delete the inline policy unless approved: `aws iam delete-user-policy --user-name {target} --policy-name {name}`."
            ));
            out.push(actor_step);
        }
        rules::ADDED_TO_ADMIN_GROUP => {
            let group = ev("groupName").unwrap_or_else(|| "<group>".into());
            out.push(format!(
                "Remove the membership unless approved: `aws iam remove-user-from-group --user-name {target} --group-name {group}`."
            ));
            out.push(actor_step);
        }
        rules::MFA_DEACTIVATED => {
            out.push(format!(
                "Contact {target} and re-enroll an MFA device (`aws iam enable-mfa-device`); until then \
                 consider the force-MFA policy (`CordonForceMFA`)."
            ));
            out.push(actor_step);
        }
        rules::USER_DELETED => {
            let deleted = ev("deletedUserName").unwrap_or_else(|| "<user>".into());
            out.push(format!(
                "Find out why {deleted} was deleted; recreate it from IaC if it was a monitoring or \
                 break-glass identity."
            ));
            out.push(actor_step);
        }
        rules::ROLE_EXTERNAL_TRUST => {
            let role = d
                .principal
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "<role>".into());
            out.push(format!(
                "Review the trust policy: `aws iam get-role --role-name {role}`. If the external account is \
                 not a known vendor, delete the role or replace the trust policy \
                 (`aws iam update-assume-role-policy`)."
            ));
            out.push(format!(
                "Search CloudTrail for AssumeRole calls on {role} from other accounts."
            ));
            out.push(actor_step);
        }
        rules::LOGGING_STOPPED => {
            let trail = ev("trail").unwrap_or_else(|| "<trail>".into());
            out.push(format!(
                "Restart logging immediately: `aws cloudtrail start-logging --name {trail}`."
            ));
            out.push(
                "Treat the gap as a blind spot: review activity in other Regions, AWS Config and \
                 S3 server access logs for the period."
                    .to_string(),
            );
            out.push(actor_step);
        }
        rules::TRAIL_WEAKENED => {
            let trail = ev("trail").unwrap_or_else(|| "<trail>".into());
            out.push(format!(
                "Restore what the trail records now: compare `aws cloudtrail get-trail --name {trail}` and \
                 `aws cloudtrail get-event-selectors --trail-name {trail}` with your baseline; record all \
                 management events again with `aws cloudtrail put-event-selectors --trail-name {trail} \
                 --event-selectors '[{{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}}]'` and \
                 `aws cloudtrail update-trail --name {trail} --is-multi-region-trail \
                 --include-global-service-events --s3-bucket-name <your-log-bucket>`."
            ));
            out.push(
                "Treat the change as a blind spot: what the trail stopped recording since then is \
                 missing; review other Regions, AWS Config and S3 server access logs for the period, \
                 and check who can write to the new log destination."
                    .to_string(),
            );
            out.push(actor_step);
        }
        rules::TRAIL_CHANGED => {
            let trail = ev("trail").unwrap_or_else(|| "<trail>".into());
            out.push(format!(
                "Review the change against your baseline: `aws cloudtrail get-trail --name {trail}`; restore \
                 log file validation (`aws cloudtrail update-trail --name {trail} --enable-log-file-validation`), \
                 the KMS key, the CloudWatch Logs delivery, the SNS topic or the excluded event sources as needed."
            ));
            out.push(actor_step);
        }
        rules::CONSOLE_LOGIN_FAILED => {
            out.push(format!(
                "Look for other failed sign-ins from {ip}; block the address at the network edge if it \
                 is not corporate."
            ));
            if d.principal.is_some() {
                out.push(format!(
                    "Confirm with {target} whether they mistyped their password; make sure MFA is \
                     enabled (`aws iam list-mfa-devices --user-name {target}`)."
                ));
            } else {
                out.push(
                    "The user name did not exist: this is likely enumeration or password spraying."
                        .to_string(),
                );
            }
        }
        rules::CONSOLE_LOGIN_NO_MFA => {
            out.push(format!(
                "Confirm with {target} that the sign-in from {ip} was theirs; if not, reset the \
                 password and deactivate keys."
            ));
            out.push(format!(
                "Enforce MFA for {target} (`aws iam enable-mfa-device`, or the `CordonForceMFA` policy)."
            ));
        }
        rules::ROOT_CONSOLE_LOGIN
        | rules::ROOT_CONSOLE_LOGIN_FAILED
        | rules::ROOT_ACCESS_KEY_CREATED
        | rules::ROOT_API_CALL => {
            out.push(
                "Confirm with the root credential custodians that this was planned; root is never \
                 contained automatically."
                    .to_string(),
            );
            out.push(
                "If not planned: reset the root password, rotate the root MFA device, delete any \
                 root access keys (`aws iam list-access-keys` as root), and review root activity in \
                 CloudTrail (`userIdentity.type = Root`)."
                    .to_string(),
            );
        }
        rules::AUDIT_MFA_MISSING => {
            out.push(format!(
                "Ask {target} to enroll an MFA device, or remove the console password \
                 (`aws iam delete-login-profile --user-name {target}`) if it is a programmatic user."
            ));
        }
        rules::ADMIN_GRANTED_TO_ROLE | rules::ADMIN_GRANTED_TO_GROUP => {
            let arn = ev("policyArn")
                .or_else(|| ev("policyName"))
                .unwrap_or_else(|| "<policy>".into());
            let (kind, name) = if d.rule == rules::ADMIN_GRANTED_TO_ROLE {
                ("role", ev("roleName").unwrap_or_else(|| target.clone()))
            } else {
                ("group", ev("groupName").unwrap_or_else(|| "<group>".into()))
            };
            out.push(format!(
                "Remove the grant ({arn}) from {kind} {name} unless approved                  (`aws iam detach-{kind}-policy` or `aws iam delete-{kind}-policy`)."
            ));
            out.push(format!(
                "Review who can use {kind} {name} (`aws iam get-{kind} --{kind}-name {name}`) and                  what it did since the change."
            ));
            out.push(actor_step);
        }
        rules::ADMIN_POLICY_VERSION => {
            let arn = ev("policyArn").unwrap_or_else(|| "<policy-arn>".into());
            out.push(format!(
                "Make a previous version the default again unless approved                  (`aws iam list-policy-versions --policy-arn {arn}`, then                  `aws iam set-default-policy-version`), and review every principal it is attached to                  (`aws iam list-entities-for-policy --policy-arn {arn}`)."
            ));
            out.push(actor_step);
        }
        rules::IDENTITY_PROVIDER_CHANGED => {
            out.push(
                "Confirm the identity provider is your own (`aws iam list-saml-providers`,                  `aws iam list-open-id-connect-providers`); if not, delete it and review every role                  whose trust policy names it."
                    .to_string(),
            );
            out.push(actor_step);
        }
        rules::MFA_DEVICE_DELETED => {
            out.push(format!(
                "Contact {target} and re-enroll an MFA device; until then consider the force-MFA                  policy (`CordonForceMFA`)."
            ));
            out.push(actor_step);
        }
        rules::USER_RENAMED => {
            out.push(format!(
                "Confirm the rename of {target} is expected; a renamed user escapes lists kept by                  name (allowlists, runbooks). Review its credentials                  (`aws iam list-access-keys --user-name <new name>`)."
            ));
            out.push(actor_step);
        }
        rules::AWS_COMPROMISED_KEY_QUARANTINE => {
            out.push(format!(
                "AWS found an access key of {target} exposed in public: delete the exposed key                  (`aws iam list-access-keys --user-name {target}`, `aws iam delete-access-key`), find                  where it leaked, and review its use in CloudTrail before removing AWS's policy."
            ));
        }
        rules::ROOT_PASSWORD_CHANGED => {
            out.push(
                "Confirm with the root credential custodians that they changed the root password;                  if not, recover the root user at once (password recovery, then a new MFA device)                  and review root activity in CloudTrail (`userIdentity.type = Root`)."
                    .to_string(),
            );
        }
        rules::CONSOLE_LOGIN_AFTER_FAILURES => {
            out.push(format!(
                "A sign-in succeeded after a burst of failures: treat {target}'s password as                  guessed. Reset it, require MFA, and review what the session did."
            ));
            out.push(actor_step);
        }
        rules::QUARANTINE_TAMPERED
        | rules::QUARANTINE_POLICY_CHANGED
        | rules::RULES_TAMPERED
        | rules::WORKFLOW_TAMPERED => {
            out.push(
                "Someone is working against Cordon itself: check that its rules are enabled with                  their targets, its quarantine policy is unchanged, and every contained principal                  is still contained (the incidents with status CONTAINED)."
                    .to_string(),
            );
            out.push(actor_step);
        }
        rules::AUDIT_ROOT_MFA_MISSING => {
            out.push(
                "Enroll an MFA device for the root user now, and delete any root access keys."
                    .to_string(),
            );
        }
        rules::AUDIT_ACCESS_KEY_STALE => {
            out.push(format!(
                "Rotate or delete {target}'s old or unused access keys                  (`aws iam list-access-keys --user-name {target}`)."
            ));
        }
        _ => {
            out.push(format!(
                "Review the {} call in CloudTrail (eventID {}).",
                sanitize_line(&d.event_name, 200),
                sanitize_line(&d.event_id, 200)
            ));
            out.push(actor_step);
        }
    }
    match kind {
        NotificationKind::Contained => out.push(format!(
            "The quarantine is in place (deny-all policy `{}`, tag SecurityStatus=Quarantined). \
             Release with the link above or `cordon release {}` once the investigation is done \
             (`cordon incidents show` has the snapshot it restores).",
            QUARANTINE_POLICY_NAME,
            sanitize_line(&ctx.incident_id, 100)
        )),
        NotificationKind::ApprovalRequest => out.push(
            "Approve to quarantine the principal (deny-all policy and tags); reject to only \
             record the incident."
                .to_string(),
        ),
        _ => {}
    }
    if d.principal
        .as_ref()
        .is_some_and(|p| p.kind == PrincipalKind::Root)
        && !out.iter().any(|s| s.contains("root"))
    {
        out.push("Root is never contained automatically; act manually.".to_string());
    }
    out
}
