//! The limits every loopback service gets, checked over raw TCP as a hostile client would
//! hit them: a trickled request head (slowloris), an idle kept-alive connection, more
//! connections than allowed, a Host name that is not loopback (DNS rebinding), and an
//! oversized request head. Each case states the safe outcome and asserts it.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cordon_loopback::{
    Body, Bytes, Handler, Refusal, Request, Response, ServerConfig, StatusCode, is_loopback_host,
    serve,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Hello;

impl Handler for Hello {
    async fn handle(&self, _request: Request<Bytes>, _peer: SocketAddr) -> Response<Body> {
        Response::new(Body::new(Bytes::from_static(b"hello")))
    }

    fn refuse(&self, refusal: &Refusal) -> Response<Body> {
        let mut response = Response::new(Body::new(Bytes::from(refusal.to_string())));
        *response.status_mut() = StatusCode::from_u16(refusal.status()).expect("a status");
        response
    }
}

fn config() -> ServerConfig {
    ServerConfig::new("hardening-test")
        .header_read_timeout(Duration::from_millis(300))
        .idle_timeout(Duration::from_millis(300))
}

/// Reads until the server closes the connection (or `limit` passes); returns what was read
/// and how long the server took to close.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&seen).into_owned(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), None),
        }
    }
}

async fn request(addr: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    text
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let server = serve(config(), Hello).await.expect("serve");
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    // Half a request head, then nothing: the slowloris pattern.
    stream
        .write_all(
            format!(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
                server.addr().port()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let (_, closed_after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let closed_after = closed_after.expect("the server closes a connection whose head never ends");
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = serve(config(), Hello).await.expect("serve");
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let head = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        server.addr().port()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // The answer arrives and the connection stays open (keep-alive) ...
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("hello"));
    // ... until it has been idle for the idle timeout.
    let (rest, closed_after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(rest, "");
    assert!(
        closed_after.expect("closed when idle") < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn connections_past_the_limit_get_503_and_the_service_recovers() {
    let server = serve(
        config()
            .idle_timeout(Duration::from_secs(30))
            .max_connections(2),
        Hello,
    )
    .await
    .expect("serve");
    let addr = server.addr();
    let held_a = TcpStream::connect(addr).await.expect("connect");
    let held_b = TcpStream::connect(addr).await.expect("connect");
    // Give the accept loop time to take both.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = request(
        addr,
        &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", addr.port()),
    )
    .await;
    assert!(third.starts_with("HTTP/1.1 503"), "{third}");
    assert!(third.contains("too many connections"), "{third}");

    drop(held_a);
    drop(held_b);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = request(
        addr,
        &format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        ),
    )
    .await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

#[tokio::test]
async fn only_loopback_host_names_are_answered() {
    let server = serve(config(), Hello).await.expect("serve");
    let addr = server.addr();
    let port = addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "127.0.0.1".to_string(),
    ] {
        let got = request(
            addr,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(got.starts_with("HTTP/1.1 200"), "{host}: {got}");
    }
    // A DNS-rebinding page reaches 127.0.0.1 under its own name; a wrong port is another
    // service's name.
    for host in [
        format!("attacker.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1.attacker.example".to_string(),
    ] {
        let got = request(
            addr,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(got.starts_with("HTTP/1.1 421"), "{host}: {got}");
        assert!(got.contains("loopback names"), "{host}: {got}");
    }
    // HTTP/1.0 without a Host header.
    let got = request(addr, "GET / HTTP/1.0\r\n\r\n").await;
    assert!(
        got.starts_with("HTTP/1.0 421") || got.starts_with("HTTP/1.1 421"),
        "{got}"
    );
}

#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let server = serve(config(), Hello).await.expect("serve");
    let addr = server.addr();
    // hyper checks the head's size after each read, so a head slightly over the 64 KiB
    // limit can get through; four times the limit never does.
    let big = "a".repeat(256 * 1024);
    let got = request(
        addr,
        &format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Big: {big}\r\n\r\n",
            addr.port()
        ),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 431"),
        "{}",
        &got[..got.len().min(200)]
    );
}

#[test]
fn loopback_host_names() {
    assert!(is_loopback_host("127.0.0.1:8083", 8083));
    assert!(is_loopback_host("LOCALHOST:8083", 8083));
    assert!(is_loopback_host("[::1]:8083", 8083));
    assert!(is_loopback_host("[::1]", 8083));
    assert!(is_loopback_host("localhost", 8083));
    assert!(!is_loopback_host("127.0.0.1:8084", 8083));
    assert!(!is_loopback_host("127.0.0.2:8083", 8083));
    assert!(!is_loopback_host("evil.example:8083", 8083));
    assert!(!is_loopback_host("localhost.evil.example", 8083));
    assert!(!is_loopback_host("127.0.0.1:80x", 8083));
    assert!(!is_loopback_host("", 8083));
}
