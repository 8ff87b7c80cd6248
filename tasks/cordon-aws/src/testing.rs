//! Shared setup for emulator-backed tests (feature `testing`).
//!
//! Tests that need moto call [`moto`]. It reads `AWS_ENDPOINT_URL` and **panics with
//! instructions** if it is unset or nothing answers there: an emulator-backed test never
//! passes by skipping. Every helper creates uniquely named resources ([`unique`]), so tests
//! can run concurrently against one moto.
//!
//! Panicking is deliberate here: this module is only for tests.
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::store::create_table;
use crate::{DynamoIncidentStore, IamIdentityStore, SnsNotifier};

const HOW_TO_RUN: &str = "Run the suite with `cargo xtask test` (it starts moto on a free port and \
exports AWS_ENDPOINT_URL, AWS_REGION and test credentials), or start moto yourself:\n  \
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p 5011 &\n  \
export AWS_ENDPOINT_URL=http://127.0.0.1:5011 AWS_REGION=us-east-1 \
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing";

/// A connection to the emulator.
#[derive(Debug, Clone)]
pub struct Moto {
    pub endpoint: String,
    pub config: SdkConfig,
}

/// `prefix-<8 random hex digits>`: a name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
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

/// One fixture event, parsed (`name` with or without `.json`).
pub fn fixture(name: &str) -> serde_json::Value {
    let file = if name.ends_with(".json") {
        name.to_string()
    } else {
        format!("{name}.json")
    };
    let path = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
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
    Moto {
        endpoint,
        config: loader.load().await,
    }
}

impl Moto {
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

    pub fn identity_store(&self) -> IamIdentityStore {
        IamIdentityStore::new(self.iam())
    }

    pub fn notifier(&self) -> SnsNotifier {
        SnsNotifier::new(self.sns())
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

    /// Create an IAM user `name` (no keys, no policies). Returns its ARN.
    pub async fn create_user(&self, name: &str) -> String {
        match self.iam().create_user().user_name(name).send().await {
            Ok(out) => out
                .user()
                .map(|u| u.arn().to_string())
                .unwrap_or_else(|| panic!("moto created user {name} but returned no user")),
            Err(e) => panic!("creating IAM user {name} in moto failed: {e:?}"),
        }
    }

    /// A fresh SNS topic. Returns its ARN.
    pub async fn create_topic(&self) -> String {
        let name = unique("cordon-alerts");
        match self.sns().create_topic().name(&name).send().await {
            Ok(out) => out
                .topic_arn()
                .map(str::to_string)
                .unwrap_or_else(|| panic!("moto created topic {name} but returned no ARN")),
            Err(e) => panic!("creating SNS topic {name} in moto failed: {e:?}"),
        }
    }
}
