//! The two query languages a state can be written in.
use serde::{Deserialize, Serialize};

/// `QueryLanguage`: set for the whole state machine, and per state. JSONPath is the default
/// (AWS Step Functions developer guide, "Setting the query language in Step Functions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[default]
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    JsonAta,
}

impl QueryLanguage {
    /// The name as the definition spells it.
    pub fn name(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::JsonAta => "JSONata",
        }
    }

    /// Reads a `QueryLanguage` value (exactly `JSONPath` or `JSONata`).
    pub fn from_name(s: &str) -> Option<QueryLanguage> {
        match s {
            "JSONPath" => Some(QueryLanguage::JsonPath),
            "JSONata" => Some(QueryLanguage::JsonAta),
            _ => None,
        }
    }
}
