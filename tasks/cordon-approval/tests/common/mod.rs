//! Shared setup for the handler tests: fakes, a movable clock, a browser with a cookie jar,
//! request builders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_approval::{Deps, handle, with_source_ip};
use cordon_aws::fakes::{FakeLinkStore, FakeSignInStore, FakeTaskCallbacks};
use cordon_aws::links::{LinkId, LinkRecord, LinkStore, LinkSummary, NewLink, Party, Secret};
use lambda_http::http::{Request, header};
use lambda_http::{Body, Response};

pub const TOKEN: &str = "AAAAKgAAAAIAAAAAAAAAAQ-SECRET-TASK-TOKEN-e3b0c44298fc1c149afbf4c8996fb924";
pub const IP: &str = "203.0.113.9";
pub const UA: &str = "Mozilla/5.0 (test)";
pub const RELEASE_MACHINE: &str =
    "arn:aws:states:us-east-1:123456789012:stateMachine:cordon-release";
pub const INCIDENT: &str = "ct-0001";
/// The incident's actor and target.
pub const ACTOR: &str = "jdoe";
pub const ACTOR_ID: &str = "AIDAJDOE000000000001";
pub const TARGET: &str = "backdoor";
pub const TARGET_ID: &str = "AIDABACKDOOR00000001";

pub struct World {
    pub store: Arc<FakeLinkStore>,
    pub signin: Arc<FakeSignInStore>,
    pub callbacks: Arc<FakeTaskCallbacks>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub deps: Deps,
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time")
}

/// Link-only mode (no OIDC issuer).
pub fn world() -> World {
    let store = Arc::new(FakeLinkStore::new());
    let signin = Arc::new(FakeSignInStore::new());
    let callbacks = Arc::new(FakeTaskCallbacks::new());
    let now = Arc::new(Mutex::new(t0()));
    let clock_now = now.clone();
    let deps = Deps {
        links: store.clone(),
        signin: signin.clone(),
        callbacks: callbacks.clone(),
        workflows: callbacks.clone(),
        release_state_machine_arn: RELEASE_MACHINE.into(),
        oidc: None,
        clock: Arc::new(move || *clock_now.lock().unwrap_or_else(|p| p.into_inner())),
    };
    World {
        store,
        signin,
        callbacks,
        now,
        deps,
    }
}

impl World {
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// An approval link for [`INCIDENT`], valid for an hour: its id (what the email
    /// carries) and the stored record.
    pub async fn approval(&self, summary: LinkSummary) -> (LinkId, LinkRecord) {
        self.approval_for(INCIDENT, TOKEN, summary).await
    }

    pub async fn approval_for(
        &self,
        incident: &str,
        token: &str,
        summary: LinkSummary,
    ) -> (LinkId, LinkRecord) {
        let created = self
            .store
            .create(&NewLink::approval(
                incident,
                Secret::new(token),
                summary,
                t0(),
                t0() + Duration::seconds(3600),
            ))
            .await
            .expect("create");
        (created.id.expect("a new link has an id"), created.record)
    }

    /// A release link for [`INCIDENT`], valid for 24 hours.
    pub async fn release_link(&self) -> (LinkId, LinkRecord) {
        let created = self
            .store
            .create(&NewLink::release(
                INCIDENT,
                summary(),
                t0(),
                Duration::hours(24),
            ))
            .await
            .expect("create");
        (created.id.expect("a new link has an id"), created.record)
    }
}

/// jdoe (an IAM user) created the user backdoor.
pub fn summary() -> LinkSummary {
    LinkSummary {
        title: Some("IAM user backdoor created by jdoe".into()),
        rule: Some("iam.user-created".into()),
        severity: Some("high".into()),
        event_name: Some("CreateUser".into()),
        event_time: Some(t0() - Duration::minutes(1)),
        principal_name: Some(TARGET.into()),
        actor_name: Some(ACTOR.into()),
        parties: vec![
            Party {
                arn: Some(format!("arn:aws:iam::123456789012:user/{ACTOR}")),
                unique_id: Some(ACTOR_ID.into()),
                names: vec![ACTOR.into()],
            },
            Party {
                arn: Some(format!("arn:aws:iam::123456789012:user/{TARGET}")),
                unique_id: Some(TARGET_ID.into()),
                names: vec![TARGET.into()],
            },
        ],
    }
}

pub fn request(method: &str, path: &str) -> lambda_http::Request {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::USER_AGENT, UA)
        .header(header::HOST, "approve.example.com")
        .body(Body::Empty)
        .expect("request");
    with_source_ip(req, Some(IP.into()))
}

pub fn get(path: &str) -> lambda_http::Request {
    request("GET", path)
}

pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A POST without cookies (a forged cross-site form, or a script).
pub fn post(path: &str, fields: &[(&str, &str)]) -> lambda_http::Request {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::USER_AGENT, UA)
        .header(header::HOST, "approve.example.com")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::Text(form(fields)))
        .expect("request");
    with_source_ip(req, Some(IP.into()))
}

pub struct Page {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: String,
}

impl Page {
    /// The hidden anti-CSRF value on a confirmation page.
    pub fn csrf(&self) -> String {
        csrf_of(&self.body)
    }
}

pub async fn call(deps: &Deps, req: lambda_http::Request) -> Page {
    let resp: Response<Body> = handle(req, deps).await.expect("a response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = match resp.into_body() {
        Body::Text(t) => t,
        Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    assert_security_headers(&headers, status);
    Page {
        status,
        headers,
        body,
    }
}

/// A browser: keeps the cookies the pages set and sends them back.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser::default()
    }

    fn with_cookies(&self, mut req: lambda_http::Request) -> lambda_http::Request {
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers_mut().insert(
                header::COOKIE,
                header::HeaderValue::from_str(&jar.join("; ")).expect("cookie header"),
            );
        }
        req
    }

    fn keep(&mut self, page: &Page) {
        for c in page.headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().expect("cookie");
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').expect("name=value");
            if attrs.contains("Max-Age=0") || v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub async fn send(&mut self, deps: &Deps, req: lambda_http::Request) -> Page {
        let page = call(deps, self.with_cookies(req)).await;
        self.keep(&page);
        page
    }

    pub async fn get(&mut self, deps: &Deps, path: &str) -> Page {
        self.send(deps, get(path)).await
    }

    pub async fn post(&mut self, deps: &Deps, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(deps, post(path, fields)).await
    }

    /// Open the page, then submit its form with `fields` (the anti-CSRF value added).
    pub async fn submit(&mut self, deps: &Deps, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(deps, path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post(deps, path, &all).await
    }
}

/// Every response, errors included, carries the security headers.
pub fn assert_security_headers(h: &lambda_http::http::HeaderMap, status: u16) {
    let want = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
    ];
    for (k, v) in want {
        assert_eq!(
            h.get(k).and_then(|v| v.to_str().ok()),
            Some(v),
            "{k} on a {status} response"
        );
    }
    assert_eq!(
        h.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
}

/// The hidden anti-CSRF value on a confirmation page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("csrf field") + marker.len();
    page[start..].chars().take_while(|c| *c != '"').collect()
}
