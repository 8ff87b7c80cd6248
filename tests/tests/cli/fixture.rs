//! One local stack for every CLI test, on its own runtime, with incidents made by real
//! workflow runs: one per disposition (ignore, notify, approve, auto), two waiting for a
//! decision (one to approve, one to reject), one contained to release, one failed to
//! replay, one stopped at RecordFailure to redrive. The `cordon` binary then runs against
//! it as an operator runs it: a separate process, configured only by the exports
//! `cordon local up` prints.
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate;
use cordon_aws::access::Mode;
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::unique;
use cordon_core::model::IncidentStatus;
use cordon_sfn_local::{InProcessLambda, InvokeRequest, LambdaBackend, LambdaError};
use serde_json::{Value, json};

/// Every wait is bounded by this.
pub const WAIT: Duration = Duration::from_secs(90);

/// The incidents the fixture made, by what they are for.
#[derive(Debug, Clone)]
pub struct Incidents {
    pub ignored: String,
    pub notified: String,
    pub contained: String,
    pub to_approve: String,
    pub to_reject: String,
    pub to_release: String,
    pub failed: String,
    pub stopped: String,
    /// The execution that stopped at RecordFailure.
    pub stopped_execution: String,
}

pub struct Fixture {
    rt: tokio::runtime::Runtime,
    pub stack: Arc<LocalStack>,
    pub incidents: Incidents,
    /// The exports `cordon local up` prints, and the endpoints.
    pub env: Vec<(String, String)>,
    pub bin: PathBuf,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

/// The shared fixture (set up by the first test that asks).
pub fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(Fixture::start)
}

/// The `cordon` binary, built as the operator builds it.
fn cordon_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .current_dir(cordon_tests::workspace_root())
        .args(["build", "--quiet", "-p", "cordon", "--bin", "cordon"])
        .status()
        .expect("running cargo build");
    assert!(built.success(), "cargo build -p cordon failed");
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> → target/<profile>/cordon
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("cordon");
    assert!(bin.exists(), "no cordon binary at {}", bin.display());
    bin
}

impl Fixture {
    fn start() -> Fixture {
        let bin = cordon_binary();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let record_failures = Arc::new(AtomicU32::new(0));
        let (stack, incidents) = rt.block_on(setup(record_failures));
        let mut env: Vec<(String, String)> = stack
            .exports()
            .iter()
            .filter_map(|line| line.strip_prefix("export "))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("AWS_ENDPOINT_URL_SFN".into(), stack.sfn.endpoint()));
        Fixture {
            rt,
            stack,
            incidents,
            env,
            bin,
        }
    }

    /// Runs `future` on the fixture's runtime (where the stack's clients live).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// `cordon <args>` with the stack's exports, as an operator runs it.
    pub fn cordon(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command.env_remove("COLUMNS");
        command.output().expect("running cordon")
    }

    /// `cordon <args>`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cordon(args);
        assert!(
            out.status.success(),
            "cordon {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// `cordon <args> --output json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// `cordon <args>`, which must fail; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cordon(args);
        assert!(
            !out.status.success(),
            "cordon {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("UTF-8 output")
    }

    pub fn store(&self) -> cordon_aws::DynamoIncidentStore {
        cordon_aws::Aws::new(self.stack.sdk.clone())
            .incident_store(self.stack.resources.table_name.clone())
    }

    /// The incident's status now.
    pub fn status(&self, incident: &str) -> IncidentStatus {
        self.block_on(async { self.store().get(incident).await })
            .expect("reading the incident")
            .unwrap_or_else(|| panic!("no incident {incident}"))
            .status
    }

    /// Waits until the incident has `status`.
    pub fn wait_for_status(&self, incident: &str, status: IncidentStatus) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let now = self.status(incident);
            if now == status {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "incident {incident} is {now:?}, never {status:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The notifications of `kind` about `incident` on the topic so far (read from the
    /// stack's tap without consuming: visibility 0).
    pub fn notifications(&self, incident: &str, kind: &str) -> usize {
        self.block_on(count_notifications(&self.stack, incident, kind))
    }
}

async fn count_notifications(stack: &LocalStack, incident: &str, kind: &str) -> usize {
    // Every test's notifications share the tap queue, and a receive returns up to 10. The
    // queue is read whole: each message received is hidden until the read ends (so the
    // next receive returns new ones), then made visible again for the next reader; one
    // reader at a time.
    static READING: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    let _one = READING
        .get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue = &stack.resources.tap_queue_url;
    let mut handles = Vec::new();
    let mut count = 0;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .expect("reading the tap");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            handles.extend(m.receipt_handle.clone());
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
            let attr = |k: &str| {
                envelope["MessageAttributes"][k]["Value"]
                    .as_str()
                    .map(str::to_string)
            };
            if attr("incident_id").as_deref() == Some(incident)
                && attr("kind").as_deref() == Some(kind)
            {
                count += 1;
            }
        }
    }
    for handle in handles {
        sqs.change_message_visibility()
            .queue_url(queue)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .expect("making a tap message visible again");
    }
    count
}

/// Re-registers enrich with a response policy giving `iam.user-created` `disposition`.
fn set_disposition(stack: &LocalStack, disposition: &str) {
    let mut enrich = stack
        .template
        .function("cordon-enrich", Mode::Enforce, &stack.calls)
        .expect("the enrich function");
    enrich.environment.insert(
        "CORDON_RESPONSE_POLICY".into(),
        json!({"rules": {"iam.user-created": {"disposition": disposition}}}).to_string(),
    );
    cordon::local::register_handler(&stack.lambdas, &enrich, &stack.sdk).expect("enrich");
}

/// Quarantine as the template configures it, or without its table (every invocation
/// then fails with `Cordon.Config`, which the workflow catches).
fn set_quarantine_broken(stack: &LocalStack, broken: bool) {
    let mut quarantine = stack
        .template
        .function("cordon-quarantine", Mode::Enforce, &stack.calls)
        .expect("the quarantine function");
    if broken {
        quarantine.environment.remove("CORDON_TABLE_NAME");
    }
    cordon::local::register_handler(&stack.lambdas, &quarantine, &stack.sdk).expect("quarantine");
}

/// Record, failing `action = fail` while `failures` is above zero (with a permanent
/// error, so the uncaught RecordFailure stops the execution where a redrive resumes).
fn wrap_record(stack: &LocalStack, failures: Arc<AtomicU32>) {
    let record = stack
        .template
        .function("cordon-record", Mode::Enforce, &stack.calls)
        .expect("the record function");
    let real = InProcessLambda::new();
    cordon::local::register_handler(&real, &record, &stack.sdk).expect("record");
    stack
        .lambdas
        .register("cordon-record", move |payload: Value| {
            let real = real.clone();
            let failures = failures.clone();
            async move {
                if payload["action"] == "fail"
                    && failures
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    return Err(LambdaError::new(
                        "Cordon.Aws",
                        "AWS call dynamodb:UpdateItem failed (ResourceNotFoundException): injected",
                    ));
                }
                let out = real
                    .invoke(InvokeRequest {
                        function_name: "cordon-record".into(),
                        function_ref: "cordon-record".into(),
                        qualifier: None,
                        payload,
                    })
                    .await;
                match out {
                    Ok(out) => Ok(out.payload),
                    Err(cordon_sfn_local::InvokeError::Function(e)) => Err(e),
                    Err(e) => Err(LambdaError::new("Lambda.ServiceException", e.to_string())),
                }
            }
        });
}

/// A backdoor user created by a fresh compromised user, and its CloudTrail event put to
/// the stack: the incident id and its execution.
async fn attack(stack: &LocalStack) -> (String, String) {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let attacker =
        simulate::Attacker::create(&iam, cordon::local::LOCAL_ACCOUNT, &unique("cli-attacker"))
            .await
            .expect("creating the attacker");
    let created = simulate::create_backdoor_user(&iam, &unique("cli-backdoor"))
        .await
        .expect("creating the backdoor user");
    let event = simulate::create_user_event(&attacker, &created, chrono::Utc::now());
    let started = stack.put_event(&event).await.expect("putting the event");
    assert_eq!(started.len(), 1, "one rule, one execution: {started:?}");
    let incident = format!(
        "ct-{}",
        event["detail"]["eventID"].as_str().expect("an eventID")
    );
    (incident, started[0].execution_arn.clone())
}

/// A new incident (disposition `auto`), for tests that watch one happen.
pub async fn new_incident(stack: &LocalStack) -> String {
    attack(stack).await.0
}

/// Waits until the execution is no longer running, or has entered `state`.
async fn settle(stack: &LocalStack, execution: &str, state: Option<&str>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(state) = state {
            let progress = stack.progress(execution).await.expect("history");
            if progress.entered.iter().any(|s| s == state) {
                return;
            }
        }
        let described = stack
            .sfn_client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("DescribeExecution");
        if described.status.as_str() != "RUNNING" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{execution} still running after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn setup(record_failures: Arc<AtomicU32>) -> (Arc<LocalStack>, Incidents) {
    cordon_aws::testing::moto().await;
    let db_dir = std::env::temp_dir().join(unique("cordon-cli-db"));
    let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
    options.names = StackNames {
        table: unique("cordon-cli"),
        topic: unique("cordon-cli"),
        tap_queue: unique("cordon-cli-tap"),
    };
    options.db = db_dir.join("sfn.sqlite");
    let stack = Arc::new(
        LocalStack::start(&options)
            .await
            .unwrap_or_else(|e| panic!("starting the local stack: {e:#}")),
    );
    wrap_record(&stack, record_failures.clone());

    let run = async |disposition: &str, until: Option<&str>| {
        set_disposition(&stack, disposition);
        let (incident, execution) = attack(&stack).await;
        settle(&stack, &execution, until).await;
        (incident, execution)
    };
    let (ignored, _) = run("ignore", None).await;
    let (notified, _) = run("notify", None).await;
    let (contained, _) = run("auto", None).await;
    let (to_release, _) = run("auto", None).await;
    let (to_approve, _) = run("approve", Some("RequestApproval")).await;
    let (to_reject, _) = run("approve", Some("RequestApproval")).await;
    set_quarantine_broken(&stack, true);
    let (failed, _) = run("auto", None).await;
    record_failures.store(1, Ordering::SeqCst);
    let (stopped, stopped_execution) = run("auto", None).await;
    set_quarantine_broken(&stack, false);
    set_disposition(&stack, "auto");
    let incidents = Incidents {
        ignored,
        notified,
        contained,
        to_approve,
        to_reject,
        to_release,
        failed,
        stopped,
        stopped_execution,
    };
    (stack, incidents)
}
