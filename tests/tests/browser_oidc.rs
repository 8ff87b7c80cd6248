//! Approvers signed in through a real OpenID Connect provider, in a real browser: npm
//! `oauth2-mock-server` on loopback (installed by this test), headless Chromium, and the
//! local stack configured with the template's `OidcIssuer`, `OidcClientId` and
//! `OidcApprovers`. The browser follows the real redirects: the link page sends it to the
//! provider's authorization endpoint (code + PKCE), the provider sends it back to
//! `/oidc/callback`, and Cordon exchanges the code and verifies the ID token.
//!
//! Each case states its safe outcome and asserts it in the page, the browser's cookies,
//! the table, the workflow and IAM:
//! - an ID token from another issuer, with a broken signature, expired, or replayed from
//!   an earlier sign-in: the sign-in is refused, no session, nothing decided;
//! - a signed-in approver not on the list, and the incident's own actor (on the list):
//!   the decision is refused, nothing decided, the workflow still waits;
//! - a member of a listed group: the decision is taken, the user contained, and the
//!   approver recorded as the verified identity (issuer, subject, email).
//!
//! Needs moto, Chromium and chromedriver (as tests/tests/browser.rs), and Node.js with npm
//! (the package is installed into a scratch folder on first use). Fails, never skips.
// Shared with tests/tests/browser.rs, which uses more of them.
#[allow(dead_code)]
mod browser {
    pub mod incidents;
    pub mod webdriver;
}

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use browser::incidents::*;
use browser::webdriver::Browser;
use cordon_aws::links::LinkStatus;
use cordon_core::model::IncidentStatus;
use serde_json::json;

/// The provider package, at the version this test was written against (8.x runs on the
/// machine's Node.js 20; 9.x needs 22).
const PACKAGE: &str = "oauth2-mock-server@8.2.3";
const CLIENT_ID: &str = "cordon-approvals";
const APPROVER: &str = "approver@example.com";
const OUTSIDER: &str = "outsider@example.com";
/// The incident's actor (the compromised IAM user `jdoe`), signed in with an address on
/// the list.
const ACTOR: &str = "jdoe@example.com";
const GROUP: &str = "sec-oncall";
/// In the group, not on the list by address.
const ONCALL: &str = "oncall@example.com";

/// `oauth2-mock-server` with `tests/tests/browser/oidc-issuer.mjs` in front of it.
struct Issuer {
    url: String,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Issuer {
    fn start() -> Issuer {
        let dir = install();
        let mut child = Command::new("node")
            .arg(dir.join("oidc-issuer.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("running node (is Node.js installed?): {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("the OIDC provider did not start: {e}"));
        let url = first
            .strip_prefix("issuer ")
            .unwrap_or_else(|| panic!("the OIDC provider said {first:?}, not its issuer"))
            .to_string();
        Issuer {
            url,
            child,
            stdin,
            lines,
        }
    }

    /// What the provider does at the next sign-ins, and who signs in.
    fn set(&mut self, mode: &str, email: &str, groups: &[&str]) {
        let sub = email.split('@').next().unwrap_or(email);
        let command = json!({ "mode": mode, "email": email, "sub": sub, "groups": groups });
        writeln!(self.stdin, "{command}").expect("writing to the OIDC provider");
        let answer = self
            .lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("the OIDC provider did not answer {command}: {e}"));
        assert_eq!(answer, "ok", "the OIDC provider refused {command}");
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs the package once into a scratch folder, with the script beside it (an ES
/// module resolves `oauth2-mock-server` from its own folder).
fn install() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cordon-tests-{}", PACKAGE.replace('@', "-")));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let installed = dir.join("node_modules/oauth2-mock-server/package.json");
    if !installed.exists() {
        // A package.json of its own, so npm installs here and not into a parent project.
        std::fs::write(dir.join("package.json"), r#"{"private": true}"#)
            .expect("writing package.json");
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                PACKAGE,
            ])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("running npm (are Node.js and npm installed?): {e}"));
        assert!(
            out.status.success() && installed.exists(),
            "npm install {PACKAGE} in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/oidc-issuer.mjs");
    std::fs::copy(&script, dir.join("oidc-issuer.mjs"))
        .unwrap_or_else(|e| panic!("copying {}: {e}", script.display()));
    dir
}

/// Opens `link` as a fresh browser (no cookies): the browser is sent through the provider
/// and back, and lands on the page this asserts.
fn open_signed_out(browser: &Browser, link: &str, heading: &str) {
    // Cookies are per host: on any loopback page this forgets Cordon's.
    if browser.current_url().starts_with("http://127.0.0.1") {
        browser.delete_cookies();
    }
    browser.goto(link);
    browser.wait_for_heading(heading, NAV);
}

/// A refused sign-in: the page says why, and the browser holds no session.
fn assert_sign_in_refused(browser: &Browser, case: &str, why: &str) {
    assert_eq!(browser.status(), 403, "{case}");
    assert_page_contains(
        browser,
        case,
        &[
            "The sign-in could not be verified",
            why,
            "Nothing was changed",
        ],
    );
    let cookies = browser.cookie_names();
    assert!(
        !cookies.iter().any(|c| c == "session"),
        "{case}: the browser holds a session: {cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvers_sign_in_through_a_real_oidc_provider() {
    let shots = Shots::new();
    let browser = b(Browser::start);
    cordon_aws::testing::moto().await;
    let mut issuer = b(Issuer::start);
    let parameters = [
        ("OidcIssuer", issuer.url.clone()),
        ("OidcClientId", CLIENT_ID.to_string()),
        ("OidcApprovers", format!("{APPROVER},{ACTOR},group:{GROUP}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let (stack, db_dir) = start_stack("cordon-oidc", parameters).await;
    let attacker = jdoe(&stack).await;
    let mut mail = Mailbox {
        links: Default::default(),
    };
    let a = attack(&stack, &attacker, "oidc").await;
    wait_for_approval_state(&stack, &a.execution_arn).await;
    let link = mail.link_for(&stack, &a.id).await;
    assert_eq!(
        incident_status(&stack, &a.id).await,
        IncidentStatus::AwaitingApproval,
        "the request is out: the incident waits for a human"
    );
    let id = link_id(&link);

    // Refused by Cordon although the provider signed the person in.
    let refusals = [
        ("wrong-issuer", "another issuer"),
        ("bad-signature", "signature does not match"),
        ("expired", "expired"),
    ];
    for (mode, why) in refusals {
        b(|| {
            issuer.set(mode, APPROVER, &[]);
            open_signed_out(&browser, &link, "Sign-in refused");
            assert_sign_in_refused(&browser, mode, why);
            shots.take(&browser, &format!("oidc-{mode}"));
        });
        assert_still_waiting(&stack, &a.execution_arn, mode).await;
        assert_eq!(
            link_status(&stack, &id).await,
            LinkStatus::Pending,
            "{mode}"
        );
    }

    // Signed in, but not on the list: the page is shown, the decision refused.
    b(|| {
        issuer.set("honest", OUTSIDER, &[]);
        open_signed_out(&browser, &link, "Approve containment?");
        assert_page_contains(&browser, "the outsider's page", &["Signed in as", OUTSIDER]);
        browser
            .element("button[name=decision][value=approve]")
            .click();
        browser.wait_for_heading("Not allowed", NAV);
        assert_eq!(browser.status(), 403);
        assert_page_contains(
            &browser,
            "the outsider's refusal",
            &[OUTSIDER, "not on the list"],
        );
        shots.take(&browser, "oidc-not-an-approver");
    });
    assert_still_waiting(&stack, &a.execution_arn, "after the outsider").await;
    assert_not_quarantined(&stack, &a.user, "after the outsider").await;

    // The incident's actor, on the list, may not decide its own incident.
    b(|| {
        issuer.set("honest", ACTOR, &[]);
        open_signed_out(&browser, &link, "Approve containment?");
        browser
            .element("button[name=decision][value=reject]")
            .click();
        browser.wait_for_heading("Not allowed", NAV);
        assert_eq!(browser.status(), 403);
        assert_page_contains(&browser, "the actor's refusal", &["part of", "jdoe"]);
        shots.take(&browser, "oidc-own-incident");
    });
    assert_still_waiting(&stack, &a.execution_arn, "after the actor").await;
    assert_eq!(link_status(&stack, &id).await, LinkStatus::Pending);

    // The actor's ID token, replayed into another sign-in: its nonce is not this one's.
    b(|| {
        issuer.set("replay", APPROVER, &[]);
        open_signed_out(&browser, &link, "Sign-in refused");
        assert_sign_in_refused(&browser, "replay", "nonce");
        shots.take(&browser, "oidc-replayed-token");
    });
    assert_still_waiting(&stack, &a.execution_arn, "after the replay").await;

    // A member of the listed group decides; the verified identity is recorded.
    b(|| {
        issuer.set("honest", ONCALL, &[GROUP]);
        open_signed_out(&browser, &link, "Approve containment?");
        assert_page_contains(&browser, "the approver's page", &["Signed in as", ONCALL]);
        browser
            .element("button[name=decision][value=approve]")
            .click();
        browser.wait_for_heading("Containment approved", NAV);
        assert_eq!(browser.status(), 200);
        shots.take(&browser, "oidc-approved");
    });
    let (st, entered) = wait_for_end(&stack, &a.execution_arn).await;
    assert_eq!(st, ExecutionStatus::Succeeded, "states: {entered:?}");
    assert!(
        entered.iter().any(|s| s == "Quarantine"),
        "the approved execution did not quarantine: {entered:?}"
    );
    let (policies, _) = iam_state(&stack, &a.user).await;
    assert!(
        policies.contains(&quarantine_policy_name()),
        "{} is not quarantined: {policies:?}",
        a.user
    );
    assert_eq!(
        incident_status(&stack, &a.id).await,
        IncidentStatus::Contained
    );
    let decided = approval_link(&stack, &id).await;
    assert_eq!(decided.status, LinkStatus::Approved);
    let verified = decided
        .decided_by
        .and_then(|d| d.verified)
        .expect("the approval records a verified identity");
    assert_eq!(verified.method, "oidc");
    assert_eq!(verified.issuer, issuer.url);
    assert_eq!(verified.subject, "oncall");
    assert_eq!(verified.email.as_deref(), Some(ONCALL));

    drop(browser);
    drop(stack);
    let _ = std::fs::remove_dir_all(&db_dir);
}
