//! The local stack: Cordon's task handlers, in-process, against the AWS APIs named by
//! `AWS_ENDPOINT_URL` (moto), with the resources the SAM template would create.
//!
//! Each handler sees the same environment variables the template's `Globals` give the real
//! functions, and builds its dependencies the same way its `main` does.
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use cordon_core::TaskError;
use cordon_sfn_local::{InProcessLambda, LambdaError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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

/// The environment the template's `Globals` give every function, for these resources.
pub fn function_env(
    resources: &Resources,
    response_policy: Option<&str>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("CORDON_TABLE_NAME".into(), resources.table_name.clone());
    env.insert("CORDON_TOPIC_ARN".into(), resources.topic_arn.clone());
    env.insert(
        "CORDON_QUARANTINE_POLICY_ARN".into(),
        resources.quarantine_policy_arn.clone(),
    );
    env.insert(
        "CORDON_RESPONSE_POLICY".into(),
        response_policy.unwrap_or("{}").to_string(),
    );
    env.insert(
        "CORDON_OWN_ROLE_ARNS".into(),
        format!(
            "arn:aws:iam::{}:role/cordon-local-*",
            crate::functions::LOCAL_ACCOUNT
        ),
    );
    env
}

/// The workflow's task functions, by local function name (= cargo binary name).
pub const TASK_FUNCTIONS: &[&str] = &[
    "cordon-record",
    "cordon-enrich",
    "cordon-quarantine",
    "cordon-tag",
    "cordon-notify",
];

/// Registers the five task handlers under their binary names (the local function names),
/// each configured from `env` exactly as its `main` is configured from the process
/// environment.
pub fn register_handlers(
    lambdas: &InProcessLambda,
    sdk: &SdkConfig,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for function in TASK_FUNCTIONS {
        register_handler(lambdas, function, sdk, env)?;
    }
    Ok(())
}

/// Registers (or replaces) one task handler, configured from `env`.
pub fn register_handler(
    lambdas: &InProcessLambda,
    function: &str,
    sdk: &SdkConfig,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let lookup = |name: &str| env.get(name).cloned();
    let aws = &cordon_aws::Aws::new(sdk.clone());
    let clock = cordon_aws::system_clock();
    let context = || format!("configuring {function}");
    match function {
        "cordon-record" => {
            let config = cordon_record::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_record::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_record::handle(i, &d).await
            });
        }
        "cordon-enrich" => {
            let config = cordon_enrich::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_enrich::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_enrich::handle(i, &d).await
            });
        }
        "cordon-quarantine" => {
            let config = cordon_quarantine::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_quarantine::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_quarantine::handle(i, &d).await
            });
        }
        "cordon-tag" => {
            let config = cordon_tag::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_tag::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_tag::handle(i, &d).await
            });
        }
        "cordon-notify" => {
            let config = cordon_notify::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_notify::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_notify::handle(i, &d).await
            });
        }
        other => anyhow::bail!("{other} is not one of the workflow's task functions"),
    }
    Ok(())
}

/// Adapts a typed task handler to an in-process Lambda function: the payload is
/// deserialised as the Lambda runtime would, and a `TaskError` becomes a function error
/// whose `errorType` is its `Cordon.*` name.
fn register<I, O, D, F, Fut>(lambdas: &InProcessLambda, name: &str, deps: Arc<D>, f: F)
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    D: Send + Sync + 'static,
    F: Fn(I, Arc<D>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
{
    lambdas.register(name, move |payload: Value| {
        let deps = deps.clone();
        let f = f.clone();
        async move {
            let input: I = serde_json::from_value(payload).map_err(|e| {
                // What lambda_runtime reports when the payload does not fit the handler.
                LambdaError::new(
                    "lambda_runtime::deserializer::DeserializeError",
                    format!("failed to deserialize the incoming data into the function's payload type: {e}"),
                )
            })?;
            let output = f(input, deps)
                .await
                .map_err(|e| LambdaError::new(e.error_name(), e.to_string()))?;
            serde_json::to_value(output)
                .map_err(|e| LambdaError::new("Runtime.SerializationError", e.to_string()))
        }
    });
}

/// Options for [`LocalStack::start`].
#[derive(Debug, Clone)]
pub struct LocalStackOptions {
    /// `infra/template.yaml`: the workflow, its functions and the EventBridge rules.
    pub template: std::path::PathBuf,
    pub names: StackNames,
    /// The response policy JSON the functions get (`CORDON_RESPONSE_POLICY`).
    pub response_policy: Option<String>,
    /// The engine's SQLite file.
    pub db: std::path::PathBuf,
    /// Loopback port of the Step Functions API (0 picks a free one).
    pub sfn_port: u16,
    /// Loopback port of the approval pages (0 picks a free one).
    pub approval_port: u16,
}

impl LocalStackOptions {
    /// Defaults for a checkout rooted at `root`.
    pub fn for_checkout(root: &std::path::Path) -> Self {
        LocalStackOptions {
            template: root.join("infra/template.yaml"),
            names: StackNames::default(),
            response_policy: None,
            db: root.join(".cordon/sfn.sqlite"),
            sfn_port: 0,
            approval_port: 0,
        }
    }
}

/// The running local stack: the durable Step Functions service with Cordon's handlers
/// in-process, the incident state machine created from the template, and the template's
/// EventBridge rules.
pub struct LocalStack {
    pub sdk: SdkConfig,
    pub resources: Resources,
    pub sfn: cordon_sfn_local::ServiceHandle,
    /// An aws-sdk-sfn client pointed at the local service.
    pub sfn_client: aws_sdk_sfn::Client,
    /// The approval and release pages (what the Function URL serves on AWS).
    pub approval: cordon_approval::LocalApprovalServer,
    pub state_machine_arn: String,
    pub workflow: crate::functions::Workflow,
    pub rules: Vec<cordon_eventbridge::Rule>,
    pub lambdas: InProcessLambda,
}

/// An execution an event started.
#[derive(Debug, Clone)]
pub struct Started {
    pub rule: String,
    pub execution_arn: String,
}

impl LocalStack {
    /// Bootstraps the emulator (named by `AWS_ENDPOINT_URL`), starts the engine service and
    /// creates (or updates) the incident state machine.
    pub async fn start(options: &LocalStackOptions) -> anyhow::Result<LocalStack> {
        let sdk = cordon_aws::load_sdk_config().await;
        let resources = bootstrap(&sdk, &options.names).await?;

        // Everything a resumed execution may call must be registered before the engine
        // starts, because starting it resumes executions saved in the database. So: fix
        // the engine's port, start the approval endpoint (which calls back into the
        // engine), register the handlers (whose emails link to the approval endpoint),
        // and only then start the engine.
        if let Some(dir) = options.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let sfn_port = match options.sfn_port {
            0 => free_port()?,
            port => port,
        };
        let sfn_client = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&sdk)
                .endpoint_url(format!("http://127.0.0.1:{sfn_port}"))
                .build(),
        );

        let mut env = function_env(&resources, options.response_policy.as_deref());
        let lookup = |name: &str| env.get(name).cloned();
        let approval_config =
            cordon_approval::Config::from_lookup(&lookup).context("configuring cordon-approval")?;
        let mut approval_deps = cordon_approval::Deps::build(
            approval_config,
            &cordon_aws::Aws::new(sdk.clone()),
            cordon_aws::system_clock(),
        );
        approval_deps.callbacks = Arc::new(cordon_aws::SfnTaskCallbacks::new(sfn_client.clone()));
        let approval = cordon_approval::serve_local(approval_deps, options.approval_port)
            .await
            .context("starting the local approval endpoint")?;
        env.insert("CORDON_APPROVAL_URL".into(), approval.url.clone());
        let lambdas = InProcessLambda::new();
        register_handlers(&lambdas, &sdk, &env)?;

        let sfn = cordon_sfn_local::serve(
            cordon_sfn_local::ServiceConfig::new(options.db.clone())
                .with_port(sfn_port)
                .with_lambda(Arc::new(lambdas.clone())),
        )
        .await
        .context("starting the local Step Functions service")?;

        let workflow = crate::functions::Workflow::from_template(&options.template)?;
        let definition = workflow.local_definition()?;
        let state_machine_arn =
            upsert_state_machine(&sfn_client, "cordon-incident", &definition).await?;
        let rules = cordon_eventbridge::load_rules(&options.template).with_context(|| {
            format!(
                "reading the EventBridge rules of {}",
                options.template.display()
            )
        })?;
        Ok(LocalStack {
            sdk,
            resources,
            sfn,
            sfn_client,
            approval,
            state_machine_arn,
            workflow,
            rules,
            lambdas,
        })
    }

    /// Delivers `event` as EventBridge would: every enabled rule whose pattern matches and
    /// that targets the incident state machine starts one execution with the event as input.
    /// An empty result means no rule matched; the caller must say so, never drop it silently.
    pub async fn put_event(&self, event: &Value) -> anyhow::Result<Vec<Started>> {
        let mut started = Vec::new();
        for rule in cordon_eventbridge::route(&self.rules, event) {
            if !rule
                .target_logical_ids()
                .contains(&self.workflow.logical_id.as_str())
            {
                continue;
            }
            let out = self
                .sfn_client
                .start_execution()
                .state_machine_arn(&self.state_machine_arn)
                // EventBridge names executions itself; a fresh id per delivery.
                .name(uuid::Uuid::new_v4().to_string())
                .input(event.to_string())
                .send()
                .await
                .with_context(|| format!("starting an execution for rule {}", rule.logical_id))?;
            started.push(Started {
                rule: rule.logical_id.clone(),
                execution_arn: out.execution_arn,
            });
        }
        Ok(started)
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

async fn upsert_state_machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
) -> anyhow::Result<String> {
    let role = format!(
        "arn:aws:iam::{}:role/cordon-local-state-machine",
        crate::functions::LOCAL_ACCOUNT
    );
    let existing = client
        .list_state_machines()
        .send()
        .await
        .context("listing state machines")?
        .state_machines
        .into_iter()
        .find(|m| m.name == name);
    match existing {
        Some(m) => {
            client
                .update_state_machine()
                .state_machine_arn(&m.state_machine_arn)
                .definition(definition)
                .send()
                .await
                .context("updating the incident state machine")?;
            Ok(m.state_machine_arn)
        }
        None => Ok(client
            .create_state_machine()
            .name(name)
            .role_arn(role)
            .definition(definition)
            .send()
            .await
            .context("creating the incident state machine")?
            .state_machine_arn),
    }
}
