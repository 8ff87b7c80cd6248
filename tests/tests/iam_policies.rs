//! The template's IAM policies, checked without AWS:
//!
//! - parliament (AWS's IAM policy linter, with AWS's service authorization data) finds
//!   no unknown action, malformed statement or mismatched resource in any role's
//!   resolved policies; a finding can only be ignored in the template, next to the
//!   statement, with a comment saying why (`Metadata.parliament.ignore`);
//! - Cordon's copy of the service authorization data (`cordon_core::iam::catalogue`)
//!   agrees with parliament's `iam_definition.json`, and its copy of SAM's policy
//!   templates with the SAM translator's;
//! - the state machine may invoke every function its Tasks name, and the rules' role
//!   may start the state machine they target, and no more;
//! - README.md's "What each function may do, and why" lists exactly the actions each
//!   role's policies grant.
//!
//! `cargo xtask lint` and `cargo xtask test` install parliament and the SAM translator
//! and export `CORDON_PARLIAMENT`, `CORDON_IAM_DEFINITION` and
//! `CORDON_SAM_POLICY_TEMPLATES`; without them these tests fail, never skip.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cordon::local::{LocalTemplate, Resources};
use cordon_core::iam::{Decision, Effect, Policy, PolicySet, Request, catalogue};
use cordon_template::ResolvedPolicy;
use serde_json::Value;

fn tool(var: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set. Run `cargo xtask test` or `cargo xtask lint`, which install \
             parliament and the SAM translator (.venv-iam) and export it"
        )
    });
    assert!(path.exists(), "{var}={} does not exist", path.display());
    path
}

/// The template bound to a stand-in stack (the local stack's names), so every `Ref` and
/// `GetAtt` a policy makes resolves to a well-formed ARN.
fn template() -> LocalTemplate {
    let path = cordon_tests::workspace_root().join("infra/template.yaml");
    let mut local = LocalTemplate::load(&path, &Default::default()).expect("the template");
    local
        .bind_resources(&Resources {
            table_name: "cordon-incidents".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:cordon-incidents".into(),
            tap_queue_url: "http://unused".into(),
            quarantine_policy_arn:
                "arn:aws:iam::123456789012:policy/cordon-local-AutomatedSecurityQuarantine".into(),
            managed_policies: [
                (
                    "QuarantinePolicy",
                    "cordon-local-AutomatedSecurityQuarantine",
                ),
                ("ForceMfaPolicy", "cordon-local-CordonForceMFA"),
            ]
            .into_iter()
            .map(|(id, name)| {
                (
                    id.to_string(),
                    format!("arn:aws:iam::123456789012:policy/{name}"),
                )
            })
            .collect(),
        })
        .expect("bound");
    local
        .set_approval_url("https://abc.lambda-url.us-east-1.on.aws/")
        .expect("approval URL");
    local
}

/// Every identity policy the template deploys, by the role (or policy) that holds it.
fn roles(local: &LocalTemplate) -> BTreeMap<String, Vec<ResolvedPolicy>> {
    let t = &local.template;
    let v = &local.values;
    let mut out = BTreeMap::new();
    for f in t.functions() {
        out.insert(
            f.logical_id.clone(),
            t.function_policies(f, v).expect("resolved"),
        );
    }
    for m in t.state_machines() {
        out.insert(
            m.logical_id.clone(),
            t.state_machine_policies(m, v).expect("resolved"),
        );
    }
    for r in t.resources_of_kind("AWS::IAM::Role") {
        out.insert(
            r.logical_id.clone(),
            t.role_policies(&r.logical_id, v).expect("resolved"),
        );
    }
    // A managed policy no role of the template holds (the quarantine policy).
    for r in t.resources_of_kind("AWS::IAM::ManagedPolicy") {
        if !out
            .values()
            .flatten()
            .any(|p| p.source.contains(&r.logical_id))
        {
            let document = v
                .resolve(r.property("PolicyDocument").expect("a document"))
                .expect("resolved");
            out.insert(
                r.logical_id.clone(),
                vec![ResolvedPolicy {
                    source: r.logical_id.clone(),
                    document,
                }],
            );
        }
    }
    out
}

fn policy_set(policies: &[ResolvedPolicy]) -> PolicySet {
    PolicySet::new(
        policies
            .iter()
            .map(|p| Policy::parse(&p.source, &p.document).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
    )
}

/// The resource whose `Metadata.parliament.ignore` lists the findings it may have:
/// `(issue, action or "", comment)`.
fn ignored(local: &LocalTemplate, logical_id: &str) -> Vec<(String, String, String)> {
    let Some(resource) = local.template.resource(logical_id) else {
        return Vec::new();
    };
    let entries = resource
        .metadata
        .path(&["parliament", "ignore"])
        .and_then(|e| e.as_list())
        .unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let text = |k: &str| {
                e.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let comment = text("comment");
            assert!(
                comment.len() > 20,
                "{logical_id}: every ignored parliament finding says why (comment)"
            );
            (text("issue"), text("action"), comment)
        })
        .collect()
}

#[test]
fn parliament_finds_nothing_in_any_role() {
    let parliament = tool("CORDON_PARLIAMENT");
    let local = template();
    let dir = std::env::temp_dir().join(format!("cordon-parliament-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let mut findings = Vec::new();
    let mut linted = 0;
    for (role, policies) in roles(&local) {
        let ignores = ignored(&local, &role);
        let mut used = BTreeSet::new();
        for (i, policy) in policies.iter().enumerate() {
            let file = dir.join(format!("{role}-{i}.json"));
            std::fs::write(&file, policy.document.to_string()).expect("writing a policy");
            let out = std::process::Command::new(&parliament)
                .arg("--files")
                .arg(&file)
                .arg("--json")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", parliament.display()));
            linted += 1;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() && stdout.trim().is_empty() {
                panic!(
                    "parliament failed on {}: {}",
                    policy.source,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
                let finding: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("parliament printed {line:?}: {e}"));
                let issue = finding["issue"].as_str().unwrap_or_default();
                let detail = finding["detail"].to_string();
                let ignore = ignores
                    .iter()
                    .position(|(i, action, _)| i == issue && detail.contains(action.as_str()));
                match ignore {
                    Some(n) => {
                        used.insert(n);
                    }
                    None => findings.push(format!("{}: {issue}: {detail}", policy.source)),
                }
            }
        }
        for (n, (issue, action, _)) in ignores.iter().enumerate() {
            assert!(
                used.contains(&n),
                "{role}: the ignored parliament finding {issue} {action} no longer occurs; remove it"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(linted > 8, "linted {linted} policies");
    assert!(findings.is_empty(), "parliament:\n{}", findings.join("\n"));
}

#[test]
fn the_catalogue_is_awss_service_authorization_data() {
    let path = tool("CORDON_IAM_DEFINITION");
    let text = std::fs::read_to_string(&path).expect("iam_definition.json");
    let services: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    for info in catalogue::ACTIONS {
        let (prefix, name) = info.action.split_once(':').expect("service:Action");
        let service = services
            .iter()
            .find(|s| s["prefix"] == prefix)
            .unwrap_or_else(|| panic!("no service {prefix} in {}", path.display()));
        let privilege = service["privileges"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["privilege"] == name))
            .unwrap_or_else(|| panic!("{} is not an action AWS knows", info.action));
        let entries = privilege["resource_types"]
            .as_array()
            .expect("resource types");
        let types: Vec<(String, bool)> = entries
            .iter()
            .filter_map(|r| r["resource_type"].as_str())
            .filter(|r| !r.is_empty())
            .map(|r| (r.trim_end_matches('*').to_string(), r.ends_with('*')))
            .collect();
        let ours: Vec<(String, bool)> = info
            .resource_types
            .iter()
            .map(|t| (t.name.to_string(), t.required))
            .collect();
        assert_eq!(ours, types, "{}: resource types", info.action);
        for t in info.resource_types {
            let arn = service["resources"]
                .as_array()
                .and_then(|r| r.iter().find(|r| r["resource"] == t.name))
                .and_then(|r| r["arn"].as_str())
                .unwrap_or_else(|| panic!("{}: no resource type {}", info.action, t.name));
            assert_eq!(t.arn, arn, "{}: the ARN of {}", info.action, t.name);
        }
        let keys: Vec<&str> = entries
            .iter()
            .flat_map(|r| r["condition_keys"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        for key in info.condition_keys {
            assert!(
                keys.contains(key),
                "{}: AWS lists no condition key {key} for it ({keys:?})",
                info.action
            );
        }
    }
}

#[test]
fn the_sam_policy_templates_are_sams() {
    let path = tool("CORDON_SAM_POLICY_TEMPLATES");
    let text = std::fs::read_to_string(&path).expect("policy_templates.json");
    let all: Value = serde_json::from_str(&text).expect("JSON");
    for (name, definition) in cordon_template::SAM_POLICY_TEMPLATES {
        let ours: Value = serde_json::from_str(definition).expect("JSON");
        assert_eq!(
            ours,
            all["Templates"][name]["Definition"],
            "{name} differs from the SAM translator's ({})",
            path.display()
        );
    }
}

/// The function ARNs the workflow's Tasks invoke.
fn task_functions(definition: &Value, out: &mut BTreeSet<String>) {
    match definition {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("FunctionName") {
                out.insert(name.clone());
            }
            for v in map.values() {
                task_functions(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| task_functions(i, out)),
        _ => {}
    }
}

#[test]
fn the_state_machine_and_the_rules_may_do_what_they_do() {
    let local = template();
    let roles = roles(&local);
    let workflow = local.workflow().expect("the workflow");
    let definition: Value = serde_json::from_str(&workflow.definition).expect("JSON");
    let mut functions = BTreeSet::new();
    task_functions(&definition, &mut functions);
    assert!(functions.len() >= 5, "{functions:?}");
    let machine = policy_set(&roles[&workflow.logical_id]);
    for function in &functions {
        let request = Request::new("lambda:InvokeFunction", function.clone());
        let decision = machine.evaluate(&request);
        assert!(decision.is_allowed(), "{request}: {decision}");
    }
    // Nothing else a Lambda: a function the workflow does not invoke is refused.
    let other = Request::new(
        "lambda:InvokeFunction",
        cordon::local::function_arn("cordon-release"),
    );
    assert!(!machine.evaluate(&other).is_allowed(), "{other}");

    let mut checked = 0;
    for rule in local.template.resources_of_kind("AWS::Events::Rule") {
        for target in rule
            .property("Targets")
            .and_then(|t| t.as_list())
            .unwrap_or_default()
        {
            let role = target
                .get("RoleArn")
                .and_then(|r| r.as_intrinsic())
                .and_then(|i| match &i.call {
                    cordon_template::Call::GetAtt { logical_id, .. } => Some(logical_id.clone()),
                    _ => None,
                })
                .expect("a rule target names its role with !GetAtt");
            let arn = local
                .values
                .resolve_string(target.get("Arn").expect("a target ARN"))
                .expect("resolved");
            let request = Request::new("states:StartExecution", arn);
            let decision = policy_set(&roles[&role]).evaluate(&request);
            assert!(
                decision.is_allowed(),
                "{}: {request}: {decision}",
                rule.logical_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "rule targets checked: {checked}");
}

/// The README's table: `| role | actions | on | why |` rows under the section's heading.
fn readme_table() -> BTreeMap<String, BTreeSet<String>> {
    let readme =
        std::fs::read_to_string(cordon_tests::workspace_root().join("README.md")).expect("README");
    let section = readme
        .split("## What each function may do, and why")
        .nth(1)
        .expect("README.md has the section \"What each function may do, and why\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let role = cells[1].trim_matches('`').to_string();
        let actions = cells[2]
            .split(',')
            .map(|a| a.trim().trim_matches('`').to_string())
            .filter(|a| !a.is_empty());
        out.entry(role).or_default().extend(actions);
    }
    out
}

#[test]
fn the_readme_lists_what_every_role_may_do() {
    let local = template();
    let listed = readme_table();
    let mut problems = Vec::new();
    for (role, policies) in roles(&local) {
        let granted: BTreeSet<String> = policy_set(&policies)
            .statements()
            .filter(|s| s.effect == Effect::Allow && !s.not_action)
            .flat_map(|s| s.actions.iter().cloned())
            .collect();
        if granted.is_empty() {
            continue;
        }
        let readme = listed.get(&role).cloned().unwrap_or_default();
        for missing in granted.difference(&readme) {
            problems.push(format!(
                "{role} may {missing}, which the README does not say"
            ));
        }
        for extra in readme.difference(&granted) {
            problems.push(format!(
                "the README says {role} may {extra}, which its policies do not grant"
            ));
        }
    }
    for role in listed.keys() {
        if !roles(&local).contains_key(role) {
            problems.push(format!(
                "the README lists {role}, which the template does not deploy"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "README.md is out of date:\n{}",
        problems.join("\n")
    );
}

/// The template's customer-managed policies, as the local stack creates them.
fn managed_policy(local: &LocalTemplate, logical_id: &str) -> (String, PolicySet) {
    let policy = local
        .managed_policies()
        .expect("the managed policies resolve")
        .into_iter()
        .find(|p| p.logical_id == logical_id)
        .unwrap_or_else(|| panic!("the template declares {logical_id}"));
    let document: Value = serde_json::from_str(&policy.document).expect("JSON");
    let parsed = Policy::parse(logical_id, &document).expect("a valid policy");
    (policy.name, PolicySet::new(vec![parsed]))
}

fn explicitly_denied(set: &PolicySet, request: &Request) -> bool {
    matches!(set.evaluate(request), Decision::ExplicitDeny { .. })
}

#[test]
fn the_quarantine_policy_denies_every_action() {
    let local = template();
    let (name, set) = managed_policy(&local, "QuarantinePolicy");
    assert_eq!(
        name,
        format!(
            "cordon-local-{}",
            cordon_core::quarantine::QUARANTINE_POLICY_NAME
        )
    );
    for (action, resource) in [
        ("s3:GetObject", "arn:aws:s3:::bucket/key"),
        (
            "iam:CreateAccessKey",
            "arn:aws:iam::123456789012:user/alice",
        ),
        ("sts:GetSessionToken", "*"),
        ("iam:ChangePassword", "arn:aws:iam::123456789012:user/alice"),
    ] {
        let request =
            Request::new(action, resource).with("aws:MultiFactorAuthPresent", vec!["true".into()]);
        assert!(explicitly_denied(&set, &request), "{request}");
    }
}

#[test]
fn the_force_mfa_policy_denies_all_but_mfa_self_service_until_the_session_has_mfa() {
    let local = template();
    let (name, set) = managed_policy(&local, "ForceMfaPolicy");
    // classify/own.rs recognises it (and the tamper rule matches it) by this name.
    assert_eq!(
        name,
        format!(
            "cordon-local-{}",
            cordon_core::quarantine::FORCE_MFA_POLICY_NAME
        )
    );
    let user = "arn:aws:iam::123456789012:user/alice";
    let mfa = |action: &str, resource: &str, present: Option<&str>| {
        let request = Request::new(action, resource);
        match present {
            Some(v) => request.with("aws:MultiFactorAuthPresent", vec![v.to_string()]),
            None => request,
        }
    };
    for (action, resource) in [
        ("s3:GetObject", "arn:aws:s3:::bucket/key"),
        ("iam:CreateAccessKey", user),
        ("iam:AttachUserPolicy", user),
        ("sts:AssumeRole", "arn:aws:iam::123456789012:role/admin"),
        ("ec2:RunInstances", "*"),
    ] {
        // A console session without MFA, and long-term keys (no MFA key at all: BoolIfExists).
        assert!(
            explicitly_denied(&set, &mfa(action, resource, Some("false"))),
            "{action}"
        );
        assert!(
            explicitly_denied(&set, &mfa(action, resource, None)),
            "{action}"
        );
        // Signed in with MFA: nothing here denies.
        assert!(
            !explicitly_denied(&set, &mfa(action, resource, Some("true"))),
            "{action}"
        );
    }
    // What a user needs to enrol an MFA device is never denied.
    for action in [
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ListMFADevices",
        "iam:ChangePassword",
        "iam:GetUser",
        "sts:GetSessionToken",
    ] {
        assert!(
            !explicitly_denied(&set, &mfa(action, user, Some("false"))),
            "{action}"
        );
    }
    assert!(
        set.evaluate(&mfa("iam:GetAccountPasswordPolicy", "*", Some("false")))
            .is_allowed()
    );
    // Its own password and MFA device only (aws:username), not another user's.
    let as_alice = |action: &str, resource: &str| {
        mfa(action, resource, Some("false")).with("aws:username", vec!["alice".into()])
    };
    assert!(
        set.evaluate(&as_alice("iam:ChangePassword", user))
            .is_allowed()
    );
    assert!(
        set.evaluate(&as_alice("iam:EnableMFADevice", user))
            .is_allowed()
    );
    let bob = "arn:aws:iam::123456789012:user/bob";
    assert!(
        !set.evaluate(&as_alice("iam:EnableMFADevice", bob))
            .is_allowed()
    );
}
