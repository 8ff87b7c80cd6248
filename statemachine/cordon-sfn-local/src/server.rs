//! The HTTP front: awsJson1_0 on loopback (`POST /`, `X-Amz-Target: AWSStepFunctions.<Op>`).
//! SigV4 signatures are not checked.
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api;
use crate::error::{ApiError, ServeError};
use crate::service::{Core, ServiceConfig};
use crate::store::Store;

const MAX_BODY: usize = 4 * 1024 * 1024;
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// A running service. Dropping it stops the service abruptly (as a crash would); prefer
/// [`ServiceHandle::shutdown`].
pub struct ServiceHandle {
    addr: SocketAddr,
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    resumed: usize,
}

impl ServiceHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_SFN`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many running executions were resumed from the database at start.
    pub fn resumed_executions(&self) -> usize {
        self.resumed
    }

    /// How many executions are being driven right now.
    pub fn active_executions(&self) -> usize {
        self.core.active()
    }

    /// Stops accepting requests and stops driving executions. Everything already answered
    /// is in the database; a restarted service resumes from there.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        self.core.halt();
    }
}

impl ServiceHandle {
    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (what
    /// `cordon local serve` does).
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = term.recv() => {}
                r = tokio::signal::ctrl_c() => r?,
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        tracing::info!("shutting down");
        self.shutdown().await;
        Ok(())
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(s) = self.server.take() {
            s.abort();
        }
        self.core.halt();
    }
}

/// Opens the database, resumes the executions that were running, and serves the Step
/// Functions API on `127.0.0.1:{config.port}`.
pub async fn serve(config: ServiceConfig) -> Result<ServiceHandle, ServeError> {
    let store = Store::open(&config.db_path).map_err(|source| ServeError::Open {
        path: config.db_path.display().to_string(),
        source,
    })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let core = Core::new(store, &config);
    let resumed = core.resume_all()?;
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(accept_loop(listener, core.clone(), stop_rx));
    tracing::info!(%addr, resumed, "cordon-sfn-local listening");
    Ok(ServiceHandle {
        addr,
        core,
        stop,
        server: Some(server),
        resumed,
    })
}

async fn accept_loop(listener: TcpListener, core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let core = core.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let core = core.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(core, req).await) }
                    });
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
        }
    }
    conns.abort_all();
}

fn respond(status: StatusCode, body: &Value, error_type: Option<&str>) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut b = Response::builder()
        .status(status)
        .header("content-type", CONTENT_TYPE)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    if let Some(t) = error_type {
        b = b.header("x-amzn-errortype", t);
    }
    b.body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn error_response(e: &ApiError) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, &e.body(), Some(e.code))
}

async fn handle(core: Arc<Core>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match handle_inner(core, req).await {
        Ok(v) => respond(StatusCode::OK, &v, None),
        Err(e) => error_response(&e),
    }
}

async fn handle_inner(core: Arc<Core>, req: Request<Incoming>) -> Result<Value, ApiError> {
    if req.method() != hyper::Method::POST {
        return Err(ApiError::new(
            "UnknownOperationException",
            "The Step Functions API takes POST requests",
        ));
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some(op) = target.strip_prefix("AWSStepFunctions.") else {
        return Err(ApiError::new(
            "UnknownOperationException",
            "Missing or unknown X-Amz-Target header (expected AWSStepFunctions.<Operation>)",
        ));
    };
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::validation(format!("cannot read the request body: {e}")))?
        .to_bytes();
    let body: Value = if bytes.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                "SerializationException",
                format!("the request body is not JSON: {e}"),
            )
        })?
    };
    if !body.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "the request body must be a JSON object",
        ));
    }
    // Never log the body: it may carry task tokens.
    tracing::debug!(operation = op, "request");
    api::call(&core, op, &body).await
}
