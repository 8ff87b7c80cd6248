//! Every field the classifier reads, in every shared and own fixture, replaced by a value
//! of each wrong JSON type: the classifier never panics, and it answers with a
//! classification or with `Cordon.InvalidEvent` naming a field — never another error,
//! which the workflow would treat as a failed step instead of a rejected event. A wrong
//! type in what identifies the incident's principal never yields an incident on a
//! principal the event does not name.
mod common;

use cordon_core::classify::{Classification, classify};
use cordon_core::names;
use serde_json::{Value, json};

/// The fields the classifier reads (`event/cloudtrail.rs`, `classify/`), as JSON pointers.
const FIELDS: &[&str] = &[
    "/source",
    "/detail-type",
    "/account",
    "/region",
    "/time",
    "/id",
    "/detail",
    "/detail/eventVersion",
    "/detail/eventName",
    "/detail/eventSource",
    "/detail/eventTime",
    "/detail/eventID",
    "/detail/eventType",
    "/detail/eventCategory",
    "/detail/awsRegion",
    "/detail/recipientAccountId",
    "/detail/sourceIPAddress",
    "/detail/userAgent",
    "/detail/errorCode",
    "/detail/errorMessage",
    "/detail/requestID",
    "/detail/readOnly",
    "/detail/userIdentity",
    "/detail/userIdentity/type",
    "/detail/userIdentity/principalId",
    "/detail/userIdentity/arn",
    "/detail/userIdentity/accountId",
    "/detail/userIdentity/accessKeyId",
    "/detail/userIdentity/userName",
    "/detail/userIdentity/invokedBy",
    "/detail/userIdentity/sessionContext",
    "/detail/userIdentity/sessionContext/attributes",
    "/detail/userIdentity/sessionContext/attributes/mfaAuthenticated",
    "/detail/userIdentity/sessionContext/sessionIssuer",
    "/detail/userIdentity/sessionContext/sessionIssuer/arn",
    "/detail/userIdentity/sessionContext/sessionIssuer/userName",
    "/detail/requestParameters",
    "/detail/requestParameters/userName",
    "/detail/requestParameters/policyArn",
    "/detail/requestParameters/policyDocument",
    "/detail/requestParameters/groupName",
    "/detail/requestParameters/roleName",
    "/detail/requestParameters/name",
    "/detail/requestParameters/tags",
    "/detail/responseElements",
    "/detail/responseElements/user",
    "/detail/responseElements/user/userName",
    "/detail/responseElements/user/arn",
    "/detail/responseElements/user/userId",
    "/detail/responseElements/ConsoleLogin",
    "/detail/responseElements/accessKey",
    "/detail/responseElements/accessKey/userName",
    "/detail/additionalEventData",
    "/detail/additionalEventData/MFAUsed",
    "/detail/additionalEventData/LoginTo",
];

/// A value of each JSON type; each field gets every one whose type differs from its own.
fn wrong_values() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(-7.5),
        json!("x"),
        json!([]),
        json!([{"userName": "mallory"}]),
        json!({}),
        json!({"nested": {"userName": "mallory"}}),
    ]
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn all_fixtures() -> Vec<(String, Value)> {
    [common::shared_fixtures_dir(), common::own_fixtures_dir()]
        .iter()
        .flat_map(|dir| common::json_files(dir))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, common::load(&p))
        })
        .collect()
}

#[test]
fn a_wrong_type_anywhere_is_a_classification_or_an_invalid_event() {
    let home = common::home();
    let mut tried = 0usize;
    let mut rejected = 0usize;
    for (name, event) in all_fixtures() {
        for field in FIELDS {
            let Some(original) = event.pointer(field) else {
                continue;
            };
            for value in wrong_values() {
                if same_type(original, &value) {
                    continue;
                }
                let mut mutated = event.clone();
                *mutated.pointer_mut(field).expect("the field") = value.clone();
                tried += 1;
                let outcome = std::panic::catch_unwind(|| classify(&mutated, &home))
                    .unwrap_or_else(|_| {
                        panic!("{name}: {field} = {value}: the classifier panicked")
                    });
                match outcome {
                    Ok(Classification::Incident(d)) => {
                        // The principal's name is one the event carries (ARNs may be built
                        // from the account and the name).
                        let text = mutated.to_string();
                        if let Some(p) = &d.principal {
                            if let Some(n) = &p.name {
                                assert!(
                                    text.contains(n.as_str()),
                                    "{name}: {field} = {value}: principal {n:?} is not in the event"
                                );
                            }
                            assert_ne!(
                                p.name.as_deref(),
                                Some("mallory"),
                                "{name}: {field} = {value}: the principal came from a value of the wrong type"
                            );
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        rejected += 1;
                        assert_eq!(
                            e.error_name(),
                            names::INVALID_EVENT,
                            "{name}: {field} = {value}: {e}"
                        );
                    }
                }
            }
        }
    }
    // The table must have bitten: most fixtures carry most of these fields.
    assert!(tried > 2_000, "only {tried} mutations were tried");
    assert!(
        rejected > tried / 10,
        "only {rejected} of {tried} were rejected"
    );
}
