//! Property-style fuzzing: classify never panics on mutated fixtures.
//!
//! Deterministic: a tiny LCG with a fixed seed drives the mutations, so a failure
//! reproduces exactly (the panic message names the fixture, iteration and mutated JSON).
mod common;

use cordon_core::classify::{Classification, classify};
use cordon_core::incident::{incident_id_for_event, rejected_incident_id};
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use cordon_core::{ResponsePolicy, TaskError};
use serde_json::{Map, Value, json};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        // Knuth MMIX constants.
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() as usize) % n
        }
    }
}

fn replacement(rng: &mut Lcg) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1.5e300),
        4 => json!(""),
        5 => json!("Sep 27, 2024 2:05:02 PM"),
        6 => json!("\u{430}dmin\n\u{0}\u{202e}"),
        7 => json!("x".repeat(5000)),
        8 => json!([]),
        9 => json!({}),
        10 => json!(["a", 1, null]),
        11 => json!({"nested": {"deeper": [1, 2, {"k": "v"}]}}),
        12 => json!("HIDDEN_DUE_TO_SECURITY_REASONS"),
        _ => json!("YES"),
    }
}

/// Collects paths to every node (as key/index sequences).
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(PathStep::Key(k.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn get_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            PathStep::Index(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn mutate(v: &mut Value, rng: &mut Lcg) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = all[rng.below(all.len())].clone();
    match rng.below(4) {
        // Remove the node from its parent.
        0 if !path.is_empty() => {
            let (last, parent) = path
                .split_last()
                .map(|(l, p)| (l.clone(), p.to_vec()))
                .unwrap_or((PathStep::Index(0), vec![]));
            if let Some(p) = get_mut(v, &parent) {
                match (p, last) {
                    (Value::Object(m), PathStep::Key(k)) => {
                        m.remove(&k);
                    }
                    (Value::Array(a), PathStep::Index(i)) if i < a.len() => {
                        a.remove(i);
                    }
                    _ => {}
                }
            }
        }
        // Add a random key to an object.
        1 => {
            if let Some(Value::Object(m)) = get_mut(v, &path) {
                let keys = [
                    "eventName",
                    "errorCode",
                    "userName",
                    "MFAUsed",
                    "ConsoleLogin",
                    "type",
                    "arn",
                    "eventCategory",
                ];
                m.insert(keys[rng.below(keys.len())].to_string(), replacement(rng));
            }
        }
        // Replace the node.
        _ => {
            if let Some(node) = get_mut(v, &path) {
                *node = replacement(rng);
            }
        }
    }
}

fn exercise(raw: &Value) {
    let result = classify(raw, &common::home());
    let policy = ResponsePolicy::default();
    match &result {
        Ok(Classification::Incident(d)) => {
            assert!(d.incident_id.len() <= 80, "{}", d.incident_id);
            assert_eq!(d.incident_id, incident_id_for_event(&d.event_id));
            let own = cordon_core::policy::TrustedIds {
                own_roles: cordon_core::policy::UniqueId::parse("AROAOWNCORDONQUARANTINE1")
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            let a = policy.assess(d, None, &own);
            let n = render(
                NotificationKind::Alert,
                &NotificationContext {
                    incident_id: d.incident_id.clone(),
                    detection: Some(d.clone()),
                    assessment: Some(a),
                    ..Default::default()
                },
            );
            assert!(n.subject.len() <= 100 && n.subject.chars().all(|c| (' '..='~').contains(&c)));
        }
        Ok(_) => {}
        Err(TaskError::InvalidEvent { .. }) => {
            let id = rejected_incident_id(raw);
            assert!(id.len() <= 80);
        }
        Err(other) => panic!("classify returned a non-InvalidEvent error: {other:?}"),
    }
}

#[test]
fn classify_never_panics_on_mutated_fixtures() {
    let mut files = common::json_files(&common::shared_fixtures_dir());
    files.extend(common::json_files(&common::own_fixtures_dir()));
    let mut rng = Lcg(0x00C0_4D0E);
    let mut runs = 0usize;
    for file in &files {
        let original = common::load(file);
        for i in 0..150 {
            let mut v = original.clone();
            for _ in 0..=rng.below(4) {
                mutate(&mut v, &mut rng);
            }
            let text = v.to_string();
            let outcome = std::panic::catch_unwind(|| exercise(&v));
            if outcome.is_err() {
                let shown: String = text.chars().take(2000).collect();
                panic!("{} iteration {i}: panic on {shown}", file.display());
            }
            runs += 1;
        }
    }
    assert!(runs >= 150 * 40, "only {runs} runs");
}

#[test]
fn classify_never_panics_on_arbitrary_shapes() {
    let shapes = [
        json!(null),
        json!(1),
        json!("detail"),
        json!([]),
        json!({}),
        json!({"detail": {}}),
        json!({"detail": []}),
        json!({"detail-type": "AWS API Call via CloudTrail", "detail": {}}),
        json!({"detail": {"eventName": "CreateUser"}}),
        json!({"detail": {"eventName": 1, "eventSource": [], "userIdentity": {}, "eventTime": "2024-09-27T14:05:02Z", "eventID": "e"}}),
        json!({"detail": {"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "userIdentity": {"type": "Root"}, "eventTime": "2024-09-27T14:05:02Z", "eventID": "e", "responseElements": {"ConsoleLogin": 7}}}),
        json!({"source": "aws.events", "detail": {}, "resources": [1, null, "arn"]}),
    ];
    for s in shapes {
        exercise(&s);
    }
    // Deep nesting.
    let mut deep = json!("leaf");
    for _ in 0..64 {
        let mut m = Map::new();
        m.insert("detail".into(), deep);
        deep = Value::Object(m);
    }
    exercise(&deep);
}
