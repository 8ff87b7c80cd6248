//! Incidents found through the table's indexes, a page at a time: what `cordon incidents
//! list` and `cordon incidents export` read. Never a `Scan`.
//!
//! The index that serves a query is the narrowest its filters allow ([`IncidentQuery::route`]):
//!
//! | filter | index | key condition |
//! |---|---|---|
//! | `principal` | `gsi2` | `gsi2pk = PRINCIPAL#<arn or name>`, `gsi2sk` between `since` and `until` |
//! | `status` | `gsi1` | `gsi1pk = STATUS#<status>`, `gsi1sk >= since` (last update ≥ open time) |
//! | neither | `gsi3` | `gsi3pk = OPENED#<yyyy-mm>` for each month from `until` back to `since` (else the table's creation), `gsi3sk` between `since` and `until` |
//!
//! The other filters (`rule`, `severity`, and `status` or the open-time bounds where the
//! index does not hold them) are a `FilterExpression` on that query. Results come newest
//! first by the index's time (the open time; the last update for `status`). A page ends
//! after `max_items` incidents; its `next_token` resumes exactly after the last one
//! (an `ExclusiveStartKey` built from it), and is refused for any other query.
//!
//! One index serves each access pattern, and one was added for the time range:
//! DynamoDB (and so CloudFormation) adds at most one index per table update, and rules
//! and severities are few enough per month that a filter reads little more than it keeps.
use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cordon_core::TaskError;
use cordon_core::model::{IncidentStatus, Severity};
use serde::{Deserialize, Serialize};

use super::incidents::{opened_key, record_from_item, status_key};
use super::table::{GSI_BY_OPENED, GSI_BY_PRINCIPAL, GSI_BY_STATUS};
use super::{Item, s, timestamp};
use crate::error::SdkResultExt;
use crate::incidents::IncidentRecord;

/// Which incidents to list. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// A principal's ARN, or its name when the event carried no ARN (as indexed).
    pub principal: Option<String>,
    /// A rule id (`iam.user-created`).
    pub rule: Option<String>,
    pub severity: Option<Severity>,
    /// Opened at or after.
    pub since: Option<DateTime<Utc>>,
    /// Opened before.
    pub until: Option<DateTime<Utc>>,
}

/// The index a query is served by (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ByPrincipal,
    ByStatus,
    ByMonthOpened,
}

impl Route {
    pub fn index(self) -> &'static str {
        match self {
            Route::ByPrincipal => GSI_BY_PRINCIPAL,
            Route::ByStatus => GSI_BY_STATUS,
            Route::ByMonthOpened => GSI_BY_OPENED,
        }
    }

    fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Route::ByPrincipal => ("gsi2pk", "gsi2sk"),
            Route::ByStatus => ("gsi1pk", "gsi1sk"),
            Route::ByMonthOpened => ("gsi3pk", "gsi3sk"),
        }
    }
}

impl IncidentQuery {
    /// The narrowest index for this query.
    pub fn route(&self) -> Route {
        if self.principal.is_some() {
            Route::ByPrincipal
        } else if self.status.is_some() {
            Route::ByStatus
        } else {
            Route::ByMonthOpened
        }
    }

    /// Identifies the query's filters in its page tokens, so a token cannot resume
    /// another query. The time bounds are not part of it: the token carries the ones the
    /// first page used (a relative `--since 1h` would otherwise drift between pages).
    fn fingerprint(&self) -> String {
        let filters = IncidentQuery {
            since: None,
            until: None,
            ..self.clone()
        };
        let json = serde_json::to_string(&filters).unwrap_or_default();
        crate::links::sha256_hex(&json)[..16].to_string()
    }
}

/// One page of incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentRecord>,
    /// Pass back to get the next page; `None` when there is nothing more.
    pub next_token: Option<String>,
}

/// Where a page resumes: the query it belongs to, the month (time index), and the key of
/// the last incident returned. Opaque to callers (base64url JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cursor {
    query: String,
    /// `yyyy-mm`: the month being read, and the earliest month to read.
    month: Option<String>,
    floor: Option<String>,
    /// The time bounds of the first page, which every later page keeps.
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    #[serde(default)]
    until: Option<DateTime<Utc>>,
    /// The last item returned: `pk`, `sk` and the index's two key attributes.
    after: Option<HashMap<String, String>>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str, query: &IncidentQuery) -> Result<Self, TaskError> {
        let invalid = || {
            TaskError::invalid(
                "startingToken",
                "is not a token this listing returned; run the command again without it",
            )
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.query != query.fingerprint() {
            return Err(TaskError::invalid(
                "startingToken",
                "belongs to a listing with other filters; pass the same filters as the \
                 listing that returned it",
            ));
        }
        Ok(cursor)
    }
}

/// `yyyy-mm` of a time.
fn month_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// The month before `yyyy-mm`.
fn previous_month(month: &str) -> Option<String> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let last_of_previous = first.pred_opt()?;
    Some(format!(
        "{:04}-{:02}",
        last_of_previous.year(),
        last_of_previous.month()
    ))
}

/// Incidents through the table's indexes (see the module docs).
#[derive(Debug, Clone)]
pub struct IncidentListing {
    client: Client,
    table: String,
}

impl IncidentListing {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Up to `max_items` incidents matching `query`, newest first, resuming after
    /// `starting_token` (a previous page's `next_token`). `now` bounds the time index.
    pub async fn page(
        &self,
        query: &IncidentQuery,
        max_items: usize,
        starting_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IncidentPage, TaskError> {
        let max_items = max_items.max(1);
        let route = query.route();
        let mut cursor = match starting_token {
            Some(token) => Cursor::decode(token, query)?,
            None => Cursor {
                query: query.fingerprint(),
                month: None,
                floor: None,
                since: query.since,
                until: query.until,
                after: None,
            },
        };
        let query = &IncidentQuery {
            since: cursor.since,
            until: cursor.until,
            ..query.clone()
        };
        if route == Route::ByMonthOpened && cursor.month.is_none() {
            let top = query.until.map(|u| u.min(now)).unwrap_or(now);
            cursor.month = Some(month_of(top));
            cursor.floor = Some(match query.since {
                Some(since) => month_of(since),
                None => month_of(self.created_at().await?.unwrap_or(now)),
            });
        }
        let mut incidents = Vec::new();
        loop {
            let remaining = max_items - incidents.len();
            let (items, last_evaluated) = self.query_once(query, route, &cursor, remaining).await?;
            for item in items {
                let key = self.resume_key(&item, route);
                if let Some(record) = record_from_item(&item)? {
                    incidents.push(record);
                }
                if incidents.len() == max_items {
                    cursor.after = Some(key);
                    return Ok(IncidentPage {
                        incidents,
                        next_token: Some(cursor.encode()),
                    });
                }
            }
            if let Some(key) = last_evaluated {
                cursor.after = Some(key);
                continue;
            }
            // This partition is done: the time index goes on to the month before.
            cursor.after = None;
            let next_month = match (&cursor.month, &cursor.floor) {
                (Some(month), Some(floor)) if month.as_str() > floor.as_str() => {
                    previous_month(month)
                }
                _ => None,
            };
            match next_month {
                Some(month) if route == Route::ByMonthOpened => cursor.month = Some(month),
                _ => {
                    return Ok(IncidentPage {
                        incidents,
                        next_token: None,
                    });
                }
            }
        }
    }

    /// When the table was created (`DescribeTable`): no incident is older, so the time
    /// index is read back to that month.
    async fn created_at(&self) -> Result<Option<DateTime<Utc>>, TaskError> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .aws("dynamodb:DescribeTable")?;
        Ok(out
            .table
            .and_then(|t| t.creation_date_time)
            .and_then(|t| DateTime::from_timestamp(t.secs(), 0)))
    }

    /// The key DynamoDB resumes after: the table's and the index's keys of `item`.
    fn resume_key(&self, item: &Item, route: Route) -> HashMap<String, String> {
        let (pk, sk) = route.key_attributes();
        ["pk", "sk", pk, sk]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), item.get_string(name)?)))
            .collect()
    }

    /// One `Query` of the route's index: its items and `LastEvaluatedKey`.
    async fn query_once(
        &self,
        query: &IncidentQuery,
        route: Route,
        cursor: &Cursor,
        remaining: usize,
    ) -> Result<(Vec<Item>, Option<HashMap<String, String>>), TaskError> {
        let (pk_attribute, sk_attribute) = route.key_attributes();
        let partition = match route {
            Route::ByPrincipal => format!("PRINCIPAL#{}", query.principal.as_deref().unwrap_or("")),
            Route::ByStatus => status_key(query.status.unwrap_or(IncidentStatus::Open)),
            Route::ByMonthOpened => opened_key(cursor.month.as_deref().unwrap_or("")),
        };
        let since = query.since.map(timestamp);
        // `<until>` sorts before `<until>#<id>`: an incident opened at `until` is excluded.
        let until = query.until.map(timestamp);
        let mut names = HashMap::from([("#pk".to_string(), pk_attribute.to_string())]);
        let mut values = HashMap::from([(":pk".to_string(), s(partition))]);
        let mut key_condition = "#pk = :pk".to_string();
        let time_in_key = route != Route::ByStatus;
        match (&since, &until, time_in_key) {
            (Some(a), Some(b), true) => {
                key_condition.push_str(" AND #sk BETWEEN :since AND :until");
                values.insert(":since".into(), s(a));
                values.insert(":until".into(), s(b));
            }
            (Some(a), _, _) => {
                key_condition.push_str(" AND #sk >= :since");
                values.insert(":since".into(), s(a));
            }
            (None, Some(b), true) => {
                key_condition.push_str(" AND #sk <= :until");
                values.insert(":until".into(), s(b));
            }
            _ => {}
        }
        if key_condition.contains("#sk") {
            names.insert("#sk".to_string(), sk_attribute.to_string());
        }
        let mut filters = Vec::new();
        let mut filter = |name: &str, attribute: &str, op: &str, value: String| {
            names.insert(format!("#{name}"), attribute.to_string());
            values.insert(format!(":f{name}"), s(value));
            filters.push(format!("#{name} {op} :f{name}"));
        };
        if route != Route::ByStatus
            && let Some(status) = query.status
        {
            filter("status", "status", "=", status.as_str().to_string());
        }
        if let Some(rule) = &query.rule {
            filter("rule", "rule", "=", rule.clone());
        }
        if let Some(severity) = query.severity {
            filter("severity", "severity", "=", severity.as_str().to_string());
        }
        if route == Route::ByStatus {
            // gsi1 is sorted by the last update: the open-time bounds are filters.
            if let Some(a) = &since {
                filter("opened", "opened_at", ">=", a.clone());
            }
            if let Some(b) = &until {
                filter("openedbefore", "opened_at", "<", b.clone());
            }
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(route.index())
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
            .limit(remaining.clamp(20, 500) as i32);
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        if let Some(after) = &cursor.after {
            let key = after.iter().map(|(k, v)| (k.clone(), s(v))).collect();
            request = request.set_exclusive_start_key(Some(key));
        }
        let out = request.send().await.aws("dynamodb:Query")?;
        let last = out.last_evaluated_key.map(|key| {
            key.into_iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(v) => Some((k, v)),
                    _ => None,
                })
                .collect()
        });
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(Item::from)
            .collect();
        Ok((items, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_narrowest_index_serves_each_query() {
        let mut q = IncidentQuery {
            rule: Some("iam.user-created".into()),
            ..IncidentQuery::default()
        };
        assert_eq!(q.route(), Route::ByMonthOpened);
        q.status = Some(IncidentStatus::Contained);
        assert_eq!(q.route(), Route::ByStatus);
        q.principal = Some("arn:aws:iam::123456789012:user/x".into());
        assert_eq!(q.route(), Route::ByPrincipal);
        assert_eq!(q.route().index(), "gsi2");
    }

    #[test]
    fn months_step_back_across_years() {
        assert_eq!(previous_month("2024-03").as_deref(), Some("2024-02"));
        assert_eq!(previous_month("2024-01").as_deref(), Some("2023-12"));
        assert_eq!(month_of(at("2024-09-27T14:06:00Z")), "2024-09");
        assert_eq!(opened_key("2024-09-27T14:06:00.123Z"), "OPENED#2024-09");
    }

    #[test]
    fn a_token_resumes_only_its_own_query() {
        let q = IncidentQuery {
            severity: Some(Severity::High),
            ..IncidentQuery::default()
        };
        let cursor = Cursor {
            query: q.fingerprint(),
            month: Some("2024-09".into()),
            floor: Some("2024-01".into()),
            since: None,
            until: None,
            after: Some(HashMap::from([("pk".into(), "INCIDENT#x".into())])),
        };
        let token = cursor.encode();
        assert_eq!(Cursor::decode(&token, &q).expect("decodes"), cursor);
        let other = IncidentQuery {
            severity: Some(Severity::Low),
            ..IncidentQuery::default()
        };
        let err = Cursor::decode(&token, &other).expect_err("another query");
        assert!(err.to_string().contains("other filters"), "{err}");
        assert!(Cursor::decode("not a token!", &q).is_err());
    }
}
