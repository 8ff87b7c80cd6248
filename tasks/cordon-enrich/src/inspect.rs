//! What enrich reads besides the target user: the role whose sessions may be revoked, the
//! grant an event named but did not carry ([`Inspect`]), and whether Cordon holds a
//! principal contained (for containment undone outside Cordon).
use cordon_aws::policies::PolicyReader;
use cordon_aws::{IncidentStore, RoleStore};
use cordon_core::TaskError;
use cordon_core::classify::rules;
use cordon_core::model::{
    Detection, IncidentStatus, Inspect, Inspection, PrincipalKind, RoleFacts, UserFacts,
};
use cordon_core::policy_document::{Grants, PolicyDocument, grants};
use serde_json::Value;

/// The role a role principal (or a session of one) names, when it is this account's.
pub(crate) async fn role(
    d: &Detection,
    roles: &dyn RoleStore,
) -> Result<Option<RoleFacts>, TaskError> {
    let Some(p) = d
        .principal
        .as_ref()
        .filter(|p| matches!(p.kind, PrincipalKind::Role | PrincipalKind::AssumedRole))
    else {
        return Ok(None);
    };
    if p.account_id.as_deref().is_some_and(|a| a != d.account) {
        return Ok(None);
    }
    match p.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => roles.get_role_facts(name).await,
        None => Ok(None),
    }
}

/// Reads what `d.inspect` names. A read AWS refuses becomes a problem on the inspection
/// (a human decides); a transient error is the workflow's to retry.
pub(crate) async fn inspection(
    d: &Detection,
    policies: &dyn PolicyReader,
) -> Result<Option<Inspection>, TaskError> {
    let Some(inspect) = &d.inspect else {
        return Ok(None);
    };
    let subject = inspect.describe();
    let read = read(inspect, &d.account, policies).await;
    Ok(Some(match read {
        Ok(Some((grants, attachment_count))) => Inspection {
            subject,
            grants: Some(grants),
            attachment_count,
            problem: None,
        },
        Ok(None) => Inspection {
            subject,
            grants: None,
            attachment_count: None,
            problem: Some("it no longer exists".into()),
        },
        Err(e @ TaskError::Transient { .. }) => return Err(e),
        Err(e) => Inspection {
            subject,
            grants: None,
            attachment_count: None,
            problem: Some(e.to_string()),
        },
    }))
}

async fn read(
    inspect: &Inspect,
    account: &str,
    policies: &dyn PolicyReader,
) -> Result<Option<(Grants, Option<u64>)>, TaskError> {
    let judged = |doc: &Value| -> Grants {
        match PolicyDocument::parse(doc) {
            Some(d) => grants(&d, account),
            None => Grants {
                grants: vec![],
                skipped: vec!["the document is not an IAM policy".into()],
            },
        }
    };
    Ok(match inspect {
        Inspect::ManagedPolicy { policy_arn } => policies
            .managed_policy(policy_arn)
            .await?
            .map(|p| (judged(&p.document), Some(p.attachment_count))),
        Inspect::PolicyVersion {
            policy_arn,
            version_id,
        } => {
            let attachments = policies
                .managed_policy(policy_arn)
                .await?
                .map(|p| p.attachment_count);
            policies
                .policy_version(policy_arn, version_id)
                .await?
                .map(|doc| (judged(&doc), attachments))
        }
        Inspect::Group { group_name } => policies.group_policies(group_name).await?.map(|docs| {
            let mut all = Grants::default();
            for doc in docs {
                all.merge(judged(&doc.document));
            }
            (all, None)
        }),
    })
}

/// For containment undone (`cordon.quarantine-tampered`): the incident that holds the
/// principal contained, per Cordon's records: the incidents about the principal (by ARN
/// and by name, newest first). Cordon's records decide, not the user's `CordonIncident`
/// tag, so removing the tag frees no one.
pub(crate) async fn contained_by(
    d: &Detection,
    user: Option<&UserFacts>,
    role: Option<&RoleFacts>,
    store: &dyn IncidentStore,
) -> Result<Option<String>, TaskError> {
    if d.rule != rules::QUARANTINE_TAMPERED {
        return Ok(None);
    }
    let principal = d.principal.as_ref();
    let mut keys: Vec<String> = Vec::new();
    keys.extend(user.map(|u| u.arn.clone()));
    keys.extend(role.map(|r| r.arn.clone()));
    keys.extend(principal.and_then(|p| p.arn.clone()));
    keys.extend(principal.and_then(|p| p.name.clone()));
    keys.sort();
    keys.dedup();
    for key in keys.iter().filter(|k| !k.is_empty()) {
        let found = store.list_by_principal(key, 20).await?;
        if let Some(r) = found
            .into_iter()
            .find(|r| r.status == IncidentStatus::Contained && r.incident_id != d.incident_id)
        {
            return Ok(Some(r.incident_id));
        }
    }
    Ok(None)
}
