//! A loopback TCP forwarder in front of moto that records, with a timestamp, every
//! connection a function opens and every AWS request it sends: the function's
//! `AWS_ENDPOINT_URL` points here, so a call before the first event cannot go unseen.
//!
//! Requests are recognised as they pass (bytes are forwarded unchanged): a chunk that starts
//! a request line begins a request; its service is the credential scope of the
//! `Authorization` header, its operation the `X-Amz-Target` header (JSON protocols) or the
//! `Action=` form field (query protocols: IAM, STS, SNS).
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;

/// One request seen on its way to moto.
#[derive(Debug, Clone)]
pub struct Call {
    pub at: Instant,
    /// `iam:GetRole`, `dynamodb:UpdateItem`; `?` where it could not be read.
    pub operation: String,
}

#[derive(Default)]
struct Log {
    /// When each connection was accepted, and when moto closed it (moto answers
    /// `Connection: close`, so a connection is one request and its answer).
    connections: Vec<(Instant, Option<Instant>)>,
    calls: Vec<Call>,
    shutdown: bool,
}

pub struct Proxy {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl Proxy {
    /// Forwards `127.0.0.1:<free port>` to `upstream`.
    pub fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the counting proxy")?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Log::default()));
        let accepting = log.clone();
        thread::Builder::new()
            .name("aws-proxy".into())
            .spawn(move || {
                for client in listener.incoming() {
                    let at = Instant::now();
                    let mut l = accepting.lock().unwrap_or_else(|p| p.into_inner());
                    if l.shutdown {
                        break;
                    }
                    l.connections.push((at, None));
                    let index = l.connections.len() - 1;
                    drop(l);
                    let Ok(client) = client else { continue };
                    let log = accepting.clone();
                    let _ = thread::Builder::new()
                        .name("aws-proxy-conn".into())
                        .spawn(move || forward(client, upstream, &log, index));
                }
            })
            .context("starting the counting proxy")?;
        Ok(Proxy { addr, log })
    }

    /// `AWS_ENDPOINT_URL` for a function.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections opened at or after `since`, in order.
    pub fn connections_since(&self, since: Instant) -> Vec<Instant> {
        let l = self.log.lock().unwrap_or_else(|p| p.into_inner());
        l.connections
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t >= since)
            .collect()
    }

    /// How long, between `from` and `to`, at least one connection to moto was open: the
    /// time spent waiting on AWS calls (and sending them).
    pub fn busy(&self, from: Instant, to: Instant) -> Duration {
        let l = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let spans = l
            .connections
            .iter()
            .map(|(start, end)| (*start, end.unwrap_or(to)))
            .collect::<Vec<_>>();
        union_within(spans, from, to)
    }

    /// Requests sent at or after `since`, in order.
    pub fn calls_since(&self, since: Instant) -> Vec<Call> {
        let l = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let mut calls: Vec<Call> = l.calls.iter().filter(|c| c.at >= since).cloned().collect();
        calls.sort_by_key(|c| c.at);
        calls
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).shutdown = true;
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// The length of the union of `spans`, each clipped to `from..to`.
fn union_within(mut spans: Vec<(Instant, Instant)>, from: Instant, to: Instant) -> Duration {
    spans.sort();
    let mut total = Duration::ZERO;
    let mut reached = from;
    for (start, end) in spans {
        let (start, end) = (start.max(reached), end.min(to));
        if end > start {
            total += end - start;
            reached = end;
        }
    }
    total
}

fn forward(client: TcpStream, upstream: SocketAddr, log: &Arc<Mutex<Log>>, index: usize) {
    let Ok(server) = TcpStream::connect(upstream) else {
        log.lock().unwrap_or_else(|p| p.into_inner()).connections[index].1 = Some(Instant::now());
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (Ok(mut client_read), Ok(mut server_write)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let (mut server_read, mut client_write) = (server, client);
    let closing = log.clone();
    let back = thread::spawn(move || {
        let _ = std::io::copy(&mut server_read, &mut client_write);
        let closed = Instant::now();
        closing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .connections[index]
            .1 = Some(closed);
        let _ = client_write.shutdown(Shutdown::Both);
    });
    let mut buf = vec![0; 64 * 1024];
    // The index in the log of this connection's request still missing its operation.
    let mut unresolved: Option<usize> = None;
    loop {
        let n = match client_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        {
            let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
            if starts_request(chunk) {
                l.calls.push(Call {
                    at: Instant::now(),
                    operation: "?".into(),
                });
                unresolved = Some(l.calls.len() - 1);
            }
            if let Some(i) = unresolved
                && let Some(op) = operation(chunk, &l.calls[i].operation)
            {
                let done = !op.ends_with(":?");
                l.calls[i].operation = op;
                if done {
                    unresolved = None;
                }
            }
        }
        if server_write.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server_write.shutdown(Shutdown::Write);
    let _ = back.join();
}

fn starts_request(chunk: &[u8]) -> bool {
    ["GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "PATCH "]
        .iter()
        .any(|m| chunk.starts_with(m.as_bytes()))
}

/// `service:Operation` from what this chunk adds to `known` (`?` parts still unknown).
fn operation(chunk: &[u8], known: &str) -> Option<String> {
    let text = String::from_utf8_lossy(chunk);
    let (mut service, mut op) = known
        .split_once(':')
        .map(|(s, o)| (s.to_owned(), o.to_owned()))
        .unwrap_or_else(|| ("?".into(), "?".into()));
    let lower = text.to_ascii_lowercase();
    if service == "?"
        && let Some(i) = lower.find("credential=")
    {
        // Credential=<key>/<date>/<region>/<service>/aws4_request
        let scope: String = text[i + "credential=".len()..]
            .chars()
            .take_while(|c| !matches!(c, ',' | ' ' | '\r' | '\n'))
            .collect();
        if let Some(s) = scope.split('/').nth(3) {
            service = s.to_owned();
        }
    }
    if op == "?" {
        if let Some(i) = lower.find("x-amz-target:") {
            let value: String = text[i + "x-amz-target:".len()..]
                .chars()
                .take_while(|c| !matches!(c, '\r' | '\n'))
                .collect();
            let value = value.trim();
            op = value.rsplit('.').next().unwrap_or(value).to_owned();
        } else if let Some(i) = find_field(&text, "Action=") {
            op = text[i + "Action=".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
        }
    }
    let found = format!("{service}:{op}");
    (found != known).then_some(found)
}

/// `Action=` at the start of the body or after `&`.
fn find_field(text: &str, field: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(field) {
        let at = from + i;
        if at == 0 || matches!(text.as_bytes()[at - 1], b'&' | b'\n') {
            return Some(at);
        }
        from = at + field.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_is_the_union_of_the_spans_within_the_window() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let spans = vec![
            (ms(0), ms(10)),
            (ms(5), ms(20)),
            (ms(30), ms(40)),
            (ms(45), ms(90)),
        ];
        assert_eq!(
            union_within(spans, ms(2), ms(50)),
            Duration::from_millis(18 + 10 + 5)
        );
    }

    #[test]
    fn operations_are_read_from_either_protocol() {
        let json = b"POST / HTTP/1.1\r\nx-amz-target: DynamoDB_20120810.UpdateItem\r\n\
            authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, X\r\n\r\n{}";
        assert_eq!(
            operation(json, "?:?").as_deref(),
            Some("dynamodb:UpdateItem")
        );
        let head = b"POST / HTTP/1.1\r\nauthorization: AWS4-HMAC-SHA256 Credential=t/20240101/us-east-1/iam/aws4_request, S\r\n\r\n";
        assert_eq!(operation(head, "?:?").as_deref(), Some("iam:?"));
        assert_eq!(
            operation(b"Action=GetRole&RoleName=r&Version=2010-05-08", "iam:?").as_deref(),
            Some("iam:GetRole")
        );
        assert_eq!(operation(b"NoAction=x", "iam:?"), None);
    }
}
