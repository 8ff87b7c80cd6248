//! DynamoDB: the incident audit table (single-table design, see `TABLE.md`).
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use chrono::{DateTime, SecondsFormat, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Actor, Disposition, IncidentStatus, Principal, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SdkResultExt;

/// Sort key of the incident item.
pub const META_SK: &str = "META";
/// Sort-key prefix of timeline entries.
pub const TIMELINE_PREFIX: &str = "TL#";
/// Sort-key prefix of "notification sent" markers.
pub const NOTIFIED_PREFIX: &str = "NOTIFIED#";
/// Index by status and last update: `gsi1pk = STATUS#<status>`, `gsi1sk = <updated_at>#<id>`.
pub const GSI_BY_STATUS: &str = "gsi1";
/// Index by principal: `gsi2pk = PRINCIPAL#<arn or name>`, `gsi2sk = <opened_at>#<id>`.
pub const GSI_BY_PRINCIPAL: &str = "gsi2";

const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// The partition key of an incident.
pub fn incident_pk(incident_id: &str) -> String {
    format!("INCIDENT#{incident_id}")
}

/// RFC 3339, UTC, millisecond precision: sorts lexicographically in time order.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What `open` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewIncident {
    pub incident_id: String,
    /// `Open` for detections, `Rejected` for malformed events.
    pub status: IncidentStatus,
    pub opened_at: DateTime<Utc>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub principal: Option<Principal>,
    pub actor: Option<Actor>,
    /// The raw EventBridge event, exactly as received.
    pub event: Value,
    /// The detection (serialized `cordon_core::model::Detection`), if there is one.
    pub detection: Option<Value>,
    /// Why the event was rejected.
    pub error: Option<String>,
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenOutcome {
    Opened,
    /// An item with this incident id already exists (at-least-once delivery, replay).
    Duplicate,
}

/// One append-only timeline item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub step: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The incident item, as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRecord {
    pub incident_id: String,
    pub status: IncidentStatus,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub severity: Option<Severity>,
    pub disposition: Option<Disposition>,
    pub principal: Option<Principal>,
    pub actor: Option<Actor>,
    pub event: Option<Value>,
    pub detection: Option<Value>,
    pub assessment: Option<Value>,
    pub snapshot: Option<Value>,
    pub snapshot_at: Option<DateTime<Utc>>,
    pub approval: Option<Value>,
    pub error: Option<String>,
    pub summary: Option<String>,
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseOutcome {
    /// `false` when the incident was already closed (its status is left as it was).
    pub changed: bool,
    /// The status the incident has after the call.
    pub status: IncidentStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotOutcome {
    /// `true` if this call stored the snapshot; `false` if one was already stored.
    pub saved: bool,
    /// The stored snapshot: the first one ever saved for the incident.
    pub snapshot: Value,
    pub taken_at: Option<DateTime<Utc>>,
}

/// A "notification `kind` was sent" marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationMark {
    pub kind: String,
    pub message_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// The incident audit trail. Every write is conditional, so every task is safe to re-run.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Conditional put of the incident item (`attribute_not_exists(pk)`).
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError>;

    /// Append a timeline entry; `false` if this exact entry (same time and step) exists.
    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError>;

    /// Store enrich's result. A missing incident is an error (the input names no incident).
    async fn save_assessment(
        &self,
        incident_id: &str,
        severity: Severity,
        disposition: Disposition,
        assessment: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), TaskError>;

    /// Move an open incident to `status` (e.g. `AWAITING_APPROVAL`); `false` if the incident
    /// is missing or already closed.
    async fn set_status(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Set the final status, once. An already-closed incident keeps its status
    /// (`changed: false`). A missing incident is created as a bare closed item, so a failure
    /// is never lost even if opening it failed.
    async fn close(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
        summary: Option<&str>,
    ) -> Result<CloseOutcome, TaskError>;

    /// Store the pre-containment snapshot unless one is stored; return the stored one.
    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Value,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError>;

    async fn get(&self, incident_id: &str) -> Result<Option<IncidentRecord>, TaskError>;

    /// Timeline entries, oldest first.
    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, TaskError>;

    /// The marker for notification `kind`, if that notification was sent.
    async fn notification(
        &self,
        incident_id: &str,
        kind: &str,
    ) -> Result<Option<NotificationMark>, TaskError>;

    /// Record that notification `kind` was sent (conditional put); `false` if it was
    /// already recorded.
    async fn mark_notified(
        &self,
        incident_id: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Incidents with `status`, most recently updated first.
    async fn list_by_status(
        &self,
        status: IncidentStatus,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError>;

    /// Incidents about `principal` (ARN, or name when the event had no ARN), newest first.
    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError>;

    /// Mark the incident `RELEASED` (release restored the principal), recording who and
    /// when in the `release` attribute. Works on a closed incident (a contained incident is
    /// usually closed as `CONTAINED`); `closed_at` is set if it was not. `false` if the
    /// incident is missing or already released (the first release's record is kept).
    async fn mark_released(
        &self,
        incident_id: &str,
        release: &Value,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;
}

/// The create-table request for the incident table: `pk`/`sk`, GSIs `gsi1` (by status) and
/// `gsi2` (by principal), on-demand billing. `infra/template.yaml` must declare the same.
pub fn table_definition(
    client: &Client,
    table_name: &str,
) -> Result<aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder, TaskError>
{
    use aws_sdk_dynamodb::error::BuildError;
    fn attr(name: &str) -> Result<AttributeDefinition, BuildError> {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    }
    fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BuildError> {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    }
    fn gsi(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, BuildError> {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
    }
    let build = || -> Result<_, BuildError> {
        Ok(client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .attribute_definitions(attr("gsi2pk")?)
            .attribute_definitions(attr("gsi2sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi(GSI_BY_STATUS, "gsi1pk", "gsi1sk")?)
            .global_secondary_indexes(gsi(GSI_BY_PRINCIPAL, "gsi2pk", "gsi2sk")?))
    };
    build().map_err(|e| TaskError::Aws {
        operation: "dynamodb:CreateTable".into(),
        code: "BuildError".into(),
        message: e.to_string(),
    })
}

/// Create the incident table if it does not exist, and wait until it is active.
/// Returns `true` if this call created it.
pub async fn create_table(client: &Client, table_name: &str) -> Result<bool, TaskError> {
    use aws_sdk_dynamodb::client::Waiters;
    let created = table_definition(client, table_name)?
        .send()
        .await
        .or_none_on("dynamodb:CreateTable", "ResourceInUseException")?
        .is_some();
    client
        .wait_until_table_exists()
        .table_name(table_name)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| {
            TaskError::transient(
                "dynamodb:DescribeTable",
                format!("table {table_name} did not become active: {e}"),
            )
        })?;
    Ok(created)
}

/// [`IncidentStore`] over `aws-sdk-dynamodb`.
#[derive(Debug, Clone)]
pub struct DynamoIncidentStore {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn json_attr<T: Serialize>(v: &T, what: &str) -> Result<AttributeValue, TaskError> {
    serde_json::to_string(v).map(s).map_err(|e| TaskError::Aws {
        operation: "dynamodb:serialize".into(),
        code: "SerializationError".into(),
        message: format!("{what} could not be serialized: {e}"),
    })
}

fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_json<T: for<'de> Deserialize<'de>>(item: &Item, key: &str) -> Option<T> {
    get_s(item, key).and_then(|raw| serde_json::from_str(raw).ok())
}

fn get_time(item: &Item, key: &str) -> Option<DateTime<Utc>> {
    get_s(item, key)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn get_enum<T: for<'de> Deserialize<'de>>(item: &Item, key: &str) -> Option<T> {
    get_s(item, key).and_then(|v| serde_json::from_value(Value::String(v.to_string())).ok())
}

fn status_key(status: IncidentStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

fn principal_key(p: &Principal) -> Option<String> {
    p.arn
        .as_deref()
        .filter(|a| !a.is_empty())
        .or(p.name.as_deref().filter(|n| !n.is_empty()))
        .map(|k| format!("PRINCIPAL#{k}"))
}

fn no_incident(incident_id: &str) -> TaskError {
    TaskError::invalid(
        "incidentId",
        format!("names no recorded incident ({incident_id}); the incident must be opened first"),
    )
}

fn record_from_item(item: &Item) -> Option<IncidentRecord> {
    Some(IncidentRecord {
        incident_id: get_s(item, "incident_id")?.to_string(),
        status: get_enum(item, "status")?,
        opened_at: get_time(item, "opened_at"),
        updated_at: get_time(item, "updated_at"),
        closed_at: get_time(item, "closed_at"),
        rule: get_s(item, "rule").map(str::to_string),
        title: get_s(item, "title").map(str::to_string),
        severity: get_enum(item, "severity"),
        disposition: get_enum(item, "disposition"),
        principal: get_json(item, "principal"),
        actor: get_json(item, "actor"),
        event: get_json(item, "event"),
        detection: get_json(item, "detection"),
        assessment: get_json(item, "assessment"),
        snapshot: get_json(item, "snapshot"),
        snapshot_at: get_time(item, "snapshot_at"),
        approval: get_json(item, "approval"),
        error: get_s(item, "error").map(str::to_string),
        summary: get_s(item, "summary").map(str::to_string),
        execution_arn: get_s(item, "execution_arn").map(str::to_string),
    })
}

impl DynamoIncidentStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_conf(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    fn key(&self, incident_id: &str, sk: &str) -> Item {
        HashMap::from([
            ("pk".to_string(), s(incident_pk(incident_id))),
            ("sk".to_string(), s(sk)),
        ])
    }

    async fn get_meta(&self, incident_id: &str) -> Result<Option<Item>, TaskError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .consistent_read(true)
            .send()
            .await
            .aws("dynamodb:GetItem")?;
        Ok(out.item)
    }

    async fn query_index(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(limit.max(1))
            .send()
            .await
            .aws("dynamodb:Query")?;
        Ok(out.items().iter().filter_map(record_from_item).collect())
    }
}

#[async_trait]
impl IncidentStore for DynamoIncidentStore {
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError> {
        let id = &incident.incident_id;
        let opened = timestamp(incident.opened_at);
        let mut item = self.key(id, META_SK);
        item.insert("entity".into(), s("INCIDENT"));
        item.insert("incident_id".into(), s(id));
        item.insert("status".into(), s(incident.status.as_str()));
        item.insert("opened_at".into(), s(&opened));
        item.insert("updated_at".into(), s(&opened));
        item.insert("gsi1pk".into(), s(status_key(incident.status)));
        item.insert("gsi1sk".into(), s(format!("{opened}#{id}")));
        item.insert("event".into(), json_attr(&incident.event, "the event")?);
        if incident.status == IncidentStatus::Rejected {
            item.insert("closed_at".into(), s(&opened));
        }
        if let Some(rule) = &incident.rule {
            item.insert("rule".into(), s(rule));
        }
        if let Some(title) = &incident.title {
            item.insert("title".into(), s(title));
        }
        if let Some(p) = &incident.principal {
            item.insert("principal".into(), json_attr(p, "the principal")?);
            if let Some(name) = &p.name {
                item.insert("principal_name".into(), s(name));
            }
            if let Some(arn) = &p.arn {
                item.insert("principal_arn".into(), s(arn));
            }
            if let Some(pk) = principal_key(p) {
                item.insert("gsi2pk".into(), s(pk));
                item.insert("gsi2sk".into(), s(format!("{opened}#{id}")));
            }
        }
        if let Some(a) = &incident.actor {
            item.insert("actor".into(), json_attr(a, "the actor")?);
            if let Some(arn) = &a.arn {
                item.insert("actor_arn".into(), s(arn));
            }
        }
        if let Some(d) = &incident.detection {
            item.insert("detection".into(), json_attr(d, "the detection")?);
        }
        if let Some(e) = &incident.error {
            item.insert("error".into(), s(e));
        }
        if let Some(x) = &incident.execution_arn {
            item.insert("execution_arn".into(), s(x));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?;
        Ok(match put {
            Some(_) => OpenOutcome::Opened,
            None => OpenOutcome::Duplicate,
        })
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError> {
        let at = timestamp(entry.at);
        let mut item = self.key(
            incident_id,
            &format!("{TIMELINE_PREFIX}{at}#{}", entry.step),
        );
        item.insert("entity".into(), s("TIMELINE"));
        item.insert("incident_id".into(), s(incident_id));
        item.insert("at".into(), s(at));
        item.insert("step".into(), s(&entry.step));
        item.insert("message".into(), s(&entry.message));
        if let Some(d) = &entry.details {
            item.insert("details".into(), json_attr(d, "the timeline details")?);
        }
        Ok(self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    async fn save_assessment(
        &self,
        incident_id: &str,
        severity: Severity,
        disposition: Disposition,
        assessment: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), TaskError> {
        let now = timestamp(at);
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .update_expression(
                "SET #sev = :sev, #disp = :disp, #a = :a, #upd = :now, #g1sk = :g1sk",
            )
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sev", "severity")
            .expression_attribute_names("#disp", "disposition")
            .expression_attribute_names("#a", "assessment")
            .expression_attribute_names("#upd", "updated_at")
            .expression_attribute_names("#g1sk", "gsi1sk")
            .expression_attribute_values(":sev", s(enum_str(&severity)))
            .expression_attribute_values(":disp", s(enum_str(&disposition)))
            .expression_attribute_values(":a", json_attr(assessment, "the assessment")?)
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":g1sk", s(format!("{now}#{incident_id}")))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?;
        match updated {
            Some(_) => Ok(()),
            None => Err(no_incident(incident_id)),
        }
    }

    async fn set_status(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let now = timestamp(at);
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .update_expression("SET #status = :status, #upd = :now, #g1pk = :g1pk, #g1sk = :g1sk")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#closed)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#closed", "closed_at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#upd", "updated_at")
            .expression_attribute_names("#g1pk", "gsi1pk")
            .expression_attribute_names("#g1sk", "gsi1sk")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":g1pk", s(status_key(status)))
            .expression_attribute_values(":g1sk", s(format!("{now}#{incident_id}")))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    async fn close(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
        summary: Option<&str>,
    ) -> Result<CloseOutcome, TaskError> {
        let now = timestamp(at);
        let mut expr = String::from(
            "SET #status = :status, #closed = :now, #upd = :now, #g1pk = :g1pk, \
             #g1sk = :g1sk, #id = :id, #entity = :entity, \
             #opened = if_not_exists(#opened, :now)",
        );
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .condition_expression("attribute_not_exists(#closed)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#closed", "closed_at")
            .expression_attribute_names("#upd", "updated_at")
            .expression_attribute_names("#g1pk", "gsi1pk")
            .expression_attribute_names("#g1sk", "gsi1sk")
            .expression_attribute_names("#id", "incident_id")
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#opened", "opened_at")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":g1pk", s(status_key(status)))
            .expression_attribute_values(":g1sk", s(format!("{now}#{incident_id}")))
            .expression_attribute_values(":id", s(incident_id))
            .expression_attribute_values(":entity", s("INCIDENT"));
        if let Some(summary) = summary {
            expr.push_str(", #summary = :summary");
            req = req
                .expression_attribute_names("#summary", "summary")
                .expression_attribute_values(":summary", s(summary));
        }
        let updated = req
            .update_expression(expr)
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?;
        if updated.is_some() {
            return Ok(CloseOutcome {
                changed: true,
                status,
            });
        }
        let current = self
            .get_meta(incident_id)
            .await?
            .and_then(|item| get_enum(&item, "status"))
            .unwrap_or(status);
        Ok(CloseOutcome {
            changed: false,
            status: current,
        })
    }

    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Value,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .update_expression("SET #snap = :snap, #snap_at = :at")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#snap)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#snap", "snapshot")
            .expression_attribute_names("#snap_at", "snapshot_at")
            .expression_attribute_values(":snap", json_attr(snapshot, "the snapshot")?)
            .expression_attribute_values(":at", s(timestamp(at)))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?;
        if updated.is_some() {
            return Ok(SnapshotOutcome {
                saved: true,
                snapshot: snapshot.clone(),
                taken_at: Some(at),
            });
        }
        let item = self
            .get_meta(incident_id)
            .await?
            .ok_or_else(|| no_incident(incident_id))?;
        let existing: Value = get_json(&item, "snapshot").ok_or_else(|| TaskError::Aws {
            operation: "dynamodb:UpdateItem".into(),
            code: "CorruptSnapshot".into(),
            message: format!(
                "incident {incident_id} has a snapshot attribute that is not valid JSON; \
                 inspect the item before re-running quarantine"
            ),
        })?;
        Ok(SnapshotOutcome {
            saved: false,
            snapshot: existing,
            taken_at: get_time(&item, "snapshot_at"),
        })
    }

    async fn get(&self, incident_id: &str) -> Result<Option<IncidentRecord>, TaskError> {
        Ok(self
            .get_meta(incident_id)
            .await?
            .as_ref()
            .and_then(record_from_item))
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, TaskError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :tl)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(incident_pk(incident_id)))
            .expression_attribute_values(":tl", s(TIMELINE_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws("dynamodb:Query")?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(TimelineEntry {
                    at: get_time(item, "at")?,
                    step: get_s(item, "step")?.to_string(),
                    message: get_s(item, "message").unwrap_or_default().to_string(),
                    details: get_json(item, "details"),
                })
            })
            .collect())
    }

    async fn notification(
        &self,
        incident_id: &str,
        kind: &str,
    ) -> Result<Option<NotificationMark>, TaskError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(
                self.key(incident_id, &format!("{NOTIFIED_PREFIX}{kind}")),
            ))
            .consistent_read(true)
            .send()
            .await
            .aws("dynamodb:GetItem")?;
        Ok(out.item.map(|item| NotificationMark {
            kind: kind.to_string(),
            message_id: get_s(&item, "message_id").map(str::to_string),
            at: get_time(&item, "at"),
        }))
    }

    async fn mark_notified(
        &self,
        incident_id: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let mut item = self.key(incident_id, &format!("{NOTIFIED_PREFIX}{kind}"));
        item.insert("entity".into(), s("NOTIFICATION"));
        item.insert("incident_id".into(), s(incident_id));
        item.insert("kind".into(), s(kind));
        item.insert("at".into(), s(timestamp(at)));
        if let Some(m) = message_id {
            item.insert("message_id".into(), s(m));
        }
        Ok(self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    async fn list_by_status(
        &self,
        status: IncidentStatus,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        self.query_index(GSI_BY_STATUS, "gsi1pk", status_key(status), limit)
            .await
    }

    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        self.query_index(
            GSI_BY_PRINCIPAL,
            "gsi2pk",
            format!("PRINCIPAL#{principal}"),
            limit,
        )
        .await
    }

    async fn mark_released(
        &self,
        incident_id: &str,
        release: &Value,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let now = timestamp(at);
        let released = IncidentStatus::Released;
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(incident_id, META_SK)))
            .update_expression(
                "SET #status = :status, #rel = :rel, #upd = :now, \
                 #closed = if_not_exists(#closed, :now), #g1pk = :g1pk, #g1sk = :g1sk",
            )
            .condition_expression("attribute_exists(#pk) AND #status <> :status")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#rel", "release")
            .expression_attribute_names("#upd", "updated_at")
            .expression_attribute_names("#closed", "closed_at")
            .expression_attribute_names("#g1pk", "gsi1pk")
            .expression_attribute_names("#g1sk", "gsi1sk")
            .expression_attribute_values(":status", s(released.as_str()))
            .expression_attribute_values(":rel", json_attr(release, "the release record")?)
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":g1pk", s(status_key(released)))
            .expression_attribute_values(":g1sk", s(format!("{now}#{incident_id}")))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }
}
