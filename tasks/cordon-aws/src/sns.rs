//! SNS: publishing notifications.
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use cordon_core::TaskError;

use crate::error::SdkResultExt;

/// Publishes one message to a topic.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publish `body` with `subject` and string message `attributes` (for subscription
    /// filter policies). Returns the SNS message id.
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError>;
}

/// [`Notifier`] over `aws-sdk-sns`.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
}

impl SnsNotifier {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(body);
        for (k, v) in attributes {
            // SNS rejects empty attribute values; an empty value carries no filterable
            // information, so it is left out.
            if v.is_empty() {
                continue;
            }
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| TaskError::Aws {
                    operation: "sns:Publish".into(),
                    code: "InvalidMessageAttribute".into(),
                    message: format!("message attribute {k}: {e}"),
                })?;
            req = req.message_attributes(k, value);
        }
        let out = req.send().await.aws("sns:Publish")?;
        out.message_id()
            .map(str::to_string)
            .ok_or_else(|| TaskError::Aws {
                operation: "sns:Publish".into(),
                code: "MissingMessageId".into(),
                message: "SNS accepted the message but returned no message id".into(),
            })
    }
}
