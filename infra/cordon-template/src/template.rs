//! The template as a whole: parameters, `Globals`, and the resources in template order.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value as Yaml;

use crate::error::{Error, ResolveError};
use crate::expr::Expr;
use crate::parameter::{Parameter, parameters};
use crate::resolve::Values;
use crate::serverless::{Function, Serverless, StateMachine};
use crate::yaml::to_expr;

/// A parsed SAM / CloudFormation template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The template's folder: relative `DefinitionUri`s and `CodeUri`s start here.
    dir: PathBuf,
    parameters: Vec<Parameter>,
    /// `Globals.Function.Environment.Variables`, in template order.
    function_environment: Vec<(String, Expr)>,
    /// `Globals.Function.Timeout`, if set.
    function_timeout: Option<Expr>,
    resources: Vec<Resource>,
}

/// One entry of `Resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub logical_id: String,
    /// `Type`, e.g. `AWS::Events::Rule`.
    pub kind: String,
    /// `Condition`, the name of the condition that decides whether it is created.
    pub condition: Option<String>,
    /// `Properties` (`Expr::Null` when absent).
    pub properties: Expr,
    /// `Metadata` (`Expr::Null` when absent).
    pub metadata: Expr,
    /// The typed view of SAM's serverless resources.
    pub serverless: Serverless,
}

impl Resource {
    /// `Properties.<name>`.
    pub fn property(&self, name: &str) -> Option<&Expr> {
        self.properties.get(name)
    }
}

impl Template {
    /// Reads and parses the template at `path`.
    pub fn load(path: &Path) -> Result<Template, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Template::parse_in(&text, dir)
    }

    /// Parses template text; relative paths in it are taken from the current directory.
    pub fn parse(text: &str) -> Result<Template, Error> {
        Template::parse_in(text, PathBuf::from("."))
    }

    /// Parses template text whose relative paths start at `dir`.
    pub fn parse_in(text: &str, dir: PathBuf) -> Result<Template, Error> {
        let doc: Yaml = serde_yaml_ng::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Yaml::as_mapping)
            .ok_or(Error::NoResources)?;
        let resources = resources
            .iter()
            .map(|(key, body)| {
                let logical_id = key.as_str().ok_or_else(|| Error::Section {
                    at: "Resources".into(),
                    message: "logical ids must be strings".into(),
                })?;
                resource(logical_id, body)
            })
            .collect::<Result<_, _>>()?;
        Ok(Template {
            dir,
            parameters: parameters(doc.get("Parameters"))?,
            function_environment: globals_environment(&doc)?,
            function_timeout: globals_timeout(&doc)?,
            resources,
        })
    }

    /// The template's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Every resource, in template order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    /// The resources of one `Type`, in template order.
    pub fn resources_of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// Every `AWS::Serverless::Function`, in template order.
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.resources.iter().filter_map(|r| match &r.serverless {
            Serverless::Function(f) => Some(f),
            _ => None,
        })
    }

    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions().find(|f| f.logical_id == logical_id)
    }

    /// The function built from the cargo binary `binary` (`Metadata.BuildProperties.Binary`).
    pub fn function_by_binary(&self, binary: &str) -> Option<&Function> {
        self.functions()
            .find(|f| f.binary.as_deref() == Some(binary))
    }

    /// Every `AWS::Serverless::StateMachine`, in template order.
    pub fn state_machines(&self) -> impl Iterator<Item = &StateMachine> {
        self.resources.iter().filter_map(|r| match &r.serverless {
            Serverless::StateMachine(m) => Some(m),
            _ => None,
        })
    }

    /// `Globals.Function.Environment.Variables`, as written.
    pub fn global_environment(&self) -> &[(String, Expr)] {
        &self.function_environment
    }

    /// The environment `function` gets as written: `Globals` first, then the function's own
    /// `Environment.Variables`, which override a global of the same name (as SAM merges them).
    pub fn environment_of<'a>(&'a self, function: &'a Function) -> Vec<(String, &'a Expr)> {
        let mut merged: Vec<(String, &'a Expr)> = self
            .function_environment
            .iter()
            .map(|(k, v)| (k.clone(), v))
            .collect();
        for (name, value) in &function.environment {
            match merged.iter_mut().find(|(k, _)| k == name) {
                Some(slot) => slot.1 = value,
                None => merged.push((name.clone(), value)),
            }
        }
        merged
    }

    /// How long `function` may run per invocation once deployed: its own `Timeout`, else
    /// `Globals.Function.Timeout`, else SAM's default of 3 seconds; resolved against
    /// `values` and within Lambda's range (1 to 900 seconds).
    pub fn timeout_of(
        &self,
        function: &Function,
        values: &Values,
    ) -> Result<std::time::Duration, Error> {
        const SAM_DEFAULT_SECONDS: u64 = 3;
        let at = || format!("{}: Timeout", function.logical_id);
        let Some(expr) = function.timeout.as_ref().or(self.function_timeout.as_ref()) else {
            return Ok(std::time::Duration::from_secs(SAM_DEFAULT_SECONDS));
        };
        let text = values
            .resolve_string(expr)
            .map_err(|source| Error::Resolve { at: at(), source })?;
        match text.trim().parse::<u64>() {
            Ok(seconds @ 1..=900) => Ok(std::time::Duration::from_secs(seconds)),
            _ => Err(Error::Section {
                at: at(),
                message: format!("`{text}` is not a whole number of seconds from 1 to 900"),
            }),
        }
    }

    /// How many invocations of `function` may run at once once deployed (its
    /// `ReservedConcurrentExecutions`, resolved against `values`), or `None` if it draws
    /// on the account's unreserved concurrency.
    pub fn reserved_concurrency_of(
        &self,
        function: &Function,
        values: &Values,
    ) -> Result<Option<u32>, Error> {
        let Some(expr) = &function.reserved_concurrency else {
            return Ok(None);
        };
        let at = || format!("{}: ReservedConcurrentExecutions", function.logical_id);
        let text = values
            .resolve_string(expr)
            .map_err(|source| Error::Resolve { at: at(), source })?;
        match text.trim().parse::<u32>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(Error::Section {
                at: at(),
                message: format!("`{text}` is not a whole number of concurrent executions"),
            }),
        }
    }

    /// The environment `function` gets once deployed: [`Template::environment_of`] with
    /// every intrinsic resolved against `values`.
    pub fn resolved_environment(
        &self,
        function: &Function,
        values: &Values,
    ) -> Result<BTreeMap<String, String>, Error> {
        self.environment_of(function)
            .into_iter()
            .map(|(name, expr)| {
                let value = values
                    .resolve_string(expr)
                    .map_err(|source| Error::Resolve {
                        at: format!("{}: environment variable {name}", function.logical_id),
                        source,
                    })?;
                Ok((name, value))
            })
            .collect()
    }

    /// The definition `machine` deploys: its `DefinitionUri` file with every
    /// `${Placeholder}` of `DefinitionSubstitutions` replaced by its value resolved against
    /// `values`, as CloudFormation substitutes it on deploy. A placeholder left over is an
    /// error.
    pub fn definition(&self, machine: &StateMachine, values: &Values) -> Result<String, Error> {
        let uri = machine
            .definition_uri
            .as_deref()
            .ok_or_else(|| Error::Substitution {
                state_machine: machine.logical_id.clone(),
                message: "the state machine has no local DefinitionUri".into(),
            })?;
        let path = self.dir.join(uri);
        let mut text = std::fs::read_to_string(&path).map_err(|source| Error::Definition {
            state_machine: machine.logical_id.clone(),
            path: path.clone(),
            source,
        })?;
        for (key, expr) in &machine.definition_substitutions {
            let value = values
                .resolve_string(expr)
                .map_err(|source: ResolveError| Error::Resolve {
                    at: format!("{}: DefinitionSubstitutions.{key}", machine.logical_id),
                    source,
                })?;
            text = text.replace(&format!("${{{key}}}"), &value);
        }
        if let Some(start) = text.find("${") {
            let end = text[start..]
                .find('}')
                .map_or(text.len(), |e| start + e + 1);
            return Err(Error::Substitution {
                state_machine: machine.logical_id.clone(),
                message: format!(
                    "the definition uses {} but the template declares no substitution for it",
                    &text[start..end]
                ),
            });
        }
        Ok(text)
    }
}

fn resource(logical_id: &str, body: &Yaml) -> Result<Resource, Error> {
    let field_err = |field: &str, message: String| Error::Resource {
        resource: logical_id.to_owned(),
        field: field.to_owned(),
        message,
    };
    let convert = |field: &str| -> Result<Expr, Error> {
        match body.get(field) {
            None => Ok(Expr::Null),
            Some(v) => to_expr(v, field).map_err(|(at, message)| field_err(&at, message)),
        }
    };
    let kind = body
        .get("Type")
        .and_then(Yaml::as_str)
        .ok_or_else(|| field_err("Type", "every resource needs a Type string".into()))?
        .to_owned();
    let condition = body
        .get("Condition")
        .and_then(Yaml::as_str)
        .map(str::to_owned);
    let properties = convert("Properties")?;
    let metadata = convert("Metadata")?;
    let serverless = Serverless::read(logical_id, &kind, &properties, &metadata)?;
    Ok(Resource {
        logical_id: logical_id.to_owned(),
        kind,
        condition,
        properties,
        metadata,
        serverless,
    })
}

fn globals_timeout(doc: &Yaml) -> Result<Option<Expr>, Error> {
    doc.get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Timeout"))
        .map(|t| to_expr(t, "Globals.Function.Timeout"))
        .transpose()
        .map_err(|(at, message)| Error::Section { at, message })
}

fn globals_environment(doc: &Yaml) -> Result<Vec<(String, Expr)>, Error> {
    const AT: &str = "Globals.Function.Environment.Variables";
    let Some(variables) = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"))
    else {
        return Ok(Vec::new());
    };
    let expr = to_expr(variables, AT).map_err(|(at, message)| Error::Section { at, message })?;
    match expr {
        Expr::Map(entries) => Ok(entries),
        other => Err(Error::Section {
            at: AT.into(),
            message: format!("expected a mapping, got {}", other.describe()),
        }),
    }
}
