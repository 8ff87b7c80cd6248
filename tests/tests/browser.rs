//! The approval pages in a real browser: headless Debian Chromium, driven through
//! chromedriver (W3C WebDriver), against the local stack (engine + in-process handlers +
//! approval server) on moto. Every scenario checks real effects in moto and the local
//! Step Functions API, not just page text.
//!
//! Needs moto (`AWS_ENDPOINT_URL`, see `cordon_aws::testing::moto`) and
//! `apt-get install chromium chromium-driver` (or `CORDON_CHROMEDRIVER` / `CORDON_CHROMIUM`).
//! It fails, never skips, when either is missing. Screenshots of every page go to
//! `<workspace>/artifacts/browser/`.
// Shared with tests/tests/browser_oidc.rs, which uses other parts.
#[allow(dead_code)]
mod browser {
    pub mod incidents;
    pub mod webdriver;
}

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use browser::incidents::*;
use browser::webdriver::Browser;
use cordon_aws::links::LinkStatus;
use cordon_core::model::IncidentStatus;

/// The name typed on link-only pages.
const APPROVER: &str = "Browser Approver";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_pages_in_a_real_browser() {
    // The browser first: a missing Chromium fails here, before anything else is set up.
    let shots = Shots::new();
    let browser = b(Browser::start);
    // Fails with instructions when AWS_ENDPOINT_URL is unset or moto is down.
    cordon_aws::testing::moto().await;

    let (stack, db_dir) = start_stack("cordon-br", Default::default()).await;
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
