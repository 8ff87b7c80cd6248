//! [`Aws`]: the process's connection to AWS, and the one place Cordon builds SDK clients.
//!
//! A Lambda's `main` (and the local stack, and `cordon release`) loads it once and hands it
//! to `Deps::build`, which asks it for the adapters it needs. Task crates never name an SDK
//! type: everything they get from here is a cordon-aws adapter behind a narrow trait.
//!
//! Because every client is made here, a cross-cutting concern is added once, in the
//! client constructors below, and reaches every adapter: the access guard
//! ([`crate::access`]: an SDK interceptor that records each call a function makes and
//! checks it against the function's policies) is one.
use aws_config::SdkConfig;

use crate::access::Access;
use crate::credential_report::IamCredentialReports;
use crate::dynamo::failures::DynamoFailureCounter;
use crate::dynamo::incidents::DynamoIncidentStore;
use crate::dynamo::links::DynamoLinkStore;
use crate::dynamo::listing::IncidentListing;
use crate::executions::SfnIncidentExecutions;
use crate::iam::IamIdentityStore;
use crate::policies::IamPolicyReader;
use crate::roles::IamRoleStore;
use crate::sfn::SfnTaskCallbacks;
use crate::sns::SnsNotifier;
use crate::stack::CloudFormationStacks;

/// The shared SDK configuration: region, credentials and endpoint overrides from the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). Load it once per process.
///
/// Credentials in the environment (a Lambda's, always) are taken from it directly. That is
/// what the default chain would pick too (the environment is its first source), but
/// building the chain also builds its web-identity provider's STS client, and with it a TLS
/// configuration from every root certificate of the system: the larger part of a function's
/// cold start, for a provider a Lambda never reaches.
pub async fn load_sdk_config() -> SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let from_env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let loader = if from_env("AWS_ACCESS_KEY_ID") && from_env("AWS_SECRET_ACCESS_KEY") {
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    };
    loader.load().await
}

/// Configuration loaded once per process, and the clients and adapters built from it.
/// Cheap to clone (the configuration is reference-counted).
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    /// Records and checks every call (the local stack, the least-privilege test).
    access: Option<Access>,
    /// Where Step Functions is, when not where the configuration says (the local stack's
    /// own Step Functions service).
    sfn_endpoint: Option<String>,
    /// Whether retries draw on no quota (see [`Aws::with_unlimited_retry_quota`]) rather
    /// than the SDK's process-wide one.
    unlimited_retry_quota: bool,
}

/// A service config builder with the access guard installed, when there is one.
macro_rules! guarded {
    ($self:ident, $sdk:ident) => {{
        let mut builder = $sdk::config::Builder::from(&$self.config);
        if $self.unlimited_retry_quota {
            use $sdk::config::retry::{RetryPartition, TokenBucket};
            builder = builder.retry_partition(
                RetryPartition::custom("cordon-unlimited-retry-quota")
                    .token_bucket(TokenBucket::unlimited())
                    .build(),
            );
        }
        if let Some(access) = &$self.access {
            builder = builder
                .interceptor(crate::access::interceptor(access))
                .http_client(crate::access::http_client(
                    access,
                    $self.config.http_client(),
                ));
        }
        builder
    }};
}

/// How long a function waits for AWS: a TCP connection in 3 s, one attempt in 10 s, a
/// call (the SDK's retries included) in 25 s. A function times out after 30 s (the
/// template's `Timeout`); a stalled call must fail first, as `Cordon.Transient`, which the
/// workflow retries with backoff, rather than time the whole invocation out. Cordon's calls
/// take well under a second when AWS is healthy.
pub fn function_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(25))
        .build()
}

impl Aws {
    /// Region, credentials and endpoints from the environment (see [`load_sdk_config`]),
    /// with the functions' timeouts ([`function_timeouts`]).
    pub async fn from_env() -> Self {
        let config = load_sdk_config()
            .await
            .into_builder()
            .timeout_config(function_timeouts())
            .build();
        Self::new(config)
    }

    /// For a deployed function: region, credentials and endpoints from the variables
    /// Lambda sets, without aws-config's loader ([`crate::function_env`]), the functions'
    /// timeouts, and an HTTPS client that trusts only the CAs that sign AWS's endpoints
    /// ([`crate::trust`]).
    pub fn for_function() -> Self {
        let config = crate::function_env::sdk_config(std::sync::Arc::new(crate::env::process_env))
            .into_builder()
            .timeout_config(function_timeouts())
            .http_client(crate::trust::aws_https_client())
            .build();
        Self::new(config)
    }

    /// Use a configuration the caller built (the local stack, the emulator tests).
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            access: None,
            sfn_endpoint: None,
            unlimited_retry_quota: false,
        }
    }

    /// Every client built from here on records its calls in `access`'s log, checked
    /// against `access`'s policies (and, in `Mode::Enforce`, refused as AWS would refuse
    /// them): see [`crate::access`].
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Some(access);
        self
    }

    /// Every client built from here on retries (up to the SDK's attempts) without drawing
    /// on the SDK's retry quota, a token bucket shared by every client of a service in the
    /// process. On AWS each concurrent invocation runs in its own sandbox, whose bucket one
    /// invocation at a time does not drain; the local stack runs a burst's invocations in
    /// one process, where a thousand of them would share (and empty) one bucket and fail
    /// calls AWS would have retried.
    pub fn with_unlimited_retry_quota(mut self) -> Self {
        self.unlimited_retry_quota = true;
        self
    }

    /// The access guard, if one is installed.
    pub fn access(&self) -> Option<&Access> {
        self.access.as_ref()
    }

    /// Step Functions clients call `endpoint` (the local stack's Step Functions service).
    pub fn with_sfn_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sfn_endpoint = Some(endpoint.into());
        self
    }

    /// The configuration, for code outside the task crates that talks to the SDK directly
    /// (bootstrapping the emulator, inspecting it in tests).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::from_conf(guarded!(self, aws_sdk_iam).build())
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::from_conf(guarded!(self, aws_sdk_sns).build())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(guarded!(self, aws_sdk_dynamodb).build())
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        let mut builder = guarded!(self, aws_sdk_sfn);
        if let Some(endpoint) = &self.sfn_endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        aws_sdk_sfn::Client::from_conf(builder.build())
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(guarded!(self, aws_sdk_sts).build())
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::from_conf(guarded!(self, aws_sdk_cloudformation).build())
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

    /// Incidents through the indexes of `table`, a page at a time.
    pub fn incident_listing(&self, table: impl Into<String>) -> IncidentListing {
        IncidentListing::new(self.dynamodb(), table)
    }

    /// Deployed stacks' outputs.
    pub fn stack_outputs(&self) -> CloudFormationStacks {
        CloudFormationStacks::new(self.cloudformation())
    }

    /// Approval and release links, in the same `table`.
    pub fn link_store(&self, table: impl Into<String>) -> DynamoLinkStore {
        DynamoLinkStore::new(self.dynamodb(), table)
    }

    /// Approvers' sign-in sessions and used nonces, in the same `table`.
    pub fn signin_store(
        &self,
        table: impl Into<String>,
    ) -> crate::dynamo::signin::DynamoSignInStore {
        crate::dynamo::signin::DynamoSignInStore::new(self.dynamodb(), table)
    }

    /// Step Functions task-token callbacks.
    pub fn task_callbacks(&self) -> SfnTaskCallbacks {
        SfnTaskCallbacks::new(self.sfn())
    }

    /// IAM roles: facts, and the session-revocation inline policy.
    pub fn role_store(&self) -> IamRoleStore {
        IamRoleStore::new(self.iam())
    }

    /// IAM policy documents (managed policies, versions, a group's policies).
    pub fn policy_reader(&self) -> IamPolicyReader {
        IamPolicyReader::new(self.iam())
    }

    /// The IAM credential report.
    pub fn credential_reports(&self) -> IamCredentialReports {
        IamCredentialReports::new(self.iam())
    }

    /// The failed sign-in counters, in the incident `table`.
    pub fn failure_counter(&self, table: impl Into<String>) -> DynamoFailureCounter {
        DynamoFailureCounter::new(self.dynamodb(), table)
    }

    /// Executions of the incident state machine `state_machine_arn`.
    pub fn incident_executions(
        &self,
        state_machine_arn: impl Into<String>,
    ) -> SfnIncidentExecutions {
        SfnIncidentExecutions::new(self.sfn(), state_machine_arn)
    }
}

impl From<SdkConfig> for Aws {
    fn from(config: SdkConfig) -> Self {
        Self::new(config)
    }
}
