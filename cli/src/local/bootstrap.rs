//! The template's resources in the emulator: the incident table, the topic (with an SQS
//! tap, so what was published can be read back) and the deny-all quarantine policy.
use anyhow::Context;
use aws_config::SdkConfig;

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
    pub quarantine_policy_arn: String,
}

/// Creates the table, topic (with an SQS tap) and the deny-all quarantine policy, as the
/// template does. Safe to run again: existing resources are reused.
pub async fn bootstrap(sdk: &SdkConfig, names: &StackNames) -> anyhow::Result<Resources> {
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
    let document = cordon_core::quarantine::deny_all_policy_document().to_string();
    let quarantine_policy_arn = cordon_aws::IdentityStore::ensure_managed_policy(
        &identity,
        cordon_core::quarantine::QUARANTINE_POLICY_NAME,
        &document,
    )
    .await
    .context("creating the quarantine policy")?;

    Ok(Resources {
        table_name: names.table.clone(),
        topic_arn,
        tap_queue_url,
        quarantine_policy_arn,
    })
}
