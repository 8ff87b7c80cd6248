//! Example events made from a pattern: every alternative and every listed value is used,
//! each example matches, and the base event is kept wherever the pattern allows it.
use std::collections::BTreeSet;

use cordon_eventbridge::EventPattern;
use serde_json::{Value, json};

fn pattern(v: Value) -> EventPattern {
    EventPattern::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn at<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(event, |v, k| v.as_object().and_then(|o| o.get(k)))
}

#[test]
fn every_branch_and_every_listed_value_is_used_and_matches() {
    let p = pattern(json!({
        "source": ["aws.signin"],
        "detail": {
            "eventName": ["ConsoleLogin", "CheckMfa"],
            "$or": [
                {"responseElements": {"ConsoleLogin": [{"equals-ignore-case": "failure"}]}},
                {"userIdentity": {"type": ["Root"]}},
                {"additionalEventData": {"MFAUsed": [{"anything-but": {"equals-ignore-case": ["yes"]}}]},
                 "userIdentity": {"type": ["IAMUser"]}},
                {"additionalEventData": {"MFAUsed": [{"exists": false}], "MFAIdentifier": [{"exists": false}]}}
            ]
        }
    }));
    let base = json!({
        "source": "aws.iam",
        "account": "111122223333",
        "detail": {
            "eventName": "CreateUser",
            "userIdentity": {"type": "IAMUser", "userName": "jdoe"},
            "additionalEventData": {"MFAUsed": "Yes", "MFAIdentifier": "arn:aws:iam::111122223333:mfa/jdoe"},
            "responseElements": {"ConsoleLogin": "Success"}
        }
    });
    let examples = p.examples(&base);
    assert_eq!(p.branch_count(), 4);
    let branches: BTreeSet<usize> = examples.iter().map(|e| e.branch).collect();
    assert_eq!(branches, (0..4).collect());
    let mut names = BTreeSet::new();
    for e in &examples {
        assert!(p.matches(&e.event), "{}", e.event);
        assert_eq!(e.event["source"], "aws.signin");
        // Untouched fields of the base survive.
        assert_eq!(e.event["account"], "111122223333");
        assert_eq!(e.event["detail"]["userIdentity"]["userName"], "jdoe");
        names.insert(e.event["detail"]["eventName"].as_str().map(str::to_string));
    }
    assert_eq!(
        names,
        [
            Some("CheckMfa".to_string()),
            Some("ConsoleLogin".to_string())
        ]
        .into()
    );
    // exists:false removed both fields in the last branch.
    let last = examples.iter().find(|e| e.branch == 3).expect("branch 3");
    assert!(at(&last.event, "detail.additionalEventData.MFAUsed").is_none());
    assert!(at(&last.event, "detail.additionalEventData.MFAIdentifier").is_none());
    // anything-but replaced the excluded "Yes".
    let third = examples.iter().find(|e| e.branch == 2).expect("branch 2");
    let mfa = at(&third.event, "detail.additionalEventData.MFAUsed").expect("kept a value");
    assert!(
        !mfa.as_str().unwrap_or("").eq_ignore_ascii_case("yes"),
        "{mfa}"
    );
}

#[test]
fn every_matcher_kind_can_be_satisfied() {
    let p = pattern(json!({
        "a": [{"prefix": "arn:aws:"}],
        "b": [{"suffix": ".png"}],
        "c": [{"wildcard": "*/lib/*.so"}],
        "d": [{"numeric": [">", 10, "<=", 20]}],
        "e": [{"cidr": "10.0.0.0/24"}],
        "f": [{"exists": true}],
        "g": [{"anything-but": [1, 2, 3]}],
        "h": [{"prefix": {"equals-ignore-case": "AWS."}}],
        "i": [true],
        "j": [null],
        "k": [{"anything-but": {"prefix": "aws."}}]
    }));
    let examples = p.examples(&json!({"k": "aws.iam"}));
    assert_eq!(examples.len(), 1, "{examples:?}");
    let event = &examples[0].event;
    assert!(p.matches(event), "{event}");
    assert_ne!(event["k"], "aws.iam");
}

#[test]
fn a_base_that_already_matches_is_returned_unchanged() {
    let p = pattern(
        json!({"source": [{"prefix": "aws."}], "detail": {"errorCode": [{"exists": false}]}}),
    );
    let base = json!({"source": "aws.s3", "detail": {"eventName": "PutBucketPolicy"}});
    let examples = p.examples(&base);
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].event, base);
    // Not an object: an example is built from nothing.
    let from_nothing = p.examples(&json!("text"));
    assert_eq!(from_nothing.len(), 1);
    assert!(p.matches(&from_nothing[0].event));
}
