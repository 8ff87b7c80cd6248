//! The approval pages in a real browser: headless Debian Chromium, driven through
//! chromedriver (W3C WebDriver), against the local stack (engine + in-process handlers +
//! approval server) on moto. Every scenario checks real effects in moto and the local
//! Step Functions API, not just page text.
//!
//! Needs moto (`AWS_ENDPOINT_URL`, see `cordon_aws::testing::moto`) and
//! `apt-get install chromium chromium-driver` (or `CORDON_CHROMEDRIVER` / `CORDON_CHROMIUM`).
//! It fails, never skips, when either is missing. Screenshots of every page go to
//! `<workspace>/artifacts/browser/`.
mod browser {
    pub mod webdriver;
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use browser::webdriver::Browser;
use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate::{self, Attacker};
use cordon_aws::IncidentStore;
use cordon_aws::links::{LinkKind, LinkStatus, LinkStore};
use cordon_core::model::IncidentStatus;
use serde_json::Value;
use tokio::time::Instant;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(60);
const NAV: Duration = Duration::from_secs(30);
const APPROVER: &str = "Browser Approver";

/// Blocking WebDriver calls, off the async worker.
fn b<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

struct Shots {
    dir: PathBuf,
}

impl Shots {
    fn new() -> Shots {
        let dir = cordon_tests::workspace_root().join("artifacts/browser");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        Shots { dir }
    }

    fn take(&self, browser: &Browser, name: &str) {
        let path = self.dir.join(format!("{name}.png"));
        browser.screenshot(&path);
        println!("screenshot: {}", path.display());
    }
}

/// One simulated attack and the execution it started.
struct Incident {
    id: String,
    user: String,
    user_arn: String,
    execution_arn: String,
}

async fn attack(stack: &LocalStack, attacker: &Attacker, prefix: &str) -> Incident {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let name = cordon_aws::testing::unique(prefix);
    let created = simulate::create_backdoor_user(&iam, &name)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e:#}"));
    let event = simulate::create_user_event(attacker, &created, chrono::Utc::now());
    let id = cordon_core::incident::incident_id_for_event(
        event["detail"]["eventID"].as_str().expect("eventID"),
    );
    let started = stack
        .put_event(&event)
        .await
        .unwrap_or_else(|e| panic!("delivering the event: {e:#}"));
    assert_eq!(
        started.len(),
        1,
        "exactly one rule should start the workflow for CreateUser: {:?}",
        started.iter().map(|s| &s.rule).collect::<Vec<_>>()
    );
    Incident {
        id,
        user: name,
        user_arn: created.arn,
        execution_arn: started[0].execution_arn.clone(),
    }
}

async fn jdoe(stack: &LocalStack) -> Attacker {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    // Other tests may create jdoe at the same moment: one retry settles the race.
    match simulate::compromised_jdoe(&iam, cordon::local::LOCAL_ACCOUNT).await {
        Ok(a) => a,
        Err(_) => simulate::compromised_jdoe(&iam, cordon::local::LOCAL_ACCOUNT)
            .await
            .unwrap_or_else(|e| panic!("the compromised user jdoe: {e:#}")),
    }
}

/// The names of the states entered so far, in order.
async fn states(stack: &LocalStack, execution_arn: &str) -> Vec<String> {
    stack
        .progress(execution_arn)
        .await
        .unwrap_or_else(|e| panic!("reading the execution history: {e:?}"))
        .entered
}

async fn status(stack: &LocalStack, execution_arn: &str) -> ExecutionStatus {
    stack
        .sfn_client
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing the execution: {e:?}"))
        .status
}

async fn wait_for_approval_state(stack: &LocalStack, execution_arn: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let entered = states(stack, execution_arn).await;
        let st = status(stack, execution_arn).await;
        if entered.last().map(String::as_str) == Some("RequestApproval")
            && st == ExecutionStatus::Running
        {
            return;
        }
        assert!(
            st == ExecutionStatus::Running && Instant::now() < deadline,
            "the execution never waited in RequestApproval ({st:?}); states: {entered:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Still waiting for a human: RUNNING, and RequestApproval the last state entered.
async fn assert_still_waiting(stack: &LocalStack, execution_arn: &str, when: &str) {
    let st = status(stack, execution_arn).await;
    let entered = states(stack, execution_arn).await;
    assert_eq!(
        st,
        ExecutionStatus::Running,
        "{when}: the execution moved on"
    );
    assert_eq!(
        entered.last().map(String::as_str),
        Some("RequestApproval"),
        "{when}: the execution left RequestApproval: {entered:?}"
    );
}

async fn wait_for_end(stack: &LocalStack, execution_arn: &str) -> (ExecutionStatus, Vec<String>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = status(stack, execution_arn).await;
        if st != ExecutionStatus::Running {
            return (st, states(stack, execution_arn).await);
        }
        assert!(
            Instant::now() < deadline,
            "the execution is still running after {WAIT:?}; states: {:?}",
            states(stack, execution_arn).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Approval links from the approval-request emails, by incident id, read (and consumed)
/// from the topic's tap queue.
struct Mailbox {
    links: HashMap<String, String>,
}

impl Mailbox {
    async fn link_for(&mut self, stack: &LocalStack, incident_id: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
        let prefix = format!("{}/a/", stack.approval.url);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(link) = self.links.get(incident_id) {
                return link.clone();
            }
            let received = sqs
                .receive_message()
                .queue_url(&stack.resources.tap_queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .send()
                .await
                .unwrap_or_else(|e| panic!("reading the tap queue: {e:?}"));
            for m in received.messages() {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
                let attribute = |k: &str| envelope["MessageAttributes"][k]["Value"].as_str();
                let body = envelope["Message"].as_str().unwrap_or_default();
                if attribute("kind") == Some("approvalRequest")
                    && let (Some(incident), Some(start)) =
                        (attribute("incident_id"), body.find(&prefix))
                {
                    let link: String = body[start..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    self.links.insert(incident.to_string(), link);
                }
                if let Some(handle) = m.receipt_handle() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&stack.resources.tap_queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no approval email for incident {incident_id} reached the tap queue within {WAIT:?}"
            );
            if received.messages().is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn link_id(link: &str) -> String {
    link.rsplit('/')
        .next()
        .expect("an id in the link")
        .to_string()
}

/// The user's attached policy names and tags, from moto.
async fn iam_state(stack: &LocalStack, user: &str) -> (Vec<String>, HashMap<String, String>) {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let policies = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing {user}'s policies: {e:?}"))
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .collect();
    let tags = iam
        .list_user_tags()
        .user_name(user)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing {user}'s tags: {e:?}"))
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    (policies, tags)
}

async fn assert_not_quarantined(stack: &LocalStack, user: &str, when: &str) {
    let (policies, tags) = iam_state(stack, user).await;
    assert!(
        !policies.iter().any(|p| *p == quarantine_policy_name()),
        "{when}: {user} is quarantined: {policies:?}"
    );
    assert!(
        !tags.contains_key(cordon_core::tags::SECURITY_STATUS),
        "{when}: {user} carries Cordon's tags: {tags:?}"
    );
}

async fn link_status(stack: &LocalStack, id: &str) -> LinkStatus {
    let store =
        cordon_aws::Aws::new(stack.sdk.clone()).link_store(stack.resources.table_name.clone());
    let link =
        cordon_aws::links::LinkId::parse(id).unwrap_or_else(|| panic!("{id} is not a link id"));
    store
        .get(LinkKind::Approval, &link.hash())
        .await
        .unwrap_or_else(|e| panic!("reading approval {id}: {e}"))
        .unwrap_or_else(|| panic!("approval {id} is not in the table"))
        .status
}

async fn incident_status(stack: &LocalStack, incident_id: &str) -> IncidentStatus {
    let store =
        cordon_aws::Aws::new(stack.sdk.clone()).incident_store(stack.resources.table_name.clone());
    store
        .get(incident_id)
        .await
        .unwrap_or_else(|e| panic!("reading incident {incident_id}: {e}"))
        .unwrap_or_else(|| panic!("incident {incident_id} is not in the table"))
        .status
}

/// A raw HTTP GET (status, lower-cased headers, body): what WebDriver cannot show.
fn raw_get(url: &str) -> (u16, HashMap<String, String>, String) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let mut resp = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("reading GET {url}: {e}"));
    (status, headers, body)
}

fn assert_security_headers(url: &str, headers: &HashMap<String, String>) {
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("GET {url}: no Content-Security-Policy: {headers:?}"));
    for directive in [
        "default-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "GET {url}: CSP lacks {directive}: {csp}"
        );
    }
    assert_eq!(
        headers.get("referrer-policy").map(String::as_str),
        Some("no-referrer"),
        "GET {url}: {headers:?}"
    );
    assert_eq!(
        headers.get("cache-control").map(String::as_str),
        Some("no-store"),
        "GET {url}: {headers:?}"
    );
}

fn assert_page_contains(browser: &Browser, what: &str, expected: &[&str]) {
    let text = browser.body_text();
    for e in expected {
        assert!(text.contains(e), "{what}: the page lacks {e:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_pages_in_a_real_browser() {
    // The browser first: a missing Chromium fails here, before anything else is set up.
    let shots = Shots::new();
    let browser = b(Browser::start);
    // Fails with instructions when AWS_ENDPOINT_URL is unset or moto is down.
    cordon_aws::testing::moto().await;

    let db_dir = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-browser-db"));
    let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
    options.names = StackNames {
        table: cordon_aws::testing::unique("cordon-br"),
        topic: cordon_aws::testing::unique("cordon-br"),
        tap_queue: cordon_aws::testing::unique("cordon-br-tap"),
    };
    options.db = db_dir.join("sfn.sqlite");
    options.sfn_port = 0;
    options.approval_port = 0;
    let stack = LocalStack::start(&options)
        .await
        .unwrap_or_else(|e| panic!("starting the local stack: {e:#}"));
    let attacker = jdoe(&stack).await;
    let mut mail = Mailbox {
        links: HashMap::new(),
    };

    // ---------------------------------------------------------------------------------
    // 1. The emailed link: GET changes nothing; Approve quarantines.
    let a = attack(&stack, &attacker, "br-approve").await;
    wait_for_approval_state(&stack, &a.execution_arn).await;
    let link = mail.link_for(&stack, &a.id).await;
    assert!(
        link.starts_with("http://127.0.0.1:"),
        "the emailed link is not on loopback: {link}"
    );
    let a_link_id = link_id(&link);

    b(|| browser.goto(&link));
    b(|| {
        browser.wait_for_heading("Approve containment?", NAV);
        assert_eq!(browser.status(), 200);
        assert_page_contains(
            &browser,
            "the confirmation page",
            &[
                &a.id,
                &a.user,
                "iam.user-created",
                "Severity",
                "Link expires",
                "not authenticated",
            ],
        );
        // Only what a decision needs: the ARNs stay in the email.
        let text = browser.body_text();
        assert!(!text.contains(&a.user_arn), "the page shows the user's ARN");
        assert!(
            !text.contains(&attacker.arn()),
            "the page shows the actor's ARN"
        );
        let severity = browser.element("td.sev").text();
        assert!(!severity.trim().is_empty(), "no severity shown");
        assert_eq!(
            browser
                .element("button[name=decision][value=approve]")
                .text(),
            "Approve quarantine"
        );
        assert_eq!(
            browser
                .element("button[name=decision][value=reject]")
                .text(),
            "Reject"
        );
        let csrf = browser
            .element("form[method=post] input[type=hidden][name=csrf]")
            .property("value")
            .unwrap_or_default();
        assert!(csrf.len() >= 32, "the anti-CSRF field is missing or short");
        assert!(
            !browser.body_text().contains(&csrf),
            "the anti-CSRF value is visible on the page"
        );
        shots.take(&browser, "01-approval-confirmation");
        browser
            .execute("document.querySelector('form').scrollIntoView({block: 'end'});")
            .unwrap_or_else(|e| panic!("scrolling to the form: {e:#}"));
        shots.take(&browser, "01b-approval-confirmation-buttons");
        // A second load (a mail scanner, a reload): still nothing happens.
        browser.refresh();
        browser.wait_for_heading("Approve containment?", NAV);
    });
    b(|| browser.goto(&link));
    b(|| browser.wait_for_heading("Approve containment?", NAV));
    // Give a (wrong) side effect time to show before checking there is none.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_still_waiting(&stack, &a.execution_arn, "after three GETs").await;
    assert_not_quarantined(&stack, &a.user, "after three GETs").await;
    assert_eq!(link_status(&stack, &a_link_id).await, LinkStatus::Pending);

    // A second tab keeps the confirmation form open: the stale form for scenario 2.
    let first_tab = b(|| browser.window());
    let stale_tab = b(|| browser.new_tab());
    b(|| {
        browser.goto(&link);
        browser.wait_for_heading("Approve containment?", NAV);
        browser.switch_to(&first_tab);
    });

    b(|| {
        browser.element("input[name=name]").type_text(APPROVER);
        browser
            .element("button[name=decision][value=approve]")
            .click();
        browser.wait_for_heading("Containment approved", NAV);
        assert_eq!(browser.status(), 200);
        assert_page_contains(&browser, "the approved page", &[&a.id]);
        shots.take(&browser, "02-approved");
    });
    let (st, entered) = wait_for_end(&stack, &a.execution_arn).await;
    assert_eq!(st, ExecutionStatus::Succeeded, "states: {entered:?}");
    assert!(
        entered.iter().any(|s| s == "Quarantine"),
        "the approved execution never quarantined: {entered:?}"
    );
    let (policies, tags) = iam_state(&stack, &a.user).await;
    assert!(
        policies.iter().any(|p| *p == quarantine_policy_name()),
        "{} is not quarantined after the approval: {policies:?}",
        a.user
    );
    assert_eq!(
        tags.get(cordon_core::tags::SECURITY_STATUS)
            .map(String::as_str),
        Some(cordon_core::tags::QUARANTINED),
        "tags: {tags:?}"
    );
    assert_eq!(link_status(&stack, &a_link_id).await, LinkStatus::Approved);
    assert_eq!(
        incident_status(&stack, &a.id).await,
        IncidentStatus::Contained
    );

    // ---------------------------------------------------------------------------------
    // 2. The decision cannot be repeated: back to the link, and the stale form.
    b(|| {
        browser.back();
        browser.wait_for_heading("Already decided", NAV);
        assert_eq!(browser.status(), 409);
        assert_page_contains(
            &browser,
            "the link after the decision",
            &[&a.id, "approved by", APPROVER],
        );
        assert_eq!(
            browser.count("form"),
            0,
            "a decided link still offers a form"
        );
        shots.take(&browser, "03-already-decided-after-back");
    });
    b(|| {
        browser.switch_to(&stale_tab);
        assert_eq!(browser.heading(), "Approve containment?");
        browser
            .element("input[name=name]")
            .type_text("Late Rejecter");
        browser
            .element("button[name=decision][value=reject]")
            .click();
        browser.wait_for_heading("Already decided", NAV);
        assert_eq!(browser.status(), 409);
        assert_page_contains(
            &browser,
            "the stale form's POST",
            &["approved by", APPROVER],
        );
        shots.take(&browser, "04-stale-form-reposted");
        // Back from the refused POST: the link itself, re-fetched (no-store), says the same.
        browser.back();
        browser.wait_for_heading("Already decided", NAV);
    });
    assert_eq!(link_status(&stack, &a_link_id).await, LinkStatus::Approved);
    assert_eq!(
        status(&stack, &a.execution_arn).await,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        incident_status(&stack, &a.id).await,
        IncidentStatus::Contained,
        "a refused re-POST changed the incident"
    );

    // ---------------------------------------------------------------------------------
    // 3. An expired link: the page already open, then the expiry passes.
    let c = attack(&stack, &attacker, "br-expire").await;
    wait_for_approval_state(&stack, &c.execution_arn).await;
    let c_link = mail.link_for(&stack, &c.id).await;
    let c_link_id = link_id(&c_link);
    b(|| {
        browser.goto(&c_link);
        browser.wait_for_heading("Approve containment?", NAV);
    });
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .update_item()
        .table_name(&stack.resources.table_name)
        .key(
            "pk",
            // The table keys a link by the hash of its id.
            AttributeValue::S(format!(
                "{}{}",
                cordon_aws::dynamo::links::APPROVAL_PREFIX,
                cordon_aws::links::LinkId::parse(&c_link_id)
                    .expect("a link id")
                    .hash()
            )),
        )
        .key("sk", AttributeValue::S(cordon_aws::dynamo::META_SK.into()))
        .update_expression("SET expires_at = :past")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(
            ":past",
            AttributeValue::S(cordon_aws::dynamo::timestamp(past)),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("expiring approval {c_link_id}: {e:?}"));
    b(|| {
        // The form was loaded before the expiry; submitting it now is refused.
        browser
            .element("button[name=decision][value=approve]")
            .click();
        browser.wait_for_heading("This link has expired", NAV);
        assert_eq!(browser.status(), 410);
        assert_page_contains(
            &browser,
            "the expired POST",
            &[&c.id, "nothing was changed"],
        );
        shots.take(&browser, "05-expired-form-submitted");
        // Opening the link afresh gives the same page.
        browser.goto(&c_link);
        browser.wait_for_heading("This link has expired", NAV);
        assert_eq!(browser.status(), 410);
        assert_eq!(
            browser.count("form"),
            0,
            "an expired link still offers a form"
        );
        shots.take(&browser, "06-expired-link");
    });
    assert_still_waiting(&stack, &c.execution_arn, "after the expired link").await;
    assert_not_quarantined(&stack, &c.user, "after the expired link").await;
    assert_eq!(link_status(&stack, &c_link_id).await, LinkStatus::Expired);

    // ---------------------------------------------------------------------------------
    // 4. Forged and malformed ids: one identical not-found page.
    let forged = uuid::Uuid::new_v4().simple().to_string();
    assert_eq!(forged.len(), 32);
    let base = stack.approval.url.clone();
    let not_found_urls = [
        format!("{base}/a/{forged}"),
        format!("{base}/a/not-an-id"),
        format!("{base}/a/{}", &forged[..31]),
        format!("{base}/r/{forged}"),
        format!("{base}/a/{}", forged.to_uppercase()),
    ];
    let mut pages = Vec::new();
    b(|| {
        for (n, url) in not_found_urls.iter().enumerate() {
            browser.goto(url);
            browser.wait_for_heading("Link not found", NAV);
            assert_eq!(browser.status(), 404, "{url}");
            assert_eq!(browser.count("form"), 0);
            let html = browser
                .execute("return document.documentElement.outerHTML;")
                .unwrap_or_else(|e| panic!("reading the page: {e:#}"));
            pages.push(html.as_str().unwrap_or_default().to_string());
            if n == 0 {
                shots.take(&browser, "07-forged-id-not-found");
            } else if n == 1 {
                shots.take(&browser, "08-malformed-id-not-found");
            }
        }
    });
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "the not-found pages differ between forged and malformed ids"
    );
    let raw: Vec<_> = not_found_urls.iter().map(|u| b(|| raw_get(u))).collect();
    for ((status, headers, body), url) in raw.iter().zip(&not_found_urls) {
        assert_eq!(*status, 404, "{url}");
        assert_security_headers(url, headers);
        assert_eq!(body, &raw[0].2, "{url}: a different not-found body");
    }

    // ---------------------------------------------------------------------------------
    // 5. Reject dismisses the incident; nothing is contained.
    let e = attack(&stack, &attacker, "br-reject").await;
    wait_for_approval_state(&stack, &e.execution_arn).await;
    let e_link = mail.link_for(&stack, &e.id).await;
    // The security headers, which WebDriver cannot see, on the live confirmation page.
    let (code, headers, body) = b(|| raw_get(&e_link));
    assert_eq!(code, 200);
    assert!(body.contains("Approve containment?"));
    assert_security_headers(&e_link, &headers);
    b(|| {
        browser.goto(&e_link);
        browser.wait_for_heading("Approve containment?", NAV);
        assert_page_contains(&browser, "the second incident's page", &[&e.id, &e.user]);
        browser
            .element("button[name=decision][value=reject]")
            .click();
        browser.wait_for_heading("Containment rejected", NAV);
        assert_eq!(browser.status(), 200);
        assert_page_contains(&browser, "the rejected page", &[&e.id, "dismissed"]);
        shots.take(&browser, "09-rejected");
    });
    let (st, entered) = wait_for_end(&stack, &e.execution_arn).await;
    assert_eq!(st, ExecutionStatus::Succeeded, "states: {entered:?}");
    assert!(
        entered.iter().any(|s| s == "NotifyDismissed"),
        "the rejected execution did not go through NotifyDismissed: {entered:?}"
    );
    assert!(
        !entered.iter().any(|s| s == "Quarantine"),
        "the rejected execution quarantined: {entered:?}"
    );
    assert_eq!(
        incident_status(&stack, &e.id).await,
        IncidentStatus::Dismissed
    );
    assert_eq!(
        link_status(&stack, &link_id(&e_link)).await,
        LinkStatus::Rejected
    );
    assert_not_quarantined(&stack, &e.user, "after the rejection").await;

    // The expired incident's execution still waits (its task timeout is an hour): stop it.
    let _ = stack
        .sfn_client
        .stop_execution()
        .execution_arn(&c.execution_arn)
        .send()
        .await;
    drop(browser);
    drop(stack);
    let _ = std::fs::remove_dir_all(&db_dir);
}

/// The stack's quarantine policy, as the template names it (`<stack>-…`).
fn quarantine_policy_name() -> String {
    format!(
        "{}-{}",
        cordon::local::LOCAL_STACK_NAME,
        cordon_core::quarantine::QUARANTINE_POLICY_NAME
    )
}
