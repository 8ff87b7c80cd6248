//! The local stack: Cordon's task handlers, in-process, against the AWS APIs named by
//! `AWS_ENDPOINT_URL` (moto), with the resources the SAM template would create, the
//! durable Step Functions service running the incident state machine, the approval pages,
//! and the template's EventBridge rules on a local bus.
//!
//! - `identity.rs`: the account, region and stack name the local stack pretends to be;
//! - `bootstrap.rs`: the template's resources in the emulator;
//! - `template.rs`: the template, resolved against the local stack (each function's
//!   environment, exactly as the template gives it);
//! - `handlers.rs`: the in-process task handlers;
//! - `workflow.rs`: the state machine in the local service, and the bus target that starts it;
//! - `up.rs`: `cordon local up`.
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use cordon_eventbridge::{Bus, Event};
use cordon_sfn_local::InProcessLambda;
use serde_json::Value;

mod bootstrap;
pub mod browser;
pub mod delivery;
pub mod endpoint;
mod handlers;
mod identity;
mod template;
pub mod up;
mod workflow;

pub use bootstrap::{ManagedPolicyDefinition, Resources, StackNames, bootstrap};
pub use handlers::{
    TASK_FUNCTIONS, approval_deps, register_handler, register_handlers, release_deps,
};
pub use identity::{
    LOCAL_ACCOUNT, LOCAL_KEY_ID, LOCAL_PARTITION, LOCAL_REGION, LOCAL_STACK_NAME,
    LOCAL_STATE_MACHINE, function_arn, role_arn, state_machine_arn,
};
pub use template::{Environments, LocalFunction, LocalFunctions, LocalTemplate};
pub use workflow::Workflow;

/// Options for [`LocalStack::start`].
#[derive(Debug, Clone)]
pub struct LocalStackOptions {
    /// `infra/template.yaml`: the workflow, its functions and the EventBridge rules.
    pub template: std::path::PathBuf,
    pub names: StackNames,
    /// Template parameter values (`--parameter Name=Value`, as `sam deploy
    /// --parameter-overrides`); the others take their defaults. A name the template does
    /// not declare is refused when the stack starts.
    pub parameters: std::collections::BTreeMap<String, String>,
    /// The engine's SQLite file.
    pub db: std::path::PathBuf,
    /// Loopback port of the Step Functions API (0 picks a free one).
    pub sfn_port: u16,
    /// Loopback port of the approval pages (0 picks a free one).
    pub approval_port: u16,
    /// Run against whatever AWS endpoint the environment names, even a real account
    /// (`--aws`); by default the stack refuses anything but an emulator on loopback.
    pub allow_aws: bool,
    /// What a function's call that its policies do not allow does: refused as on AWS
    /// (`Enforce`, the default), or only logged (`Record`).
    pub access_mode: cordon_aws::access::Mode,
}

impl LocalStackOptions {
    /// The response policy JSON the functions get (the template's `ResponsePolicy`
    /// parameter, `CORDON_RESPONSE_POLICY`; what `--response-policy` sets).
    pub fn set_response_policy(&mut self, policy: impl Into<String>) {
        self.parameters
            .insert("ResponsePolicy".to_string(), policy.into());
    }

    /// Defaults for a checkout rooted at `root`.
    pub fn for_checkout(root: &std::path::Path) -> Self {
        LocalStackOptions {
            template: root.join("infra/template.yaml"),
            names: StackNames::default(),
            parameters: Default::default(),
            db: root.join(".cordon/sfn.sqlite"),
            sfn_port: 0,
            approval_port: 0,
            allow_aws: false,
            access_mode: cordon_aws::access::Mode::Enforce,
        }
    }

    /// Defaults for the checkout whose template is `template` (`<root>/infra/template.yaml`).
    pub fn for_template(template: std::path::PathBuf) -> Self {
        let root = template
            .parent()
            .and_then(|infra| infra.parent())
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        LocalStackOptions {
            template,
            ..Self::for_checkout(&root)
        }
    }
}

/// The running local stack: the durable Step Functions service with Cordon's handlers
/// in-process, the incident state machine created from the template, and the template's
/// EventBridge rules on a bus whose target starts it.
pub struct LocalStack {
    pub sdk: SdkConfig,
    pub resources: Resources,
    pub sfn: cordon_sfn_local::ServiceHandle,
    /// An aws-sdk-sfn client pointed at the local service.
    pub sfn_client: aws_sdk_sfn::Client,
    /// The approval and release pages (what the Function URL serves on AWS).
    pub approval: cordon_approval::LocalApprovalServer,
    pub state_machine_arn: String,
    /// The template's other state machines (logical id, ARN): the release workflow.
    pub other_state_machines: Vec<(String, String)>,
    pub workflow: Workflow,
    /// The template as deployed locally: every `Ref`/`GetAtt` it makes resolves.
    pub template: LocalTemplate,
    /// The template's rules, delivering to the incident state machine.
    pub bus: Arc<Bus>,
    pub lambdas: InProcessLambda,
    /// Every AWS call the functions made, with how their policies decided it.
    pub calls: cordon_aws::access::CallLog,
    /// What the PutEvents API's AWS-service delivery path requires ([`delivery`]); also
    /// written next to the database for `cordon simulate`.
    pub delivery_token: String,
}

/// What an execution has done so far ([`LocalStack::progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The states entered, in order.
    pub entered: Vec<String>,
    /// `(error, cause)` if the execution failed.
    pub failure: Option<(String, String)>,
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
        endpoint::ensure_local("the local stack", options.allow_aws)?;
        let mut template = LocalTemplate::load(&options.template, &options.parameters)?;
        // The functions' timeouts, as on AWS (`cordon_aws::function_timeouts`).
        let sdk = cordon_aws::load_sdk_config()
            .await
            .into_builder()
            .timeout_config(cordon_aws::function_timeouts())
            .build();
        let resources = bootstrap(&sdk, &options.names, &template.managed_policies()?).await?;
        template.bind_resources(&resources)?;

        // Everything a resumed execution may call must be registered before the engine
        // starts, because starting it resumes executions saved in the database. So: fix
        // the engine's port, start the approval endpoint (which calls back into the
        // engine), register the handlers (whose emails link to the approval endpoint),
        // and only then start the engine.
        if let Some(dir) = options.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let delivery_token = delivery::create_token(&delivery::token_file(&options.db))?;
        let sfn_port = match options.sfn_port {
            0 => cordon_loopback::free_port().context("finding a free loopback port")?,
            port => port,
        };
        let sfn_client = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&sdk)
                .endpoint_url(format!("http://127.0.0.1:{sfn_port}"))
                .build(),
        );

        let calls = cordon_aws::access::CallLog::new();
        let approval_function =
            template.function("cordon-approval", options.access_mode, &calls)?;
        let approval_deps = approval_deps(
            &sdk,
            &approval_function,
            &format!("http://127.0.0.1:{sfn_port}"),
        )?;
        let approval = cordon_approval::serve_local(approval_deps, options.approval_port)
            .await
            .context("starting the local approval endpoint")?;
        template.set_approval_url(&approval.url)?;
        let lambdas = InProcessLambda::new();
        register_handlers(
            &lambdas,
            &sdk,
            &template.functions(options.access_mode, &calls)?,
        )?;

        let sfn = cordon_sfn_local::serve(
            cordon_sfn_local::ServiceConfig::new(options.db.clone())
                .with_port(sfn_port)
                .with_lambda(Arc::new(lambdas.clone())),
        )
        .await
        .context("starting the local Step Functions service")?;

        let workflow = template.workflow()?;
        // Under the template's Name (`<stack>-incidents`), which the tamper detections
        // recognise its executions by.
        let name = template::local_machine_name(
            &template.template,
            &template.values,
            &workflow.logical_id,
        )?
        .unwrap_or_else(|| LOCAL_STATE_MACHINE.to_string());
        let state_machine_arn =
            workflow::upsert_state_machine(&sfn_client, &name, &workflow.definition).await?;
        template
            .values
            .set_ref(&workflow.logical_id, &state_machine_arn);
        // The template's other state machines (the release workflow a release link
        // starts), under their template names, which the approval function is told.
        let others: Vec<String> = template
            .template
            .state_machines()
            .map(|m| m.logical_id.clone())
            .filter(|id| *id != workflow.logical_id)
            .collect();
        let mut other_state_machines = Vec::new();
        for logical_id in others {
            let machine = Workflow::of(&template.template, &template.values, &logical_id)?;
            let name =
                template::local_machine_name(&template.template, &template.values, &logical_id)?
                    .with_context(|| format!("state machine {logical_id} has no Name"))?;
            let arn =
                workflow::upsert_state_machine(&sfn_client, &name, &machine.definition).await?;
            other_state_machines.push((logical_id, arn));
        }
        let rules = template.rules().with_context(|| {
            format!(
                "reading the EventBridge rules of {}",
                options.template.display()
            )
        })?;
        let start_incident = workflow::StartExecution {
            client: sfn_client.clone(),
            state_machine_arn: state_machine_arn.clone(),
        };
        let bus =
            Arc::new(Bus::new(rules).with_target(&workflow.logical_id, Arc::new(start_incident)));
        Ok(LocalStack {
            sdk,
            resources,
            sfn,
            sfn_client,
            approval,
            state_machine_arn,
            other_state_machines,
            workflow,
            template,
            bus,
            lambdas,
            calls,
            delivery_token,
        })
    }

    /// Delivers `event` (an EventBridge envelope) as EventBridge would: every enabled rule
    /// whose pattern matches and that targets the incident state machine starts one
    /// execution with the event as input. An empty result means no rule matched; the caller
    /// must say so, never drop it silently.
    pub async fn put_event(&self, event: &Value) -> anyhow::Result<Vec<Started>> {
        let event = Event::from_json(event.clone())?;
        let deliveries = self.bus.put(&event).await?;
        Ok(deliveries
            .into_iter()
            .map(|d| Started {
                rule: d.rule,
                execution_arn: d.receipt,
            })
            .collect())
    }

    /// What an execution has done so far: the states it entered, in order, and how it
    /// failed if it did (read from its history, as the console's graph view does).
    pub async fn progress(&self, execution_arn: &str) -> anyhow::Result<Progress> {
        let history = self
            .sfn_client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .send()
            .await
            .with_context(|| format!("reading the history of {execution_arn}"))?;
        let events = history.events();
        Ok(Progress {
            entered: events
                .iter()
                .filter_map(|e| e.state_entered_event_details())
                .map(|d| d.name().to_string())
                .collect(),
            failure: events
                .iter()
                .find_map(|e| e.execution_failed_event_details())
                .map(|d| {
                    (
                        d.error().unwrap_or_default().to_string(),
                        d.cause().unwrap_or_default().to_string(),
                    )
                }),
        })
    }

    /// The stack's settings as `export` lines (`CORDON_STACK`, `CORDON_STACK_*`): what
    /// `cordon local up` prints, so the operator commands find this stack.
    pub fn exports(&self) -> Vec<String> {
        crate::stack::exports(
            LOCAL_STACK_NAME,
            &[
                (
                    crate::stack::TABLE_OUTPUT,
                    self.resources.table_name.as_str(),
                ),
                (
                    crate::stack::TOPIC_OUTPUT,
                    self.resources.topic_arn.as_str(),
                ),
                (
                    crate::stack::STATE_MACHINE_OUTPUT,
                    self.state_machine_arn.as_str(),
                ),
                (
                    crate::stack::APPROVAL_URL_OUTPUT,
                    self.approval.url.as_str(),
                ),
                (
                    crate::stack::QUARANTINE_POLICY_OUTPUT,
                    self.resources.quarantine_policy_arn.as_str(),
                ),
            ]
            .into_iter()
            .chain(
                self.other_state_machines
                    .iter()
                    .filter(|(id, _)| id == crate::stack::RELEASE_STATE_MACHINE)
                    .map(|(_, arn)| (crate::stack::RELEASE_STATE_MACHINE_OUTPUT, arn.as_str())),
            )
            .collect::<Vec<_>>(),
        )
    }

    /// The logical ids of the template's rules, in template order.
    pub fn rule_names(&self) -> Vec<&str> {
        self.bus
            .rules()
            .iter()
            .map(|r| r.logical_id.as_str())
            .collect()
    }
}
