//! [`IncidentStore`] over DynamoDB: incident items, timeline entries and notification
//! markers in the incident table (see `TABLE.md` for the item shapes and access patterns).
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, IncidentStatus, Principal, Snapshot};
use cordon_core::release::ReleaseRecord;

use super::table::{GSI_BY_PRINCIPAL, GSI_BY_STATUS};
use super::{Item, META_SK, Table, Update, enum_s, json, s, time, timestamp};
use crate::incidents::{
    CloseOutcome, IncidentRecord, IncidentStore, NewIncident, NotificationMark, OpenOutcome,
    SnapshotOutcome, TimelineEntry, no_incident, read_record, unreadable,
};

/// Sort-key prefix of timeline entries.
pub const TIMELINE_PREFIX: &str = "TL#";
/// Sort-key prefix of "notification sent" markers.
pub const NOTIFIED_PREFIX: &str = "NOTIFIED#";

/// The partition key of an incident.
pub fn incident_pk(incident_id: &str) -> String {
    format!("INCIDENT#{incident_id}")
}

pub(crate) fn key(incident_id: &str, sk: &str) -> Item {
    Item::keyed(incident_pk(incident_id), sk)
}

/// `gsi1pk`: the by-status index's partition.
pub(crate) fn status_key(status: IncidentStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// `gsi3pk`: the by-month-opened index's partition, from an open time written by
/// [`timestamp`] (`2024-09-27T…` → `OPENED#2024-09`).
pub(crate) fn opened_key(opened_at: &str) -> String {
    format!("OPENED#{}", opened_at.get(..7).unwrap_or(opened_at))
}

/// `gsi1sk` / `gsi2sk` / `gsi3sk`: a time, then the id (unique, and sorted in time order).
pub(crate) fn index_sk(at: &str, incident_id: &str) -> String {
    format!("{at}#{incident_id}")
}

/// Set the status and move the incident in the by-status index.
pub(crate) fn with_status(
    update: Update,
    incident_id: &str,
    status: IncidentStatus,
    now: &str,
) -> Update {
    update
        .set("status", s(status.as_str()))
        .set("updated_at", s(now))
        .set("gsi1pk", s(status_key(status)))
        .set("gsi1sk", s(index_sk(now, incident_id)))
}

/// `gsi2pk`: the by-principal index's partition (the ARN, else the name).
pub(crate) fn principal_key(p: &Principal) -> Option<String> {
    p.arn
        .as_deref()
        .filter(|a| !a.is_empty())
        .or(p.name.as_deref().filter(|n| !n.is_empty()))
        .map(|k| format!("PRINCIPAL#{k}"))
}

/// The typed record in `attribute`, if there is one; an error if it does not decode.
fn record<T: serde::de::DeserializeOwned>(
    item: &Item,
    incident_id: &str,
    attribute: &str,
) -> Result<Option<T>, TaskError> {
    item.get_s(attribute)
        .map(|raw| read_record(incident_id, attribute, raw))
        .transpose()
}

/// The incident item as a record; `None` if it lacks an id or a status (not an incident).
pub(crate) fn record_from_item(item: &Item) -> Result<Option<IncidentRecord>, TaskError> {
    let (Some(id), Some(status)) = (item.get_s("incident_id"), item.get_enum("status")) else {
        return Ok(None);
    };
    Ok(Some(IncidentRecord {
        incident_id: id.to_string(),
        status,
        opened_at: item.get_time("opened_at"),
        updated_at: item.get_time("updated_at"),
        closed_at: item.get_time("closed_at"),
        rule: item.get_string("rule"),
        title: item.get_string("title"),
        severity: item.get_enum("severity"),
        disposition: item.get_enum("disposition"),
        principal: item.get_json("principal"),
        actor: item.get_json("actor"),
        event: item.get_json("event"),
        detection: record(item, id, "detection")?,
        assessment: record(item, id, "assessment")?,
        snapshot: record(item, id, "snapshot")?,
        snapshot_at: item.get_time("snapshot_at"),
        approval: record(item, id, "approval")?,
        release: record(item, id, "release")?,
        error: item.get_string("error"),
        summary: item.get_string("summary"),
        execution_arn: item.get_string("execution_arn"),
        closed_by: item.get_string("closed_by"),
        replayed_at: item.get_time("replayed_at"),
    }))
}

fn records_from_items(items: Vec<Item>) -> Result<Vec<IncidentRecord>, TaskError> {
    let mut records = Vec::with_capacity(items.len());
    for item in &items {
        records.extend(record_from_item(item)?);
    }
    Ok(records)
}

/// [`IncidentStore`] over `aws-sdk-dynamodb`.
#[derive(Debug, Clone)]
pub struct DynamoIncidentStore {
    table: Table,
}

impl DynamoIncidentStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    pub fn table_name(&self) -> &str {
        self.table.name()
    }

    async fn get_meta(&self, incident_id: &str) -> Result<Option<Item>, TaskError> {
        self.table.get(key(incident_id, META_SK)).await
    }
}

#[async_trait]
impl IncidentStore for DynamoIncidentStore {
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError> {
        let id = &incident.incident_id;
        let opened = timestamp(incident.opened_at);
        let mut item = key(id, META_SK);
        item.put_s("entity", "INCIDENT")
            .put_s("incident_id", id)
            .put_s("status", incident.status.as_str())
            .put_s("opened_at", &opened)
            .put_s("updated_at", &opened)
            .put_s("gsi1pk", status_key(incident.status))
            .put_s("gsi1sk", index_sk(&opened, id))
            .put_s("gsi3pk", opened_key(&opened))
            .put_s("gsi3sk", index_sk(&opened, id))
            .put_json("event", &incident.event)?;
        if incident.status == IncidentStatus::Rejected {
            item.put_s("closed_at", &opened);
        }
        item.put_opt_s("rule", incident.rule.as_deref())
            .put_opt_s("title", incident.title.as_deref());
        if let Some(p) = &incident.principal {
            item.put_json("principal", p)?
                .put_opt_s("principal_name", p.name.as_deref())
                .put_opt_s("principal_arn", p.arn.as_deref());
            if let Some(pk) = principal_key(p) {
                item.put_s("gsi2pk", pk)
                    .put_s("gsi2sk", index_sk(&opened, id));
            }
        }
        if let Some(a) = &incident.actor {
            item.put_json("actor", a)?
                .put_opt_s("actor_arn", a.arn.as_deref());
        }
        item.put_opt_json("detection", incident.detection.as_ref())?
            .put_opt_s("error", incident.error.as_deref())
            .put_opt_s("execution_arn", incident.execution_arn.as_deref());
        Ok(if self.table.put_if_absent(item).await? {
            OpenOutcome::Opened
        } else {
            OpenOutcome::Duplicate
        })
    }

    async fn reopen(&self, incident: &NewIncident, at: DateTime<Utc>) -> Result<bool, TaskError> {
        let id = &incident.incident_id;
        let now = timestamp(at);
        let mut update = with_status(Update::new(), id, IncidentStatus::Open, &now)
            .set("replayed_at", s(&now))
            .remove("closed_at")
            .remove("summary")
            // A failure recorded before the incident was opened left a bare item.
            .set_if_absent("opened_at", time(incident.opened_at))
            .set_if_absent("gsi3pk", s(opened_key(&timestamp(incident.opened_at))))
            .set_if_absent("gsi3sk", s(index_sk(&timestamp(incident.opened_at), id)))
            .set_if_absent("event", json(&incident.event, "event")?);
        if let Some(arn) = &incident.execution_arn {
            update = update.set("execution_arn", s(arn));
        }
        for (attribute, value) in [("rule", &incident.rule), ("title", &incident.title)] {
            if let Some(v) = value {
                update = update.set_if_absent(attribute, s(v));
            }
        }
        if let Some(p) = &incident.principal {
            update = update.set_if_absent("principal", json(p, "principal")?);
            if let Some(name) = &p.name {
                update = update.set_if_absent("principal_name", s(name));
            }
            if let Some(arn) = &p.arn {
                update = update.set_if_absent("principal_arn", s(arn));
            }
            if let Some(pk) = principal_key(p) {
                update = update
                    .set_if_absent("gsi2pk", s(pk))
                    .set_if_absent("gsi2sk", s(index_sk(&timestamp(incident.opened_at), id)));
            }
        }
        if let Some(a) = &incident.actor {
            update = update.set_if_absent("actor", json(a, "actor")?);
            if let Some(arn) = &a.arn {
                update = update.set_if_absent("actor_arn", s(arn));
            }
        }
        if let Some(d) = &incident.detection {
            update = update.set_if_absent("detection", json(d, "detection")?);
        }
        let update = update.when_equal("status", s(IncidentStatus::Failed.as_str()));
        self.table.update(key(id, META_SK), update).await
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError> {
        let at = timestamp(entry.at);
        let mut item = key(
            incident_id,
            &format!("{TIMELINE_PREFIX}{at}#{}", entry.step),
        );
        item.put_s("entity", "TIMELINE")
            .put_s("incident_id", incident_id)
            .put_s("at", at)
            .put_s("step", &entry.step)
            .put_s("message", &entry.message)
            .put_opt_json("details", entry.details.as_ref())?;
        self.table.put_if_absent(item).await
    }

    async fn save_assessment(
        &self,
        incident_id: &str,
        assessment: &Assessment,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let now = timestamp(at);
        let update = Update::new()
            .set("severity", enum_s(&assessment.severity))
            .set("disposition", enum_s(&assessment.disposition))
            .set("assessment", json(assessment, "assessment")?)
            .set("updated_at", s(&now))
            .set("gsi1sk", s(index_sk(&now, incident_id)))
            .when_item_exists();
        match self
            .table
            .update_returning_old(key(incident_id, META_SK), update)
            .await?
        {
            Some(before) => Ok(before.get_s("severity").is_none()),
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
        let update = with_status(Update::new(), incident_id, status, &now)
            .when_item_exists()
            .when_absent("closed_at");
        self.table.update(key(incident_id, META_SK), update).await
    }

    async fn close(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
        summary: Option<&str>,
        by: Option<&str>,
    ) -> Result<CloseOutcome, TaskError> {
        let now = timestamp(at);
        // An upsert: a missing incident becomes a bare closed item (see the trait).
        let mut update = with_status(Update::new(), incident_id, status, &now)
            .set("closed_at", s(&now))
            .set("incident_id", s(incident_id))
            .set("entity", s("INCIDENT"))
            .set_if_absent("opened_at", s(&now))
            // A bare item (never opened) is listed by when it was recorded.
            .set_if_absent("gsi3pk", s(opened_key(&now)))
            .set_if_absent("gsi3sk", s(index_sk(&now, incident_id)))
            .when_absent("closed_at");
        if let Some(summary) = summary {
            update = update.set("summary", s(summary));
        }
        if let Some(by) = by {
            update = update.set("closed_by", s(by));
        }
        if self.table.update(key(incident_id, META_SK), update).await? {
            return Ok(CloseOutcome {
                changed: true,
                status,
                closed_at: Some(at),
                by_caller: true,
            });
        }
        // Closed already: by someone else, by an earlier try of the caller's, or by this
        // very write, whose answer was lost and which the SDK sent again (same time, same
        // closer, same status).
        let item = self.get_meta(incident_id).await?;
        let current = item.as_ref().and_then(|i| i.get_enum("status"));
        let closed_at = item.as_ref().and_then(|i| i.get_s("closed_at"));
        let closed_by = item.as_ref().and_then(|i| i.get_s("closed_by"));
        let by_caller = current == Some(status) && closed_by == by;
        Ok(CloseOutcome {
            changed: by_caller && closed_at == Some(now.as_str()),
            status: current.unwrap_or(status),
            closed_at: item.as_ref().and_then(|i| i.get_time("closed_at")),
            by_caller: by_caller && by.is_some(),
        })
    }

    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Snapshot,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError> {
        let update = Update::new()
            .set("snapshot", json(snapshot, "snapshot")?)
            .set("snapshot_at", time(at))
            .when_item_exists()
            .when_absent("snapshot");
        if self.table.update(key(incident_id, META_SK), update).await? {
            return Ok(SnapshotOutcome {
                saved: true,
                snapshot: snapshot.clone(),
                taken_at: Some(at),
            });
        }
        // The condition failed: the incident is missing, or the first snapshot is stored.
        let item = self
            .get_meta(incident_id)
            .await?
            .ok_or_else(|| no_incident(incident_id))?;
        let existing = record(&item, incident_id, "snapshot")?
            .ok_or_else(|| unreadable(incident_id, "snapshot", &"it is missing"))?;
        Ok(SnapshotOutcome {
            saved: false,
            snapshot: existing,
            taken_at: item.get_time("snapshot_at"),
        })
    }

    async fn get(&self, incident_id: &str) -> Result<Option<IncidentRecord>, TaskError> {
        match self.get_meta(incident_id).await? {
            Some(item) => record_from_item(&item),
            None => Ok(None),
        }
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, TaskError> {
        let items = self
            .table
            .query_prefix(&incident_pk(incident_id), TIMELINE_PREFIX)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(TimelineEntry {
                    at: item.get_time("at")?,
                    step: item.get_string("step")?,
                    message: item.get_s("message").unwrap_or_default().to_string(),
                    details: item.get_json("details"),
                })
            })
            .collect())
    }

    async fn notification(
        &self,
        incident_id: &str,
        kind: &str,
    ) -> Result<Option<NotificationMark>, TaskError> {
        let item = self
            .table
            .get(key(incident_id, &format!("{NOTIFIED_PREFIX}{kind}")))
            .await?;
        Ok(item.map(|item| NotificationMark {
            kind: kind.to_string(),
            message_id: item.get_string("message_id"),
            at: item.get_time("at"),
        }))
    }

    async fn mark_notified(
        &self,
        incident_id: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let mut item = key(incident_id, &format!("{NOTIFIED_PREFIX}{kind}"));
        item.put_s("entity", "NOTIFICATION")
            .put_s("incident_id", incident_id)
            .put_s("kind", kind)
            .put_time("at", at)
            .put_opt_s("message_id", message_id);
        self.table.put_if_absent(item).await
    }

    async fn list_by_status(
        &self,
        status: IncidentStatus,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        let items = self
            .table
            .query_index_newest_first(GSI_BY_STATUS, "gsi1pk", status_key(status), limit)
            .await?;
        records_from_items(items)
    }

    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        let items = self
            .table
            .query_index_newest_first(
                GSI_BY_PRINCIPAL,
                "gsi2pk",
                format!("PRINCIPAL#{principal}"),
                limit,
            )
            .await?;
        records_from_items(items)
    }

    async fn mark_released(
        &self,
        incident_id: &str,
        release: &ReleaseRecord,
    ) -> Result<bool, TaskError> {
        let now = timestamp(release.released_at);
        let released = IncidentStatus::Released;
        let update = with_status(Update::new(), incident_id, released, &now)
            .set("release", json(release, "release")?)
            .set_if_absent("closed_at", s(&now))
            .when_item_exists()
            .when_not_equal("status", s(released.as_str()));
        self.table.update(key(incident_id, META_SK), update).await
    }
}
