//! Shared setup for emulator-backed tests (feature `testing`), so every task crate's
//! tests set up moto the same way.
//!
//! Tests that need moto call [`moto`]. It reads `AWS_ENDPOINT_URL` and **panics with
//! instructions** if it is unset or nothing answers there: an emulator-backed test never
//! passes by skipping. Every helper creates uniquely named resources ([`unique`]), so tests
//! can run concurrently against one moto.
//!
//! - connection and names: [`moto`], [`Moto`], [`unique`], [`free_port`];
//! - fixtures: [`fixture`], [`fixture_detection`], [`detection_for`];
//! - resources: an incident table ([`Moto::incident_store`], [`open_incident`]), IAM users
//!   with keys, passwords, policies, groups and tags, an SNS topic and an SQS tap on it
//!   ([`Moto::tap`]) to read back what was published.
//!
//! Panicking is deliberate here: this module is only for tests.
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::Utc;
use cordon_core::model::{Detection, KeyStatus, Principal, PrincipalKind};
use cordon_core::{Classification, classify};
use serde_json::Value;

use crate::aws::Aws;
use crate::dynamo::create_table;
use crate::dynamo::incidents::DynamoIncidentStore;
use crate::dynamo::links::DynamoLinkStore;
use crate::iam::IamIdentityStore;
use crate::incidents::{IncidentStore, NewIncident};
use crate::sns::SnsNotifier;

const HOW_TO_RUN: &str = "Run the suite with `cargo xtask test` (it starts moto on a free port and \
exports AWS_ENDPOINT_URL, AWS_REGION and test credentials), or start moto yourself:\n  \
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p 5011 &\n  \
export AWS_ENDPOINT_URL=http://127.0.0.1:5011 AWS_REGION=us-east-1 \
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing";

/// The account moto puts in ARNs, and the tests in principals.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// The home account of the shared fixture corpus (its README): the stack that classifies
/// them is this account's.
pub const FIXTURE_ACCOUNT: &str = "111122223333";

/// [`FIXTURE_ACCOUNT`] as the classifier takes it.
pub fn fixture_home_account() -> cordon_core::model::AccountId {
    cordon_core::model::AccountId::parse(FIXTURE_ACCOUNT).expect("a valid account id")
}

/// A connection to the emulator.
#[derive(Debug, Clone)]
pub struct Moto {
    pub endpoint: String,
    pub config: SdkConfig,
    /// The same configuration, as the task crates take it.
    pub aws: Aws,
}

/// `prefix-<8 random hex digits>`: a name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The shared EventBridge fixture corpus: `$CORDON_FIXTURES_DIR`, else
/// `<workspace>/../shared/fixtures/events`. Panics (fails loudly) if absent.
pub fn fixtures_dir() -> std::path::PathBuf {
    let dir = match std::env::var_os("CORDON_FIXTURES_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/events"),
    };
    assert!(
        dir.is_dir(),
        "fixture corpus not found at {}: set CORDON_FIXTURES_DIR to the folder holding the \
         EventBridge fixture events",
        dir.display()
    );
    dir
}

/// One fixture event, parsed (`name` with or without `.json`): from the shared corpus,
/// else from cordon-core's own fixtures (`tasks/cordon-core/tests/fixtures`).
pub fn fixture(name: &str) -> Value {
    let file = if name.ends_with(".json") {
        name.to_string()
    } else {
        format!("{name}.json")
    };
    let own = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../cordon-core/tests/fixtures")
        .join(&file);
    let path = match fixtures_dir().join(&file) {
        shared if !shared.exists() && own.exists() => own,
        shared => shared,
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// Fixture `name` as the stack of `account` receives it now: the envelope's, the record's
/// and the actor's account set to `account`, a fresh `eventID` (so tests never share an
/// incident) and the times set to now.
pub fn fixture_event_in(name: &str, account: &str) -> Value {
    let mut event = fixture(name);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    event["account"] = serde_json::json!(account);
    event["time"] = serde_json::json!(now);
    let detail = &mut event["detail"];
    detail["recipientAccountId"] = serde_json::json!(account);
    detail["eventID"] = serde_json::json!(unique("fixture-event"));
    detail["eventTime"] = serde_json::json!(now);
    if detail["userIdentity"]["accountId"].is_string() {
        detail["userIdentity"]["accountId"] = serde_json::json!(account);
    }
    event
}

/// A role EC2 may assume (a workload's role, as role incidents name), really in IAM at
/// `iam`; returns its ARN.
pub async fn create_workload_role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating role {name}: {e:?}"))
        .role()
        .map(|r| r.arn().to_string())
        .unwrap_or_else(|| panic!("IAM created role {name} but returned no ARN"))
}

/// The output the approval function resumes a waiting workflow with
/// ([`crate::links::ApprovalDecision`]): `decision` by a link holder who typed `name`, now.
pub fn approval_output(decision: crate::links::Decision, name: &str) -> Value {
    serde_json::to_value(crate::links::ApprovalDecision {
        decision,
        approval_id: "a".repeat(64),
        decided_by: crate::links::DecidedBy {
            name: Some(name.to_string()),
            ..Default::default()
        },
        decided_at: Utc::now(),
    })
    .expect("an approval decision is JSON")
}

/// The detection classifying fixture `name` gives (panics if it is not an incident).
pub fn fixture_detection(name: &str) -> Detection {
    match classify(&fixture(name), &fixture_home_account()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("fixture {name} should be an incident, got {other:?}"),
    }
}

/// Fixture `name`'s detection, re-targeted at IAM user `user` (whose ARN the emulator
/// assigned), with a fresh incident id so concurrent tests never share an incident.
pub fn detection_for(name: &str, user: &str, user_arn: &str) -> Detection {
    let mut d = fixture_detection(name);
    d.incident_id = unique("ct");
    d.principal = Some(Principal {
        kind: PrincipalKind::IamUser,
        name: Some(user.to_string()),
        arn: Some(user_arn.to_string()),
        account_id: Some(MOTO_ACCOUNT.into()),
        principal_id: None,
    });
    d
}

/// Open the incident of `detection` (raised by `event`) now, as the record task would.
pub async fn open_incident(store: &dyn IncidentStore, detection: &Detection, event: Value) {
    let incident = NewIncident::detected(detection.clone(), event, Utc::now());
    if let Err(e) = store.open(&incident).await {
        panic!("opening incident {} failed: {e}", detection.incident_id);
    }
}

/// The emulator named by `AWS_ENDPOINT_URL`. Panics with instructions if it is unset or
/// unreachable.
pub async fn moto() -> Moto {
    let endpoint = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(e) if !e.trim().is_empty() => e.trim().to_string(),
        _ => panic!(
            "this test needs the moto emulator, but AWS_ENDPOINT_URL is not set.\n{HOW_TO_RUN}"
        ),
    };
    let authority = endpoint
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(&endpoint)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let addrs: Vec<_> = match authority.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => panic!(
            "AWS_ENDPOINT_URL={endpoint} is not a host:port this test can reach ({e}).\n{HOW_TO_RUN}"
        ),
    };
    let reachable = addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "nothing answers at AWS_ENDPOINT_URL={endpoint}: is moto running?\n{HOW_TO_RUN}"
    );

    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        loader = loader.region(Region::new("us-east-1"));
    }
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "cordon-testing",
        ));
    }
    let config = loader.load().await;
    Moto {
        endpoint,
        aws: Aws::new(config.clone()),
        config,
    }
}

/// Panic with what failed, where a test's setup cannot go on.
fn setup<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{what} in moto failed: {e:?}"))
}

impl Moto {
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.aws.iam()
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        self.aws.sns()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.aws.dynamodb()
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        self.aws.sfn()
    }

    pub fn identity_store(&self) -> IamIdentityStore {
        self.aws.identity_store()
    }

    pub fn role_store(&self) -> crate::roles::IamRoleStore {
        self.aws.role_store()
    }

    pub fn policy_reader(&self) -> crate::policies::IamPolicyReader {
        self.aws.policy_reader()
    }

    pub fn credential_reports(&self) -> crate::credential_report::IamCredentialReports {
        self.aws.credential_reports()
    }

    pub fn notifier(&self) -> SnsNotifier {
        self.aws.notifier()
    }

    /// A fresh, uniquely named incident table (created and active).
    pub async fn incident_store(&self) -> DynamoIncidentStore {
        let name = unique("cordon-incidents");
        let client = self.dynamodb();
        if let Err(e) = create_table(&client, &name).await {
            panic!("creating table {name} in moto failed: {e}");
        }
        DynamoIncidentStore::new(client, name)
    }

    /// The failed sign-in counters in the same table as `incidents`.
    pub fn failure_counter(
        &self,
        incidents: &DynamoIncidentStore,
    ) -> crate::dynamo::failures::DynamoFailureCounter {
        self.aws.failure_counter(incidents.table_name())
    }

    /// The link store in the same table as `incidents`.
    pub fn link_store(&self, incidents: &DynamoIncidentStore) -> DynamoLinkStore {
        self.aws.link_store(incidents.table_name())
    }

    /// Create an IAM user `name` (no keys, no policies). Returns its ARN.
    pub async fn create_user(&self, name: &str) -> String {
        let out = setup(
            &format!("creating IAM user {name}"),
            self.iam().create_user().user_name(name).send().await,
        );
        out.user()
            .map(|u| u.arn().to_string())
            .unwrap_or_else(|| panic!("moto created user {name} but returned no user"))
    }

    /// `base`, or `base-<n>`: the first user name no IAM user has.
    pub async fn free_user_name(&self, base: &str) -> String {
        for n in 0..100 {
            let candidate = if n == 0 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            };
            let taken = self.iam().get_user().user_name(&candidate).send().await;
            if taken.is_err() {
                return candidate;
            }
        }
        panic!("could not find a free user name like {base}")
    }

    /// A new (active) access key for `user`. Returns its id.
    pub async fn create_access_key(&self, user: &str) -> String {
        let out = setup(
            &format!("creating an access key for {user}"),
            self.iam().create_access_key().user_name(user).send().await,
        );
        out.access_key()
            .map(|k| k.access_key_id().to_string())
            .unwrap_or_else(|| panic!("moto created a key for {user} but returned none"))
    }

    pub async fn set_access_key_status(&self, user: &str, key_id: &str, status: KeyStatus) {
        let status = match status {
            KeyStatus::Active => aws_sdk_iam::types::StatusType::Active,
            KeyStatus::Inactive => aws_sdk_iam::types::StatusType::Inactive,
        };
        setup(
            &format!("updating access key {key_id} of {user}"),
            self.iam()
                .update_access_key()
                .user_name(user)
                .access_key_id(key_id)
                .status(status)
                .send()
                .await,
        );
    }

    /// Give `user` a console password.
    pub async fn create_login_profile(&self, user: &str, password: &str) {
        setup(
            &format!("creating a login profile for {user}"),
            self.iam()
                .create_login_profile()
                .user_name(user)
                .password(password)
                .send()
                .await,
        );
    }

    /// A customer-managed policy. Returns its ARN.
    pub async fn create_policy(&self, name: &str, document: &str) -> String {
        let out = setup(
            &format!("creating policy {name}"),
            self.iam()
                .create_policy()
                .policy_name(name)
                .policy_document(document)
                .send()
                .await,
        );
        out.policy()
            .and_then(|p| p.arn())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("moto created policy {name} but returned no ARN"))
    }

    /// A deny-all customer-managed policy, uniquely named like the stack's quarantine
    /// policy (`<stack>-AutomatedSecurityQuarantine`). Returns its ARN.
    pub async fn quarantine_policy(&self) -> String {
        self.create_policy(
            &unique("cordon-AutomatedSecurityQuarantine"),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"CordonQuarantineDenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        )
        .await
    }

    pub async fn attach_user_policy(&self, user: &str, policy_arn: &str) {
        setup(
            &format!("attaching {policy_arn} to {user}"),
            self.iam()
                .attach_user_policy()
                .user_name(user)
                .policy_arn(policy_arn)
                .send()
                .await,
        );
    }

    /// The ARNs of the managed policies attached to `user`.
    pub async fn attached_policy_arns(&self, user: &str) -> Vec<String> {
        let out = setup(
            &format!("listing the policies attached to {user}"),
            self.iam()
                .list_attached_user_policies()
                .user_name(user)
                .send()
                .await,
        );
        out.attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    }

    /// Put `user` in a new group `group`.
    pub async fn add_to_new_group(&self, user: &str, group: &str) {
        setup(
            &format!("creating group {group}"),
            self.iam().create_group().group_name(group).send().await,
        );
        setup(
            &format!("adding {user} to {group}"),
            self.iam()
                .add_user_to_group()
                .group_name(group)
                .user_name(user)
                .send()
                .await,
        );
    }

    pub async fn tag_user(&self, user: &str, key: &str, value: &str) {
        let tag = setup(
            "building a tag",
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build(),
        );
        setup(
            &format!("tagging {user}"),
            self.iam().tag_user().user_name(user).tags(tag).send().await,
        );
    }

    /// A fresh SNS topic. Returns its ARN.
    pub async fn create_topic(&self) -> String {
        let name = unique("cordon-alerts");
        let out = setup(
            &format!("creating SNS topic {name}"),
            self.sns().create_topic().name(&name).send().await,
        );
        out.topic_arn()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("moto created topic {name} but returned no ARN"))
    }

    /// A fresh SQS queue subscribed to `topic_arn`, to read back what was published.
    pub async fn tap(&self, topic_arn: &str) -> Tap {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let name = unique("cordon-tap");
        let queue_url = setup(
            &format!("creating SQS queue {name}"),
            sqs.create_queue().queue_name(&name).send().await,
        )
        .queue_url
        .unwrap_or_else(|| panic!("moto created queue {name} but returned no URL"));
        let arn_attribute = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let queue_arn = setup(
            &format!("reading the ARN of {name}"),
            sqs.get_queue_attributes()
                .queue_url(&queue_url)
                .attribute_names(arn_attribute.clone())
                .send()
                .await,
        )
        .attributes
        .and_then(|mut a| a.remove(&arn_attribute))
        .unwrap_or_else(|| panic!("moto returned no ARN for queue {name}"));
        setup(
            &format!("subscribing {name} to {topic_arn}"),
            self.sns()
                .subscribe()
                .topic_arn(topic_arn)
                .protocol("sqs")
                .endpoint(&queue_arn)
                // The SNS envelope (subject, attributes, message id) is what tests check.
                .attributes("RawMessageDelivery", "false")
                .send()
                .await,
        );
        Tap { sqs, queue_url }
    }
}

/// An SQS queue subscribed to a topic: what the topic published, as SNS envelopes.
#[derive(Debug, Clone)]
pub struct Tap {
    sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Tap {
    /// The raw bodies (SNS envelope JSON) of up to 10 messages, waiting up to
    /// `wait_seconds` for the first.
    pub async fn receive(&self, wait_seconds: i32) -> Vec<String> {
        let out = setup(
            "receiving from the tap queue",
            self.sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(wait_seconds)
                .send()
                .await,
        );
        out.messages()
            .iter()
            .map(|m| m.body().unwrap_or_default().to_string())
            .collect()
    }
}
