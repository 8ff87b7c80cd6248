//! A minimal Lambda Runtime API on loopback: what `provided.al2023` and the Python runtime
//! talk to inside a Lambda sandbox, enough for one invocation.
//!
//! - `GET /2018-06-01/runtime/invocation/next` hands out the one event, with the headers
//!   Lambda sends (`Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`,
//!   `-Invoked-Function-Arn`, `-Trace-Id`); a later `/next` is held open, as Lambda holds
//!   it while no event is waiting, until the emulator is dropped.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`, and
//!   `POST /2018-06-01/runtime/init/error`, are recorded and answered `202`.
//!
//! Every request is timestamped (`Instant`) when its headers (for a `POST`, its body) have
//! been read. HTTP/1.1 with keep-alive, `Content-Length` or chunked bodies and
//! `Expect: 100-continue` (libcurl's, which awslambdaric uses); one thread per connection.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

const PREFIX: &str = "/2018-06-01/runtime";
/// The deadline the event carries: the template's `Timeout`.
const FUNCTION_TIMEOUT_MS: u128 = 30_000;

/// How the one invocation ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// `POST .../invocation/{id}/response`, with its body.
    Response(Vec<u8>),
    /// `POST .../invocation/{id}/error`: the error type header and the body.
    Error(String, Vec<u8>),
    /// `POST .../init/error`: the runtime could not initialise.
    InitError(String, Vec<u8>),
}

/// What the emulator saw of one runtime process.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The first `GET .../invocation/next` (its headers read).
    pub first_next: Option<Instant>,
    /// When the response (or error) was read in full.
    pub ended_at: Instant,
    pub ending: Ending,
}

#[derive(Default)]
struct State {
    first_next: Option<Instant>,
    next_requests: usize,
    handed_out: bool,
    ended: Option<(Instant, Ending)>,
    /// Requests to paths this emulator does not know.
    unknown: Vec<String>,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    event: Vec<u8>,
    request_id: String,
    function_arn: String,
    trace_id: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The emulator, serving one event; stopped when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    /// Listens on a free loopback port, with `event` waiting for the first `/next`.
    pub fn start(
        event: &serde_json::Value,
        function_arn: &str,
        request_id: &str,
    ) -> anyhow::Result<RuntimeApi> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the Runtime API emulator")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            event: serde_json::to_vec(event)?,
            request_id: request_id.to_owned(),
            function_arn: function_arn.to_owned(),
            trace_id: trace_id(request_id),
        });
        let accepting = shared.clone();
        thread::Builder::new()
            .name("runtime-api".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accepting.lock().shutdown {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let conn = accepting.clone();
                    let _ = thread::Builder::new()
                        .name("runtime-api-conn".into())
                        .spawn(move || serve(stream, &conn));
                }
            })
            .context("starting the Runtime API emulator")?;
        Ok(RuntimeApi { addr, shared })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `host:port`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits until the invocation ends (response, error or init error), at most `timeout`.
    pub fn wait_ending(&self, timeout: Duration) -> anyhow::Result<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some((at, ending)) = &state.ended {
                return Ok(Outcome {
                    first_next: state.first_next,
                    ended_at: *at,
                    ending: ending.clone(),
                });
            }
            state = match self.wait_changed(state, deadline) {
                Ok(state) => state,
                Err(state) => bail!(
                    "no response within {timeout:?} (first /next: {}; unknown requests: {:?})",
                    if state.first_next.is_some() {
                        "seen"
                    } else {
                        "never"
                    },
                    state.unknown
                ),
            };
        }
    }

    /// Waits for the next change of the state until `deadline`: `Err` with the state when
    /// the deadline has passed.
    fn wait_changed<'a>(
        &'a self,
        state: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let now = Instant::now();
        if now >= deadline {
            return Err(state);
        }
        Ok(self
            .shared
            .changed
            .wait_timeout(state, deadline - now)
            .unwrap_or_else(|p| p.into_inner())
            .0)
    }

    /// Waits (at most `timeout`) until the runtime asks for its next event: it is idle again.
    /// `false` if it did not.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.next_requests < 2 {
            state = match self.wait_changed(state, deadline) {
                Ok(state) => state,
                Err(_) => return false,
            };
        }
        true
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// A trace header as Lambda sends it (`Root=1-<epoch hex>-<24 hex>;Parent=…;Sampled=0`).
fn trace_id(request_id: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hex: String = request_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .chain(std::iter::repeat('0'))
        .take(40)
        .collect();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &hex[..24],
        &hex[24..40]
    )
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader, &mut writer) {
        let keep_going = answer(&request, &mut writer, shared).unwrap_or(false);
        if !keep_going {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// One request; `None` when the client closed the connection.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> anyhow::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        bail!("malformed request line {line:?}");
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            bail!("the connection closed inside the headers");
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .with_context(|| format!("bad chunk size {size:?}"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                // Trailers are not used by any runtime; the empty line was read above.
                break;
            }
            chunk.truncate(size);
            request.body.extend_from_slice(&chunk);
        }
    } else if let Some(len) = request.header("content-length") {
        let len: usize = len.parse().context("bad Content-Length")?;
        request.body = vec![0; len];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

fn respond(
    writer: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    writer.write_all(&out)?;
    writer.flush()
}

const ACCEPTED: &[u8] = br#"{"status":"OK"}"#;

/// Answers one request; `false` to close the connection.
fn answer(request: &Request, writer: &mut TcpStream, shared: &Shared) -> anyhow::Result<bool> {
    let now = Instant::now();
    let json = || ("Content-Type", "application/json".to_owned());
    let Some(route) = request.path.strip_prefix(PREFIX) else {
        shared
            .lock()
            .unknown
            .push(format!("{} {}", request.method, request.path));
        respond(writer, "404 Not Found", &[json()], b"{}")?;
        return Ok(true);
    };
    match (request.method.as_str(), route) {
        ("GET", "/invocation/next") => {
            let mut state = shared.lock();
            state.first_next.get_or_insert(now);
            state.next_requests += 1;
            shared.changed.notify_all();
            if !state.handed_out {
                state.handed_out = true;
                drop(state);
                let deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
                    + FUNCTION_TIMEOUT_MS;
                respond(
                    writer,
                    "200 OK",
                    &[
                        json(),
                        ("Lambda-Runtime-Aws-Request-Id", shared.request_id.clone()),
                        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            shared.function_arn.clone(),
                        ),
                        ("Lambda-Runtime-Trace-Id", shared.trace_id.clone()),
                    ],
                    &shared.event,
                )?;
                return Ok(true);
            }
            // No second event: hold the request, as Lambda does, until the emulator stops.
            while !state.shutdown {
                state = shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(500))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            Ok(false)
        }
        ("POST", "/init/error") => {
            let kind = request
                .header("Lambda-Runtime-Function-Error-Type")
                .unwrap_or("")
                .to_owned();
            end(shared, now, Ending::InitError(kind, request.body.clone()));
            respond(writer, "202 Accepted", &[json()], ACCEPTED)?;
            Ok(true)
        }
        ("POST", r) if r.starts_with("/invocation/") => {
            let rest = &r["/invocation/".len()..];
            let (id, what) = rest.split_once('/').unwrap_or((rest, ""));
            if id != shared.request_id {
                respond(
                    writer,
                    "400 Bad Request",
                    &[json()],
                    br#"{"errorType":"InvalidRequestID"}"#,
                )?;
                return Ok(true);
            }
            let ending = match what {
                "response" => Ending::Response(request.body.clone()),
                "error" => Ending::Error(
                    request
                        .header("Lambda-Runtime-Function-Error-Type")
                        .unwrap_or("")
                        .to_owned(),
                    request.body.clone(),
                ),
                _ => {
                    shared.lock().unknown.push(format!("POST {}", request.path));
                    respond(writer, "404 Not Found", &[json()], b"{}")?;
                    return Ok(true);
                }
            };
            end(shared, now, ending);
            respond(writer, "202 Accepted", &[json()], ACCEPTED)?;
            Ok(true)
        }
        _ => {
            shared
                .lock()
                .unknown
                .push(format!("{} {}", request.method, request.path));
            respond(writer, "404 Not Found", &[json()], b"{}")?;
            Ok(true)
        }
    }
}

fn end(shared: &Shared, at: Instant, ending: Ending) {
    let mut state = shared.lock();
    if state.ended.is_none() {
        state.ended = Some((at, ending));
    }
    shared.changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(addr: &str, raw: &str) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(raw.as_bytes()).expect("write");
        let mut reader = BufReader::new(s);
        let mut out = String::new();
        let mut line = String::new();
        let mut len = 0;
        while reader.read_line(&mut line).expect("read") > 0 {
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.trim().parse().expect("length");
            }
            let end = line == "\r\n";
            out.push_str(&line);
            line.clear();
            if end {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).expect("body");
        out.push_str(&String::from_utf8_lossy(&body));
        out
    }

    #[test]
    fn one_event_then_its_response() {
        let event = serde_json::json!({"incidentId": "i-1"});
        let api = RuntimeApi::start(
            &event,
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "req-1",
        )
        .expect("start");
        let addr = api.address();
        let next = call(
            &addr,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(next.starts_with("HTTP/1.1 200"), "{next}");
        assert!(
            next.contains("Lambda-Runtime-Aws-Request-Id: req-1"),
            "{next}"
        );
        assert!(next.contains("Lambda-Runtime-Trace-Id: Root=1-"), "{next}");
        assert!(next.ends_with(r#"{"incidentId":"i-1"}"#), "{next}");
        let chunked = "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n\
                       Transfer-Encoding: chunked\r\n\r\n5\r\n{\"ok\"\r\n6\r\n:true}\r\n0\r\n\r\n";
        let posted = call(&addr, chunked);
        assert!(posted.starts_with("HTTP/1.1 202"), "{posted}");
        let outcome = api.wait_ending(Duration::from_secs(5)).expect("ended");
        assert!(outcome.first_next.is_some_and(|t| t <= outcome.ended_at));
        match outcome.ending {
            Ending::Response(body) => assert_eq!(body, br#"{"ok":true}"#),
            other => panic!("{other:?}"),
        }
    }
}
