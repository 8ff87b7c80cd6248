//! [`Router`]: Task dispatch by resource, or by the Lambda function a Task names.
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use cordon_engine::{TaskDispatcher, TaskFailure, TaskRequest, UnresolvedDispatcher};
use serde_json::Value;

use crate::lambda::parse_function;

/// Routes Tasks to handlers by resource. A resource matches a route registered under the full
/// resource string, or under the Lambda function named in `Parameters.FunctionName` / the
/// function ARN. Unmatched resources fail like [`UnresolvedDispatcher`].
#[derive(Default, Clone)]
pub struct Router {
    routes: HashMap<String, Arc<dyn TaskDispatcher>>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for a resource ARN, or a Lambda function name or ARN.
    pub fn route(mut self, key: impl Into<String>, handler: Arc<dyn TaskDispatcher>) -> Self {
        self.routes.insert(key.into(), handler);
        self
    }

    fn lookup(&self, req: &TaskRequest) -> Option<&Arc<dyn TaskDispatcher>> {
        if let Some(h) = self.routes.get(&req.resource) {
            return Some(h);
        }
        let function = req
            .input
            .get("FunctionName")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                req.resource
                    .contains(":function:")
                    .then(|| req.resource.clone())
            })?;
        if let Some(h) = self.routes.get(&function) {
            return Some(h);
        }
        // `arn:aws:lambda:region:acct:function:name[:qualifier]` -> `name`
        if !function.contains(":function:") {
            return None;
        }
        self.routes.get(&parse_function(&function).0)
    }
}

#[async_trait]
impl TaskDispatcher for Router {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        match self.lookup(&req) {
            Some(h) => h.clone().invoke(req).await,
            None => UnresolvedDispatcher.invoke(req).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use cordon_engine::{FnDispatcher, IntegrationPattern};

    use super::*;

    fn req(resource: &str, input: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn".into(),
            state_name: "S".into(),
            resource: resource.into(),
            pattern: IntegrationPattern::of(resource),
            input,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
            attempt: 0,
            context: Arc::new(Value::Null),
        }
    }

    #[tokio::test]
    async fn router_matches_function_names() {
        let h: Arc<dyn TaskDispatcher> =
            Arc::new(FnDispatcher(|r: TaskRequest| async move { Ok(r.input) }));
        let router = Router::new().route("cordon-enrich", h);
        let ok = router
            .invoke(req(
                "arn:aws:states:::lambda:invoke",
                serde_json::json!({"FunctionName": "arn:aws:lambda:us-east-1:1:function:cordon-enrich:$LATEST"}),
            ))
            .await;
        assert!(ok.is_ok());
        let direct = router
            .invoke(req(
                "arn:aws:lambda:us-east-1:1:function:cordon-enrich",
                Value::Null,
            ))
            .await;
        assert!(direct.is_ok());
        let miss = router
            .invoke(req(
                "arn:aws:states:::lambda:invoke",
                serde_json::json!({"FunctionName": "other"}),
            ))
            .await;
        assert_eq!(miss.unwrap_err().error, "States.TaskFailed");
    }
}
