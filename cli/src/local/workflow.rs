//! The incident workflow on the local engine: the template's state machine with its
//! definition substituted as CloudFormation would, created (or updated) in the local Step
//! Functions service, and the EventBridge target that starts it.
use anyhow::{Context, bail};
use async_trait::async_trait;
use cordon_eventbridge::{Event, Target, TargetError};
use cordon_template::{Call, Template, Values};

use super::identity::LOCAL_ACCOUNT;

/// The incident state machine as the template deploys it.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The state machine's logical id in the template (what EventBridge rules target).
    pub logical_id: String,
    /// The binaries of the functions its `DefinitionSubstitutions` name, in template order.
    pub function_binaries: Vec<String>,
    /// The definition, every `${Placeholder}` substituted.
    pub definition: String,
}

impl Workflow {
    /// The incident state machine: the one `AWS::Serverless::StateMachine` of `template`
    /// that its EventBridge rules start, substituted with `values`.
    pub fn from_template(template: &Template, values: &Values) -> anyhow::Result<Workflow> {
        let rules = cordon_eventbridge::Rules::from_template(template, values)?.rules;
        let targeted = |id: &str| {
            rules
                .iter()
                .flat_map(|r| &r.targets)
                .any(|t| t.logical_id() == Some(id))
        };
        let mut machines = template
            .state_machines()
            .filter(|m| targeted(&m.logical_id));
        let machine = machines
            .next()
            .context("no AWS::Serverless::StateMachine of the template is an EventBridge target")?;
        if machines.next().is_some() {
            bail!("the rules target more than one state machine; the local stack runs one");
        }
        Self::of(template, values, &machine.logical_id)
    }

    /// The state machine `logical_id` of `template`, substituted with `values`.
    pub fn of(template: &Template, values: &Values, logical_id: &str) -> anyhow::Result<Workflow> {
        let machine = template
            .state_machines()
            .find(|m| m.logical_id == logical_id)
            .with_context(|| format!("the template has no state machine {logical_id}"))?;
        let function_binaries = machine
            .definition_substitutions
            .iter()
            .filter_map(|(_, value)| match &value.as_intrinsic()?.call {
                Call::GetAtt { logical_id, .. } => template.function(logical_id)?.binary.clone(),
                _ => None,
            })
            .collect();
        Ok(Workflow {
            logical_id: machine.logical_id.clone(),
            function_binaries,
            definition: template.definition(machine, values)?,
        })
    }

    /// The binaries (local function names) of the functions it invokes.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.function_binaries.iter().map(String::as_str)
    }
}

/// Creates the state machine `name` with `definition` in the local service, or updates it;
/// returns its ARN.
pub(super) async fn upsert_state_machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
) -> anyhow::Result<String> {
    let role = format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/cordon-local-state-machine");
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
                .with_context(|| format!("updating the state machine {name}"))?;
            Ok(m.state_machine_arn)
        }
        None => Ok(client
            .create_state_machine()
            .name(name)
            .role_arn(role)
            .definition(definition)
            .send()
            .await
            .with_context(|| format!("creating the state machine {name}"))?
            .state_machine_arn),
    }
}

/// The EventBridge target "start an execution of the state machine", with the event as its
/// input, as a rule's Step Functions target does.
pub(super) struct StartExecution {
    pub client: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
}

#[async_trait]
impl Target for StartExecution {
    async fn deliver(&self, event: &Event) -> Result<String, TargetError> {
        self.client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            // EventBridge names executions itself; a fresh id per delivery.
            .name(uuid::Uuid::new_v4().to_string())
            .input(event.text())
            .send()
            .await
            .map(|out| out.execution_arn)
            .map_err(|e| {
                TargetError(format!(
                    "starting an execution: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                ))
            })
    }
}
