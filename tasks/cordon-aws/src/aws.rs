//! [`Aws`]: the process's connection to AWS, and the one place Cordon builds SDK clients.
//!
//! A Lambda's `main` (and the local stack, and `cordon release`) loads it once and hands it
//! to `Deps::build`, which asks it for the adapters it needs. Task crates never name an SDK
//! type: everything they get from here is a cordon-aws adapter behind a narrow trait.
//!
//! Because every client is made here, a cross-cutting concern (an SDK interceptor that
//! records each call a function makes, a retry or timeout setting) is added once, in the
//! client constructors below, and reaches every adapter.
use aws_config::SdkConfig;

use crate::dynamo::incidents::DynamoIncidentStore;
use crate::dynamo::links::DynamoLinkStore;
use crate::iam::IamIdentityStore;
use crate::sfn::SfnTaskCallbacks;
use crate::sns::SnsNotifier;

/// The shared SDK configuration: region, credentials and endpoint overrides from the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). Load it once per process.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Configuration loaded once per process, and the clients and adapters built from it.
/// Cheap to clone (the configuration is reference-counted).
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
}

impl Aws {
    /// Region, credentials and endpoints from the environment (see [`load_sdk_config`]).
    pub async fn from_env() -> Self {
        Self::new(load_sdk_config().await)
    }

    /// Use a configuration the caller built (the local stack, the emulator tests).
    pub fn new(config: SdkConfig) -> Self {
        Self { config }
    }

    /// The configuration, for code outside the task crates that talks to the SDK directly
    /// (bootstrapping the emulator, inspecting it in tests).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    /// IAM users: read facts, attach and detach policies, keys, tags.
    pub fn identity_store(&self) -> IamIdentityStore {
        IamIdentityStore::new(self.iam())
    }

    /// SNS publishing.
    pub fn notifier(&self) -> SnsNotifier {
        SnsNotifier::new(self.sns())
    }

    /// The incident audit trail in `table` (see `TABLE.md`).
    pub fn incident_store(&self, table: impl Into<String>) -> DynamoIncidentStore {
        DynamoIncidentStore::new(self.dynamodb(), table)
    }

    /// Approval and release links, in the same `table`.
    pub fn link_store(&self, table: impl Into<String>) -> DynamoLinkStore {
        DynamoLinkStore::new(self.dynamodb(), table)
    }

    /// Step Functions task-token callbacks.
    pub fn task_callbacks(&self) -> SfnTaskCallbacks {
        SfnTaskCallbacks::new(self.sfn())
    }
}

impl From<SdkConfig> for Aws {
    fn from(config: SdkConfig) -> Self {
        Self::new(config)
    }
}
