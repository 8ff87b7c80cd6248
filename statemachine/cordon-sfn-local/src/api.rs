//! The Step Functions JSON API (awsJson1_0): one function per operation, from the request
//! body to the response body, in AWS's field names (timestamps are epoch seconds).
use std::sync::Arc;

use cordon_engine::Definition;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::service::{Core, exec_does_not_exist, sm_does_not_exist, valid_name};
use crate::store::{StateMachineRow, epoch};

fn opt_str(body: &Value, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{key}' must be a string"
        ))),
    }
}

fn req_str(body: &Value, key: &str) -> Result<String, ApiError> {
    opt_str(body, key)?.ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn opt_bool(body: &Value, key: &str) -> bool {
    body.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `(offset, limit)` from `nextToken` and `maxResults` (0 or absent: 100; at most 1000).
fn page(body: &Value) -> Result<(usize, usize), ApiError> {
    let limit = match body.get("maxResults").and_then(Value::as_i64) {
        None | Some(0) => 100,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
            )));
        }
    };
    let offset = match opt_str(body, "nextToken")? {
        None => 0,
        Some(t) => t
            .strip_prefix("cordon-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::new("InvalidToken", format!("Invalid Token: '{t}'")))?,
    };
    Ok((offset, limit))
}

fn paginate(
    mut out: Map<String, Value>,
    key: &str,
    items: Vec<Value>,
    offset: usize,
    limit: usize,
) -> Value {
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    out.insert(key.into(), Value::Array(slice));
    if offset + limit < total {
        out.insert(
            "nextToken".into(),
            json!(format!("cordon-page-{}", offset + limit)),
        );
    }
    Value::Object(out)
}

fn check_arn(arn: &str, resource: &str, min_parts: usize) -> Result<(), ApiError> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = parts.len() >= min_parts
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == resource
        && parts[6..].iter().all(|p| !p.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ApiError::new("InvalidArn", format!("Invalid Arn: '{arn}'")))
    }
}

fn check_sm_arn(arn: &str) -> Result<(), ApiError> {
    check_arn(arn, "stateMachine", 7)
}

fn check_exec_arn(arn: &str) -> Result<(), ApiError> {
    check_arn(arn, "execution", 8)
}

fn parse_definition(text: &str) -> Result<Definition, ApiError> {
    Definition::parse(text).map_err(|e| ApiError::new("InvalidDefinition", e.to_string()))
}

/// Runs operation `op` (the part of `X-Amz-Target` after `AWSStepFunctions.`).
pub(crate) async fn call(core: &Arc<Core>, op: &str, body: &Value) -> Result<Value, ApiError> {
    match op {
        "CreateStateMachine" => create_state_machine(core, body),
        "UpdateStateMachine" => update_state_machine(core, body),
        "DescribeStateMachine" => describe_state_machine(core, body),
        "ListStateMachines" => list_state_machines(core, body),
        "DeleteStateMachine" => {
            let arn = req_str(body, "stateMachineArn")?;
            check_sm_arn(&arn)?;
            core.delete_state_machine(&arn).await?;
            Ok(json!({}))
        }
        "ValidateStateMachineDefinition" => validate_definition(body),
        "StartExecution" => {
            let arn = req_str(body, "stateMachineArn")?;
            check_sm_arn(&arn)?;
            let (exec, start) = core
                .start_execution(&arn, opt_str(body, "name")?, opt_str(body, "input")?)
                .await?;
            Ok(json!({"executionArn": exec, "startDate": start}))
        }
        "DescribeExecution" => describe_execution(core, body),
        "ListExecutions" => list_executions(core, body),
        "GetExecutionHistory" => history(core, body),
        "StopExecution" => {
            let arn = req_str(body, "executionArn")?;
            check_exec_arn(&arn)?;
            let stop = core
                .stop_execution(&arn, opt_str(body, "error")?, opt_str(body, "cause")?)
                .await?;
            Ok(json!({"stopDate": stop}))
        }
        "RedriveExecution" => {
            let arn = req_str(body, "executionArn")?;
            check_exec_arn(&arn)?;
            let date = core.redrive_execution(&arn)?;
            Ok(json!({"redriveDate": date}))
        }
        "SendTaskSuccess" => {
            let token = req_str(body, "taskToken")?;
            let output = req_str(body, "output")?;
            core.send_task_success(&token, &output).await?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            let token = req_str(body, "taskToken")?;
            core.send_task_failure(&token, opt_str(body, "error")?, opt_str(body, "cause")?)
                .await?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            let token = req_str(body, "taskToken")?;
            core.send_task_heartbeat(&token).await?;
            Ok(json!({}))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Operation '{other}' is not supported by cordon-sfn-local"),
        )),
    }
}

fn sm_arn_for(core: &Core, name: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:stateMachine:{name}",
        core.region, core.account
    )
}

fn create_state_machine(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let name = req_str(body, "name")?;
    let definition = req_str(body, "definition")?;
    let role_arn = req_str(body, "roleArn")?;
    let kind = opt_str(body, "type")?.unwrap_or_else(|| "STANDARD".into());
    if !valid_name(&name) {
        return Err(ApiError::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    if !role_arn.starts_with("arn:") {
        return Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: '{role_arn}'"),
        ));
    }
    if kind != "STANDARD" && kind != "EXPRESS" {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        )));
    }
    parse_definition(&definition)?;
    if let Some(existing) = core.store.state_machine_by_name(&name)? {
        if existing.definition == definition && existing.role_arn == role_arn {
            return Ok(json!({"stateMachineArn": existing.arn, "creationDate": existing.created}));
        }
        return Err(ApiError::new(
            "StateMachineAlreadyExists",
            format!("State Machine Already Exists: '{}'", existing.arn),
        ));
    }
    let row = StateMachineRow {
        arn: sm_arn_for(core, &name),
        name,
        definition,
        role_arn,
        kind,
        created: epoch(&core.now()),
        updated: None,
        revision_id: uuid::Uuid::new_v4().to_string(),
    };
    core.store.insert_state_machine(&row)?;
    Ok(json!({"stateMachineArn": row.arn, "creationDate": row.created}))
}

fn update_state_machine(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let arn = req_str(body, "stateMachineArn")?;
    check_sm_arn(&arn)?;
    let definition = opt_str(body, "definition")?;
    let role_arn = opt_str(body, "roleArn")?;
    if definition.is_none() && role_arn.is_none() {
        return Err(ApiError::new(
            "MissingRequiredParameter",
            "Either the definition or the roleArn must be specified",
        ));
    }
    let mut row = core
        .store
        .state_machine(&arn)?
        .ok_or_else(|| sm_does_not_exist(&arn))?;
    if let Some(d) = definition {
        parse_definition(&d)?;
        row.definition = d;
    }
    if let Some(r) = role_arn {
        if !r.starts_with("arn:") {
            return Err(ApiError::new("InvalidArn", format!("Invalid Arn: '{r}'")));
        }
        row.role_arn = r;
    }
    let now = epoch(&core.now());
    row.updated = Some(now);
    row.revision_id = uuid::Uuid::new_v4().to_string();
    core.store.update_state_machine(&row)?;
    Ok(json!({"updateDate": now, "revisionId": row.revision_id}))
}

fn describe_state_machine(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let arn = req_str(body, "stateMachineArn")?;
    check_sm_arn(&arn)?;
    let sm = core
        .store
        .state_machine(&arn)?
        .ok_or_else(|| sm_does_not_exist(&arn))?;
    Ok(json!({
        "stateMachineArn": sm.arn,
        "name": sm.name,
        "status": "ACTIVE",
        "definition": sm.definition,
        "roleArn": sm.role_arn,
        "type": sm.kind,
        "creationDate": sm.updated.unwrap_or(sm.created),
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
        "revisionId": sm.revision_id,
    }))
}

fn list_state_machines(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let (offset, limit) = page(body)?;
    let items = core
        .store
        .state_machines()?
        .into_iter()
        .map(|sm| {
            json!({
                "stateMachineArn": sm.arn,
                "name": sm.name,
                "type": sm.kind,
                "creationDate": sm.created,
            })
        })
        .collect();
    Ok(paginate(Map::new(), "stateMachines", items, offset, limit))
}

fn validate_definition(body: &Value) -> Result<Value, ApiError> {
    let definition = req_str(body, "definition")?;
    match Definition::parse(&definition) {
        Ok(_) => Ok(json!({"result": "OK", "diagnostics": [], "truncated": false})),
        Err(e) => {
            let diagnostics: Vec<Value> = e
                .diagnostics
                .iter()
                .map(|d| {
                    let mut m = Map::new();
                    m.insert("severity".into(), json!("ERROR"));
                    m.insert("code".into(), json!("SCHEMA_VALIDATION_FAILED"));
                    m.insert("message".into(), json!(d.to_string()));
                    if let Some(s) = &d.state {
                        let mut loc = format!("/States/{s}");
                        if let Some(f) = &d.field {
                            loc.push('/');
                            loc.push_str(f);
                        }
                        m.insert("location".into(), json!(loc));
                    }
                    Value::Object(m)
                })
                .collect();
            Ok(json!({"result": "FAIL", "diagnostics": diagnostics, "truncated": false}))
        }
    }
}

fn describe_execution(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let arn = req_str(body, "executionArn")?;
    check_exec_arn(&arn)?;
    let row = core
        .store
        .execution(&arn)?
        .ok_or_else(|| exec_does_not_exist(&arn))?;
    let mut out = match row.description {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert("redriveCount".into(), json!(row.redrive_count));
    if let Some(d) = row.redrive_date {
        out.insert("redriveDate".into(), json!(d));
    }
    let status = if row.redrivable {
        "REDRIVABLE"
    } else {
        "NOT_REDRIVABLE"
    };
    out.insert("redriveStatus".into(), json!(status));
    if !row.redrivable {
        let reason = match row.status.as_str() {
            "RUNNING" => "Execution is RUNNING and cannot be redriven",
            "SUCCEEDED" => "Execution is SUCCEEDED and cannot be redriven",
            _ => "Execution has no failed state to redrive from",
        };
        out.insert("redriveStatusReason".into(), json!(reason));
    }
    Ok(Value::Object(out))
}

fn list_executions(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let arn = req_str(body, "stateMachineArn")?;
    check_sm_arn(&arn)?;
    let status = opt_str(body, "statusFilter")?;
    let (offset, limit) = page(body)?;
    if core.store.state_machine(&arn)?.is_none() {
        return Err(sm_does_not_exist(&arn));
    }
    let items = core
        .store
        .executions(&arn, status.as_deref())?
        .into_iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("executionArn".into(), json!(r.arn));
            m.insert("stateMachineArn".into(), json!(r.sm_arn));
            m.insert("name".into(), json!(r.name));
            m.insert("status".into(), json!(r.status));
            m.insert("startDate".into(), json!(r.start_date));
            if let Some(s) = r.stop_date {
                m.insert("stopDate".into(), json!(s));
            }
            m.insert("redriveCount".into(), json!(r.redrive_count));
            if let Some(d) = r.redrive_date {
                m.insert("redriveDate".into(), json!(d));
            }
            Value::Object(m)
        })
        .collect();
    Ok(paginate(Map::new(), "executions", items, offset, limit))
}

fn history(core: &Arc<Core>, body: &Value) -> Result<Value, ApiError> {
    let arn = req_str(body, "executionArn")?;
    check_exec_arn(&arn)?;
    let (offset, limit) = page(body)?;
    if core.store.execution(&arn)?.is_none() {
        return Err(exec_does_not_exist(&arn));
    }
    let mut events = core.store.history(&arn)?;
    if opt_bool(body, "reverseOrder") {
        events.reverse();
    }
    let items = events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("timestamp".into(), json!(epoch(&e.timestamp)));
            }
            v
        })
        .collect();
    Ok(paginate(Map::new(), "events", items, offset, limit))
}
