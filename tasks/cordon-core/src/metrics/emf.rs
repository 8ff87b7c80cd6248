//! One Embedded Metric Format document. The specification
//! (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//!
//! ```text
//! {"_aws": {"Timestamp": <ms since the epoch>,
//!           "CloudWatchMetrics": [{"Namespace": "...",
//!                                  "Dimensions": [["Dim", ...]],
//!                                  "Metrics": [{"Name": "...", "Unit": "..."}]}]},
//!  "Dim": "<value>", "<metric name>": <number or up to 100 numbers>, ...}
//! ```
//!
//! A directive holds at most 100 metrics and a dimension set at most 30 dimensions; a
//! dimension's value and a metric's values are top-level members named after them, so a
//! name may be used once per document. [`MetricsLine::render`] writes as many documents as
//! the metrics need (100 to a document), each complete.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The most metrics one directive may declare.
pub const MAX_METRICS: usize = 100;
/// The most dimensions one dimension set may hold.
pub const MAX_DIMENSIONS: usize = 30;
/// The most values one metric may carry in one document.
pub const MAX_VALUES: usize = 100;

/// A metric's unit (the subset Cordon uses of CloudWatch's `StandardUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric and its values in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub unit: Unit,
    pub values: Vec<f64>,
}

/// Why a document cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("a dimension set holds at most {MAX_DIMENSIONS} dimensions; {0} were given")]
    TooManyDimensions(usize),
    #[error("the name {0:?} is used twice (a dimension, a metric or a property)")]
    NameClash(String),
    #[error("the name {0:?} is empty, longer than 1024 characters, or reserved (`_aws`)")]
    BadName(String),
    #[error("the value of dimension {0:?} must be 1 to 1024 characters")]
    BadDimensionValue(String),
    #[error("metric {0:?} has a value that is not a finite number")]
    NotFinite(String),
}

/// The metrics of one invocation: one namespace, one dimension set, any number of metrics
/// (each with up to [`MAX_VALUES`] values), and properties (searchable in Logs Insights,
/// not metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsLine {
    namespace: String,
    timestamp: DateTime<Utc>,
    dimensions: Vec<(String, String)>,
    metrics: BTreeMap<String, Metric>,
    properties: Map<String, Value>,
}

fn good_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 1024 && name != "_aws"
}

impl MetricsLine {
    pub fn new(namespace: &str, timestamp: DateTime<Utc>) -> MetricsLine {
        MetricsLine {
            namespace: namespace.to_owned(),
            timestamp,
            dimensions: Vec::new(),
            metrics: BTreeMap::new(),
            properties: Map::new(),
        }
    }

    fn taken(&self, name: &str) -> bool {
        self.dimensions.iter().any(|(d, _)| d == name)
            || self.metrics.contains_key(name)
            || self.properties.contains_key(name)
    }

    /// Adds a dimension of every metric of the document.
    pub fn dimension(mut self, name: &str, value: &str) -> Result<MetricsLine, MetricsError> {
        if !good_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if value.is_empty() || value.chars().count() > 1024 {
            return Err(MetricsError::BadDimensionValue(name.to_owned()));
        }
        if self.taken(name) {
            return Err(MetricsError::NameClash(name.to_owned()));
        }
        if self.dimensions.len() == MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions(MAX_DIMENSIONS + 1));
        }
        self.dimensions.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Records one value of `name` (a second value of the same metric is added to it).
    pub fn record(&mut self, name: &str, unit: Unit, value: f64) -> Result<(), MetricsError> {
        if !good_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if !value.is_finite() {
            return Err(MetricsError::NotFinite(name.to_owned()));
        }
        if let Some(metric) = self.metrics.get_mut(name) {
            metric.values.push(value);
            return Ok(());
        }
        if self.taken(name) {
            return Err(MetricsError::NameClash(name.to_owned()));
        }
        self.metrics.insert(
            name.to_owned(),
            Metric {
                name: name.to_owned(),
                unit,
                values: vec![value],
            },
        );
        Ok(())
    }

    /// Counts one occurrence of `name`.
    pub fn count(&mut self, name: &str) -> Result<(), MetricsError> {
        self.record(name, Unit::Count, 1.0)
    }

    /// A property: a top-level member that is not a metric (a request id, an incident id).
    pub fn property(&mut self, name: &str, value: Value) -> Result<(), MetricsError> {
        if !good_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if self.taken(name) {
            return Err(MetricsError::NameClash(name.to_owned()));
        }
        self.properties.insert(name.to_owned(), value);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.values()
    }

    /// The documents, one JSON line each: [`MAX_METRICS`] metrics to a document, a
    /// metric's values [`MAX_VALUES`] to a document. None when nothing was recorded.
    pub fn render(&self) -> Vec<String> {
        // Split each metric's values into chunks, then pack the (metric, chunk) pairs so
        // that no document declares more than MAX_METRICS metrics or a metric twice.
        let mut documents: Vec<Vec<(&Metric, &[f64])>> = Vec::new();
        for metric in self.metrics.values() {
            for chunk in metric.values.chunks(MAX_VALUES) {
                let slot = documents.iter_mut().find(|d| {
                    d.len() < MAX_METRICS && d.iter().all(|(m, _)| m.name != metric.name)
                });
                match slot {
                    Some(document) => document.push((metric, chunk)),
                    None => documents.push(vec![(metric, chunk)]),
                }
            }
        }
        documents
            .into_iter()
            .map(|metrics| self.document(&metrics).to_string())
            .collect()
    }

    fn document(&self, metrics: &[(&Metric, &[f64])]) -> Value {
        let mut document = self.properties.clone();
        let dimension_set: Vec<&str> = self.dimensions.iter().map(|(d, _)| d.as_str()).collect();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_set],
                    "Metrics": metrics.iter().map(|(m, _)| json!({"Name": m.name, "Unit": m.unit.as_str()})).collect::<Vec<_>>(),
                }]
            }),
        );
        for (name, value) in &self.dimensions {
            document.insert(name.clone(), json!(value));
        }
        for (metric, values) in metrics {
            let value = match values {
                [one] => json!(one),
                many => json!(many),
            };
            document.insert(metric.name.clone(), value);
        }
        Value::Object(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::validate;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_764_423_000_123).expect("a time")
    }

    #[test]
    fn one_invocation_is_one_valid_document() {
        let mut line = MetricsLine::new("Cordon", at())
            .dimension("Function", "cordon-record")
            .unwrap();
        line.count("Invocations").unwrap();
        line.record("Duration", Unit::Milliseconds, 12.5).unwrap();
        line.property("requestId", json!("r-1")).unwrap();
        let documents = line.render();
        assert_eq!(documents.len(), 1);
        validate(&documents[0]).unwrap_or_else(|e| panic!("{e}: {}", documents[0]));
        let parsed: Value = serde_json::from_str(&documents[0]).unwrap();
        assert_eq!(parsed["_aws"]["Timestamp"], 1_764_423_000_123_i64);
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Cordon"
        );
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(parsed["Function"], "cordon-record");
        assert_eq!(parsed["Invocations"], 1.0);
        assert_eq!(parsed["Duration"], 12.5);
        assert_eq!(parsed["requestId"], "r-1");
    }

    #[test]
    fn more_than_a_hundred_metrics_or_values_split_into_valid_documents() {
        let mut line = MetricsLine::new("Cordon", at());
        for i in 0..250 {
            line.count(&format!("m{i}")).unwrap();
        }
        for _ in 0..150 {
            line.record("Latency", Unit::Seconds, 1.0).unwrap();
        }
        let documents = line.render();
        assert_eq!(documents.len(), 3, "{documents:?}");
        let mut declared = 0;
        let mut latency_values = 0;
        for document in &documents {
            validate(document).unwrap_or_else(|e| panic!("{e}: {document}"));
            let parsed: Value = serde_json::from_str(document).unwrap();
            declared += parsed["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len();
            latency_values += match &parsed["Latency"] {
                Value::Array(values) => values.len(),
                Value::Null => 0,
                _ => 1,
            };
        }
        assert_eq!(declared, 252, "every metric chunk declared once");
        assert_eq!(latency_values, 150, "no value lost");
    }

    #[test]
    fn the_limits_and_names_are_enforced_when_building() {
        let mut line = MetricsLine::new("Cordon", at());
        for i in 0..MAX_DIMENSIONS {
            line = line.dimension(&format!("d{i}"), "v").unwrap();
        }
        assert_eq!(
            line.clone().dimension("one-more", "v"),
            Err(MetricsError::TooManyDimensions(31))
        );
        assert_eq!(
            line.clone().dimension("x", ""),
            Err(MetricsError::BadDimensionValue("x".into()))
        );
        assert_eq!(line.count("d0"), Err(MetricsError::NameClash("d0".into())));
        assert_eq!(
            line.count("_aws"),
            Err(MetricsError::BadName("_aws".into()))
        );
        assert_eq!(
            line.record("x", Unit::Seconds, f64::NAN),
            Err(MetricsError::NotFinite("x".into()))
        );
        assert!(line.render().is_empty(), "no metric, no document");
    }
}
