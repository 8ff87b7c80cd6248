//! The forms a Task state's `Resource` takes in ASL, and the two things they decide inside an
//! execution: how the Task waits ([`IntegrationPattern`]) and how history records it.
//!
//! This is the only place the engine reads a resource ARN. It knows the *forms* (the
//! optimised integrations `arn:aws:states:::service:action[.pattern]`, and the legacy plain
//! Lambda function ARN that AWS records as `LambdaFunction*` events), never how a task is
//! carried out: every Task goes to a [`TaskDispatcher`](crate::TaskDispatcher).
use serde::{Deserialize, Serialize};

/// How the Task waits for its work, from the suffix of the resource ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntegrationPattern {
    /// Call the service and continue with its response.
    RequestResponse,
    /// `.sync`: the dispatcher itself waits for the job to finish.
    Sync,
    /// `.waitForTaskToken`: the dispatcher hands the token on; the Task then waits for
    /// `SendTaskSuccess`/`SendTaskFailure` with that token.
    WaitForTaskToken,
}

impl IntegrationPattern {
    pub fn of(resource: &str) -> Self {
        if resource.ends_with(".waitForTaskToken") {
            Self::WaitForTaskToken
        } else if resource.ends_with(".sync") || resource.contains(".sync:") {
            Self::Sync
        } else {
            Self::RequestResponse
        }
    }
}

/// A plain Lambda function ARN (`arn:aws:lambda:region:account:function:name`), the legacy
/// resource form that AWS records as `LambdaFunction*` history events instead of `Task*`.
pub fn is_lambda_function_arn(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.contains(":lambda:") && resource.contains(":function:")
}

/// A Task's `Resource`, read once when the definition is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    arn: String,
    pattern: IntegrationPattern,
    lambda_function: bool,
    resource_type: String,
    resource_name: String,
}

impl Resource {
    pub fn parse(arn: &str) -> Resource {
        let (resource_type, resource_name) = history_fields(arn);
        Resource {
            arn: arn.to_owned(),
            pattern: IntegrationPattern::of(arn),
            lambda_function: is_lambda_function_arn(arn),
            resource_type,
            resource_name,
        }
    }

    /// The `Resource` exactly as written in the definition.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    pub fn pattern(&self) -> IntegrationPattern {
        self.pattern
    }

    /// Whether history records this Task as `LambdaFunction*` events (see
    /// [`is_lambda_function_arn`]).
    pub fn is_lambda_function(&self) -> bool {
        self.lambda_function
    }

    /// `resourceType` of the `Task*` history events: `lambda` for
    /// `arn:aws:states:::lambda:invoke`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// `resource` of the `Task*` history events: `invoke` for `arn:aws:states:::lambda:invoke`,
    /// the whole ARN for other forms.
    pub fn resource_name(&self) -> &str {
        &self.resource_name
    }
}

/// (`resourceType`, `resource`) of Task events: `arn:aws:states:::lambda:invoke` is
/// (`lambda`, `invoke`); any other ARN is (its service, the whole ARN).
fn history_fields(resource: &str) -> (String, String) {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "states" && parts[3].is_empty() && parts[4].is_empty() {
        if let Some((service, action)) = parts[5].split_once(':') {
            return (service.to_owned(), action.to_owned());
        }
        return (parts[5].to_owned(), String::new());
    }
    let service = parts.get(2).copied().unwrap_or_default();
    (service.to_owned(), resource.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_from_suffix() {
        assert_eq!(
            IntegrationPattern::of("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            IntegrationPattern::WaitForTaskToken
        );
        assert_eq!(
            IntegrationPattern::of("arn:aws:states:::states:startExecution.sync:2"),
            IntegrationPattern::Sync
        );
        assert_eq!(
            IntegrationPattern::of("arn:aws:states:::sns:publish"),
            IntegrationPattern::RequestResponse
        );
    }

    #[test]
    fn history_forms() {
        let invoke = Resource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken");
        assert_eq!(invoke.resource_type(), "lambda");
        assert_eq!(invoke.resource_name(), "invoke.waitForTaskToken");
        assert!(!invoke.is_lambda_function());
        let legacy = Resource::parse("arn:aws:lambda:us-east-1:1:function:f");
        assert!(legacy.is_lambda_function());
        assert_eq!(legacy.resource_type(), "lambda");
    }
}
