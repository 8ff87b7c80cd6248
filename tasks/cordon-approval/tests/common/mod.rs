//! Shared setup for the handler tests: fakes, a movable clock, request builders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_approval::{Deps, ReleaseAction, handle, with_source_ip};
use cordon_aws::fakes::{FakeLinkStore, FakeTaskCallbacks};
use cordon_aws::links::{DecidedBy, LinkRecord, LinkStore, LinkSummary, NewLink, Secret};
use cordon_core::TaskError;
use lambda_http::http::{Request, header};
use lambda_http::{Body, Response};
use serde_json::json;

pub const TOKEN: &str = "AAAAKgAAAAIAAAAAAAAAAQ-SECRET-TASK-TOKEN-e3b0c44298fc1c149afbf4c8996fb924";
pub const IP: &str = "203.0.113.9";
pub const UA: &str = "Mozilla/5.0 (test)";

#[derive(Default)]
pub struct FakeRelease {
    pub calls: Mutex<Vec<(String, DecidedBy)>>,
    pub fail: Mutex<Option<TaskError>>,
}

#[async_trait]
impl ReleaseAction for FakeRelease {
    async fn release(&self, incident_id: &str, by: &DecidedBy) -> Result<String, TaskError> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((incident_id.to_string(), by.clone()));
        match self.fail.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(e) => Err(e),
            None => Ok(format!("released backdoor (incident {incident_id})")),
        }
    }
}

pub struct World {
    pub store: Arc<FakeLinkStore>,
    pub callbacks: Arc<FakeTaskCallbacks>,
    pub release: Arc<FakeRelease>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub deps: Deps,
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time")
}

pub fn world() -> World {
    let store = Arc::new(FakeLinkStore::new());
    let callbacks = Arc::new(FakeTaskCallbacks::new());
    let release = Arc::new(FakeRelease::default());
    let now = Arc::new(Mutex::new(t0()));
    let clock_now = now.clone();
    let deps = Deps {
        links: store.clone(),
        callbacks: callbacks.clone(),
        release: release.clone(),
        clock: Arc::new(move || *clock_now.lock().unwrap_or_else(|p| p.into_inner())),
    };
    World {
        store,
        callbacks,
        release,
        now,
        deps,
    }
}

impl World {
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    pub async fn approval(&self, summary: LinkSummary) -> LinkRecord {
        self.store
            .create(&NewLink::approval(
                "ct-0001",
                Secret::new(TOKEN),
                summary,
                t0(),
                t0() + Duration::seconds(3600),
            ))
            .await
            .expect("create")
            .record
    }

    pub async fn release_link(&self) -> LinkRecord {
        self.store
            .create(&NewLink::release("ct-0001", summary(), t0()))
            .await
            .expect("create")
            .record
    }
}

pub fn summary() -> LinkSummary {
    LinkSummary {
        title: Some("IAM user backdoor created by jdoe".into()),
        principal: Some("arn:aws:iam::123456789012:user/backdoor".into()),
        actor: Some("arn:aws:iam::123456789012:user/jdoe".into()),
        rule: Some("iam.user-created".into()),
        severity: Some("high".into()),
        evidence: BTreeMap::from([("userName".to_string(), json!("backdoor"))]),
        ..LinkSummary::default()
    }
}

pub fn get(path: &str) -> lambda_http::Request {
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .header(header::USER_AGENT, UA)
        .body(Body::Empty)
        .expect("request");
    with_source_ip(req, Some(IP.into()))
}

pub fn request(method: &str, path: &str) -> lambda_http::Request {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .expect("request");
    with_source_ip(req, Some(IP.into()))
}

pub fn post(path: &str, fields: &[(&str, &str)]) -> lambda_http::Request {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::USER_AGENT, UA)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::Text(s.finish()))
        .expect("request");
    with_source_ip(req, Some(IP.into()))
}

pub struct Page {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: String,
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
