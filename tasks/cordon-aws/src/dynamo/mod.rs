//! DynamoDB: the item codec every adapter shares, and its conditional writes.
//!
//! One table holds the incidents, their timelines and notification markers, and the
//! approval and release links (single-table design, see `TABLE.md`). Every item is written
//! and read through [`Item`]: strings as `S`; times as RFC 3339 UTC with milliseconds
//! ([`timestamp`]), so they sort in time order; documents as JSON strings; TTLs as `N`.
//! [`Table`] does the writes every adapter needs: put if absent and conditional updates,
//! where a failed condition is an answer (`false` / `None`), never an error. That is what
//! makes every task safe to run twice.
//!
//! - [`table`]: the table's keys and indexes (the create-table request);
//! - [`incidents`]: [`incidents::DynamoIncidentStore`], the incident audit trail;
//! - [`links`]: [`links::DynamoLinkStore`], approval and release links;
//! - [`listing`]: [`listing::IncidentListing`], incidents found through the indexes, a
//!   page at a time (what `cordon incidents list` and `export` read).
//! - [`signin`]: [`signin::DynamoSignInStore`], approvers' sessions and used nonces.
//! - [`failures`]: [`failures::DynamoFailureCounter`], the failed sign-in counters.
use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, SecondsFormat, Utc};
use cordon_core::TaskError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::SdkResultExt;

// The adapters use the codec below, so this module does not re-export them (no import
// circle); the crate root does.
pub mod failures;
pub mod incidents;
pub mod links;
pub mod listing;
pub mod signin;
pub mod table;

pub use table::{GSI_BY_OPENED, GSI_BY_PRINCIPAL, GSI_BY_STATUS, create_table, table_definition};

/// Sort key of every single-item entity: an incident, a link, a link index.
pub const META_SK: &str = "META";

/// The error code of a write whose condition did not hold.
const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// RFC 3339, UTC, millisecond precision: sorts lexicographically in time order. Every time
/// in the table is written this way, and conditions compare these strings.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A time attribute ([`timestamp`]).
pub(crate) fn time(at: DateTime<Utc>) -> AttributeValue {
    s(timestamp(at))
}

/// A JSON document, stored as a string attribute.
pub(crate) fn json<T: Serialize + ?Sized>(v: &T, name: &str) -> Result<AttributeValue, TaskError> {
    serde_json::to_string(v).map(s).map_err(|e| TaskError::Aws {
        operation: "dynamodb:serialize".into(),
        code: "SerializationError".into(),
        message: format!("the {name} attribute could not be serialized: {e}"),
    })
}

/// A unit enum as the string serde gives it (`critical`, `AWAITING_APPROVAL`).
pub(crate) fn enum_s<T: Serialize>(v: &T) -> AttributeValue {
    s(match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    })
}

/// One item, attribute by attribute. `Debug` shows attribute names only: link items hold
/// secrets (task tokens, anti-CSRF values).
#[derive(Clone, Default, PartialEq)]
pub struct Item(HashMap<String, AttributeValue>);

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_tuple("Item").field(&names).finish()
    }
}

impl From<HashMap<String, AttributeValue>> for Item {
    fn from(attributes: HashMap<String, AttributeValue>) -> Self {
        Self(attributes)
    }
}

impl Item {
    /// An item (or a key) with partition key `pk` and sort key `sk`.
    pub fn keyed(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self(HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))]))
    }

    pub fn into_attributes(self) -> HashMap<String, AttributeValue> {
        self.0
    }

    pub fn put(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.0.insert(name.to_string(), value);
        self
    }

    pub fn put_s(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.put(name, s(value))
    }

    /// Set `name` only if there is a value.
    pub fn put_opt_s(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.put_s(name, v);
        }
        self
    }

    pub fn put_n(&mut self, name: &str, value: i64) -> &mut Self {
        self.put(name, n(value))
    }

    pub fn put_time(&mut self, name: &str, at: DateTime<Utc>) -> &mut Self {
        self.put(name, time(at))
    }

    pub fn put_json<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<&mut Self, TaskError> {
        let value = json(value, name)?;
        Ok(self.put(name, value))
    }

    /// Set `name` to the JSON of `value` only if there is one.
    pub fn put_opt_json<T: Serialize>(
        &mut self,
        name: &str,
        value: Option<&T>,
    ) -> Result<&mut Self, TaskError> {
        match value {
            Some(v) => self.put_json(name, v),
            None => Ok(self),
        }
    }

    pub fn get_s(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    }

    pub fn get_string(&self, name: &str) -> Option<String> {
        self.get_s(name).map(str::to_string)
    }

    /// Whether the string set `name` holds `value` (`false` when absent).
    pub fn set_holds(&self, name: &str, value: &str) -> bool {
        self.0
            .get(name)
            .and_then(|v| v.as_ss().ok())
            .is_some_and(|set| set.iter().any(|v| v == value))
    }

    pub fn get_n(&self, name: &str) -> Option<i64> {
        self.0
            .get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
    }

    /// A time written by [`Item::put_time`]; `None` if absent or not a time.
    pub fn get_time(&self, name: &str) -> Option<DateTime<Utc>> {
        self.get_s(name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// A unit enum written by [`enum_s`]; `None` if absent or unknown.
    pub fn get_enum<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.get_s(name)
            .and_then(|v| serde_json::from_value(Value::String(v.to_string())).ok())
    }

    /// A JSON document; `None` if absent **or unreadable**. For attributes whose loss is
    /// harmless (a page summary, an actor); use [`Item::decode_json`] where it is not.
    pub fn get_json<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.get_s(name)
            .and_then(|raw| serde_json::from_str(raw).ok())
    }

    /// A JSON document: `Ok(None)` if absent, `Err` if present but not a `T`.
    pub fn decode_json<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        self.get_s(name).map(serde_json::from_str).transpose()
    }
}

/// A conditional `UpdateItem`: what to set and remove, and the condition every part of
/// which must hold (joined with `AND`). Attribute names and values become placeholders, so
/// callers never write expression syntax or worry about reserved words.
///
/// ```text
/// Update::new()
///     .set("status", s("CONTAINED"))
///     .set_if_absent("opened_at", time(now))
///     .when_absent("closed_at")
/// ```
#[derive(Default)]
pub(crate) struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    condition: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    fn name(&mut self, attribute: &str) -> String {
        let next = format!("#n{}", self.names.len());
        self.names
            .entry(attribute.to_string())
            .or_insert(next)
            .clone()
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `SET attribute = value`.
    pub fn set(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attribute), self.value(value));
        self.set.push(format!("{n} = {v}"));
        self
    }

    /// `SET attribute = value` unless the attribute already has a value.
    pub fn set_if_absent(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attribute), self.value(value));
        self.set.push(format!("{n} = if_not_exists({n}, {v})"));
        self
    }

    /// `ADD attribute :n`: an atomic counter (DynamoDB applies each ADD once, in order,
    /// however many writers race).
    pub fn add(mut self, attribute: &str, n: i64) -> Self {
        let (name, v) = (
            self.name(attribute),
            self.value(AttributeValue::N(n.to_string())),
        );
        self.add.push(format!("{name} {v}"));
        self
    }

    /// `ADD counter 1` for `event`, once: the event joins the string set `events`, and the
    /// write is refused when the set holds it already (a write sent again after its answer
    /// was lost, a retried step) or holds `cap` events (see [`Update::count_restarting_set`]).
    /// The set is what keeps the count exact; `cap` keeps the item small under a flood.
    pub fn count_once(self, counter: &str, events: &str, event: &str, cap: i64) -> Self {
        let (mut this, [set, member, single, limit]) =
            self.count_event(counter, events, event, cap);
        this.add.push(format!("{set} {single}"));
        this.condition.push(format!(
            "NOT contains({set}, {member}) AND (attribute_not_exists({set}) OR size({set}) < {limit})"
        ));
        this
    }

    /// `ADD counter 1`, and the placeholders of a counted event: the set's name, the event,
    /// the event as a one-member set, and the cap.
    fn count_event(
        self,
        counter: &str,
        events: &str,
        event: &str,
        cap: i64,
    ) -> (Self, [String; 4]) {
        let mut this = self.add(counter, 1);
        let placeholders = [
            this.name(events),
            this.value(s(event)),
            this.value(AttributeValue::Ss(vec![event.to_string()])),
            this.value(n(cap)),
        ];
        (this, placeholders)
    }

    /// [`Update::count_once`] when `events` is full: counts `event` and starts the set
    /// again with it alone. An event counted before the restart and sent again after it
    /// would count twice: that takes `cap` other events between a write and its retry.
    pub fn count_restarting_set(self, counter: &str, events: &str, event: &str, cap: i64) -> Self {
        let (mut this, [set, member, single, limit]) =
            self.count_event(counter, events, event, cap);
        this.set.push(format!("{set} = {single}"));
        this.condition.push(format!(
            "NOT contains({set}, {member}) AND size({set}) >= {limit}"
        ));
        this
    }

    /// `REMOVE attribute`.
    pub fn remove(mut self, attribute: &str) -> Self {
        let n = self.name(attribute);
        self.remove.push(n);
        self
    }

    /// Only if the item exists (`attribute_exists(pk)`).
    pub fn when_item_exists(self) -> Self {
        self.when_present("pk")
    }

    pub fn when_present(mut self, attribute: &str) -> Self {
        let n = self.name(attribute);
        self.condition.push(format!("attribute_exists({n})"));
        self
    }

    pub fn when_absent(mut self, attribute: &str) -> Self {
        let n = self.name(attribute);
        self.condition.push(format!("attribute_not_exists({n})"));
        self
    }

    pub fn when_equal(self, attribute: &str, value: AttributeValue) -> Self {
        self.compare(attribute, "=", value)
    }

    pub fn when_not_equal(self, attribute: &str, value: AttributeValue) -> Self {
        self.compare(attribute, "<>", value)
    }

    /// `attribute > value` (strings compare lexicographically: [`timestamp`]s in time order).
    pub fn when_greater(self, attribute: &str, value: AttributeValue) -> Self {
        self.compare(attribute, ">", value)
    }

    /// `attribute <= value`.
    pub fn when_at_most(self, attribute: &str, value: AttributeValue) -> Self {
        self.compare(attribute, "<=", value)
    }

    /// `(attribute_not_exists(attribute) OR attribute < value)`.
    pub fn when_absent_or_less(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attribute), self.value(value));
        self.condition
            .push(format!("(attribute_not_exists({n}) OR {n} < {v})"));
        self
    }

    /// `(attribute_not_exists(attribute) OR attribute = value)`.
    pub fn when_absent_or_equal(mut self, attribute: &str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attribute), self.value(value));
        self.condition
            .push(format!("(attribute_not_exists({n}) OR {n} = {v})"));
        self
    }

    /// `attribute IN (values...)`.
    pub fn when_one_of(mut self, attribute: &str, values: Vec<AttributeValue>) -> Self {
        let n = self.name(attribute);
        let placeholders: Vec<String> = values.into_iter().map(|v| self.value(v)).collect();
        self.condition
            .push(format!("{n} IN ({})", placeholders.join(", ")));
        self
    }

    fn compare(mut self, attribute: &str, op: &str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attribute), self.value(value));
        self.condition.push(format!("{n} {op} {v}"));
        self
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        if !self.add.is_empty() {
            parts.push(format!("ADD {}", self.add.join(", ")));
        }
        parts.join(" ")
    }
}

/// The incident table, with the reads and conditional writes the adapters share.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A consistent read of one item.
    pub async fn get(&self, key: Item) -> Result<Option<Item>, TaskError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key.into_attributes()))
            .consistent_read(true)
            .send()
            .await
            .aws("dynamodb:GetItem")?
            .item
            .map(Item::from))
    }

    /// Put `item` unless an item with its key exists; `false` if one did.
    pub async fn put_if_absent(&self, item: Item) -> Result<bool, TaskError> {
        Ok(self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item.into_attributes()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    /// Apply `update` to the item at `key` if its condition holds; `false` if it did not.
    pub async fn update(&self, key: Item, update: Update) -> Result<bool, TaskError> {
        Ok(self.send_update(key, update, None).await?.is_some())
    }

    /// As [`Table::update`], returning the item as it is after the update.
    pub async fn update_returning(
        &self,
        key: Item,
        update: Update,
    ) -> Result<Option<Item>, TaskError> {
        self.send_update(key, update, Some(ReturnValue::AllNew))
            .await
    }

    /// As [`Table::update`], returning the item as it was before the update (`ALL_OLD`:
    /// every attribute, so an attribute the update set to the value it had is there too).
    pub async fn update_returning_old(
        &self,
        key: Item,
        update: Update,
    ) -> Result<Option<Item>, TaskError> {
        self.send_update(key, update, Some(ReturnValue::AllOld))
            .await
    }

    async fn send_update(
        &self,
        key: Item,
        update: Update,
        returning: Option<ReturnValue>,
    ) -> Result<Option<Item>, TaskError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key.into_attributes()))
            .update_expression(update.expression());
        if !update.condition.is_empty() {
            req = req.condition_expression(update.condition.join(" AND "));
        }
        if let Some(returning) = returning {
            req = req.return_values(returning);
        }
        for (attribute, placeholder) in update.names {
            req = req.expression_attribute_names(placeholder, attribute);
        }
        if !update.values.is_empty() {
            // DynamoDB refuses an empty value map.
            req = req.set_expression_attribute_values(Some(update.values));
        }
        Ok(req
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?
            .map(|out| Item::from(out.attributes.unwrap_or_default())))
    }

    /// Every item of partition `pk` whose sort key starts with `sk_prefix`, in sort-key
    /// order (consistent, paginated to the end).
    pub async fn query_prefix(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, TaskError> {
        let items = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(sk_prefix))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws("dynamodb:Query")?;
        Ok(items.into_iter().map(Item::from).collect())
    }

    /// Up to `limit` items of index `index` whose `pk_attribute` is `pk`, highest sort key
    /// first (newest first: index sort keys start with a [`timestamp`]).
    pub async fn query_index_newest_first(
        &self,
        index: &str,
        pk_attribute: &str,
        pk: String,
        limit: i32,
    ) -> Result<Vec<Item>, TaskError> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_attribute)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(limit.max(1))
            .send()
            .await
            .aws("dynamodb:Query")?;
        Ok(out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(Item::from)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_use_placeholders_for_every_name_and_value() {
        let u = Update::new()
            .set("status", s("CLOSED"))
            .set_if_absent("opened_at", s("t"))
            .remove("decision")
            .when_item_exists()
            .when_not_equal("status", s("RELEASED"));
        assert_eq!(
            u.expression(),
            "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1) REMOVE #n2"
        );
        assert_eq!(
            u.condition.join(" AND "),
            "attribute_exists(#n3) AND #n0 <> :v2"
        );
        assert_eq!(u.names.get("status").map(String::as_str), Some("#n0"));
        assert_eq!(u.names.get("pk").map(String::as_str), Some("#n3"));
        assert_eq!(u.values.len(), 3);
    }

    #[test]
    fn items_round_trip_and_hide_their_values_in_debug() {
        let at = DateTime::parse_from_rfc3339("2024-09-27T14:06:00.123Z")
            .expect("time")
            .with_timezone(&Utc);
        let mut item = Item::keyed("APPROVAL#x", META_SK);
        item.put_s("csrf", "very-secret")
            .put_time("at", at)
            .put_n("ttl", 42)
            .put_opt_s("absent", None);
        item.put_json("doc", &serde_json::json!({"a": 1}))
            .expect("json");
        assert_eq!(item.get_s("csrf"), Some("very-secret"));
        assert_eq!(item.get_s("at"), Some("2024-09-27T14:06:00.123Z"));
        assert_eq!(item.get_time("at"), Some(at));
        assert_eq!(item.get_n("ttl"), Some(42));
        assert_eq!(item.get_s("absent"), None);
        assert_eq!(
            item.get_json::<Value>("doc"),
            Some(serde_json::json!({"a": 1}))
        );
        assert!(item.decode_json::<Vec<u8>>("doc").is_err());
        assert_eq!(item.decode_json::<Value>("absent").ok(), Some(None));
        let debug = format!("{item:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("csrf"), "{debug}");
    }
}
