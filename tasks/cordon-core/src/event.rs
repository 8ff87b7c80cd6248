//! Lenient parsing of the EventBridge envelope and the CloudTrail record in `detail`.
//!
//! Only what Cordon needs is required: a JSON object envelope, an object `detail`, and
//! for CloudTrail records `userIdentity`, `eventTime` (ISO 8601), `eventSource`,
//! `eventName` and `eventID`. Everything else is optional, and optional fields of the
//! wrong type are treated as absent rather than failing the event.
//!
//! `requestParameters`, `responseElements`, `additionalEventData` and
//! `serviceEventDetails` stay raw [`serde_json::Value`]s: IAM and STS write non-ISO
//! dates there (`"Sep 27, 2024 2:05:02 PM"`, `"Aug 1, 2024, 11:45:21 AM"`), and those
//! must never break parsing.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TaskError;
use crate::model::PrincipalKind;

/// The EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub version: Option<String>,
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    /// Raw envelope `time` (ISO 8601 when EventBridge wrote it; kept as text).
    pub time: Option<String>,
    pub region: Option<String>,
    /// ARNs in `resources`; non-string entries are skipped.
    pub resources: Vec<String>,
    /// The `detail` object (always a JSON object once parsed).
    pub detail: Value,
}

/// Identity fields of a session issuer (`userIdentity.sessionContext.sessionIssuer`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebIdFederationData {
    pub federated_provider: Option<String>,
    pub attributes: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    pub web_id_federation_data: Option<WebIdFederationData>,
    /// `attributes.creationDate`; `None` when absent or not ISO 8601.
    pub creation_date: Option<DateTime<Utc>>,
    /// `attributes.mfaAuthenticated` (`"true"`/`"false"`, case-insensitive).
    pub mfa_authenticated: Option<bool>,
    pub source_identity: Option<String>,
}

/// CloudTrail `userIdentity`. Empty strings are normalised to `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub kind: PrincipalKind,
    /// The raw `type` string, when present.
    pub type_raw: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub invoked_by: Option<String>,
    pub session_context: Option<SessionContext>,
}

/// A CloudTrail record (`detail` of a "… via CloudTrail" event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    pub event_version: Option<String>,
    pub user_identity: UserIdentity,
    pub event_time: DateTime<Utc>,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: Option<String>,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// `Value::Null` when absent.
    pub request_parameters: Value,
    pub response_elements: Value,
    pub additional_event_data: Value,
    pub service_event_details: Value,
    pub request_id: Option<String>,
    pub event_id: String,
    pub event_type: Option<String>,
    pub read_only: Option<bool>,
    pub management_event: Option<bool>,
    pub recipient_account_id: Option<String>,
    pub event_category: Option<String>,
}

impl CloudTrailRecord {
    /// The call failed (`errorCode` set).
    pub fn is_error(&self) -> bool {
        self.error_code.is_some()
    }

    /// `eventCategory` is `Data` or `managementEvent` is `false`.
    pub fn is_data_event(&self) -> bool {
        self.event_category
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("data"))
            || self.management_event == Some(false)
    }

    /// A string inside `requestParameters`.
    pub fn request_str(&self, key: &str) -> Option<&str> {
        str_at(&self.request_parameters, &[key])
    }
}

/// Human name of a JSON value's type, for error messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-empty string at `path` inside `v`.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The value at `path`, if every step is an object with that key.
pub fn value_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

/// CloudTrail's strings-as-booleans: `"true"`/`"false"`, `"Yes"`/`"No"`, any case.
/// Real JSON booleans are accepted too.
pub fn parse_bool_lenient(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp into UTC.
pub fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Shortens a value for an error message: at most 80 chars, control chars escaped.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push_str("...");
    }
    out
}

fn opt_string(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn required_string(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, TaskError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(TaskError::invalid(field, "is missing")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(TaskError::invalid(field, "is empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(TaskError::invalid(
            field,
            format!("must be a string, got {}", json_type_name(other)),
        )),
    }
}

/// Parses the EventBridge envelope. Requires a JSON object with an object `detail`.
pub fn parse_envelope(raw: &Value) -> Result<Envelope, TaskError> {
    let obj = raw.as_object().ok_or_else(|| {
        TaskError::invalid(
            "$",
            format!(
                "the event must be a JSON object, got {}",
                json_type_name(raw)
            ),
        )
    })?;
    let detail = match obj.get("detail") {
        None => return Err(TaskError::invalid("detail", "is missing")),
        Some(d @ Value::Object(_)) => d.clone(),
        Some(other) => {
            return Err(TaskError::invalid(
                "detail",
                format!("must be a JSON object, got {}", json_type_name(other)),
            ));
        }
    };
    let resources = obj
        .get("resources")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Envelope {
        version: opt_string(obj, "version"),
        id: opt_string(obj, "id"),
        detail_type: opt_string(obj, "detail-type"),
        source: opt_string(obj, "source"),
        account: opt_string(obj, "account"),
        time: opt_string(obj, "time"),
        region: opt_string(obj, "region"),
        resources,
        detail,
    })
}

impl Envelope {
    /// An EventBridge scheduled event (`Scheduled Event` from `aws.events`).
    pub fn is_scheduled(&self) -> bool {
        self.detail_type.as_deref() == Some("Scheduled Event")
            || (self.source.as_deref() == Some("aws.events")
                && self.detail.as_object().is_some_and(|d| d.is_empty()))
    }

    /// The envelope says this is a CloudTrail record, or `detail` looks like one.
    pub fn is_cloudtrail(&self) -> bool {
        self.detail_type
            .as_deref()
            .is_some_and(|t| t.ends_with("via CloudTrail"))
            || self
                .detail
                .as_object()
                .is_some_and(|d| d.contains_key("eventName") || d.contains_key("eventSource"))
    }
}

fn parse_session_context(v: &Value) -> Option<SessionContext> {
    let obj = v.as_object()?;
    let session_issuer = obj
        .get("sessionIssuer")
        .and_then(Value::as_object)
        .filter(|o| !o.is_empty())
        .map(|o| SessionIssuer {
            kind: opt_string(o, "type"),
            principal_id: opt_string(o, "principalId"),
            arn: opt_string(o, "arn"),
            account_id: opt_string(o, "accountId"),
            user_name: opt_string(o, "userName"),
        });
    let web_id_federation_data = obj
        .get("webIdFederationData")
        .and_then(Value::as_object)
        .filter(|o| !o.is_empty())
        .map(|o| WebIdFederationData {
            federated_provider: opt_string(o, "federatedProvider"),
            attributes: o.get("attributes").cloned().unwrap_or(Value::Null),
        });
    let attributes = obj.get("attributes");
    let creation_date = attributes
        .and_then(|a| str_at(a, &["creationDate"]))
        .and_then(parse_iso8601);
    let mfa_authenticated = attributes
        .and_then(|a| a.get("mfaAuthenticated"))
        .and_then(parse_bool_lenient);
    Some(SessionContext {
        session_issuer,
        web_id_federation_data,
        creation_date,
        mfa_authenticated,
        source_identity: opt_string(obj, "sourceIdentity"),
    })
}

/// Parses `userIdentity`. Only the object shape is required.
pub fn parse_user_identity(v: &Value, field: &str) -> Result<UserIdentity, TaskError> {
    let obj = v.as_object().ok_or_else(|| {
        TaskError::invalid(
            field,
            format!("must be a JSON object, got {}", json_type_name(v)),
        )
    })?;
    let type_raw = opt_string(obj, "type");
    Ok(UserIdentity {
        kind: type_raw
            .as_deref()
            .map(PrincipalKind::from_cloudtrail)
            .unwrap_or(PrincipalKind::Unknown),
        type_raw,
        principal_id: opt_string(obj, "principalId"),
        arn: opt_string(obj, "arn"),
        account_id: opt_string(obj, "accountId"),
        access_key_id: opt_string(obj, "accessKeyId"),
        user_name: opt_string(obj, "userName"),
        invoked_by: opt_string(obj, "invokedBy"),
        session_context: obj.get("sessionContext").and_then(parse_session_context),
    })
}

fn lenient_bool_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<bool> {
    obj.get(key).and_then(parse_bool_lenient)
}

/// Parses the CloudTrail record in an envelope's `detail`.
///
/// Field names in errors are prefixed with `detail.`.
pub fn parse_cloudtrail(detail: &Value) -> Result<CloudTrailRecord, TaskError> {
    let obj = detail.as_object().ok_or_else(|| {
        TaskError::invalid(
            "detail",
            format!("must be a JSON object, got {}", json_type_name(detail)),
        )
    })?;
    let event_type = opt_string(obj, "eventType");
    let user_identity = match obj.get("userIdentity") {
        Some(v @ Value::Object(_)) => parse_user_identity(v, "detail.userIdentity")?,
        // Some AWS service events carry no caller identity at all.
        None | Some(Value::Null) if event_type.as_deref() == Some("AwsServiceEvent") => {
            UserIdentity {
                kind: PrincipalKind::Unknown,
                type_raw: None,
                principal_id: None,
                arn: None,
                account_id: None,
                access_key_id: None,
                user_name: None,
                invoked_by: None,
                session_context: None,
            }
        }
        None | Some(Value::Null) => {
            return Err(TaskError::invalid("detail.userIdentity", "is missing"));
        }
        Some(other) => {
            return Err(TaskError::invalid(
                "detail.userIdentity",
                format!("must be a JSON object, got {}", json_type_name(other)),
            ));
        }
    };
    let event_time_raw = required_string(obj, "eventTime", "detail.eventTime")?;
    let event_time = parse_iso8601(&event_time_raw).ok_or_else(|| {
        TaskError::invalid(
            "detail.eventTime",
            format!(
                "is not an ISO 8601 timestamp: \"{}\"",
                excerpt(&event_time_raw)
            ),
        )
    })?;
    let event_source = required_string(obj, "eventSource", "detail.eventSource")?;
    let event_name = required_string(obj, "eventName", "detail.eventName")?;
    let event_id = required_string(obj, "eventID", "detail.eventID")?;
    let raw = |key: &str| obj.get(key).cloned().unwrap_or(Value::Null);
    Ok(CloudTrailRecord {
        event_version: opt_string(obj, "eventVersion"),
        user_identity,
        event_time,
        event_source,
        event_name,
        aws_region: opt_string(obj, "awsRegion"),
        source_ip_address: opt_string(obj, "sourceIPAddress"),
        user_agent: opt_string(obj, "userAgent"),
        error_code: opt_string(obj, "errorCode"),
        error_message: opt_string(obj, "errorMessage"),
        request_parameters: raw("requestParameters"),
        response_elements: raw("responseElements"),
        additional_event_data: raw("additionalEventData"),
        service_event_details: raw("serviceEventDetails"),
        request_id: opt_string(obj, "requestID"),
        event_id,
        event_type,
        read_only: lenient_bool_field(obj, "readOnly"),
        management_event: lenient_bool_field(obj, "managementEvent"),
        recipient_account_id: opt_string(obj, "recipientAccountId"),
        event_category: opt_string(obj, "eventCategory"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_as_booleans_are_case_insensitive() {
        for (v, want) in [
            (json!("Yes"), Some(true)),
            (json!("YES"), Some(true)),
            (json!("no"), Some(false)),
            (json!("true"), Some(true)),
            (json!("False"), Some(false)),
            (json!(true), Some(true)),
            (json!("maybe"), None),
            (json!(1), None),
        ] {
            assert_eq!(parse_bool_lenient(&v), want, "{v}");
        }
    }

    #[test]
    fn envelope_requires_object_detail() {
        let e = parse_envelope(&json!({"id": "x"})).unwrap_err();
        assert_eq!(e, TaskError::invalid("detail", "is missing"));
        let e = parse_envelope(&json!({"detail": "{}"})).unwrap_err();
        assert_eq!(
            e,
            TaskError::invalid("detail", "must be a JSON object, got a string")
        );
        let e = parse_envelope(&json!([1])).unwrap_err();
        assert!(matches!(e, TaskError::InvalidEvent { field, .. } if field == "$"));
    }

    #[test]
    fn non_iso_response_dates_do_not_matter() {
        let detail = json!({
            "userIdentity": {"type": "IAMUser", "arn": "", "sessionContext": {"attributes": {"creationDate": "Aug 1, 2024, 11:45:21 AM", "mfaAuthenticated": "TRUE"}}},
            "eventTime": "2024-09-27T14:05:02Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser",
            "eventID": "e1",
            "readOnly": "false",
            "responseElements": {"user": {"createDate": "Sep 27, 2024 2:05:02 PM"}}
        });
        let r = parse_cloudtrail(&detail).unwrap();
        assert_eq!(r.user_identity.arn, None);
        let sc = r.user_identity.session_context.unwrap();
        assert_eq!(sc.creation_date, None);
        assert_eq!(sc.mfa_authenticated, Some(true));
        assert_eq!(r.read_only, Some(false));
    }

    #[test]
    fn bad_event_time_names_the_field() {
        let detail = json!({
            "userIdentity": {}, "eventTime": "Sep 27, 2024 2:05:02 PM",
            "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "eventID": "e1"
        });
        let e = parse_cloudtrail(&detail).unwrap_err();
        assert!(
            matches!(&e, TaskError::InvalidEvent { field, .. } if field == "detail.eventTime"),
            "{e}"
        );
    }
}
