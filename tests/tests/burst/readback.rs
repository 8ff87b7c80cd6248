//! Reading a burst's incidents back from moto: each incident's record, its user's
//! quarantine attachments and its audit timeline.
use std::collections::HashMap;

use aws_config::SdkConfig;
use cordon_aws::IncidentStore;
use cordon_core::model::IncidentStatus;

/// What one incident's check found.
pub struct Check {
    pub contained: bool,
    pub lost: bool,
    pub doubled: usize,
    pub problems: Vec<String>,
}

/// One timeline entry as the audit table holds it: its step and its message.
pub struct Entry {
    step: String,
    message: String,
}

/// Every incident's timeline entries, by the incident's partition key, read with one
/// paginated Scan. (Querying each incident's timeline costs moto a pass over the whole
/// table, so a thousand queries grow with the square of the burst; DynamoDB's would not.)
pub async fn timelines(config: &SdkConfig, table: &str) -> HashMap<String, Vec<Entry>> {
    let dynamo = aws_sdk_dynamodb::Client::new(config);
    let mut pages = dynamo
        .scan()
        .table_name(table)
        .filter_expression("begins_with(sk, :timeline)")
        .projection_expression("pk, step, message")
        .expression_attribute_values(
            ":timeline",
            aws_sdk_dynamodb::types::AttributeValue::S(
                cordon_aws::dynamo::incidents::TIMELINE_PREFIX.to_owned(),
            ),
        )
        .into_paginator()
        .items()
        .send();
    let mut by_incident: HashMap<String, Vec<Entry>> = HashMap::new();
    let text = |item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    while let Some(item) = pages.next().await {
        let item = item.expect("scanning the incident table");
        by_incident
            .entry(text(&item, "pk"))
            .or_default()
            .push(Entry {
                step: text(&item, "step"),
                message: text(&item, "message"),
            });
    }
    by_incident
}

/// Checks one incident: its record contained, the quarantine policy attached to its user
/// exactly once, its timeline (read by `timelines`) opened once and closed once as
/// contained.
pub async fn check_incident(
    store: &cordon_aws::DynamoIncidentStore,
    iam: &aws_sdk_iam::Client,
    quarantine_arn: &str,
    user: &str,
    id: &str,
    timeline: &[Entry],
) -> Check {
    let mut check = Check {
        contained: false,
        lost: false,
        doubled: 0,
        problems: Vec::new(),
    };
    let recorded_contained = match store.get(id).await.expect("reading the incident") {
        Some(record) if record.status == IncidentStatus::Contained => true,
        Some(record) => {
            check
                .problems
                .push(format!("{id} ({user}) is {:?}", record.status));
            false
        }
        None => {
            check.lost = true;
            check
                .problems
                .push(format!("{id} ({user}) was never recorded"));
            false
        }
    };
    let attached = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .expect("ListAttachedUserPolicies")
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.policy_arn.as_deref() == Some(quarantine_arn))
        .count();
    if attached != 1 {
        check
            .problems
            .push(format!("{user} has the quarantine policy {attached} times"));
    }
    check.contained = recorded_contained && attached == 1;
    check.doubled += usize::from(attached > 1);

    // The audit: opened once and closed once, as contained. (Writes whose answers are
    // lost are sent again; each must still be written once.)
    let entries = |step: &str| timeline.iter().filter(|e| e.step == step).count();
    let closing: Vec<&str> = timeline
        .iter()
        .filter(|e| e.step == "Close")
        .map(|e| e.message.as_str())
        .collect();
    if entries("OpenIncident") != 1 || closing != ["closed as CONTAINED"] {
        check.problems.push(format!(
            "{id} ({user}): the timeline has {} opening(s) and closings {closing:?}",
            entries("OpenIncident")
        ));
    }
    check.doubled += usize::from(entries("OpenIncident") > 1 || closing.len() > 1);
    check
}
