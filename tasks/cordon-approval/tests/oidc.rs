//! OpenID Connect sign-in against an issuer served on loopback by this test: a discovery
//! document, a JWKS with an ES256 key, and a token endpoint that answers with the ID
//! token each case sets. Every refusal states the safe outcome: no session, nothing
//! decided, nothing resumed.
mod common;

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use common::*;
use cordon_approval::oidc::{Approvers, OidcConfig, Provider};
use cordon_aws::fakes::Callback;
use cordon_aws::links::{LinkId, LinkKind, LinkStatus, LinkStore, NewLink, Secret};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The issuer's signing key (P-256), and its public half in the JWKS.
const ISSUER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrq04ao88yq15IuDM
1o87WHQdPy/DTOmy32NlsYnwd2uhRANCAATTj2f9im/frLkbe3MU4xwFYBEUCqRi
2vEO2RlHhu4fiSRuR4770+rzOqPDRhOpnw5uD+GGO8F9sQTRcoHvDcD9
-----END PRIVATE KEY-----
";
const ISSUER_X: &str = "049n_Ypv36y5G3tzFOMcBWARFAqkYtrxDtkZR4buH4k";
const ISSUER_Y: &str = "JG5HjvvT6vM6o8NGE6mfDm4P4YY7wX2xBNFyge8NwP0";
/// Another key: a token signed with it under the issuer's kid is forged.
const FORGER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtgmCIs6DreOg65r9
n3mU5JtYX1/C0AphsMrbvoBDntihRANCAATsa1bNJ7TMaU1DLc9ZNk1EEHrLhafu
xA8frV2vwwG0PVvoHSMlFxZ3ZD16uKsZflXpRT3BbDnJTO7NKW+1vUms
-----END PRIVATE KEY-----
";
const KID: &str = "cordon-test-key";
const CLIENT: &str = "cordon-approvals";

/// The issuer: serves discovery, the JWKS and a token endpoint answering with `token`.
struct Issuer {
    url: String,
    token: Arc<Mutex<Option<String>>>,
}

async fn issuer() -> Issuer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let token: Arc<Mutex<Option<String>>> = Arc::default();
    let (base, current) = (url.clone(), token.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (base, current) = (base.clone(), current.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and a Content-Length body.
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = match path.as_str() {
                    "/.well-known/openid-configuration" => json!({
                        "issuer": base,
                        "authorization_endpoint": format!("{base}/authorize"),
                        "token_endpoint": format!("{base}/token"),
                        "jwks_uri": format!("{base}/jwks"),
                    }),
                    "/jwks" => json!({"keys": [{
                        "kty": "EC", "crv": "P-256", "x": ISSUER_X, "y": ISSUER_Y,
                        "kid": KID, "alg": "ES256", "use": "sig"
                    }]}),
                    "/token" => match current.lock().expect("lock").clone() {
                        Some(t) => json!({"id_token": t, "token_type": "Bearer"}),
                        None => json!({"error": "invalid_grant"}),
                    },
                    _ => json!({"error": "not_found"}),
                }
                .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Issuer { url, token }
}

fn id_token(key: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(KID.into());
    use base64::Engine as _;
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body");
    let key = EncodingKey::from_ec_der(&der);
    encode(&header, claims, &key).expect("signed")
}

/// A world whose pages require sign-in with `issuer`, on the real clock (ID tokens are
/// checked against it), with one pending approval: its path.
async fn signed_in_world(issuer: &Issuer) -> (World, String, cordon_aws::links::LinkHash) {
    let mut w = world();
    *w.now.lock().expect("lock") = Utc::now();
    let config = OidcConfig {
        issuer: issuer.url.clone(),
        client_id: CLIENT.into(),
        client_secret: None,
        approvers: Approvers::parse(
            &[
                "alice@example.com".into(),
                "jdoe@example.com".into(),
                "group:secops".into(),
            ],
            "CORDON_OIDC_APPROVERS",
        )
        .expect("approvers"),
        groups_claim: "groups".into(),
    };
    w.deps.oidc = Some(Arc::new(Provider::new(config).expect("provider")));
    let now = Utc::now();
    let created = w
        .store
        .create(&NewLink::approval(
            INCIDENT,
            Secret::new(TOKEN),
            summary(),
            now,
            now + Duration::hours(1),
        ))
        .await
        .expect("create");
    let id: LinkId = created.id.expect("id");
    (w, format!("/a/{}", id.expose()), created.record.hash)
}

fn claims(issuer: &Issuer, nonce: &str, email: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": issuer.url, "aud": CLIENT, "sub": format!("sub-{email}"),
        "email": email, "email_verified": true,
        "iat": now, "exp": now + 300, "nonce": nonce,
    })
}

/// Opens `path` unsigned: the page redirects to the issuer. Returns (state, nonce).
async fn start_sign_in(
    w: &World,
    b: &mut Browser,
    issuer: &Issuer,
    path: &str,
) -> (String, String) {
    let p = b.get(&w.deps, path).await;
    assert_eq!(p.status, 302, "{}", p.body);
    let location = p
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect")
        .to_string();
    assert!(
        location.starts_with(&format!("{}/authorize?", issuer.url)),
        "{location}"
    );
    let query: std::collections::HashMap<String, String> = form_urlencoded::parse(
        location
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .as_bytes(),
    )
    .into_owned()
    .collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert!(!location.contains(TOKEN));
    (query["state"].clone(), query["nonce"].clone())
}

async fn callback(w: &World, b: &mut Browser, state: &str) -> Page {
    b.get(&w.deps, &format!("/oidc/callback?code=c0de&state={state}"))
        .await
}

#[tokio::test]
async fn a_listed_signed_in_approver_decides_under_the_verified_identity() {
    let issuer = issuer().await;
    let (w, path, hash) = signed_in_world(&issuer).await;
    let mut b = Browser::new();
    let (state, nonce) = start_sign_in(&w, &mut b, &issuer, &path).await;
    *issuer.token.lock().expect("lock") = Some(id_token(
        ISSUER_KEY,
        &claims(&issuer, &nonce, "Alice@Example.com"),
    ));
    let back = callback(&w, &mut b, &state).await;
    assert_eq!(back.status, 302, "{}", back.body);
    assert_eq!(
        back.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(path.as_str())
    );
    assert_eq!(w.signin.session_keys().len(), 1);
    let page = b.get(&w.deps, &path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Signed in as"), "{}", page.body);
    assert!(!page.body.contains("not authenticated"));
    assert!(
        !page.body.contains("name=\"name\""),
        "no typed name when signed in"
    );
    let csrf = page.csrf();
    let done = b
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "approve"),
                ("csrf", &csrf),
                ("name", "Mallory"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let sent = w.callbacks.sent();
    let Callback::Success { output, .. } = &sent[0] else {
        panic!("expected SendTaskSuccess: {sent:?}");
    };
    assert_eq!(output["decidedBy"]["verified"]["method"], "oidc");
    assert_eq!(
        output["decidedBy"]["verified"]["issuer"],
        issuer.url.as_str()
    );
    assert_eq!(
        output["decidedBy"]["verified"]["email"],
        "Alice@Example.com"
    );
    assert_eq!(
        output["decidedBy"]["name"], "Alice@Example.com",
        "not the typed name"
    );
    assert_eq!(
        w.store.link(LinkKind::Approval, &hash).map(|l| l.status),
        Some(LinkStatus::Approved)
    );
}

/// Makes a case's ID token for the issuer and the sign-in's nonce.
type TokenFor = Box<dyn Fn(&Issuer, &str) -> String>;

/// Each forged or unacceptable ID token: the callback refuses it, opens no session, and
/// the link stays pending.
#[tokio::test]
async fn wrong_issuer_bad_signature_expired_and_foreign_audience_are_refused() {
    let issuer = issuer().await;
    let cases: Vec<(&str, TokenFor)> = vec![
        (
            "wrong issuer",
            Box::new(|i, n| {
                let mut c = claims(i, n, "alice@example.com");
                c["iss"] = json!("https://evil.example.com");
                id_token(ISSUER_KEY, &c)
            }),
        ),
        (
            "bad signature",
            Box::new(|i, n| id_token(FORGER_KEY, &claims(i, n, "alice@example.com"))),
        ),
        (
            "expired",
            Box::new(|i, n| {
                let mut c = claims(i, n, "alice@example.com");
                let past = Utc::now().timestamp() - 3600;
                c["iat"] = json!(past - 300);
                c["exp"] = json!(past);
                id_token(ISSUER_KEY, &c)
            }),
        ),
        (
            "another client's token",
            Box::new(|i, n| {
                let mut c = claims(i, n, "alice@example.com");
                c["aud"] = json!("some-other-app");
                id_token(ISSUER_KEY, &c)
            }),
        ),
        (
            "another sign-in's nonce",
            Box::new(|i, _| {
                id_token(
                    ISSUER_KEY,
                    &claims(i, "0123456789abcdef", "alice@example.com"),
                )
            }),
        ),
    ];
    for (what, token) in cases {
        let (w, path, hash) = signed_in_world(&issuer).await;
        let mut b = Browser::new();
        let (state, nonce) = start_sign_in(&w, &mut b, &issuer, &path).await;
        *issuer.token.lock().expect("lock") = Some(token(&issuer, &nonce));
        let back = callback(&w, &mut b, &state).await;
        assert_eq!(back.status, 403, "{what}: {}", back.body);
        assert!(
            w.signin.session_keys().is_empty(),
            "{what}: a session was opened"
        );
        // Still not signed in: the page sends the browser to the issuer again.
        assert_eq!(b.get(&w.deps, &path).await.status, 302, "{what}");
        assert!(w.callbacks.sent().is_empty(), "{what}");
        assert_eq!(
            w.store.link(LinkKind::Approval, &hash).map(|l| l.status),
            Some(LinkStatus::Pending),
            "{what}"
        );
    }
}

#[tokio::test]
async fn a_replayed_callback_with_a_used_nonce_is_refused() {
    let issuer = issuer().await;
    let (w, path, _) = signed_in_world(&issuer).await;
    let mut b = Browser::new();
    let (state, nonce) = start_sign_in(&w, &mut b, &issuer, &path).await;
    *issuer.token.lock().expect("lock") = Some(id_token(
        ISSUER_KEY,
        &claims(&issuer, &nonce, "alice@example.com"),
    ));
    // An attacker who captured the sign-in cookie and the callback URL replays them.
    let mut attacker = b.clone();
    assert_eq!(callback(&w, &mut b, &state).await.status, 302);
    let replay = callback(&w, &mut attacker, &state).await;
    assert_eq!(replay.status, 403, "{}", replay.body);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert_eq!(
        w.signin.session_keys().len(),
        1,
        "one session, the first one"
    );
    // A forged state never reaches the issuer's token.
    let mut other = Browser::new();
    let (_, _) = start_sign_in(&w, &mut other, &issuer, &path).await;
    assert_eq!(callback(&w, &mut other, "forged-state").await.status, 400);
}

#[tokio::test]
async fn an_approver_not_on_the_list_and_the_incidents_actor_cannot_decide() {
    let issuer = issuer().await;
    for (email, groups, refusal) in [
        ("bob@example.com", json!(["developers"]), "not on the list"),
        // jdoe is a listed approver, but made the call this incident is about.
        ("jdoe@example.com", json!(["secops"]), "part of"),
        // backdoor is the incident's target.
        ("backdoor@example.com", json!(["secops"]), "part of"),
    ] {
        let (w, path, hash) = signed_in_world(&issuer).await;
        let mut b = Browser::new();
        let (state, nonce) = start_sign_in(&w, &mut b, &issuer, &path).await;
        let mut c = claims(&issuer, &nonce, email);
        c["groups"] = groups;
        *issuer.token.lock().expect("lock") = Some(id_token(ISSUER_KEY, &c));
        assert_eq!(callback(&w, &mut b, &state).await.status, 302, "{email}");
        let page = b.get(&w.deps, &path).await;
        let csrf = page.csrf();
        let p = b
            .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
            .await;
        assert_eq!(p.status, 403, "{email}: {}", p.body);
        assert!(p.body.contains(refusal), "{email}: {}", p.body);
        assert!(w.callbacks.sent().is_empty(), "{email}");
        assert_eq!(
            w.store.link(LinkKind::Approval, &hash).map(|l| l.status),
            Some(LinkStatus::Pending),
            "{email}"
        );
    }
    // A member of a listed group decides.
    let (w, path, _) = signed_in_world(&issuer).await;
    let mut b = Browser::new();
    let (state, nonce) = start_sign_in(&w, &mut b, &issuer, &path).await;
    let mut c = claims(&issuer, &nonce, "carol@example.com");
    c["groups"] = json!(["secops"]);
    *issuer.token.lock().expect("lock") = Some(id_token(ISSUER_KEY, &c));
    callback(&w, &mut b, &state).await;
    let csrf = b.get(&w.deps, &path).await.csrf();
    let p = b
        .post(&w.deps, &path, &[("decision", "reject"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
}

#[tokio::test]
async fn without_a_session_the_link_alone_decides_nothing() {
    let issuer = issuer().await;
    let (w, path, hash) = signed_in_world(&issuer).await;
    // The link holder posts a form without signing in (no session, no csrf cookie).
    let p = call(
        &w.deps,
        post(&path, &[("decision", "approve"), ("csrf", &"0".repeat(64))]),
    )
    .await;
    assert!(p.status == 403 || p.status == 401, "{}", p.body);
    // Even with a csrf cookie of its own making and the matching value (the link holder
    // knows the link, so can compute it): holding the link is not signing in.
    let secret = "a".repeat(64);
    let mut b = Browser::new();
    b.cookies.insert("cordon-csrf".into(), secret.clone());
    let csrf = cordon_aws::links::hmac_sha256_hex(
        secret.as_bytes(),
        format!("cordon-csrf:approval:{}", hash.as_str()).as_bytes(),
    );
    let p = b
        .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("Sign in"), "{}", p.body);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(
        w.store.link(LinkKind::Approval, &hash).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}
