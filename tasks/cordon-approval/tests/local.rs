//! The loopback server: real HTTP/1.1 requests, as a browser sends them.
mod common;

use common::*;
use cordon_approval::serve_local;
use cordon_aws::fakes::Callback;
use cordon_aws::links::{LinkKind, LinkStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn http(addr: std::net::SocketAddr, raw: String) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn a_browser_can_approve_through_the_local_server() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let server = serve_local(w.deps.clone(), 0).await.expect("serve");
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert!(!server.url.ends_with('/'));
    let path = format!("/a/{}", id.expose());
    // What a browser sends for http://127.0.0.1:PORT/ (other names are refused: DNS rebinding).
    let host = server.addr;

    let (status, head, body) = http(
        server.addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Chromium\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-store"), "{head}");
    let csrf = csrf_of(&body);
    assert!(
        body.contains(&format!("action=\"&#x2F;a&#x2F;{}\"", id.expose()))
            || body.contains(&format!("action=\"/a/{}\"", id.expose())),
        "{body}"
    );
    // The anti-CSRF value is bound to this browser's cookie.
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("the page sets the browser's csrf cookie")
        .to_string();
    assert!(
        !head.contains("secure"),
        "plain http on loopback: no Secure cookie"
    );

    let form = format!("csrf={csrf}&name=Local+Tester&decision=approve");
    let (status, _, body) = http(
        server.addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Chromium\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let Callback::Success { output, .. } = &w.callbacks.sent()[0] else {
        panic!("expected SendTaskSuccess");
    };
    assert_eq!(output["decidedBy"]["ip"], "127.0.0.1");
    assert_eq!(output["decidedBy"]["name"], "Local Tester");
    assert_eq!(output["decidedBy"]["userAgent"], "Chromium");
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Approved)
    );

    let (status, _, _) = http(
        server.addr,
        format!(
            "GET /a/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 404);

    // A page that reached 127.0.0.1 under its own name (DNS rebinding) gets nothing.
    let (status, _, body) = http(
        server.addr,
        format!("GET {path} HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 421);
    assert!(!body.contains("csrf"), "{body}");

    let addr = server.addr;
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "stopped");
}
