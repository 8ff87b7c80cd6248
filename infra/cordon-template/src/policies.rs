//! The identity policies of the roles the template deploys, resolved to the documents IAM
//! will hold: what each function, the state machine and the rules' role may do.
//!
//! A role's policies come from three places:
//! - a SAM resource's `Policies`: inline statements, SAM policy templates (expanded from
//!   the definitions in [`crate::sam_policies`]) and managed policies of this template;
//! - an `AWS::IAM::Role`'s inline `Policies` and `ManagedPolicyArns`;
//! - every `AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy` whose `Roles` names the role
//!   (`!Ref <Role>`; SAM names a function's generated role `<Function>Role`).
//!
//! Intrinsics are resolved against [`Values`]. A policy that cannot be known offline (an
//! AWS managed policy by name or ARN) is an error, never skipped: a least-privilege check
//! that skips a policy would be looser than AWS.
use serde_json::{Value as Json, json};

use crate::error::Error;
use crate::expr::{Call, Expr};
use crate::resolve::Values;
use crate::sam_policies::sam_policy_template;
use crate::serverless::{Function, Policy, StateMachine};
use crate::template::{Resource, Template};

/// One identity policy of a role, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPolicy {
    /// Where it is written, e.g. `EnrichFunction Policies[0]` or
    /// `ApprovalCallbackPolicy (AWS::IAM::Policy)`.
    pub source: String,
    /// The policy document (`{"Version": "2012-10-17", "Statement": [...]}`).
    pub document: Json,
}

fn document(statements: Json) -> Json {
    json!({"Version": "2012-10-17", "Statement": statements})
}

impl Template {
    /// The policies of the execution role SAM generates for `function`.
    pub fn function_policies(
        &self,
        function: &Function,
        values: &Values,
    ) -> Result<Vec<ResolvedPolicy>, Error> {
        self.sam_role_policies(
            &function.logical_id,
            &function.policies,
            &function.role_logical_id(),
            values,
        )
    }

    /// The policies of the role SAM generates for `machine` (`<LogicalId>Role`).
    pub fn state_machine_policies(
        &self,
        machine: &StateMachine,
        values: &Values,
    ) -> Result<Vec<ResolvedPolicy>, Error> {
        self.sam_role_policies(
            &machine.logical_id,
            &machine.policies,
            &format!("{}Role", machine.logical_id),
            values,
        )
    }

    /// The policies of the `AWS::IAM::Role` `role`: its inline `Policies`, its
    /// `ManagedPolicyArns` (managed policies of this template) and the policies attached
    /// to it.
    pub fn role_policies(&self, role: &str, values: &Values) -> Result<Vec<ResolvedPolicy>, Error> {
        let resource = self
            .resource(role)
            .filter(|r| r.kind == "AWS::IAM::Role")
            .ok_or_else(|| Error::Section {
                at: format!("Resources.{role}"),
                message: "the template declares no AWS::IAM::Role of that name".into(),
            })?;
        let mut out = Vec::new();
        let inline = resource
            .property("Policies")
            .and_then(Expr::as_list)
            .unwrap_or_default();
        for (i, entry) in inline.iter().enumerate() {
            let name = entry
                .get("PolicyName")
                .and_then(Expr::as_str)
                .map_or_else(|| i.to_string(), str::to_owned);
            let at = format!("{role} Policies[{name}]");
            let doc = entry.get("PolicyDocument").ok_or_else(|| Error::Resource {
                resource: role.to_owned(),
                field: format!("Properties.Policies[{i}]"),
                message: "an inline policy needs a PolicyDocument".into(),
            })?;
            out.push(ResolvedPolicy {
                document: resolve(values, doc, &at)?,
                source: at,
            });
        }
        let managed = resource
            .property("ManagedPolicyArns")
            .and_then(Expr::as_list)
            .unwrap_or_default();
        for (i, arn) in managed.iter().enumerate() {
            out.push(self.managed_policy(
                arn,
                &format!("{role} ManagedPolicyArns[{i}]"),
                values,
            )?);
        }
        out.extend(self.attached_policies(role, values)?);
        Ok(out)
    }

    fn sam_role_policies(
        &self,
        owner: &str,
        policies: &[Policy],
        role: &str,
        values: &Values,
    ) -> Result<Vec<ResolvedPolicy>, Error> {
        if self
            .resource(owner)
            .and_then(|r| r.property("Role"))
            .is_some()
        {
            return Err(Error::Resource {
                resource: owner.to_owned(),
                field: "Properties.Role".into(),
                message: "an explicit Role replaces SAM's generated role; resolve its \
                          policies with Template::role_policies"
                    .into(),
            });
        }
        let mut out = Vec::new();
        for (i, policy) in policies.iter().enumerate() {
            let at = format!("{owner} Policies[{i}]");
            out.push(match policy {
                Policy::Statements(statements) => ResolvedPolicy {
                    document: document(resolve(values, &Expr::List(statements.clone()), &at)?),
                    source: at,
                },
                Policy::Template { name, parameters } => {
                    let at = format!("{at} ({name})");
                    let expanded = sam_policy_template(name, parameters).map_err(|message| {
                        Error::Resource {
                            resource: owner.to_owned(),
                            field: format!("Properties.Policies[{i}]"),
                            message,
                        }
                    })?;
                    ResolvedPolicy {
                        document: document(resolve(values, &expanded, &at)?),
                        source: at,
                    }
                }
                Policy::Managed(reference) => self.managed_policy(reference, &at, values)?,
            });
        }
        out.extend(self.attached_policies(role, values)?);
        Ok(out)
    }

    /// A managed policy named by `!Ref <ManagedPolicy>` of this template.
    fn managed_policy(
        &self,
        reference: &Expr,
        at: &str,
        values: &Values,
    ) -> Result<ResolvedPolicy, Error> {
        let referenced = match reference.as_intrinsic().map(|i| &i.call) {
            Some(Call::Ref(id)) => self
                .resource(id)
                .filter(|r| r.kind == "AWS::IAM::ManagedPolicy"),
            _ => None,
        };
        let Some(resource) = referenced else {
            return Err(Error::Resolve {
                at: at.to_owned(),
                source: crate::error::ResolveError::Invalid {
                    function: "managed policy".into(),
                    message: format!(
                        "{} is not a managed policy of this template; an AWS managed policy's \
                         document cannot be known offline, so write the statements inline",
                        reference.describe()
                    ),
                },
            });
        };
        policy_document_of(resource, &format!("{at} = {}", resource.logical_id), values)
    }

    /// Every `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` whose `Roles` names `role`.
    fn attached_policies(&self, role: &str, values: &Values) -> Result<Vec<ResolvedPolicy>, Error> {
        let names_role = |r: &&Resource| {
            r.property("Roles")
                .and_then(Expr::as_list)
                .unwrap_or_default()
                .iter()
                .any(|entry| matches!(entry.as_intrinsic().map(|i| &i.call), Some(Call::Ref(id)) if id == role))
        };
        self.resources()
            .iter()
            .filter(|r| r.kind == "AWS::IAM::Policy" || r.kind == "AWS::IAM::ManagedPolicy")
            .filter(names_role)
            .map(|r| policy_document_of(r, &format!("{} ({})", r.logical_id, r.kind), values))
            .collect()
    }
}

fn policy_document_of(
    resource: &Resource,
    at: &str,
    values: &Values,
) -> Result<ResolvedPolicy, Error> {
    let doc = resource
        .property("PolicyDocument")
        .ok_or_else(|| Error::Resource {
            resource: resource.logical_id.clone(),
            field: "Properties.PolicyDocument".into(),
            message: "a policy resource needs a PolicyDocument".into(),
        })?;
    Ok(ResolvedPolicy {
        document: resolve(values, doc, at)?,
        source: at.to_owned(),
    })
}

fn resolve(values: &Values, expr: &Expr, at: &str) -> Result<Json, Error> {
    values.resolve(expr).map_err(|source| Error::Resolve {
        at: at.to_owned(),
        source,
    })
}
