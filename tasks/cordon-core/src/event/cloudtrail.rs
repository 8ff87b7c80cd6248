//! The CloudTrail record in `detail`: who called (`userIdentity`), what, when, and the
//! raw request, response and extra data.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{
    excerpt, json_type_name, opt_string, parse_bool_lenient, parse_iso8601, required_string, str_at,
};
use crate::error::TaskError;
use crate::model::PrincipalKind;

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

    /// A management (control-plane) event: `eventCategory` is `Management` or absent (older
    /// records), and `managementEvent` is not `false`. Data, network activity and Insights
    /// events are not.
    pub fn is_management_event(&self) -> bool {
        self.event_category
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case("management"))
            && self.management_event != Some(false)
    }

    /// `readOnly` is `true`: the call read and changed nothing.
    pub fn is_read_only(&self) -> bool {
        self.read_only == Some(true)
    }

    /// A string inside `requestParameters`.
    pub fn request_str(&self, key: &str) -> Option<&str> {
        str_at(&self.request_parameters, &[key])
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
