//! The template's resources in the emulator: the incident table, the topic (with an SQS
//! tap, so what was published can be read back) and the template's customer-managed
//! policies (the quarantine and force-MFA policies), created with the template's own names
//! and documents.
use std::collections::BTreeMap;

use anyhow::Context;
use aws_config::SdkConfig;

/// A customer-managed policy the template declares (`AWS::IAM::ManagedPolicy`), with its
/// name and document resolved.
#[derive(Debug, Clone)]
pub struct ManagedPolicyDefinition {
    pub logical_id: String,
    /// `ManagedPolicyName`, e.g. `cordon-local-CordonForceMFA`.
    pub name: String,
    /// `PolicyDocument`, as JSON text.
    pub document: String,
}

/// Names of the resources the local stack creates in the emulator.
#[derive(Debug, Clone)]
pub struct StackNames {
    pub table: String,
    pub topic: String,
    /// An SQS queue subscribed to the topic, so what was published can be read back.
    pub tap_queue: String,
}

impl Default for StackNames {
    fn default() -> Self {
        StackNames {
            table: "cordon-incidents".into(),
            topic: "cordon-incidents".into(),
            tap_queue: "cordon-incidents-tap".into(),
        }
    }
}

/// What [`bootstrap`] created (or found).
#[derive(Debug, Clone)]
pub struct Resources {
    pub table_name: String,
    pub topic_arn: String,
    pub tap_queue_url: String,
    /// The deny-all quarantine policy (one of `managed_policies`).
    pub quarantine_policy_arn: String,
    /// Every `AWS::IAM::ManagedPolicy` of the template: logical id → ARN.
    pub managed_policies: BTreeMap<String, String>,
}

/// Creates the table, topic (with an SQS tap) and the template's managed policies, as the
/// template does. Safe to run again: existing resources are reused.
pub async fn bootstrap(
    sdk: &SdkConfig,
    names: &StackNames,
    policies: &[ManagedPolicyDefinition],
) -> anyhow::Result<Resources> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    cordon_aws::dynamo::create_table(&ddb, &names.table)
        .await
        .with_context(|| format!("creating the incident table {}", names.table))?;

    let sns = aws_sdk_sns::Client::new(sdk);
    let topic_arn = sns
        .create_topic()
        .name(&names.topic)
        .send()
        .await
        .context("creating the incident topic")?
        .topic_arn
        .context("SNS returned no topic ARN")?;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let tap_queue_url = sqs
        .create_queue()
        .queue_name(&names.tap_queue)
        .send()
        .await
        .context("creating the topic's tap queue")?
        .queue_url
        .context("SQS returned no queue URL")?;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&tap_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the tap queue's ARN")?
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .context("SQS returned no queue ARN")?;
    // Subscribing the same endpoint twice returns the existing subscription.
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .context("subscribing the tap queue to the topic")?;

    let identity = cordon_aws::Aws::new(sdk.clone()).identity_store();
    let mut managed_policies = BTreeMap::new();
    let mut quarantine_policy_arn = None;
    for policy in policies {
        let arn = cordon_aws::IdentityStore::ensure_managed_policy(
            &identity,
            &policy.name,
            &policy.document,
        )
        .await
        .with_context(|| {
            format!(
                "creating the policy {} ({})",
                policy.name, policy.logical_id
            )
        })?;
        if policy.name.ends_with(&format!(
            "-{}",
            cordon_core::quarantine::QUARANTINE_POLICY_NAME
        )) {
            quarantine_policy_arn = Some(arn.clone());
        }
        managed_policies.insert(policy.logical_id.clone(), arn);
    }
    let quarantine_policy_arn = quarantine_policy_arn.with_context(|| {
        format!(
            "the template declares no managed policy named <stack>-{}",
            cordon_core::quarantine::QUARANTINE_POLICY_NAME
        )
    })?;

    Ok(Resources {
        table_name: names.table.clone(),
        topic_arn,
        tap_queue_url,
        quarantine_policy_arn,
        managed_policies,
    })
}
