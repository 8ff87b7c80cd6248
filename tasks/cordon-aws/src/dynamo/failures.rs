//! [`FailureCounter`] over DynamoDB (see `TABLE.md`): a counter item per key with `ADD`
//! (atomic however many sign-ins race), conditional writes for the window, a put-if-absent
//! marker per event, and the escalation as a conditional update of the incident item.
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use cordon_core::TaskError;
use cordon_core::failures::{FailureKey, KeyCount};
use cordon_core::model::IncidentStatus;

use super::incidents::{key as incident_key, with_status};
use super::{Item, META_SK, Table, Update, json, n, s, time, timestamp};
use crate::failures::{Counted, CountedEvent, Escalation, FailureCounter, Marker};

/// How long a counter or an event marker outlives its window (for investigation).
const KEEP_FOR: Duration = Duration::days(1);

/// The string set of the events a count has counted lately, on a key's counter and on an
/// incident (see [`Update::count_once`]): a count sent again, because its answer was lost
/// or its step retried, finds its event there and counts nothing.
const COUNTED_EVENTS: &str = "counted_events";

/// How many events that set keeps before it starts again (4 KiB of ids or so).
const COUNTED_EVENTS_CAP: i64 = 100;

fn counter_key(key: &FailureKey) -> Item {
    Item::keyed(format!("FAILURES#{}", key.as_key()), META_SK)
}

fn marker_key(event_id: &str) -> Item {
    Item::keyed(format!("FAILURE_EVENT#{event_id}"), META_SK)
}

fn ttl(at: DateTime<Utc>, window_seconds: u64) -> i64 {
    (at + Duration::seconds(window_seconds as i64) + KEEP_FOR).timestamp()
}

fn seconds(window_seconds: u64) -> Duration {
    Duration::seconds(i64::try_from(window_seconds).unwrap_or(i64::MAX / 1000))
}

fn counted(key: &FailureKey, item: &Item) -> Option<Counted> {
    Some(Counted {
        count: KeyCount {
            key: key.clone(),
            count: u64::try_from(item.get_n("n")?).ok()?,
            window_start: item.get_time("window_start")?,
        },
        incident: item.get_string("incident"),
    })
}

/// The incident a failure joins is claimed but not recorded yet: the failure that claimed
/// its window is opening it. The workflow retries with backoff.
fn not_opened_yet(incident_id: &str) -> TaskError {
    TaskError::transient(
        "dynamodb:UpdateItem",
        format!(
            "incident {incident_id} is being opened by the sign-in failure that claimed its \
             window; this failure joins it once it is recorded"
        ),
    )
}

fn corrupt(key: &FailureKey) -> TaskError {
    TaskError::Aws {
        operation: "dynamodb:UpdateItem".into(),
        code: "CorruptItem".into(),
        message: format!(
            "the failure counter {} has no count or window start",
            key.as_key()
        ),
    }
}

/// [`FailureCounter`] over `aws-sdk-dynamodb`, in the incident table.
#[derive(Debug, Clone)]
pub struct DynamoFailureCounter {
    table: Table,
}

impl DynamoFailureCounter {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }
}

#[async_trait]
impl FailureCounter for DynamoFailureCounter {
    async fn count(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
        claim: &str,
        event_id: &str,
    ) -> Result<Counted, TaskError> {
        let cutoff = time(at - seconds(window_seconds));
        // A racing writer can move the window between two steps: a few rounds settle it.
        for _ in 0..4 {
            // In the current window: count, once per event.
            let in_window = |update: Update| {
                update
                    .set_if_absent("incident", s(claim))
                    .when_greater("window_start", cutoff.clone())
            };
            let once = in_window(Update::new()).count_once(
                "n",
                COUNTED_EVENTS,
                event_id,
                COUNTED_EVENTS_CAP,
            );
            if let Some(item) = self.table.update_returning(counter_key(key), once).await? {
                return counted(key, &item).ok_or_else(|| corrupt(key));
            }
            if let Some(item) = self.table.get(counter_key(key)).await? {
                // Counted already: this count's own write, sent again.
                if item.set_holds(COUNTED_EVENTS, event_id) {
                    return counted(key, &item).ok_or_else(|| corrupt(key));
                }
                // The window's set of counted events is full.
                let restart = in_window(Update::new()).count_restarting_set(
                    "n",
                    COUNTED_EVENTS,
                    event_id,
                    COUNTED_EVENTS_CAP,
                );
                if let Some(item) = self
                    .table
                    .update_returning(counter_key(key), restart)
                    .await?
                {
                    return counted(key, &item).ok_or_else(|| corrupt(key));
                }
            }
            // No counter yet: this failure opens the first window.
            let mut item = counter_key(key);
            item.put_s("entity", "FAILURE_COUNTER")
                .put_s("key", key.as_key())
                .put_n("n", 1)
                .put_time("window_start", at)
                .put_s("incident", claim)
                .put_n("ttl", ttl(at, window_seconds))
                .put(
                    COUNTED_EVENTS,
                    AttributeValue::Ss(vec![event_id.to_string()]),
                );
            if self.table.put_if_absent(item).await? {
                return Ok(Counted {
                    count: KeyCount {
                        key: key.clone(),
                        count: 1,
                        window_start: at,
                    },
                    incident: Some(claim.to_string()),
                });
            }
            // The window is over: this failure opens the next one.
            let next = Update::new()
                .set("n", n(1))
                .set("window_start", time(at))
                .set("ttl", n(ttl(at, window_seconds)))
                .set("incident", s(claim))
                .set(
                    COUNTED_EVENTS,
                    AttributeValue::Ss(vec![event_id.to_string()]),
                )
                .when_at_most("window_start", cutoff.clone());
            if self.table.update(counter_key(key), next).await? {
                return Ok(Counted {
                    count: KeyCount {
                        key: key.clone(),
                        count: 1,
                        window_start: at,
                    },
                    incident: Some(claim.to_string()),
                });
            }
        }
        Err(TaskError::transient(
            "dynamodb:UpdateItem",
            format!(
                "the failure counter {} kept changing under concurrent sign-ins",
                key.as_key()
            ),
        ))
    }

    async fn link(
        &self,
        key: &FailureKey,
        window_start: DateTime<Utc>,
        incident_id: &str,
        replacing: &str,
        _window_seconds: u64,
    ) -> Result<String, TaskError> {
        let update = Update::new()
            .set("incident", s(incident_id))
            .when_equal("window_start", time(window_start))
            .when_absent_or_equal("incident", s(replacing));
        if self
            .table
            .update_returning(counter_key(key), update)
            .await?
            .is_some()
        {
            return Ok(incident_id.to_string());
        }
        // Held by another incident, or the window moved on (then nothing to link).
        Ok(self
            .table
            .get(counter_key(key))
            .await?
            .filter(|item| item.get_time("window_start") == Some(window_start))
            .and_then(|item| item.get_string("incident"))
            .unwrap_or_else(|| incident_id.to_string()))
    }

    async fn current(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
    ) -> Result<Option<KeyCount>, TaskError> {
        let Some(item) = self.table.get(counter_key(key)).await? else {
            return Ok(None);
        };
        Ok(counted(key, &item)
            .map(|c| c.count)
            .filter(|c| c.window_start > at - seconds(window_seconds)))
    }

    async fn mark(
        &self,
        event_id: &str,
        execution_arn: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Marker>, TaskError> {
        let mut item = marker_key(event_id);
        item.put_s("entity", "FAILURE_EVENT")
            .put_s("event_id", event_id)
            .put_opt_s("execution_arn", execution_arn)
            .put_time("at", at)
            .put_n("ttl", (at + Duration::days(7)).timestamp());
        if self.table.put_if_absent(item).await? {
            return Ok(None);
        }
        let Some(existing) = self.table.get(marker_key(event_id)).await? else {
            // Expired between the two calls: counted long ago.
            return Ok(Some(Marker {
                execution_arn: None,
                counted: None,
            }));
        };
        let counted = existing
            .decode_json::<CountedEvent>("counted")
            .map_err(|e| TaskError::Aws {
                operation: "dynamodb:GetItem".into(),
                code: "CorruptItem".into(),
                message: format!("the failure marker of event {event_id} is unreadable: {e}"),
            })?;
        Ok(Some(Marker {
            execution_arn: existing.get_string("execution_arn"),
            counted,
        }))
    }

    async fn settle(&self, event_id: &str, counted: &CountedEvent) -> Result<(), TaskError> {
        let update = Update::new()
            .set("counted", json(counted, "counted")?)
            .when_item_exists();
        self.table.update(marker_key(event_id), update).await?;
        Ok(())
    }

    async fn first_of_incident(&self, incident_id: &str) -> Result<(), TaskError> {
        let update = Update::new()
            .set_if_absent("failure_count", n(1))
            .when_item_exists();
        self.table
            .update(incident_key(incident_id, META_SK), update)
            .await?;
        Ok(())
    }

    async fn add_to_incident(&self, incident_id: &str, event_id: &str) -> Result<u64, TaskError> {
        // Counted from 1 by the failure that opened it (`first_of_incident`); until then it
        // is still being opened. Each event once (see `count`).
        let key = || incident_key(incident_id, META_SK);
        let count = |item: &Item| {
            item.get_n("failure_count")
                .and_then(|c| u64::try_from(c).ok())
                .unwrap_or(1)
        };
        let once = Update::new().when_present("failure_count").count_once(
            "failure_count",
            COUNTED_EVENTS,
            event_id,
            COUNTED_EVENTS_CAP,
        );
        if let Some(item) = self.table.update_returning(key(), once).await? {
            return Ok(count(&item));
        }
        let item = self
            .table
            .get(key())
            .await?
            .filter(|item| item.get_n("failure_count").is_some())
            .ok_or_else(|| not_opened_yet(incident_id))?;
        if item.set_holds(COUNTED_EVENTS, event_id) {
            // This count's own write, sent again.
            return Ok(count(&item));
        }
        let restart = Update::new()
            .when_present("failure_count")
            .count_restarting_set(
                "failure_count",
                COUNTED_EVENTS,
                event_id,
                COUNTED_EVENTS_CAP,
            );
        match self.table.update_returning(key(), restart).await? {
            Some(item) => Ok(count(&item)),
            // Another failure took the last place in the set meanwhile: the step retries.
            None => Err(TaskError::transient(
                "dynamodb:UpdateItem",
                format!("the failure count of incident {incident_id} changed under this one"),
            )),
        }
    }

    async fn escalate(
        &self,
        incident_id: &str,
        level: u8,
        at: DateTime<Utc>,
        execution_arn: Option<&str>,
    ) -> Result<Escalation, TaskError> {
        let now = timestamp(at);
        let done = [
            IncidentStatus::Notified,
            IncidentStatus::Closed,
            IncidentStatus::Dismissed,
            IncidentStatus::Failed,
        ];
        let mut update = with_status(Update::new(), incident_id, IncidentStatus::Open, &now)
            .set("escalation_level", n(i64::from(level)))
            .set("escalated_at", s(&now))
            .remove("closed_at")
            .remove("summary")
            .when_item_exists()
            .when_absent_or_less("escalation_level", n(i64::from(level)))
            .when_one_of("status", done.iter().map(|st| s(st.as_str())).collect());
        if let Some(arn) = execution_arn {
            update = update.set("execution_arn", s(arn));
        }
        if self
            .table
            .update(incident_key(incident_id, META_SK), update)
            .await?
        {
            return Ok(Escalation::Reopened);
        }
        let Some(item) = self.table.get(incident_key(incident_id, META_SK)).await? else {
            return Ok(Escalation::Missing);
        };
        if item
            .get_n("escalation_level")
            .is_some_and(|l| l >= i64::from(level))
        {
            return Ok(Escalation::AlreadyEscalated);
        }
        Ok(match item.get_enum::<IncidentStatus>("status") {
            Some(IncidentStatus::Open) | None => Escalation::InFlight,
            Some(other) => Escalation::Settled(other),
        })
    }
}
