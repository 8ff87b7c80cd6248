//! What the SAM template says about the workflow's functions, read from
//! `infra/template.yaml` so the local stack never drifts from what is deployed.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_yaml_ng::Value as Yaml;

/// The account and region the local stack pretends to be.
pub const LOCAL_ACCOUNT: &str = "123456789012";
pub const LOCAL_REGION: &str = "us-east-1";

/// One Lambda function of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The template's logical id, e.g. `RecordFunction`.
    pub logical_id: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`), e.g. `cordon-record`; also the
    /// local function name.
    pub binary: String,
}

impl Function {
    /// The ARN the local stack gives this function.
    pub fn local_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{}",
            self.binary
        )
    }
}

/// The incident state machine as the template deploys it.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The state machine's logical id in the template (what EventBridge rules target).
    pub logical_id: String,
    /// `DefinitionSubstitutions` placeholder → the function it names.
    pub substitutions: BTreeMap<String, Function>,
    /// The ASL path, resolved against the template's folder.
    pub definition_path: std::path::PathBuf,
}

impl Workflow {
    /// Reads the single `AWS::Serverless::StateMachine` of `template`.
    pub fn from_template(template: &Path) -> anyhow::Result<Workflow> {
        let text = std::fs::read_to_string(template)
            .with_context(|| format!("reading {}", template.display()))?;
        let doc: Yaml = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("parsing {}", template.display()))?;
        let resources = doc["Resources"]
            .as_mapping()
            .context("the template has no Resources")?;
        let mut machines = resources
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::StateMachine"));
        let (machine_id, machine) = machines
            .next()
            .context("the template has no AWS::Serverless::StateMachine")?;
        if machines.next().is_some() {
            bail!("the template has more than one state machine; the local stack runs one");
        }
        let uri = machine["Properties"]["DefinitionUri"]
            .as_str()
            .context("the state machine has no DefinitionUri")?;
        let base = template.parent().unwrap_or(Path::new("."));
        let mut substitutions = BTreeMap::new();
        let subs = machine["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .context("the state machine has no DefinitionSubstitutions")?;
        for (key, value) in subs {
            let key = key.as_str().context("a substitution key is not a string")?;
            let logical_id = get_att_arn_target(value).with_context(|| {
                format!("DefinitionSubstitutions.{key} must be !GetAtt <Function>.Arn")
            })?;
            let function = &resources
                .iter()
                .find(|(id, _)| id.as_str() == Some(logical_id.as_str()))
                .with_context(|| format!("{key} names {logical_id}, which is not in Resources"))?
                .1;
            let binary = function["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .with_context(|| format!("{logical_id} has no Metadata.BuildProperties.Binary"))?;
            substitutions.insert(
                key.to_string(),
                Function {
                    logical_id,
                    binary: binary.to_string(),
                },
            );
        }
        Ok(Workflow {
            logical_id: machine_id.as_str().unwrap_or_default().to_string(),
            substitutions,
            definition_path: base.join(uri),
        })
    }

    /// The definition with every `${Placeholder}` replaced by the local function ARN,
    /// exactly as CloudFormation substitutes it on deploy.
    pub fn local_definition(&self) -> anyhow::Result<String> {
        let mut text = std::fs::read_to_string(&self.definition_path)
            .with_context(|| format!("reading {}", self.definition_path.display()))?;
        for (key, function) in &self.substitutions {
            text = text.replace(&format!("${{{key}}}"), &function.local_arn());
        }
        if let Some(start) = text.find("${") {
            let end = text[start..]
                .find('}')
                .map_or(text.len(), |e| start + e + 1);
            bail!(
                "the definition uses {} but the template declares no substitution for it",
                &text[start..end]
            );
        }
        Ok(text)
    }

    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.substitutions.values()
    }
}

/// `!GetAtt X.Arn`, `!GetAtt [X, Arn]` or `{"Fn::GetAtt": ...}` → `X`.
fn get_att_arn_target(value: &Yaml) -> Option<String> {
    let inner = match value {
        Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => &tagged.value,
        Yaml::Mapping(m) => m.get("Fn::GetAtt")?,
        _ => return None,
    };
    match inner {
        Yaml::String(s) => s.strip_suffix(".Arn").map(str::to_string),
        Yaml::Sequence(parts) if parts.len() == 2 && parts[1].as_str() == Some("Arn") => {
            parts[0].as_str().map(str::to_string)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }

    #[test]
    fn reads_the_five_task_functions_from_the_template() {
        let workflow = Workflow::from_template(&template()).expect("template");
        let binaries: Vec<_> = workflow.functions().map(|f| f.binary.as_str()).collect();
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
        let workflow = Workflow::from_template(&template()).expect("template");
        let definition = workflow.local_definition().expect("definition");
        assert!(!definition.contains("${"));
        assert!(
            definition.contains("arn:aws:lambda:us-east-1:123456789012:function:cordon-quarantine")
        );
    }

    #[test]
    fn get_att_forms() {
        let short: Yaml = serde_yaml_ng::from_str("!GetAtt Fn.Arn").expect("yaml");
        assert_eq!(get_att_arn_target(&short).as_deref(), Some("Fn"));
        let list: Yaml = serde_yaml_ng::from_str("!GetAtt [Fn, Arn]").expect("yaml");
        assert_eq!(get_att_arn_target(&list).as_deref(), Some("Fn"));
        let long: Yaml = serde_yaml_ng::from_str("{Fn::GetAtt: Fn.Arn}").expect("yaml");
        assert_eq!(get_att_arn_target(&long).as_deref(), Some("Fn"));
        let other: Yaml = serde_yaml_ng::from_str("!Ref Fn").expect("yaml");
        assert_eq!(get_att_arn_target(&other), None);
    }
}
