//! One isolated local stack per test: uniquely named table, topic and tap queue in moto,
//! the real handlers in-process, the real ASL (substituted as the template deploys it), and
//! the engine on a virtual clock. Faults are injected at the Lambda boundary only, so every
//! handler that runs is the real one.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use cordon::local::{LocalFunctions, LocalTemplate, Resources, StackNames};
use cordon_aws::DynamoIncidentStore;
use cordon_aws::incidents::{IncidentRecord, IncidentStore};
use cordon_core::TaskError;
use cordon_engine::{
    Clock, Definition, Execution, ExecutionStatus, RunOutcome, Runtime, StartOptions,
    UnresolvedDispatcher, VirtualClock,
};
use cordon_sfn_local::{
    InProcessLambda, InvokeError, InvokeOutput, InvokeRequest, LambdaBackend, LambdaDispatcher,
    LambdaError,
};
use serde_json::Value;

/// An error a function returns instead of running.
#[derive(Clone)]
pub struct Injected(LambdaError);

impl Injected {
    pub fn transient(operation: &str, message: &str) -> Self {
        Self::from(TaskError::transient(operation, message))
    }

    pub fn permanent(operation: &str, code: &str, message: &str) -> Self {
        Self::from(TaskError::Aws {
            operation: operation.into(),
            code: code.into(),
            message: message.into(),
        })
    }

    fn from(e: TaskError) -> Self {
        Injected(LambdaError::new(e.error_name(), e.to_string()))
    }

    /// A function that fails without an error type (killed, out of memory): Step Functions
    /// names it `Lambda.Unknown`.
    pub fn crash(message: &str) -> Self {
        Injected(LambdaError::new("", message))
    }
}

/// Counts invocations per function and fails the next `remaining` ones where asked.
#[derive(Default)]
struct Faults {
    calls: HashMap<String, u32>,
    inject: HashMap<String, (u32, Injected)>,
}

struct FaultInjector {
    inner: InProcessLambda,
    faults: Arc<Mutex<Faults>>,
}

#[async_trait]
impl LambdaBackend for FaultInjector {
    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeOutput, InvokeError> {
        let injected = {
            let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            *faults.calls.entry(req.function_name.clone()).or_default() += 1;
            match faults.inject.get_mut(&req.function_name) {
                Some((remaining, error)) if *remaining > 0 => {
                    *remaining -= 1;
                    Some(error.0.clone())
                }
                _ => None,
            }
        };
        match injected {
            Some(e) => Err(InvokeError::Function(e)),
            None => self.inner.invoke(req).await,
        }
    }
}

/// A simulated attack: the backdoor user really exists in moto.
pub struct Case {
    pub event: Value,
    pub user: String,
}

/// An SNS message as the tap queue received it.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

impl Message {
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.get(name).cloned()
    }
}

pub struct Harness {
    pub sdk: SdkConfig,
    pub resources: Resources,
    pub clock: Arc<VirtualClock>,
    /// Each function's environment and policies, as the template gives them (calls the
    /// policies do not allow are refused, as on AWS).
    functions: LocalFunctions,
    lambdas: InProcessLambda,
    faults: Arc<Mutex<Faults>>,
    definition: Arc<Definition>,
    runtime: Runtime,
    received: Mutex<Vec<Message>>,
}

impl Harness {
    pub async fn new(response_policy: Option<&str>) -> Harness {
        let moto = cordon_aws::testing::moto().await;
        let sdk = moto.config.clone();
        let names = StackNames {
            table: cordon_aws::testing::unique("cordon-wf"),
            topic: cordon_aws::testing::unique("cordon-wf"),
            tap_queue: cordon_aws::testing::unique("cordon-wf-tap"),
        };
        let template_path = cordon_tests::workspace_root().join("infra/template.yaml");
        let parameters = response_policy
            .map(|p| [("ResponsePolicy".to_string(), p.to_string())].into())
            .unwrap_or_default();
        let mut template = LocalTemplate::load(&template_path, &parameters)
            .unwrap_or_else(|e| panic!("reading the template: {e:#}"));
        let resources = cordon::local::bootstrap(
            &sdk,
            &names,
            &template
                .managed_policies()
                .unwrap_or_else(|e| panic!("{e:#}")),
        )
        .await
        .unwrap_or_else(|e| panic!("bootstrapping the stack in moto: {e:#}"));
        template
            .bind_resources(&resources)
            .unwrap_or_else(|e| panic!("binding the template to the stack: {e:#}"));
        template
            .set_approval_url("http://127.0.0.1:9/approvals")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let calls = cordon_aws::access::CallLog::new();
        let functions = template
            .functions(cordon_aws::access::Mode::Enforce, &calls)
            .unwrap_or_else(|e| panic!("the functions: {e:#}"));
        let lambdas = InProcessLambda::new();
        cordon::local::register_handlers(&lambdas, &sdk, &functions)
            .unwrap_or_else(|e| panic!("registering the handlers: {e:#}"));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let backend = FaultInjector {
            inner: lambdas.clone(),
            faults: faults.clone(),
        };
        let dispatcher = LambdaDispatcher::new(
            Arc::new(backend),
            Arc::new(UnresolvedDispatcher),
            cordon::local::LOCAL_REGION,
            cordon::local::LOCAL_ACCOUNT,
        );
        let workflow = template.workflow().expect("the workflow");
        let definition = Definition::parse(&workflow.definition)
            .unwrap_or_else(|e| panic!("the incident ASL is invalid: {e}"));
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
        let runtime = Runtime::new(Arc::new(dispatcher), clock.clone());
        Harness {
            sdk,
            resources,
            clock,
            functions,
            lambdas,
            faults,
            definition: Arc::new(definition),
            runtime,
            received: Mutex::new(Vec::new()),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn store(&self) -> DynamoIncidentStore {
        cordon_aws::Aws::new(self.sdk.clone()).incident_store(self.resources.table_name.clone())
    }

    /// Re-registers `function` with one environment variable changed.
    pub fn reconfigure(&self, function: &str, key: &str, value: &str) {
        let mut reconfigured = self.functions[function].clone();
        reconfigured.environment.insert(key.into(), value.into());
        cordon::local::register_handler(&self.lambdas, &reconfigured, &self.sdk)
            .unwrap_or_else(|e| panic!("reconfiguring {function}: {e:#}"));
    }

    pub fn inject(&self, function: &str, times: u32, error: Injected) {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.inject.insert(function.into(), (times, error));
    }

    pub fn clear_injection(&self, function: &str) {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.inject.remove(function);
    }

    pub fn calls(&self, function: &str) -> u32 {
        let faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.calls.get(function).copied().unwrap_or(0)
    }

    /// Creates a uniquely named backdoor user in moto and the CloudTrail event for it.
    pub async fn backdoor_user_event(&self) -> Case {
        let iam = aws_sdk_iam::Client::new(&self.sdk);
        let user = cordon_aws::testing::unique("support-admin");
        let created = cordon::simulate::create_backdoor_user(&iam, &user)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let attacker = cordon::simulate::Attacker::jdoe(
            cordon::local::LOCAL_ACCOUNT,
            "AKIASIIC13IR9CP5I5N9",
            "AIDATKH17R74G9JS70Z8W",
        );
        let event = cordon::simulate::create_user_event(&attacker, &created, chrono::Utc::now());
        Case { event, user }
    }

    pub fn start(&self, event: &Value) -> Execution {
        Execution::start(
            self.definition.clone(),
            event.clone(),
            StartOptions::default(),
            &self.runtime,
        )
        .unwrap_or_else(|e| panic!("starting the execution: {e}"))
    }

    pub async fn finish(&self, ex: &mut Execution) -> ExecutionStatus {
        match ex.run_until_finished(&self.runtime).await {
            RunOutcome::Finished(status) => status,
            parked => panic!(
                "the execution did not finish: {parked:?}\n{}",
                self.history_summary(ex)
            ),
        }
    }

    /// Runs until the workflow waits for a human, and returns the pending task token.
    pub async fn park_for_approval(&self, ex: &mut Execution) -> String {
        let outcome = ex.run_until_parked(&self.runtime).await;
        assert!(
            matches!(
                outcome,
                RunOutcome::Parked {
                    awaiting_callbacks: 1,
                    ..
                }
            ),
            "expected to wait for an approval: {outcome:?}\n{}",
            self.history_summary(ex)
        );
        assert_eq!(
            self.states_entered(ex).last().map(String::as_str),
            Some("RequestApproval")
        );
        let tokens = ex.pending_task_tokens();
        assert_eq!(tokens.len(), 1);
        tokens[0].clone()
    }

    fn history_json(ex: &Execution) -> Vec<Value> {
        ex.history()
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect()
    }

    pub fn states_entered(&self, ex: &Execution) -> Vec<String> {
        cordon_tests::states_entered(&Self::history_json(ex))
    }

    pub fn count_events(&self, ex: &Execution, event_type: &str) -> usize {
        Self::history_json(ex)
            .iter()
            .filter(|e| e["type"].as_str() == Some(event_type))
            .count()
    }

    pub fn history_summary(&self, ex: &Execution) -> String {
        Self::history_json(ex)
            .iter()
            .map(|e| {
                let name = e["stateEnteredEventDetails"]["name"].as_str().unwrap_or("");
                let failure = e
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.values())
                    .find(|v| v.get("error").is_some())
                    .map(|v| {
                        format!(
                            "{} {}",
                            v["error"].as_str().unwrap_or(""),
                            v["cause"].as_str().unwrap_or("")
                        )
                    })
                    .unwrap_or_default();
                format!("{} {name} {failure}", e["type"].as_str().unwrap_or("?"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn attachment_count(&self, user: &str) -> usize {
        let iam = aws_sdk_iam::Client::new(&self.sdk);
        iam.list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("list attached policies")
            .attached_policies()
            .iter()
            .filter(|p| p.policy_arn() == Some(self.resources.quarantine_policy_arn.as_str()))
            .count()
    }

    pub async fn has_quarantine_policy(&self, user: &str) -> bool {
        self.attachment_count(user).await > 0
    }

    pub async fn user_tags(&self, user: &str) -> BTreeMap<String, String> {
        let iam = aws_sdk_iam::Client::new(&self.sdk);
        iam.list_user_tags()
            .user_name(user)
            .send()
            .await
            .expect("list user tags")
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    pub async fn record(&self, case: &Case) -> IncidentRecord {
        let event_id = case.event["detail"]["eventID"].as_str().expect("eventID");
        let id = cordon_core::incident::incident_id_for_event(event_id);
        self.store()
            .get(&id)
            .await
            .expect("reading the incident")
            .unwrap_or_else(|| panic!("incident {id} is not in the table"))
    }

    pub async fn timeline_steps(&self, incident_id: &str) -> Vec<String> {
        self.store()
            .timeline(incident_id)
            .await
            .expect("reading the timeline")
            .into_iter()
            .map(|e| e.step)
            .collect()
    }

    /// Every message published for `incident_id`, read back through the tap queue.
    pub async fn published_for(&self, incident_id: &str) -> Vec<Message> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        loop {
            let out = sqs
                .receive_message()
                .queue_url(&self.resources.tap_queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive from the tap queue");
            let batch = out.messages.unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
            for m in batch {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).expect("SNS envelope");
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v["Value"].as_str().map(|s| (k.clone(), s.to_string())))
                    .collect();
                received.push(Message {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    body: envelope["Message"].as_str().unwrap_or_default().to_string(),
                    attributes,
                });
            }
        }
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        received
            .iter()
            .filter(|m| m.attribute("incident_id").as_deref() == Some(incident_id))
            .cloned()
            .collect()
    }

    #[allow(dead_code)]
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

// ---------------------------------------------------------------- failures and replays

impl Harness {
    /// The same CloudTrail event again, as a replay starts it: a new execution with the
    /// original input.
    pub fn replay(&self, event: &Value) -> Execution {
        self.start(event)
    }

    /// Runs a redrive of a failed execution to its end.
    pub async fn redrive(&self, ex: &mut Execution) -> ExecutionStatus {
        ex.redrive(&self.runtime)
            .unwrap_or_else(|e| panic!("the execution is not redrivable: {e}"));
        self.finish(ex).await
    }

    /// The incident table goes away (deleted, or its key disabled): every read and write
    /// fails as DynamoDB fails them.
    pub async fn take_the_table_down(&self) {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .delete_table()
            .table_name(&self.resources.table_name)
            .send()
            .await
            .expect("delete the incident table");
    }

    /// The incident table is back, empty.
    pub async fn bring_the_table_back(&self) {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        cordon_aws::dynamo::create_table(&client, &self.resources.table_name)
            .await
            .expect("recreate the incident table");
    }

    /// The incident id a CloudTrail event is recorded under.
    pub fn incident_id(&self, case: &Case) -> String {
        let event_id = case.event["detail"]["eventID"].as_str().expect("eventID");
        cordon_core::incident::incident_id_for_event(event_id)
    }

    /// The `kind` attribute of every message published for `incident_id`, in order.
    pub async fn kinds_published_for(&self, incident_id: &str) -> Vec<String> {
        self.published_for(incident_id)
            .await
            .into_iter()
            .filter_map(|m| m.attribute("kind"))
            .collect()
    }

    /// The one failure message published for `incident_id`.
    pub async fn failure_message(&self, incident_id: &str) -> Message {
        let failures: Vec<Message> = self
            .published_for(incident_id)
            .await
            .into_iter()
            .filter(|m| m.attribute("kind").as_deref() == Some("failure"))
            .collect();
        assert_eq!(failures.len(), 1, "one failure message: {failures:#?}");
        failures.into_iter().next().expect("one")
    }
}
