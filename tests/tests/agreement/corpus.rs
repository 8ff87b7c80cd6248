//! The events the agreement test judges, generated from the data rather than listed:
//! every fixture, every call a detector claims, variants of each (who called, whether it
//! failed or only read, the sign-in's MFA facts), and examples of every alternative of
//! every template rule made from each of those.
use cordon_core::classify::DETECTORS;
use cordon_eventbridge::Rule;
use cordon_tests::FIXTURE_ACCOUNT;
use serde_json::{Value, json};

/// One event and where it came from (for failure messages).
pub struct Case {
    pub origin: String,
    pub event: Value,
}

impl Case {
    fn new(origin: impl Into<String>, event: Value) -> Case {
        Case {
            origin: origin.into(),
            event,
        }
    }
}

/// An example of a rule's alternative, so the test can tell every alternative was built.
pub struct RuleExample {
    pub rule: String,
    pub branch: usize,
    pub case: Case,
}

/// Fixtures and the calls detectors claim.
pub fn bases(fixtures: &[(String, Value)]) -> Vec<Case> {
    let mut bases: Vec<Case> = fixtures
        .iter()
        .map(|(name, e)| Case::new(format!("fixture {name}"), e.clone()))
        .collect();
    bases.extend(claimed_calls(fixtures));
    bases
}

/// Fixtures, claimed calls and their variants, each event once.
pub fn events(fixtures: &[(String, Value)]) -> Vec<Case> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for base in bases(fixtures) {
        for (label, event) in variants(&base.event) {
            if seen.insert(event.to_string()) {
                out.push(Case::new(format!("{} ({label})", base.origin), event));
            }
        }
        if seen.insert(base.event.to_string()) {
            out.push(base);
        }
    }
    out
}

/// Examples of every alternative of every rule, made from each event of `bases`, each
/// event once.
pub fn rule_examples(rules: &[Rule], bases: &[Case]) -> Vec<RuleExample> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for rule in rules {
        for base in bases {
            for example in rule.pattern.examples(&base.event) {
                if !seen.insert(example.event.to_string()) {
                    continue;
                }
                out.push(RuleExample {
                    rule: rule.logical_id.clone(),
                    branch: example.branch,
                    case: Case::new(
                        format!(
                            "example of {} alternative {} from {}",
                            rule.logical_id, example.branch, base.origin
                        ),
                        example.event,
                    ),
                });
            }
        }
    }
    out
}

/// Every call a detector claims, made from each fixture of the same service (or from a
/// plain record of the service when the corpus has none): the detector sees its call
/// with whatever request the fixture carries.
fn claimed_calls(fixtures: &[(String, Value)]) -> Vec<Case> {
    let mut out = Vec::new();
    for detector in DETECTORS {
        let same_service: Vec<&(String, Value)> = fixtures
            .iter()
            .filter(|(_, e)| e["detail"]["eventSource"] == detector.event_source)
            .collect();
        for name in detector.event_names {
            if same_service.is_empty() {
                let mut event = plain_record(detector.event_source);
                event["detail"]["eventName"] = json!(name);
                out.push(Case::new(
                    format!("{} {name} (plain record)", detector.event_source),
                    event,
                ));
            }
            for (fixture, base) in &same_service {
                let mut event = base.clone();
                event["detail"]["eventName"] = json!(name);
                out.push(Case::new(
                    format!("{} {name} made from {fixture}", detector.event_source),
                    event,
                ));
            }
        }
    }
    out
}

/// A well-formed management call to `event_source` by IAM user jdoe.
fn plain_record(event_source: &str) -> Value {
    let service = event_source.split('.').next().unwrap_or(event_source);
    let sign_in = service == "signin";
    json!({
        "version": "0",
        "id": "6f1e9f7c-0b5e-4c55-9a4c-2f5d0c6a7e01",
        "detail-type": if sign_in { "AWS Console Sign In via CloudTrail" } else { "AWS API Call via CloudTrail" },
        "source": format!("aws.{service}"),
        "account": FIXTURE_ACCOUNT,
        "time": "2024-09-27T14:30:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.10",
            "userIdentity": jdoe(),
            "eventTime": "2024-09-27T14:30:00Z",
            "eventSource": event_source,
            "eventName": "Unknown",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.66",
            "userAgent": "aws-cli/2.15.30",
            "requestParameters": {},
            "responseElements": null,
            "requestID": "0d9f5b8e-2a51-4d8c-9a7b-7c3e1f2a4b60",
            "eventID": "c4a0f3f2-8d7e-4b1a-9c6d-5e2f1a0b3c47",
            "readOnly": false,
            "eventType": if sign_in { "AwsConsoleSignIn" } else { "AwsApiCall" },
            "managementEvent": true,
            "recipientAccountId": FIXTURE_ACCOUNT,
            "eventCategory": "Management"
        }
    })
}

fn jdoe() -> Value {
    json!({
        "type": "IAMUser",
        "principalId": "AIDATKH17R74G9JS70Z8W",
        "arn": format!("arn:aws:iam::{FIXTURE_ACCOUNT}:user/jdoe"),
        "accountId": FIXTURE_ACCOUNT,
        "accessKeyId": "AKIASIIC13IR9CP5I5N9",
        "userName": "jdoe"
    })
}

fn root() -> Value {
    json!({
        "type": "Root",
        "principalId": FIXTURE_ACCOUNT,
        "arn": format!("arn:aws:iam::{FIXTURE_ACCOUNT}:root"),
        "accountId": FIXTURE_ACCOUNT,
        "accessKeyId": "AKIAQ3EGRVAN6XPL3T2H"
    })
}

fn assumed_role() -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAS2YQN8K3VT6D4JX7P:GitHubActions",
        "arn": format!("arn:aws:sts::{FIXTURE_ACCOUNT}:assumed-role/github-actions-iam-provisioner/GitHubActions"),
        "accountId": FIXTURE_ACCOUNT,
        "accessKeyId": "ASIAS2YQN8K3EXAMPLE1",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAS2YQN8K3VT6D4JX7P",
                "arn": format!("arn:aws:iam::{FIXTURE_ACCOUNT}:role/github-actions-iam-provisioner"),
                "accountId": FIXTURE_ACCOUNT,
                "userName": "github-actions-iam-provisioner"
            },
            "attributes": {"creationDate": "2024-09-27T14:00:00Z", "mfaAuthenticated": "false"}
        }
    })
}

/// The variants of one event that change what a rule or the classifier may decide. An
/// event without an object `detail` has none.
fn variants(event: &Value) -> Vec<(String, Value)> {
    if !event["detail"].is_object() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut with = |label: &str, change: &dyn Fn(&mut Value)| {
        let mut e = event.clone();
        change(&mut e["detail"]);
        out.push((label.to_string(), e));
    };
    with("by root", &|d| d["userIdentity"] = root());
    with("by an IAM user", &|d| d["userIdentity"] = jdoe());
    with("by an assumed role", &|d| {
        d["userIdentity"] = assumed_role()
    });
    with("by an identity with no type", &|d| {
        d["userIdentity"] = json!({})
    });
    with("denied", &|d| {
        d["errorCode"] = json!("AccessDenied");
        d["errorMessage"] = json!("User is not authorized to perform this operation");
        d["requestParameters"] = Value::Null;
        d["responseElements"] = Value::Null;
    });
    with("denied, by root", &|d| {
        d["userIdentity"] = root();
        d["errorCode"] = json!("AccessDenied");
    });
    with("read-only", &|d| d["readOnly"] = json!(true));
    with("read-only, by root", &|d| {
        d["userIdentity"] = root();
        d["readOnly"] = json!(true);
    });
    with("without readOnly, by root", &|d| {
        d["userIdentity"] = root();
        d.as_object_mut().map(|o| o.remove("readOnly"));
    });
    with("a data event", &|d| {
        d["eventCategory"] = json!("Data");
        d["managementEvent"] = json!(false);
    });
    with("a data event, by root", &|d| {
        d["userIdentity"] = root();
        d["eventCategory"] = json!("Data");
        d["managementEvent"] = json!(false);
    });
    if event["detail"]["eventName"] == "ConsoleLogin" {
        for result in ["Success", "Failure", "success", "FAILURE"] {
            with(&format!("ConsoleLogin {result}"), &|d| {
                d["responseElements"] = json!({"ConsoleLogin": result});
            });
        }
        for mfa in [
            json!("Yes"),
            json!("YES"),
            json!("No"),
            json!("no"),
            json!(true),
        ] {
            with(&format!("MFAUsed {mfa}"), &|d| {
                d["additionalEventData"]["MFAUsed"] = mfa.clone();
            });
        }
        with("without MFAUsed", &|d| {
            if let Some(o) = d["additionalEventData"].as_object_mut() {
                o.remove("MFAUsed");
            }
        });
        with("without MFAUsed or MFAIdentifier", &|d| {
            if let Some(o) = d["additionalEventData"].as_object_mut() {
                o.remove("MFAUsed");
                o.remove("MFAIdentifier");
            }
        });
        with("without MFAUsed, with an MFAIdentifier", &|d| {
            d["additionalEventData"]["MFAIdentifier"] =
                json!(format!("arn:aws:iam::{FIXTURE_ACCOUNT}:mfa/jdoe"));
            if let Some(o) = d["additionalEventData"].as_object_mut() {
                o.remove("MFAUsed");
            }
        });
        with("a successful root sign-in", &|d| {
            d["userIdentity"] = root();
            d["responseElements"] = json!({"ConsoleLogin": "Success"});
        });
    }
    if event["detail-type"] == "AWS API Call via CloudTrail" {
        // A change made in the console that is not an API call.
        let mut console = event.clone();
        console["detail-type"] = json!("AWS Console Action via CloudTrail");
        console["detail"]["eventType"] = json!("AwsConsoleAction");
        out.push(("a console action".to_string(), console.clone()));
        console["detail"]["userIdentity"] = root();
        out.push(("a console action, by root".to_string(), console));
    }
    out
}

/// `event` as another account's: the envelope and the record both name it.
pub fn from_other_account(event: &Value) -> Value {
    let mut e = event.clone();
    if let Some(o) = e.as_object_mut() {
        o.insert("account".into(), json!(OTHER_ACCOUNT));
    }
    if let Some(d) = e.get_mut("detail").and_then(Value::as_object_mut) {
        d.insert("recipientAccountId".into(), json!(OTHER_ACCOUNT));
    }
    e
}

/// `event` whose record says another account received the call, under this account's
/// envelope: the rules cannot see it, the classifier must.
pub fn recorded_for_other_account(event: &Value) -> Option<Value> {
    let mut e = event.clone();
    let d = e.get_mut("detail")?.as_object_mut()?;
    d.insert("recipientAccountId".into(), json!(OTHER_ACCOUNT));
    Some(e)
}

/// The fixtures' attacker account.
pub const OTHER_ACCOUNT: &str = "444455556666";
