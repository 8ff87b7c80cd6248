//! SAM's serverless resources, typed: what a function runs (`Metadata.BuildProperties.Binary`),
//! its environment, its policies and its event sources; what a state machine deploys.
//!
//! Policies are kept as written (an inline statement list, a SAM policy template and its
//! parameters, or a managed policy), so a least-privilege check can resolve them with
//! [`crate::Values`] and expand the SAM templates it knows.
use crate::error::Error;
use crate::expr::Expr;

/// The typed view of a resource, for the SAM types Cordon reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Serverless {
    Function(Function),
    StateMachine(StateMachine),
    /// Any other resource type.
    None,
}

/// An `AWS::Serverless::Function`.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary SAM builds, e.g. `cordon-record`.
    pub binary: Option<String>,
    /// `Properties.Environment.Variables`, the function's own (see
    /// [`crate::Template::environment_of`] for the merge with `Globals`).
    pub environment: Vec<(String, Expr)>,
    /// `Properties.Policies`, in template order.
    pub policies: Vec<Policy>,
    /// `Properties.Events`, in template order.
    pub events: Vec<EventSource>,
    /// Whether it has a Function URL (`Properties.FunctionUrlConfig`); SAM then creates the
    /// `AWS::Lambda::Url` resource `<LogicalId>Url`.
    pub has_function_url: bool,
    /// `Properties.Timeout` (seconds), if the function sets its own (see
    /// [`crate::Template::timeout_of`] for `Globals` and SAM's default).
    pub timeout: Option<Expr>,
    /// `Properties.ReservedConcurrentExecutions`, if set.
    pub reserved_concurrency: Option<Expr>,
}

impl Function {
    /// The execution role SAM generates for it (`<LogicalId>Role`), which
    /// `AWS::IAM::Policy` resources may also attach policies to.
    pub fn role_logical_id(&self) -> String {
        format!("{}Role", self.logical_id)
    }

    /// The logical id of its Function URL resource (`<LogicalId>Url`), if it has one.
    pub fn url_logical_id(&self) -> Option<String> {
        self.has_function_url
            .then(|| format!("{}Url", self.logical_id))
    }
}

/// An `AWS::Serverless::StateMachine`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub logical_id: String,
    /// `Properties.DefinitionUri` when it is a path (relative to the template's folder).
    pub definition_uri: Option<String>,
    /// `Properties.DefinitionSubstitutions`: placeholder name and value, in template order.
    pub definition_substitutions: Vec<(String, Expr)>,
    pub policies: Vec<Policy>,
    pub events: Vec<EventSource>,
}

/// One entry of a SAM resource's `Policies`.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// An inline policy document: its `Statement` entries, as written.
    Statements(Vec<Expr>),
    /// A SAM policy template, e.g. `LambdaInvokePolicy: {FunctionName: !Ref X}`.
    Template { name: String, parameters: Expr },
    /// A managed policy: its ARN, or the name of an AWS managed policy.
    Managed(Expr),
}

/// One entry of a SAM resource's `Events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSource {
    /// The entry's key; SAM names generated resources `<Resource><Name>`.
    pub name: String,
    /// `Type`, e.g. `EventBridgeRule`, `Schedule`, `Api`.
    pub kind: String,
    /// `Properties` (`Expr::Null` when absent).
    pub properties: Expr,
}

impl Serverless {
    pub(crate) fn read(
        logical_id: &str,
        kind: &str,
        properties: &Expr,
        metadata: &Expr,
    ) -> Result<Serverless, Error> {
        Ok(match kind {
            "AWS::Serverless::Function" => Serverless::Function(Function {
                logical_id: logical_id.to_owned(),
                binary: metadata
                    .path(&["BuildProperties", "Binary"])
                    .and_then(Expr::as_str)
                    .map(str::to_owned),
                environment: mapping(
                    logical_id,
                    "Properties.Environment.Variables",
                    properties.path(&["Environment", "Variables"]),
                )?,
                policies: policies(logical_id, properties.get("Policies"))?,
                events: events(logical_id, properties.get("Events"))?,
                has_function_url: properties.get("FunctionUrlConfig").is_some(),
                timeout: properties.get("Timeout").cloned(),
                reserved_concurrency: properties.get("ReservedConcurrentExecutions").cloned(),
            }),
            "AWS::Serverless::StateMachine" => Serverless::StateMachine(StateMachine {
                logical_id: logical_id.to_owned(),
                definition_uri: properties
                    .get("DefinitionUri")
                    .and_then(Expr::as_str)
                    .map(str::to_owned),
                definition_substitutions: mapping(
                    logical_id,
                    "Properties.DefinitionSubstitutions",
                    properties.get("DefinitionSubstitutions"),
                )?,
                policies: policies(logical_id, properties.get("Policies"))?,
                events: events(logical_id, properties.get("Events"))?,
            }),
            _ => Serverless::None,
        })
    }
}

fn invalid(resource: &str, field: &str, message: String) -> Error {
    Error::Resource {
        resource: resource.to_owned(),
        field: field.to_owned(),
        message,
    }
}

/// The entries of an optional mapping field.
fn mapping(
    resource: &str,
    field: &str,
    value: Option<&Expr>,
) -> Result<Vec<(String, Expr)>, Error> {
    match value {
        None | Some(Expr::Null) => Ok(Vec::new()),
        Some(Expr::Map(entries)) => Ok(entries.clone()),
        Some(other) => Err(invalid(
            resource,
            field,
            format!("expected a mapping, got {}", other.describe()),
        )),
    }
}

fn events(resource: &str, value: Option<&Expr>) -> Result<Vec<EventSource>, Error> {
    mapping(resource, "Properties.Events", value)?
        .into_iter()
        .map(|(name, event)| {
            if event.as_map().is_none() {
                return Err(invalid(
                    resource,
                    &format!("Properties.Events.{name}"),
                    format!("expected a mapping, got {}", event.describe()),
                ));
            }
            Ok(EventSource {
                kind: event
                    .get("Type")
                    .and_then(Expr::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                properties: event.get("Properties").cloned().unwrap_or(Expr::Null),
                name,
            })
        })
        .collect()
}

fn policies(resource: &str, value: Option<&Expr>) -> Result<Vec<Policy>, Error> {
    let items: Vec<&Expr> = match value {
        None | Some(Expr::Null) => return Ok(Vec::new()),
        Some(Expr::List(items)) => items.iter().collect(),
        // A single policy: a managed policy name, or one inline document.
        Some(single) => vec![single],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| policy(resource, &format!("Properties.Policies[{i}]"), item))
        .collect()
}

fn policy(resource: &str, field: &str, item: &Expr) -> Result<Policy, Error> {
    match item {
        Expr::String(_) | Expr::Intrinsic(_) => Ok(Policy::Managed(item.clone())),
        Expr::Map(entries) => {
            if let Some(statement) = item.get("Statement") {
                return Ok(Policy::Statements(match statement {
                    Expr::List(statements) => statements.clone(),
                    single => vec![single.clone()],
                }));
            }
            match entries.as_slice() {
                [(name, parameters)] => Ok(Policy::Template {
                    name: name.clone(),
                    parameters: parameters.clone(),
                }),
                _ => Err(invalid(
                    resource,
                    field,
                    "expected a policy document with a Statement, or one SAM policy template"
                        .into(),
                )),
            }
        }
        other => Err(invalid(
            resource,
            field,
            format!("expected a policy, got {}", other.describe()),
        )),
    }
}
