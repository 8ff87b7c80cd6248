//! Which table, topic, state machine and approval URL a command uses: the named stack's
//! CloudFormation outputs, or the same outputs from the environment.
//!
//! `cordon local up` prints them as exports: `CORDON_STACK=<name>` and one
//! `CORDON_STACK_<OUTPUT>` per output ([`env_name`]: `IncidentTableName` →
//! `CORDON_STACK_INCIDENT_TABLE_NAME`). When `CORDON_STACK` names the selected stack, the
//! environment is the only source (nothing asks CloudFormation, which an emulator may not
//! serve); otherwise the outputs come from `DescribeStacks`.
use cordon_aws::StackOutputs;
use cordon_aws::stack::{Outputs, StackError};

use crate::errors::{self, Problem};

/// The template's outputs the CLI reads.
pub const TABLE_OUTPUT: &str = "IncidentTableName";
pub const TOPIC_OUTPUT: &str = "IncidentTopicArn";
pub const STATE_MACHINE_OUTPUT: &str = "StateMachineArn";
pub const APPROVAL_URL_OUTPUT: &str = "ApprovalUrl";
pub const QUARANTINE_POLICY_OUTPUT: &str = "QuarantinePolicyArn";
pub const RELEASE_STATE_MACHINE_OUTPUT: &str = "ReleaseStateMachineArn";
/// The release workflow's logical id in the template.
pub const RELEASE_STATE_MACHINE: &str = "ReleaseStateMachine";

/// Every output the CLI reads, in the order `cordon local up` prints them.
pub const OUTPUTS: &[&str] = &[
    TABLE_OUTPUT,
    TOPIC_OUTPUT,
    STATE_MACHINE_OUTPUT,
    APPROVAL_URL_OUTPUT,
    QUARANTINE_POLICY_OUTPUT,
    RELEASE_STATE_MACHINE_OUTPUT,
];

/// The variable naming the stack the `CORDON_STACK_*` variables describe.
pub const STACK_ENV: &str = "CORDON_STACK";

/// `IncidentTableName` → `CORDON_STACK_INCIDENT_TABLE_NAME`.
pub fn env_name(output: &str) -> String {
    let mut name = String::from("CORDON_STACK_");
    for (i, c) in output.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Where the settings came from (said in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `CORDON_STACK` and `CORDON_STACK_*`.
    Environment,
    /// The stack's outputs in this Region.
    CloudFormation { region: String },
}

/// A stack's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    pub stack: String,
    pub source: Source,
    pub outputs: Outputs,
}

impl StackSettings {
    /// The settings from the environment, if `CORDON_STACK` names `stack`.
    pub fn from_env(
        stack: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<StackSettings>> {
        if env(STACK_ENV).as_deref().map(str::trim) != Some(stack) {
            return Ok(None);
        }
        let values = OUTPUTS
            .iter()
            .filter_map(|o| {
                let v = env(&env_name(o))?.trim().to_string();
                (!v.is_empty()).then(|| (o.to_string(), v))
            })
            .collect();
        Ok(Some(StackSettings {
            stack: stack.to_string(),
            source: Source::Environment,
            outputs: Outputs {
                stack_name: stack.to_string(),
                status: None,
                values,
            },
        }))
    }

    /// The settings from the stack's CloudFormation outputs.
    pub async fn from_stack(
        stacks: &dyn StackOutputs,
        stack: &str,
        region: &str,
    ) -> anyhow::Result<StackSettings> {
        let outputs = stacks.outputs(stack).await.map_err(|e| match e {
            StackError::NotFound { .. } => Problem::new(
                format!("stack {stack} does not exist in Region {region}"),
                "pass --region where it is deployed (Cordon's main stack lives in us-east-1) or \
                 --stack with its name (`aws cloudformation list-stacks`); for the local stack, \
                 export what `cordon local up` printed",
            )
            .into(),
            StackError::Aws(e) => errors::aws(e, &format!("reading the outputs of stack {stack}")),
        })?;
        Ok(StackSettings {
            stack: stack.to_string(),
            source: Source::CloudFormation {
                region: region.to_string(),
            },
            outputs,
        })
    }

    /// A required output, or an error saying where it should have come from.
    pub fn require(&self, output: &str) -> anyhow::Result<&str> {
        self.outputs.get(output).ok_or_else(|| {
            let (what, todo) = match &self.source {
                Source::Environment => (
                    format!(
                        "{STACK_ENV}={} is set, but {} is not",
                        self.stack,
                        env_name(output)
                    ),
                    format!(
                        "export every line `cordon local up` printed, or unset {STACK_ENV} to \
                         read the stack's outputs from CloudFormation"
                    ),
                ),
                Source::CloudFormation { region } => (
                    format!(
                        "stack {} in {region} has no {output} output (is it a Cordon stack?)",
                        self.stack
                    ),
                    "deploy infra/template.yaml (`sam deploy`) or pass --stack with Cordon's stack"
                        .to_string(),
                ),
            };
            Problem::new(what, todo).into()
        })
    }

    pub fn table(&self) -> anyhow::Result<&str> {
        self.require(TABLE_OUTPUT)
    }

    pub fn state_machine_arn(&self) -> anyhow::Result<&str> {
        self.require(STATE_MACHINE_OUTPUT)
    }

    pub fn quarantine_policy_arn(&self) -> Option<&str> {
        self.outputs.get(QUARANTINE_POLICY_OUTPUT)
    }

    /// The variables a function reads (`CORDON_TABLE_NAME`, …), for the handlers the CLI
    /// runs in process (release, the approval decision).
    pub fn function_env(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut env = vec![("CORDON_TABLE_NAME".to_string(), self.table()?.to_string())];
        if let Some(policy) = self.quarantine_policy_arn() {
            env.push(("CORDON_QUARANTINE_POLICY_ARN".into(), policy.to_string()));
        }
        // Release announces on the topic; the approval decision names the release workflow.
        for (output, variable) in [
            (TOPIC_OUTPUT, "CORDON_TOPIC_ARN"),
            (
                RELEASE_STATE_MACHINE_OUTPUT,
                "CORDON_RELEASE_STATE_MACHINE_ARN",
            ),
        ] {
            if let Some(value) = self.outputs.get(output) {
                env.push((variable.into(), value.to_string()));
            }
        }
        Ok(env)
    }
}

/// The `export` lines for `stack`'s settings (what `cordon local up` prints).
pub fn exports(stack: &str, outputs: &[(&str, &str)]) -> Vec<String> {
    let mut lines = vec![format!("export {STACK_ENV}={stack}")];
    for (output, value) in outputs {
        lines.push(format!("export {}={value}", env_name(output)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use cordon_aws::fakes::FakeStackOutputs;

    use super::*;

    #[test]
    fn output_keys_become_variable_names() {
        assert_eq!(
            env_name("IncidentTableName"),
            "CORDON_STACK_INCIDENT_TABLE_NAME"
        );
        assert_eq!(
            env_name("StateMachineArn"),
            "CORDON_STACK_STATE_MACHINE_ARN"
        );
        assert_eq!(env_name("ApprovalUrl"), "CORDON_STACK_APPROVAL_URL");
    }

    #[test]
    fn the_environment_describes_only_the_stack_it_names() {
        let vars = HashMap::from([
            ("CORDON_STACK".to_string(), "cordon-local".to_string()),
            (
                "CORDON_STACK_INCIDENT_TABLE_NAME".to_string(),
                "cordon-incidents".to_string(),
            ),
        ]);
        let env = |k: &str| vars.get(k).cloned();
        let local = StackSettings::from_env("cordon-local", &env)
            .expect("reads")
            .expect("describes cordon-local");
        assert_eq!(local.table().expect("table"), "cordon-incidents");
        let missing = local.state_machine_arn().expect_err("not exported");
        let problem = missing.downcast_ref::<Problem>().expect("a problem");
        assert!(
            problem.what.contains("CORDON_STACK_STATE_MACHINE_ARN"),
            "{problem}"
        );
        assert_eq!(StackSettings::from_env("prod", &env).expect("reads"), None);
    }

    #[tokio::test]
    async fn outputs_come_from_the_named_stack() {
        let stacks = FakeStackOutputs::new().with_stack(
            "cordon",
            &[
                ("IncidentTableName", "cordon-IncidentTable-1"),
                (
                    "StateMachineArn",
                    "arn:aws:states:us-east-1:1:stateMachine:x",
                ),
            ],
        );
        let settings = StackSettings::from_stack(&stacks, "cordon", "us-east-1")
            .await
            .expect("found");
        assert_eq!(settings.table().expect("table"), "cordon-IncidentTable-1");
        assert!(settings.quarantine_policy_arn().is_none());
        let err = settings
            .require(APPROVAL_URL_OUTPUT)
            .expect_err("no such output");
        assert!(
            err.to_string().contains("has no ApprovalUrl output"),
            "{err}"
        );

        let err = StackSettings::from_stack(&stacks, "cordn", "eu-west-1")
            .await
            .expect_err("no such stack");
        let problem = err.downcast_ref::<Problem>().expect("a problem");
        assert_eq!(
            problem.what,
            "stack cordn does not exist in Region eu-west-1"
        );
        assert!(problem.todo.contains("--region"), "{problem}");
        assert_eq!(stacks.asked(), ["cordon", "cordn"]);
    }
}
