//! Everything Cordon serves or fetches on loopback, in one place.
//!
//! The local stack runs several small HTTP services on `127.0.0.1` (the Step Functions
//! API, the EventBridge PutEvents API, the approval pages) and talks to them (the demo
//! approves from the emailed link, `cordon simulate` puts events). They share:
//!
//! - [`serve`] (feature `server`): bind `127.0.0.1`, the accept loop, graceful shutdown
//!   with a bounded drain, and every limit a loopback service has: header-read and idle
//!   timeouts, a connection limit, the Host check against DNS rebinding, head and body
//!   size limits. Each service only answers requests, or asks for the connection to be
//!   reset ([`Reset`], for the fault-injection proxy).
//! - [`aws_json`] (feature `server`): the response shape of AWS's JSON protocols.
//! - [`Client`] (feature `client`): one HTTP/1.1 client (hyper-util's), for plain `http://`.
//! - [`free_port`] (always, no dependencies): a loopback port for a child process.
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod aws_json;
#[cfg(any(feature = "server", feature = "client"))]
mod body;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod idle;
#[cfg(feature = "server")]
mod reset;
#[cfg(feature = "server")]
mod server;

#[cfg(any(feature = "server", feature = "client"))]
pub use body::Body;
#[cfg(feature = "client")]
pub use client::{Client, ClientError, ClientResponse};
#[cfg(any(feature = "server", feature = "client"))]
pub use hyper::body::Bytes;
#[cfg(any(feature = "server", feature = "client"))]
pub use hyper::{Method, Request, Response, StatusCode, header};
#[cfg(feature = "server")]
pub use reset::Reset;
#[cfg(feature = "server")]
pub use server::{
    BindError, Bound, Handler, Refusal, Server, ServerConfig, bind, is_loopback_host, serve,
};

/// A loopback port that was free a moment ago, for a process that must be told its port
/// before it binds (moto, chromedriver, `cargo lambda watch`, a service restarted on the same
/// port). Another process may take it in between: callers that can, retry. A server this
/// process runs should bind port 0 instead.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
