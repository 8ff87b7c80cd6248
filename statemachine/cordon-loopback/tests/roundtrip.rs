//! The server helper and the client against each other, over real loopback sockets.
use std::net::SocketAddr;
use std::time::Duration;

use cordon_loopback::{
    Body, Bytes, Client, Handler, Refusal, Request, Response, ServerConfig, StatusCode, serve,
};

struct Echo;

impl Handler for Echo {
    async fn handle(&self, request: Request<Bytes>, peer: SocketAddr) -> Response<Body> {
        if request.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let text = format!(
            "{} {} from {} with {} bytes",
            request.method(),
            request.uri().path(),
            peer.ip(),
            request.body().len()
        );
        Response::new(Body::new(Bytes::from(text)))
    }

    fn refuse(&self, refusal: &Refusal) -> Response<Body> {
        let mut response = Response::new(Body::new(Bytes::from(refusal.to_string())));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
    }
}

#[tokio::test]
async fn requests_reach_the_handler_and_big_bodies_do_not() {
    let server = serve(ServerConfig::new("echo").max_body(16), Echo)
        .await
        .expect("serve");
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let client = Client::new();

    let got = client
        .post(&format!("{}/x", server.url()), &[("x-test", "1")], "hello")
        .await
        .expect("post");
    assert_eq!(got.status, 200);
    assert_eq!(got.text(), "POST /x from 127.0.0.1 with 5 bytes");

    let big = client
        .post(&format!("{}/x", server.url()), &[], vec![b'a'; 17])
        .await
        .expect("post");
    assert_eq!(big.status, 413);
    assert_eq!(big.text(), "length limit exceeded");

    let addr = server.addr();
    server.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped"
    );
    assert!(client.get(&format!("http://{addr}/"), &[]).await.is_err());
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let server = serve(ServerConfig::new("echo"), Echo).await.expect("serve");
    let url = format!("{}/slow", server.url());
    let in_flight = tokio::spawn(async move { Client::new().get(&url, &[]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.shutdown().await;
    let answered = in_flight.await.expect("joined").expect("answered");
    assert_eq!(answered.status, 200);
}

#[test]
fn free_port_is_a_bindable_loopback_port() {
    let port = cordon_loopback::free_port().expect("a port");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("still free");
}
