//! The HTTP front: awsJson1_0 on loopback (`POST /`, `X-Amz-Target: AWSStepFunctions.<Op>`).
//! SigV4 signatures are not checked.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cordon_loopback::{Body, Bytes, Request, Response, Server, StatusCode, aws_json};
use serde_json::Value;

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
    server: Option<Server>,
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
        if let Some(s) = self.server.take() {
            s.shutdown().await;
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
        // Dropping the server stops it abruptly.
        self.server.take();
        self.core.halt();
    }
}

/// Opens the database, resumes the executions that were running, and serves the Step
/// Functions API on `127.0.0.1:{config.port}`.
pub async fn serve(config: ServiceConfig) -> Result<ServiceHandle, ServeError> {
    let store = Store::open_with(&config.db_path, config.synchronous).map_err(|source| {
        ServeError::Open {
            path: config.db_path.display().to_string(),
            source,
        }
    })?;
    // Requests in flight are cut at shutdown, as a crash would: everything already
    // answered is in the database. The port is bound before anything resumes.
    let server_config = cordon_loopback::ServerConfig::new("Step Functions API")
        .port(config.port)
        .max_body(MAX_BODY)
        .drain(Duration::ZERO);
    let bound = cordon_loopback::bind(server_config)
        .await
        .map_err(|e| ServeError::Bind {
            addr: format!("127.0.0.1:{}", e.port),
            source: e.source,
        })?;
    let core = Core::new(store, &config);
    let resumed = core.resume_all()?;
    let server = bound.serve(Api { core: core.clone() });
    let addr = server.addr();
    tracing::info!(%addr, resumed, "cordon-sfn-local listening");
    Ok(ServiceHandle {
        addr,
        core,
        server: Some(server),
        resumed,
    })
}

struct Api {
    core: Arc<Core>,
}

impl cordon_loopback::Handler for Api {
    async fn handle(&self, req: Request<Bytes>, _peer: SocketAddr) -> Response<Body> {
        match handle_inner(self.core.clone(), req).await {
            Ok(v) => aws_json::respond(StatusCode::OK, CONTENT_TYPE, &v, None),
            Err(e) => error_response(&e),
        }
    }

    fn refuse(&self, refusal: &cordon_loopback::Refusal) -> Response<Body> {
        let mut error = ApiError::validation(format!("request refused: {refusal}"));
        error.status = refusal.status();
        error_response(&error)
    }
}

fn error_response(e: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    aws_json::respond(status, CONTENT_TYPE, &e.body(), Some(e.code))
}

async fn handle_inner(core: Arc<Core>, req: Request<Bytes>) -> Result<Value, ApiError> {
    let (op, body) = aws_json::read_request(&req, "The Step Functions API", "AWSStepFunctions")
        .map_err(|e| ApiError::new(e.code, e.message))?;
    // Never log the body: it may carry task tokens.
    tracing::debug!(operation = op, "request");
    api::call(&core, op, &body).await
}
