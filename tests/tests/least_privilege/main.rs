//! Least privilege, proven by the real calls: every AWS call each function makes while the
//! workflow, approval and release journeys run is allowed by that function's own policies
//! in `infra/template.yaml`, and no statement of those policies is wider than the calls
//! need.
//!
//! The calls are recorded by the access guard (`cordon_aws::access`) on every client of
//! every function: the action, the real resource ARN, the condition keys the call carries
//! (`iam:PolicyARN`, ...), and the KMS requests DynamoDB and SNS make on the function's
//! behalf on the stack's encrypted table and topic. The policies are the template's,
//! resolved by cordon-template (`!Sub`, `!Ref`, `!GetAtt`, SAM policy templates,
//! `AWS::IAM::Policy` resources attached to a function's role) and evaluated by
//! `cordon_core::iam` as IAM does.
//!
//! The local stack also refuses what a policy does not allow (as AWS would), so every
//! workflow test is a least-privilege test too; this one records instead of refusing, so a
//! single run names every call a policy lacks, each with the statement that came closest.
//!
//! Needs moto (`cargo xtask test` starts it); fails, never skips, without it.
mod detections;
mod reverse;
mod scenarios;

use std::collections::BTreeMap;

use cordon_aws::access::RecordedCall;

/// The condition keys whose values say something about a policy (the others vary per
/// incident, so only their names are shown).
const SHOWN_VALUES: &[&str] = &["iam:PolicyARN", "kms:ViaService", "aws:TagKeys"];

/// `action on resource [keys]`, and the action that implies it for a KMS request.
fn describe(call: &RecordedCall) -> String {
    let keys: Vec<String> = call
        .request
        .context
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:Principal") && k != "aws:RequestedRegion")
        .map(|(k, v)| match SHOWN_VALUES.contains(&k.as_str()) {
            true => format!("{k}={}", v.join(",")),
            false => k.split('/').next().unwrap_or(k).to_string(),
        })
        .collect();
    let via = call
        .implied_by
        .as_ref()
        .map(|a| format!(" (by {a})"))
        .unwrap_or_default();
    let keys = if keys.is_empty() {
        String::new()
    } else {
        let mut keys = keys;
        keys.dedup();
        format!(" [{}]", keys.join(" "))
    };
    format!(
        "{} on {}{keys}{via}",
        call.request.action, call.request.resource
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_each_function_makes_is_allowed_by_its_own_policy() {
    let run = scenarios::Run::start().await;
    scenarios::run_every_journey(&run).await;
    let calls = run.stack.calls.calls();
    let template = run.stack.template.clone();
    run.stop().await;

    // What each function called, for the record (`--nocapture` shows it).
    let mut by_function: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for call in &calls {
        *by_function
            .entry(&call.function)
            .or_default()
            .entry(describe(call))
            .or_default() += 1;
    }
    for (function, requests) in &by_function {
        eprintln!("{function}:");
        for (request, n) in requests {
            eprintln!("  {n:>3} x {request}");
        }
    }
    for expected in [
        "RecordFunction",
        "EnrichFunction",
        "QuarantineFunction",
        "TagFunction",
        "NotifyFunction",
        "ApprovalFunction",
        "ReleaseFunction",
        "MfaAuditFunction",
    ] {
        assert!(
            by_function.contains_key(expected),
            "the journeys made no call as {expected}: {:?}",
            by_function.keys()
        );
    }

    // Every call allowed by the function's own policies.
    let mut denied: Vec<String> = calls
        .iter()
        .filter(|c| !c.decision.is_allowed())
        .map(|c| {
            let via = c
                .implied_by
                .as_ref()
                .map(|a| format!(" (by {a})"))
                .unwrap_or_default();
            format!(
                "{} ({}) calls {} on {}{via}: {}",
                c.function, c.operation, c.request.action, c.request.resource, c.decision
            )
        })
        .collect();
    denied.sort();
    denied.dedup();
    assert!(
        denied.is_empty(),
        "{} call(s) the template's policies do not allow; on AWS each is AccessDenied:\n{}",
        denied.len(),
        denied.join("\n")
    );

    // Every action the service authorization data knows (a call the catalogue does not
    // know is checked against `*`, which is strict but says nothing about its resource).
    let unknown: Vec<String> = calls
        .iter()
        .filter(|c| cordon_core::iam::catalogue::lookup(&c.request.action).is_none())
        .map(describe)
        .collect();
    assert!(
        unknown.is_empty(),
        "calls missing from cordon_core::iam::catalogue: {unknown:?}"
    );

    // And no statement wider than the calls need.
    let wider = reverse::wider_than_needed(&template, &calls);
    assert!(
        wider.is_empty(),
        "policy entries no recorded call needs (remove them, or add the journey that needs \
         them):\n{}",
        wider.join("\n")
    );
}
