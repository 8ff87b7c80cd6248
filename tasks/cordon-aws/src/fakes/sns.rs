//! The SNS fake: remembers what was published.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;

use super::calls::{Calls, call_log_api, lock};
use crate::sns::Notifier;

/// One message [`FakeNotifier`] published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub topic_arn: String,
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub message_id: String,
}

/// [`Notifier`] that publishes nowhere: message ids are `fake-message-<n>`.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    published: Mutex<Vec<Published>>,
    calls: Mutex<Calls>,
}

impl FakeNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn published(&self) -> Vec<Published> {
        lock(&self.published).clone()
    }

    call_log_api!();
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError> {
        lock(&self.calls).enter("sns:Publish")?;
        let mut published = lock(&self.published);
        let message_id = format!("fake-message-{}", published.len() + 1);
        published.push(Published {
            topic_arn: topic_arn.to_string(),
            subject: subject.to_string(),
            body: body.to_string(),
            attributes: attributes.clone(),
            message_id: message_id.clone(),
        });
        Ok(message_id)
    }
}
