//! The template as the local stack deploys it: parsed once by [`cordon_template`], with its
//! intrinsics resolved against the local stack (its identity, the parameters' defaults, the
//! resources in the emulator, the functions named after their binaries, the approval pages'
//! URL). Each function gets exactly the environment the template gives it.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use cordon_template::{Template, Values};

use super::bootstrap::Resources;
use super::identity::{
    LOCAL_ACCOUNT, LOCAL_PARTITION, LOCAL_REGION, LOCAL_STACK_NAME, function_arn,
};
use super::workflow::Workflow;

/// Each function's environment, by its binary (the local function name).
pub type Environments = BTreeMap<String, BTreeMap<String, String>>;

/// The template and what its `Ref`s and `GetAtt`s resolve to locally.
#[derive(Debug, Clone)]
pub struct LocalTemplate {
    pub template: Template,
    pub values: Values,
}

impl LocalTemplate {
    /// Reads the template at `path`; its `ResponsePolicy` parameter is `response_policy`
    /// when given (what `--response-policy` sets), the other parameters their defaults.
    pub fn load(path: &Path, response_policy: Option<&str>) -> anyhow::Result<LocalTemplate> {
        let template =
            Template::load(path).with_context(|| format!("reading {}", path.display()))?;
        let mut parameters = BTreeMap::new();
        if let Some(policy) = response_policy {
            parameters.insert("ResponsePolicy".to_string(), policy.to_string());
        }
        let mut values = Values::new(
            LOCAL_ACCOUNT,
            LOCAL_REGION,
            LOCAL_PARTITION,
            LOCAL_STACK_NAME,
        )
        .with_parameters(template.parameters(), &parameters)
        .with_context(|| format!("the parameters of {}", path.display()))?;
        for function in template.functions() {
            if let Some(binary) = &function.binary {
                values.set_ref(&function.logical_id, binary);
                values.set_attribute(&function.logical_id, "Arn", function_arn(binary));
            }
        }
        Ok(LocalTemplate { template, values })
    }

    /// Binds the template's table, topic and quarantine policy to the ones [`bootstrap`]
    /// created in the emulator (the template declares one of each).
    ///
    /// [`bootstrap`]: super::bootstrap::bootstrap
    pub fn bind_resources(&mut self, resources: &Resources) -> anyhow::Result<()> {
        let table = self.only("AWS::DynamoDB::Table")?;
        self.values.set_ref(&table, &resources.table_name);
        self.values.set_attribute(
            &table,
            "Arn",
            format!(
                "arn:{LOCAL_PARTITION}:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}:table/{}",
                resources.table_name
            ),
        );
        let topic = self.only("AWS::SNS::Topic")?;
        self.values.set_ref(&topic, &resources.topic_arn);
        if let Some((_, name)) = resources.topic_arn.rsplit_once(':') {
            self.values.set_attribute(&topic, "TopicName", name);
        }
        let policy = self.only("AWS::IAM::ManagedPolicy")?;
        self.values
            .set_ref(&policy, &resources.quarantine_policy_arn);
        Ok(())
    }

    /// Binds the approval function's URL (`!GetAtt <Function>Url.FunctionUrl`) to `url`.
    pub fn set_approval_url(&mut self, url: &str) -> anyhow::Result<()> {
        let id = self
            .template
            .function_by_binary("cordon-approval")
            .and_then(|f| f.url_logical_id())
            .context("the template has no cordon-approval function with a Function URL")?;
        self.values.set_attribute(id, "FunctionUrl", url);
        Ok(())
    }

    /// The environment of the function built from `binary`: the template's `Globals`
    /// merged with its own variables, resolved.
    pub fn environment(&self, binary: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let function = self
            .template
            .function_by_binary(binary)
            .with_context(|| format!("the template has no function built from {binary}"))?;
        Ok(self.template.resolved_environment(function, &self.values)?)
    }

    /// Every function's environment.
    pub fn environments(&self) -> anyhow::Result<Environments> {
        self.template
            .functions()
            .filter_map(|f| f.binary.as_deref())
            .map(|binary| Ok((binary.to_string(), self.environment(binary)?)))
            .collect()
    }

    /// The incident state machine, its definition substituted with the local function ARNs.
    pub fn workflow(&self) -> anyhow::Result<Workflow> {
        Workflow::from_template(&self.template, &self.values)
    }

    /// The template's EventBridge rules with an event pattern, as the local stack deploys
    /// them: `!Ref AWS::AccountId` in a pattern is the local account, so the local bus, like
    /// AWS, routes only the stack's own account's events.
    pub fn rules(&self) -> anyhow::Result<Vec<cordon_eventbridge::Rule>> {
        Ok(cordon_eventbridge::Rules::from_template(&self.template, &self.values)?.rules)
    }

    /// The logical id of the one resource of type `kind`.
    fn only(&self, kind: &str) -> anyhow::Result<String> {
        let mut found = self.template.resources_of_kind(kind);
        match (found.next(), found.next()) {
            (Some(r), None) => Ok(r.logical_id.clone()),
            (None, _) => bail!("the template declares no {kind}; the local stack creates one"),
            (Some(_), Some(_)) => {
                bail!("the template declares several {kind}; the local stack creates one")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn local() -> LocalTemplate {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
        LocalTemplate::load(&path, None).expect("the template")
    }

    #[test]
    fn the_rules_route_only_the_local_accounts_events() {
        let rules = local()
            .rules()
            .expect("the rules resolve against the local stack");
        assert!(!rules.is_empty());
        for rule in &rules {
            assert_eq!(
                rule.pattern.source()["account"],
                serde_json::json!([LOCAL_ACCOUNT]),
                "{}",
                rule.logical_id
            );
        }
    }

    #[test]
    fn reads_the_five_task_functions_from_the_template() {
        let workflow = local().workflow().expect("the workflow");
        let binaries: Vec<_> = workflow.functions().collect();
        for expected in [
            "cordon-record",
            "cordon-enrich",
            "cordon-quarantine",
            "cordon-tag",
            "cordon-notify",
        ] {
            assert!(binaries.contains(&expected), "{expected} in {binaries:?}");
        }
    }

    #[test]
    fn substitutes_every_placeholder_with_a_local_arn() {
        let definition = local().workflow().expect("the workflow").definition;
        assert!(!definition.contains("${"));
        assert!(
            definition.contains("arn:aws:lambda:us-east-1:123456789012:function:cordon-quarantine")
        );
    }

    #[test]
    fn every_function_gets_the_globals_and_only_notify_the_approval_url() {
        let mut local = local();
        local
            .bind_resources(&Resources {
                table_name: "t".into(),
                topic_arn: "arn:aws:sns:us-east-1:123456789012:topic".into(),
                tap_queue_url: "http://q".into(),
                quarantine_policy_arn: "arn:aws:iam::123456789012:policy/Q".into(),
            })
            .expect("bound");
        // Before the approval pages run, only the functions that do not link to them resolve.
        assert!(local.environment("cordon-approval").is_ok());
        assert!(local.environment("cordon-notify").is_err());
        local.set_approval_url("http://127.0.0.1:1").expect("url");
        let environments = local.environments().expect("resolved");
        assert_eq!(environments.len(), 7);
        for (binary, env) in &environments {
            assert_eq!(env["CORDON_TABLE_NAME"], "t", "{binary}");
            assert_eq!(env["CORDON_APPROVAL_TIMEOUT_SECONDS"], "3600", "{binary}");
            assert_eq!(env["CORDON_ALLOWLISTED_ACTORS"], "", "{binary}");
            assert_eq!(env["CORDON_PROTECTED_PRINCIPALS"], "", "{binary}");
            assert_eq!(env["CORDON_RESPONSE_POLICY"], "{}", "{binary}");
            assert_eq!(
                env["CORDON_OWN_ROLE_ARNS"],
                "arn:aws:iam::123456789012:role/cordon-local-*"
            );
            assert_eq!(env["CORDON_ACCOUNT_ID"], LOCAL_ACCOUNT, "{binary}");
            assert_eq!(
                env.get("CORDON_APPROVAL_URL").is_some(),
                binary == "cordon-notify",
                "{binary}"
            );
        }
    }
}
