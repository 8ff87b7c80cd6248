//! The template as the local stack deploys it: parsed once by [`cordon_template`], with its
//! intrinsics resolved against the local stack (its identity, the parameters' defaults, the
//! resources in the emulator, the functions named after their binaries, the approval pages'
//! URL). Each function gets exactly the environment the template gives it, and runs with
//! exactly the policies the template gives its role ([`LocalFunction::access`]): its AWS
//! calls are checked against them as AWS would check them.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use cordon_aws::access::{Access, CallLog, Encryption, Identity, Mode};
use cordon_core::iam::{Policy, PolicySet};
use cordon_template::{Template, Values};

use super::bootstrap::{ManagedPolicyDefinition, Resources};
use super::identity::{
    LOCAL_ACCOUNT, LOCAL_KEY_ID, LOCAL_PARTITION, LOCAL_REGION, LOCAL_STACK_NAME, function_arn,
    role_arn, state_machine_arn, state_machine_arn_named,
};
use super::workflow::Workflow;

/// Each function's environment, by its binary (the local function name).
pub type Environments = BTreeMap<String, BTreeMap<String, String>>;

/// A function as the local stack runs it: what the template gives it.
#[derive(Debug, Clone)]
pub struct LocalFunction {
    /// Its logical id in the template, e.g. `EnrichFunction`.
    pub logical_id: String,
    /// The cargo binary (the local function name), e.g. `cordon-enrich`.
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// Its role's policies, resolved, with the stack's encryption: install with
    /// `cordon_aws::Aws::with_access`.
    pub access: Access,
    /// How long one invocation may run (the template's `Timeout`): the local stack ends an
    /// invocation that runs longer with `Sandbox.Timedout`, as Lambda does.
    pub timeout: std::time::Duration,
    /// Its reserved concurrency (`ReservedConcurrentExecutions`): the local stack throttles
    /// an invocation beyond it with `TooManyRequestsException`, as Lambda does.
    pub reserved_concurrency: Option<u32>,
}

/// Every function, by binary.
pub type LocalFunctions = BTreeMap<String, LocalFunction>;

/// The template and what its `Ref`s and `GetAtt`s resolve to locally.
#[derive(Debug, Clone)]
pub struct LocalTemplate {
    pub template: Template,
    pub values: Values,
}

impl LocalTemplate {
    /// Reads the template at `path` with its parameters set to `parameters` (what
    /// `--response-policy` and `--parameter Name=Value` set), the others their defaults.
    pub fn load(
        path: &Path,
        parameters: &BTreeMap<String, String>,
    ) -> anyhow::Result<LocalTemplate> {
        let template =
            Template::load(path).with_context(|| format!("reading {}", path.display()))?;
        let mut values = Values::new(
            LOCAL_ACCOUNT,
            LOCAL_REGION,
            LOCAL_PARTITION,
            LOCAL_STACK_NAME,
        )
        .with_parameters(template.parameters(), parameters)
        .with_context(|| format!("the parameters of {}", path.display()))?;
        for function in template.functions() {
            if let Some(binary) = &function.binary {
                values.set_ref(&function.logical_id, binary);
                values.set_attribute(&function.logical_id, "Arn", function_arn(binary));
            }
            values.set_ref(function.role_logical_id(), role_name(&function.logical_id));
            // `!GetAtt <Function>Role.Arn` (Cordon's own roles, CORDON_OWN_ROLE_ARNS).
            values.set_attribute(
                function.role_logical_id(),
                "Arn",
                role_arn(&function.logical_id),
            );
        }
        // The local stack creates each state machine under its template `Name`, else the
        // incident machine's local name (the stack replaces it with the ARN the service
        // returns, which is the same).
        for machine in template.state_machines() {
            let arn = match local_machine_name(&template, &values, &machine.logical_id)? {
                Some(name) => state_machine_arn_named(&name),
                None => state_machine_arn(),
            };
            values.set_ref(&machine.logical_id, arn);
        }
        // The key exists only as a name here (see LOCAL_KEY_ID).
        for key in template.resources_of_kind("AWS::KMS::Key") {
            values.set_ref(&key.logical_id, LOCAL_KEY_ID);
            values.set_attribute(&key.logical_id, "Arn", key_arn(LOCAL_KEY_ID));
        }
        Ok(LocalTemplate { template, values })
    }

    /// Binds the template's table, topic and managed policies to the ones [`bootstrap`]
    /// created in the emulator (the template declares one table and one topic).
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
        let policies: Vec<String> = self
            .template
            .resources_of_kind("AWS::IAM::ManagedPolicy")
            .map(|r| r.logical_id.clone())
            .collect();
        for id in policies {
            let arn = resources
                .managed_policies
                .get(&id)
                .with_context(|| format!("the emulator has no policy for the template's {id}"))?;
            self.values.set_ref(&id, arn);
        }
        Ok(())
    }

    /// The template's customer-managed policies, resolved (what [`bootstrap`] creates).
    ///
    /// [`bootstrap`]: super::bootstrap::bootstrap
    pub fn managed_policies(&self) -> anyhow::Result<Vec<ManagedPolicyDefinition>> {
        self.template
            .resources_of_kind("AWS::IAM::ManagedPolicy")
            .map(|r| {
                let id = &r.logical_id;
                let name = r
                    .property("ManagedPolicyName")
                    .with_context(|| format!("{id} has no ManagedPolicyName"))?;
                let name = self
                    .values
                    .resolve_string(name)
                    .with_context(|| format!("the ManagedPolicyName of {id}"))?;
                let document = r
                    .property("PolicyDocument")
                    .with_context(|| format!("{id} has no PolicyDocument"))?;
                let document = self
                    .values
                    .resolve(document)
                    .with_context(|| format!("the PolicyDocument of {id}"))?;
                Ok(ManagedPolicyDefinition {
                    logical_id: id.clone(),
                    name,
                    document: document.to_string(),
                })
            })
            .collect()
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

    /// The function built from `binary`: its environment, and its access (its role's
    /// policies; calls refused in `mode`, logged in `log`).
    pub fn function(
        &self,
        binary: &str,
        mode: Mode,
        log: &CallLog,
    ) -> anyhow::Result<LocalFunction> {
        let function = self
            .template
            .function_by_binary(binary)
            .with_context(|| format!("the template has no function built from {binary}"))?;
        let resolved = self
            .template
            .function_policies(function, &self.values)
            .with_context(|| format!("the policies of {}", function.logical_id))?;
        let policies = resolved
            .iter()
            .map(|p| Policy::parse(&p.source, &p.document))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("the policies of {}", function.logical_id))?;
        let access = Access::new(
            &function.logical_id,
            role_arn(&function.logical_id),
            binary,
            PolicySet::new(policies),
            Self::identity(),
        )
        .with_encryption(self.encryption()?)
        .with_mode(mode)
        .with_log(log.clone());
        Ok(LocalFunction {
            logical_id: function.logical_id.clone(),
            binary: binary.to_owned(),
            environment: self.environment(binary)?,
            access,
            timeout: self
                .template
                .timeout_of(function, &self.values)
                .with_context(|| format!("the timeout of {}", function.logical_id))?,
            reserved_concurrency: self
                .template
                .reserved_concurrency_of(function, &self.values)
                .with_context(|| format!("the concurrency of {}", function.logical_id))?,
        })
    }

    /// Every function (see [`LocalTemplate::function`]).
    pub fn functions(&self, mode: Mode, log: &CallLog) -> anyhow::Result<LocalFunctions> {
        self.template
            .functions()
            .filter_map(|f| f.binary.as_deref())
            .map(|binary| Ok((binary.to_string(), self.function(binary, mode, log)?)))
            .collect()
    }

    /// Where the local stack's ARNs are.
    pub fn identity() -> Identity {
        Identity {
            partition: LOCAL_PARTITION.into(),
            region: LOCAL_REGION.into(),
            account: LOCAL_ACCOUNT.into(),
        }
    }

    /// The template's tables and topics encrypted with a KMS key, and their keys.
    pub fn encryption(&self) -> anyhow::Result<Vec<Encryption>> {
        let mut out = Vec::new();
        let kinds = [
            (
                "AWS::DynamoDB::Table",
                &["SSESpecification", "KMSMasterKeyId"][..],
                "Arn",
            ),
            ("AWS::SNS::Topic", &["KmsMasterKeyId"][..], ""),
        ];
        for (kind, key_path, attribute) in kinds {
            for resource in self.template.resources_of_kind(kind) {
                let Some(key) = resource.properties.path(key_path) else {
                    continue;
                };
                let id = &resource.logical_id;
                let key = self
                    .values
                    .resolve_string(key)
                    .with_context(|| format!("{id}: {}", key_path.join(".")))?;
                let resource = match attribute {
                    "" => self.values.ref_of(id),
                    attribute => self.values.attribute_of(id, attribute),
                }
                .with_context(|| format!("the local stack has no ARN for {id}"))?
                .to_owned();
                out.push(Encryption {
                    resource,
                    key: key_arn(&key),
                });
            }
        }
        Ok(out)
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

/// The `Name` a state machine has in the template, resolved (`!Sub ${AWS::StackName}-…`).
pub(super) fn local_machine_name(
    template: &Template,
    values: &Values,
    logical_id: &str,
) -> anyhow::Result<Option<String>> {
    let Some(name) = template
        .resource(logical_id)
        .and_then(|r| r.properties.get("Name"))
    else {
        return Ok(None);
    };
    Ok(Some(values.resolve_string(name).with_context(|| {
        format!("the Name of state machine {logical_id}")
    })?))
}

/// A role's name as SAM gives it in the local stack (without SAM's random suffix).
fn role_name(logical_id: &str) -> String {
    format!("{LOCAL_STACK_NAME}-{logical_id}Role")
}

/// A KMS key's ARN from what a `KMSMasterKeyId` holds: a key ARN, or a key id.
fn key_arn(key: &str) -> String {
    if key.starts_with("arn:") {
        key.to_owned()
    } else {
        format!("arn:{LOCAL_PARTITION}:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:key/{key}")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn local() -> LocalTemplate {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
        LocalTemplate::load(&path, &Default::default()).expect("the template")
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
                managed_policies: [
                    ("QuarantinePolicy", "arn:aws:iam::123456789012:policy/Q"),
                    ("ForceMfaPolicy", "arn:aws:iam::123456789012:policy/F"),
                ]
                .into_iter()
                .map(|(id, arn)| (id.to_string(), arn.to_string()))
                .collect(),
            })
            .expect("bound");
        // Before the approval pages run, only the functions that do not link to them resolve.
        assert!(local.environment("cordon-approval").is_ok());
        assert!(local.environment("cordon-notify").is_err());
        local.set_approval_url("http://127.0.0.1:1").expect("url");
        let environments = local.environments().expect("resolved");
        assert_eq!(environments.len(), 8);
        for (binary, env) in &environments {
            assert_eq!(env["CORDON_TABLE_NAME"], "t", "{binary}");
            assert_eq!(env["CORDON_APPROVAL_TIMEOUT_SECONDS"], "3600", "{binary}");
            assert_eq!(env["CORDON_ALLOWLISTED_ACTORS"], "", "{binary}");
            assert_eq!(env["CORDON_PROTECTED_PRINCIPALS"], "", "{binary}");
            assert_eq!(env["CORDON_RESPONSE_POLICY"], "{}", "{binary}");
            // Cordon's own roles by ARN, never a name pattern.
            let own = &env["CORDON_OWN_ROLE_ARNS"];
            assert!(!own.contains('*'), "{own}");
            assert!(own.contains(&role_arn("QuarantineFunction")), "{own}");
            assert!(own.contains(&role_arn("ApprovalFunction")), "{own}");
            assert_eq!(env["CORDON_ACCOUNT_ID"], LOCAL_ACCOUNT, "{binary}");
            assert_eq!(
                env.get("CORDON_APPROVAL_URL").is_some(),
                binary == "cordon-notify",
                "{binary}"
            );
            // The functions that contain know their own role from the template, not STS.
            let own = env.get("CORDON_FUNCTION_ROLE_ARN");
            match binary.as_str() {
                "cordon-enrich" => assert_eq!(own, Some(&role_arn("EnrichFunction"))),
                "cordon-quarantine" => assert_eq!(own, Some(&role_arn("QuarantineFunction"))),
                _ => assert_eq!(own, None, "{binary}"),
            }
        }
    }
}
