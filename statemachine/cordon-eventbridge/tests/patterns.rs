//! Event-pattern semantics, operator by operator. Cases marked "doc" are the
//! examples from the EventBridge user guide ("Content filtering in Amazon
//! EventBridge event patterns", "Matching on null values and empty strings",
//! "Arrays in event patterns", "Comparison operators") or the event-ruler
//! README that EventBridge is built on.

use cordon_eventbridge::{EventPattern, PatternErrorKind};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    pattern: Value,
    event: Value,
    matches: bool,
}

fn case(name: &'static str, pattern: Value, event: Value, matches: bool) -> Case {
    Case {
        name,
        pattern,
        event,
        matches,
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        match EventPattern::parse(&c.pattern) {
            Ok(p) if p.matches(&c.event) == c.matches => {}
            Ok(_) => failures.push(format!(
                "{}: expected matches={} for pattern {} and event {}",
                c.name, c.matches, c.pattern, c.event
            )),
            Err(e) => failures.push(format!("{}: pattern rejected: {e}", c.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The sample event from the event-ruler README / EventBridge docs.
fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000",
            "state": "running"
        }
    })
}

#[test]
fn exact_values() {
    run(vec![
        case(
            "doc: simple match",
            json!({
                "detail-type": ["EC2 Instance State-change Notification"],
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
                "detail": {"state": ["initializing", "running"]}
            }),
            ec2_event(),
            true,
        ),
        case(
            "string mismatch",
            json!({"source": ["aws.s3"]}),
            ec2_event(),
            false,
        ),
        case(
            "case sensitive",
            json!({"source": ["AWS.EC2"]}),
            ec2_event(),
            false,
        ),
        case(
            "missing field",
            json!({"detail": {"nope": ["x"]}}),
            ec2_event(),
            false,
        ),
        case(
            "number equals",
            json!({"detail": {"c-count": [5]}}),
            ec2_event(),
            true,
        ),
        case(
            "number compares numerically",
            json!({"detail": {"c-count": [5.0]}}),
            ec2_event(),
            true,
        ),
        case(
            "exponent form",
            json!({"detail": {"x-limit": [3.018e2]}}),
            ec2_event(),
            true,
        ),
        case(
            "number does not match string",
            json!({"n": [5]}),
            json!({"n": "5"}),
            false,
        ),
        case(
            "string does not match number",
            json!({"n": ["5"]}),
            json!({"n": 5}),
            false,
        ),
        case(
            "large number compared exactly",
            json!({"a": [123_456_789_012_u64]}),
            json!({"a": 123_456_789_012_u64}),
            true,
        ),
        case(
            "large number differs",
            json!({"a": [123_456_789_012_u64]}),
            json!({"a": 123_456_789_013_u64}),
            false,
        ),
        case("boolean", json!({"b": [true]}), json!({"b": true}), true),
        case(
            "boolean vs string",
            json!({"b": [true]}),
            json!({"b": "true"}),
            false,
        ),
        case(
            "doc: empty string",
            json!({"detail": {"eventVersion": [""]}}),
            json!({"detail": {"eventVersion": "", "responseElements": null}}),
            true,
        ),
        case(
            "doc: null",
            json!({"detail": {"responseElements": [null]}}),
            json!({"detail": {"eventVersion": "", "responseElements": null}}),
            true,
        ),
        case(
            "doc: empty string does not match null",
            json!({"detail": {"responseElements": [""]}}),
            json!({"detail": {"responseElements": null}}),
            false,
        ),
        case(
            "null does not match empty string",
            json!({"detail": {"eventVersion": [null]}}),
            json!({"detail": {"eventVersion": ""}}),
            false,
        ),
        case(
            "null does not match a missing field",
            json!({"a": [null]}),
            json!({}),
            false,
        ),
        case(
            "leaf pattern does not match an object",
            json!({"a": ["x"]}),
            json!({"a": {"b": "x"}}),
            false,
        ),
        case(
            "values in a list OR together",
            json!({"a": ["x", "y", {"prefix": "z"}]}),
            json!({"a": "zed"}),
            true,
        ),
        case(
            "fields AND together",
            json!({"source": ["aws.ec2"], "region": ["eu-west-1"]}),
            ec2_event(),
            false,
        ),
        case(
            "IPv6 literal compares as an address",
            json!({"ip": ["2001:db8::1"]}),
            json!({"ip": "2001:0db8:0:0:0:0:0:1"}),
            true,
        ),
        case("non-object event", json!({"a": ["x"]}), json!(["x"]), false),
    ]);
}

#[test]
fn arrays_in_events() {
    let employees = json!({"employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"}
    ]});
    let nested = json!({"employees": [
        [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
        [{"firstName": "Peter", "lastName": "Jones"}]
    ]});
    run(vec![
        case(
            "doc: pattern value in event array",
            json!({"resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
            ]}),
            json!({"resources": [
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
            ]}),
            true,
        ),
        case(
            "disjoint arrays",
            json!({"r": ["a", "b"]}),
            json!({"r": ["c", "d"]}),
            false,
        ),
        case(
            "empty event array",
            json!({"r": ["a"]}),
            json!({"r": []}),
            false,
        ),
        case(
            "doc: objects in arrays",
            json!({"employees": {"firstName": ["Anna"]}}),
            employees.clone(),
            true,
        ),
        case(
            "doc: same element",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}),
            employees.clone(),
            true,
        ),
        case(
            "doc: array consistency",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
            employees.clone(),
            false,
        ),
        case(
            "doc: multi-level arrays",
            json!({"employees": {"firstName": ["Peter"]}}),
            nested.clone(),
            true,
        ),
        case(
            "multi-level array consistency",
            json!({"employees": {"firstName": ["John"], "lastName": ["Smith"]}}),
            nested,
            false,
        ),
        case(
            "prefix over array",
            json!({"r": [{"prefix": "arn:aws:iam"}]}),
            json!({"r": ["x", "arn:aws:iam::1:user/a"]}),
            true,
        ),
        case(
            "numeric over array",
            json!({"n": [{"numeric": [">", 10]}]}),
            json!({"n": [1, 2, 11]}),
            true,
        ),
    ]);
}

#[test]
fn prefix_and_suffix() {
    run(vec![
        case(
            "doc: prefix",
            json!({"time": [{"prefix": "2017-10-02"}]}),
            ec2_event(),
            true,
        ),
        case(
            "doc: prefix region",
            json!({"source": ["aws.ec2"], "region": [{"prefix": "eu-"}]}),
            ec2_event(),
            false,
        ),
        case(
            "prefix us-",
            json!({"region": [{"prefix": "us-"}]}),
            ec2_event(),
            true,
        ),
        case(
            "prefix is case sensitive",
            json!({"region": [{"prefix": "US-"}]}),
            ec2_event(),
            false,
        ),
        case(
            "prefix only on strings",
            json!({"n": [{"prefix": "12"}]}),
            json!({"n": 123}),
            false,
        ),
        case(
            "empty prefix matches any string",
            json!({"s": [{"prefix": ""}]}),
            json!({"s": "x"}),
            true,
        ),
        case(
            "doc: prefix equals-ignore-case",
            json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}),
            json!({"detail": {"service": "eventbridge"}}),
            true,
        ),
        case(
            "prefix equals-ignore-case miss",
            json!({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}),
            json!({"service": "sns"}),
            false,
        ),
        case(
            "doc: suffix",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "image.png"}),
            true,
        ),
        case(
            "suffix miss",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "image.PNG"}),
            false,
        ),
        case(
            "suffix ec2",
            json!({"source": [{"suffix": "ec2"}]}),
            ec2_event(),
            true,
        ),
        case(
            "doc: suffix equals-ignore-case",
            json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
            json!({"detail": {"FileName": "IMAGE.PNG"}}),
            true,
        ),
        case(
            "suffix only on strings",
            json!({"n": [{"suffix": "3"}]}),
            json!({"n": 123}),
            false,
        ),
    ]);
}

#[test]
fn equals_ignore_case() {
    run(vec![
        case(
            "doc: equals-ignore-case",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "Alice"}),
            true,
        ),
        case(
            "upper",
            json!({"source": [{"equals-ignore-case": "EC2"}]}),
            json!({"source": "ec2"}),
            true,
        ),
        case(
            "not a substring",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "Alice2"}),
            false,
        ),
        case(
            "only strings",
            json!({"b": [{"equals-ignore-case": "true"}]}),
            json!({"b": true}),
            false,
        ),
        case(
            "MFAUsed yes/YES",
            json!({"m": [{"equals-ignore-case": "yes"}]}),
            json!({"m": "YES"}),
            true,
        ),
    ]);
}

#[test]
fn anything_but() {
    run(vec![
        case(
            "doc: string",
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            ec2_event(),
            true,
        ),
        case(
            "string excluded",
            json!({"detail": {"state": [{"anything-but": "running"}]}}),
            ec2_event(),
            false,
        ),
        case(
            "doc: number",
            json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
            ec2_event(),
            true,
        ),
        case(
            "number excluded numerically",
            json!({"n": [{"anything-but": 123}]}),
            json!({"n": 123.0}),
            false,
        ),
        case(
            "doc: list of strings",
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            ec2_event(),
            true,
        ),
        case(
            "list of strings excluded",
            json!({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}),
            ec2_event(),
            false,
        ),
        case(
            "doc: list of numbers",
            json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}),
            ec2_event(),
            true,
        ),
        case(
            "list of numbers excluded",
            json!({"n": [{"anything-but": [100, 200, 300]}]}),
            json!({"n": 200}),
            false,
        ),
        case(
            "doc: prefix",
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            ec2_event(),
            true,
        ),
        case(
            "prefix excluded",
            json!({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}),
            ec2_event(),
            false,
        ),
        case(
            "doc: not aws.",
            json!({"source": [{"anything-but": {"prefix": "aws."}}]}),
            json!({"source": "com.example"}),
            true,
        ),
        case(
            "doc: not aws. (aws event)",
            json!({"source": [{"anything-but": {"prefix": "aws."}}]}),
            ec2_event(),
            false,
        ),
        case(
            "doc: suffix",
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            json!({"FileName": "a.txt"}),
            true,
        ),
        case(
            "suffix excluded",
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            json!({"FileName": "a.png"}),
            false,
        ),
        case(
            "doc: ignore case",
            json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}),
            json!({"state": "INITIALIZING"}),
            false,
        ),
        case(
            "ignore case list",
            json!({"state": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]}),
            json!({"state": "b"}),
            false,
        ),
        case(
            "ignore case other",
            json!({"state": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]}),
            json!({"state": "c"}),
            true,
        ),
        case(
            "doc: wildcard",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/lib/x.so"}),
            false,
        ),
        case(
            "wildcard other",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/bin/x"}),
            true,
        ),
        case(
            "wildcard list",
            json!({"p": [{"anything-but": {"wildcard": ["*.png", "*.jpg"]}}]}),
            json!({"p": "a.jpg"}),
            false,
        ),
        case(
            "missing field does not match",
            json!({"a": [{"anything-but": "x"}]}),
            json!({}),
            false,
        ),
        case(
            "object value does not match",
            json!({"a": [{"anything-but": "x"}]}),
            json!({"a": {"b": "y"}}),
            false,
        ),
        case(
            "other type is not excluded",
            json!({"a": [{"anything-but": "5"}]}),
            json!({"a": 5}),
            true,
        ),
        case(
            "null is not excluded",
            json!({"a": [{"anything-but": ["x"]}]}),
            json!({"a": null}),
            true,
        ),
        case(
            "any array element",
            json!({"a": [{"anything-but": "x"}]}),
            json!({"a": ["x", "y"]}),
            true,
        ),
        case(
            "all elements excluded",
            json!({"a": [{"anything-but": "x"}]}),
            json!({"a": ["x", "x"]}),
            false,
        ),
        case(
            "template: not AssumedRole",
            json!({"userIdentity": {"type": [{"anything-but": ["AssumedRole"]}]}}),
            json!({"userIdentity": {"type": "IAMUser"}}),
            true,
        ),
        case(
            "template: AssumedRole excluded",
            json!({"userIdentity": {"type": [{"anything-but": ["AssumedRole"]}]}}),
            json!({"userIdentity": {"type": "AssumedRole"}}),
            false,
        ),
    ]);
}

#[test]
fn exists() {
    let no_c_count = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
        "detail": {"state": ["initializing", "running"]}
    });
    let c_count_object = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
        "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}
    });
    let absent = json!({"detail": {"c-count": [{"exists": false}]}});
    let present = json!({"detail": {"c-count": [{"exists": true}]}});
    run(vec![
        case(
            "doc: exists false, field absent",
            absent.clone(),
            no_c_count.clone(),
            true,
        ),
        case(
            "doc: exists false, value is an object (not a leaf)",
            absent.clone(),
            c_count_object.clone(),
            true,
        ),
        case(
            "exists true, value is an object",
            present.clone(),
            c_count_object,
            false,
        ),
        case("exists true, present", present.clone(), ec2_event(), true),
        case("exists false, present", absent.clone(), ec2_event(), false),
        case("exists true, absent", present.clone(), no_c_count, false),
        case(
            "exists true, null is a value",
            present.clone(),
            json!({"detail": {"c-count": null}}),
            true,
        ),
        case(
            "exists false, null is a value",
            absent.clone(),
            json!({"detail": {"c-count": null}}),
            false,
        ),
        case(
            "exists true, empty string",
            present.clone(),
            json!({"detail": {"c-count": ""}}),
            true,
        ),
        case(
            "exists false, parent missing",
            absent.clone(),
            json!({"source": "x"}),
            true,
        ),
        case(
            "exists false, parent not an object",
            absent.clone(),
            json!({"detail": "text"}),
            true,
        ),
        case(
            "exists false, empty array has no leaves",
            absent.clone(),
            json!({"detail": {"c-count": []}}),
            true,
        ),
        case(
            "exists true, empty array",
            present.clone(),
            json!({"detail": {"c-count": []}}),
            false,
        ),
        case(
            "exists true, array of values",
            present.clone(),
            json!({"detail": {"c-count": [1]}}),
            true,
        ),
        case(
            "exists false, empty object",
            absent,
            json!({"detail": {"c-count": {}}}),
            true,
        ),
        case(
            "doc: description exists",
            json!({"detail": {"description": [{"exists": true}]}}),
            json!({"detail": {"description": "text"}}),
            true,
        ),
        case(
            "exists false OR value",
            json!({"a": [{"exists": false}, "x"]}),
            json!({"a": "x"}),
            true,
        ),
        case(
            "exists false OR value, absent",
            json!({"a": [{"exists": false}, "x"]}),
            json!({}),
            true,
        ),
        case(
            "exists false OR value, other",
            json!({"a": [{"exists": false}, "x"]}),
            json!({"a": "y"}),
            false,
        ),
        case(
            "template: errorCode absent",
            json!({"detail": {"errorCode": [{"exists": false}]}}),
            json!({"detail": {"errorCode": "AccessDenied"}}),
            false,
        ),
        case(
            "exists false with array consistency",
            json!({"a": {"b": ["x"], "c": [{"exists": false}]}}),
            json!({"a": [{"b": "y", "c": 1}, {"b": "x"}]}),
            true,
        ),
    ]);
}

#[test]
fn numeric() {
    run(vec![
        case(
            "doc: numeric",
            json!({"detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}]
            }}),
            ec2_event(),
            true,
        ),
        case(
            "upper bound exclusive",
            json!({"n": [{"numeric": [">", 0, "<", 5]}]}),
            json!({"n": 5}),
            false,
        ),
        case(
            "lower bound exclusive",
            json!({"n": [{"numeric": [">", 0, "<=", 5]}]}),
            json!({"n": 0}),
            false,
        ),
        case(
            "lower bound inclusive",
            json!({"n": [{"numeric": [">=", 0, "<=", 5]}]}),
            json!({"n": 0}),
            true,
        ),
        case(
            "negative",
            json!({"n": [{"numeric": ["<", 10]}]}),
            json!({"n": -1.5}),
            true,
        ),
        case(
            ">=",
            json!({"n": [{"numeric": [">=", 5]}]}),
            json!({"n": 5}),
            true,
        ),
        case(
            ">",
            json!({"n": [{"numeric": [">", 5]}]}),
            json!({"n": 5}),
            false,
        ),
        case(
            "<=",
            json!({"n": [{"numeric": ["<=", 5]}]}),
            json!({"n": 5.0}),
            true,
        ),
        case(
            "= integer vs float",
            json!({"n": [{"numeric": ["=", 5]}]}),
            json!({"n": 5.0}),
            true,
        ),
        case(
            "six decimal places",
            json!({"n": [{"numeric": [">", 1.000001]}]}),
            json!({"n": 1.000002}),
            true,
        ),
        case(
            "only numbers",
            json!({"n": [{"numeric": [">", 0]}]}),
            json!({"n": "5"}),
            false,
        ),
        case(
            "not null",
            json!({"n": [{"numeric": [">", 0]}]}),
            json!({"n": null}),
            false,
        ),
        case(
            "event out of range",
            json!({"n": [{"numeric": [">", 0]}]}),
            json!({"n": 6.0e9}),
            false,
        ),
        case(
            "limit inclusive",
            json!({"n": [{"numeric": ["<=", 5.0e9]}]}),
            json!({"n": 5.0e9}),
            true,
        ),
        case(
            "missing",
            json!({"n": [{"numeric": [">", 0]}]}),
            json!({}),
            false,
        ),
    ]);
}

#[test]
fn cidr() {
    run(vec![
        case(
            "doc: IPv4",
            json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}),
            json!({"detail": {"sourceIPAddress": "10.0.0.33"}}),
            true,
        ),
        case(
            "IPv4 outside",
            json!({"ip": [{"cidr": "10.0.0.0/24"}]}),
            json!({"ip": "10.0.1.1"}),
            false,
        ),
        case(
            "doc example event",
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}}),
            ec2_event(),
            true,
        ),
        case(
            "host bits are masked",
            json!({"ip": [{"cidr": "10.1.2.3/8"}]}),
            json!({"ip": "10.200.0.1"}),
            true,
        ),
        case(
            "/32",
            json!({"ip": [{"cidr": "203.0.113.66/32"}]}),
            json!({"ip": "203.0.113.66"}),
            true,
        ),
        case(
            "/0",
            json!({"ip": [{"cidr": "0.0.0.0/0"}]}),
            json!({"ip": "198.51.100.23"}),
            true,
        ),
        case(
            "IPv6",
            json!({"ip": [{"cidr": "2001:db8::/32"}]}),
            json!({"ip": "2001:db8:1::5"}),
            true,
        ),
        case(
            "IPv6 outside",
            json!({"ip": [{"cidr": "2001:db8::/32"}]}),
            json!({"ip": "2001:db9::1"}),
            false,
        ),
        case(
            "IPv6 /128",
            json!({"ip": [{"cidr": "::1/128"}]}),
            json!({"ip": "0:0:0:0:0:0:0:1"}),
            true,
        ),
        case(
            "IPv4 net, IPv6 address",
            json!({"ip": [{"cidr": "0.0.0.0/0"}]}),
            json!({"ip": "::1"}),
            false,
        ),
        case(
            "not an IP",
            json!({"ip": [{"cidr": "10.0.0.0/8"}]}),
            json!({"ip": "AWS Internal"}),
            false,
        ),
        case(
            "not a string",
            json!({"ip": [{"cidr": "10.0.0.0/8"}]}),
            json!({"ip": 10}),
            false,
        ),
    ]);
}

#[test]
fn wildcard() {
    run(vec![
        case(
            "doc: Simple*Service",
            json!({"source": [{"wildcard": "Simple*Service"}]}),
            json!({"source": "SimpleNotificationService"}),
            true,
        ),
        case(
            "empty middle",
            json!({"source": [{"wildcard": "Simple*Service"}]}),
            json!({"source": "SimpleService"}),
            true,
        ),
        case(
            "miss",
            json!({"source": [{"wildcard": "Simple*Service"}]}),
            json!({"source": "SimpleQueue"}),
            false,
        ),
        case(
            "leading",
            json!({"f": [{"wildcard": "*.png"}]}),
            json!({"f": "dir/a.png"}),
            true,
        ),
        case(
            "several",
            json!({"f": [{"wildcard": "dir/*/file*.txt"}]}),
            json!({"f": "dir/a/b/file-1.txt"}),
            true,
        ),
        case(
            "several miss",
            json!({"f": [{"wildcard": "dir/*/file*.txt"}]}),
            json!({"f": "dir/file-1.txt"}),
            false,
        ),
        case(
            "overlapping head and tail",
            json!({"f": [{"wildcard": "ab*ba"}]}),
            json!({"f": "aba"}),
            false,
        ),
        case(
            "star matches empty",
            json!({"f": [{"wildcard": "*"}]}),
            json!({"f": ""}),
            true,
        ),
        case(
            "no star is equality",
            json!({"f": [{"wildcard": "abc"}]}),
            json!({"f": "abcd"}),
            false,
        ),
        case(
            "escaped star",
            json!({"f": [{"wildcard": "a\\*b"}]}),
            json!({"f": "a*b"}),
            true,
        ),
        case(
            "escaped star is literal",
            json!({"f": [{"wildcard": "a\\*b"}]}),
            json!({"f": "axb"}),
            false,
        ),
        case(
            "escaped backslash",
            json!({"f": [{"wildcard": "a\\\\*"}]}),
            json!({"f": "a\\bc"}),
            true,
        ),
        case(
            "case sensitive",
            json!({"f": [{"wildcard": "A*"}]}),
            json!({"f": "abc"}),
            false,
        ),
        case(
            "only strings",
            json!({"f": [{"wildcard": "1*"}]}),
            json!({"f": 123}),
            false,
        ),
        case(
            "arn",
            json!({"a": [{"wildcard": "arn:aws:iam::*:role/github-*"}]}),
            json!({"a": "arn:aws:iam::111122223333:role/github-actions-iam-provisioner"}),
            true,
        ),
    ]);
}

#[test]
fn or() {
    let metric = |extra: Value| {
        let mut e = json!({"source": "aws.cloudwatch"});
        if let (Some(obj), Some(more)) = (e.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        e
    };
    let normal = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ]
    });
    let and_inside = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
            {"scope": ["Service"]}
        ]
    });
    let nested = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}
        ]
    });
    let parallel = json!({
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}
    });
    run(vec![
        case(
            "doc: normal or, first",
            normal.clone(),
            metric(json!({"metricName": "ReadLatency"})),
            true,
        ),
        case(
            "doc: normal or, second",
            normal.clone(),
            metric(json!({"namespace": "AWS/ES"})),
            true,
        ),
        case(
            "doc: normal or, neither",
            normal.clone(),
            metric(json!({"namespace": "AWS/S3"})),
            false,
        ),
        case(
            "doc: normal or, and-ed field fails",
            normal,
            json!({"source": "x", "metricName": "ReadLatency"}),
            false,
        ),
        case(
            "doc: and inside or",
            and_inside.clone(),
            metric(json!({"metricType": "MetricType", "namespace": "AWS/EC2"})),
            true,
        ),
        case(
            "doc: and inside or, partial",
            and_inside.clone(),
            metric(json!({"namespace": "AWS/EC2"})),
            false,
        ),
        case(
            "doc: and inside or, scope",
            and_inside,
            metric(json!({"scope": "Service"})),
            true,
        ),
        case(
            "doc: nested or",
            nested.clone(),
            metric(json!({"metricType": "MetricType", "spaceId": 1000})),
            true,
        ),
        case(
            "doc: nested or, inner fails",
            nested,
            metric(json!({"metricType": "MetricType", "spaceId": 1})),
            false,
        ),
        case(
            "doc: parallel or",
            parallel.clone(),
            json!({"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}}),
            true,
        ),
        case(
            "doc: parallel or, second group fails",
            parallel,
            json!({"namespace": "AWS/EC2", "detail": {}}),
            false,
        ),
        case(
            "or on exists",
            json!({"$or": [{"a": [{"exists": false}]}, {"a": ["x"]}]}),
            json!({"b": 1}),
            true,
        ),
    ]);
}

#[test]
fn doc_complex_example() {
    let pattern = json!({
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}]
        }
    });
    let mut other = ec2_event();
    other["detail"]["d-count"] = json!(10);
    run(vec![
        case("doc: complex", pattern.clone(), ec2_event(), true),
        case("doc: complex, one field fails", pattern, other, false),
    ]);
}

fn rejected(pattern: Value) -> (String, PatternErrorKind, String) {
    match EventPattern::parse(&pattern) {
        Ok(_) => panic!("pattern {pattern} was accepted; EventBridge rejects it"),
        Err(e) => (e.path.clone(), e.kind.clone(), e.to_string()),
    }
}

#[test]
fn invalid_patterns_are_rejected_with_clear_messages() {
    // (pattern, expected path, a fragment the message must contain)
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!(["source"]), "", "must be a JSON object"),
        (json!("aws.iam"), "", "must be a JSON object"),
        (json!({}), "", "empty objects"),
        (json!({"detail": {}}), "detail", "empty objects"),
        (json!({"source": []}), "source", "empty arrays"),
        (
            json!({"source": "aws.iam"}),
            "source",
            "must be an object or an array",
        ),
        (
            json!({"source": 5}),
            "source",
            "must be an object or an array",
        ),
        (json!({"a": [["x"]]}), "a", "nested array"),
        (
            json!({"detail": {"x": [{"foo": 1}]}}),
            "detail.x",
            "unknown match operator \"foo\"",
        ),
        (
            json!({"a": [{"Prefix": "x"}]}),
            "a",
            "unknown match operator \"Prefix\"",
        ),
        (json!({"a": [{}]}), "a", "exactly one key, found 0"),
        (
            json!({"a": [{"prefix": "x", "suffix": "y"}]}),
            "a",
            "exactly one key, found 2",
        ),
        (json!({"a": [{"prefix": 1}]}), "a", "\"prefix\" must be"),
        (
            json!({"a": [{"prefix": {"equals-ignore-case": 1}}]}),
            "a",
            "prefix.equals-ignore-case",
        ),
        (
            json!({"a": [{"prefix": {"wildcard": "x"}}]}),
            "a",
            "prefix.wildcard",
        ),
        (json!({"a": [{"suffix": null}]}), "a", "\"suffix\" must be"),
        (
            json!({"a": [{"equals-ignore-case": 1}]}),
            "a",
            "must be a string",
        ),
        (json!({"a": [{"exists": "false"}]}), "a", "true or false"),
        (json!({"a": [{"cidr": "10.0.0.0/33"}]}), "a", "invalid CIDR"),
        (json!({"a": [{"cidr": "10.0.0.1"}]}), "a", "invalid CIDR"),
        (json!({"a": [{"cidr": "not-an-ip/8"}]}), "a", "invalid CIDR"),
        (
            json!({"a": [{"cidr": "2001:db8::/129"}]}),
            "a",
            "invalid CIDR",
        ),
        (
            json!({"a": [{"wildcard": "a**b"}]}),
            "a",
            "consecutive wildcard characters",
        ),
        (json!({"a": [{"wildcard": "a\\b"}]}), "a", "invalid escape"),
        (json!({"a": [{"wildcard": "a\\"}]}), "a", "invalid escape"),
        (json!({"a": [{"wildcard": 1}]}), "a", "must be a string"),
        (
            json!({"a": [{"anything-but": ["a", 1]}]}),
            "a",
            "only strings or only numbers",
        ),
        (
            json!({"a": [{"anything-but": []}]}),
            "a",
            "only strings or only numbers",
        ),
        (
            json!({"a": [{"anything-but": [null]}]}),
            "a",
            "only strings or only numbers",
        ),
        (
            json!({"a": [{"anything-but": null}]}),
            "a",
            "\"anything-but\" must be",
        ),
        (
            json!({"a": [{"anything-but": true}]}),
            "a",
            "\"anything-but\" must be",
        ),
        (
            json!({"a": [{"anything-but": {"numeric": [">", 1]}}]}),
            "a",
            "unsupported anything-but pattern \"numeric\"",
        ),
        (
            json!({"a": [{"anything-but": {"prefix": ""}}]}),
            "a",
            "empty prefix",
        ),
        (
            json!({"a": [{"anything-but": {"suffix": ""}}]}),
            "a",
            "empty suffix",
        ),
        (
            json!({"a": [{"anything-but": {"prefix": 1}}]}),
            "a",
            "anything-but.prefix",
        ),
        (
            json!({"a": [{"anything-but": {"wildcard": "x**"}}]}),
            "a",
            "consecutive wildcard",
        ),
        (
            json!({"a": [{"anything-but": {"equals-ignore-case": [1]}}]}),
            "a",
            "anything-but.equals-ignore-case",
        ),
        (json!({"a": [{"anything-but": 6.0e9}]}), "a", "out of range"),
        (
            json!({"a": [{"numeric": ">"}]}),
            "a",
            "\"numeric\" must be an array",
        ),
        (json!({"a": [{"numeric": []}]}), "a", "expected an operator"),
        (json!({"a": [{"numeric": [">"]}]}), "a", "must be a number"),
        (
            json!({"a": [{"numeric": [">", "5"]}]}),
            "a",
            "must be a number",
        ),
        (
            json!({"a": [{"numeric": ["!=", 5]}]}),
            "a",
            "unrecognized operator \"!=\"",
        ),
        (
            json!({"a": [{"numeric": [5, ">"]}]}),
            "a",
            "expected an operator",
        ),
        (
            json!({"a": [{"numeric": [">", 5, "<", 1]}]}),
            "a",
            "lower bound must be less than",
        ),
        (
            json!({"a": [{"numeric": [">", 5, "<", 5]}]}),
            "a",
            "lower bound must be less than",
        ),
        (
            json!({"a": [{"numeric": [">", 5, ">", 10]}]}),
            "a",
            "second operator",
        ),
        (
            json!({"a": [{"numeric": ["<", 5, ">", 1]}]}),
            "a",
            "too many or too few terms",
        ),
        (
            json!({"a": [{"numeric": ["=", 5, "<", 10]}]}),
            "a",
            "too many or too few terms",
        ),
        (
            json!({"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]}),
            "a",
            "too many or too few terms",
        ),
        (
            json!({"a": [{"numeric": ["<", 6.0e9]}]}),
            "a",
            "out of range",
        ),
        (json!({"$or": {"a": ["x"]}}), "$or", "not an array"),
        (json!({"$or": [{"a": ["x"]}]}), "$or", "fewer than two"),
        (json!({"$or": [{"a": ["x"]}, "b"]}), "$or", "not an object"),
        (json!({"$or": [{"a": ["x"]}, {}]}), "", "empty objects"),
        (
            json!({"detail": {"$or": [{"numeric": [1]}, {"b": ["x"]}]}}),
            "detail.numeric",
            "reserved keyword",
        ),
        (
            json!({"$or": [{"x": {"prefix": ["p"]}}, {"b": ["x"]}]}),
            "x.prefix",
            "reserved keyword",
        ),
    ];
    let mut failures = Vec::new();
    for (pattern, path, fragment) in &cases {
        match EventPattern::parse(pattern) {
            Ok(_) => failures.push(format!("accepted: {pattern}")),
            Err(e) => {
                let msg = e.to_string();
                if e.path != *path || !msg.contains(fragment) {
                    failures.push(format!(
                        "{pattern}: got path `{}` and message {msg:?}; wanted path `{path}` and {fragment:?}",
                        e.path
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_display_names_the_field_and_operator() {
    let (path, kind, msg) = rejected(json!({"detail": {"eventName": [{"begins-with": "Create"}]}}));
    assert_eq!(path, "detail.eventName");
    assert_eq!(
        kind,
        PatternErrorKind::UnknownOperator("begins-with".into())
    );
    assert_eq!(
        msg,
        "invalid event pattern at `detail.eventName`: unknown match operator \"begins-with\"; \
         expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr"
    );
    let (_, _, root) = rejected(json!([]));
    assert!(
        root.starts_with("invalid event pattern at `(root)`"),
        "{root}"
    );
}

#[test]
fn parse_str_and_source_round_trip() {
    let text = r#"{"source": ["aws.iam"], "detail": {"eventName": [{"prefix": "Create"}]}}"#;
    let pattern = EventPattern::parse_str(text).expect("valid pattern");
    assert_eq!(pattern.source()["source"], json!(["aws.iam"]));
    assert!(pattern.matches(&json!({"source": "aws.iam", "detail": {"eventName": "CreateUser"}})));
    let bad = EventPattern::parse_str("{not json").expect_err("invalid JSON");
    assert!(
        matches!(bad.kind, PatternErrorKind::InvalidJson(_)),
        "{bad}"
    );
}

#[test]
fn dotted_keys_flatten_like_eventbridge() {
    // event-ruler joins path segments with '.', so these are the same field.
    let pattern =
        EventPattern::parse(&json!({"detail": {"state.status": ["running"]}})).expect("valid");
    assert!(pattern.matches(&json!({"detail": {"state": {"status": "running"}}})));
    assert!(pattern.matches(&json!({"detail": {"state.status": "running"}})));
}

#[test]
fn many_independent_arrays_stay_fast() {
    // Three 300-element arrays and a final key that never matches: naive
    // backtracking would try 300^3 combinations.
    let big: Vec<Value> = (0..300).map(|i| json!(format!("v{i}"))).collect();
    let event = json!({"a": big, "b": big, "c": big, "d": "no"});
    let pattern = EventPattern::parse(&json!({
        "a": [{"prefix": "v"}], "b": [{"prefix": "v"}], "c": [{"prefix": "v"}], "d": ["yes"]
    }))
    .expect("valid");
    let started = std::time::Instant::now();
    assert!(!pattern.matches(&event));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
