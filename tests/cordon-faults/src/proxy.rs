//! The proxy itself: a loopback service (cordon-loopback's server) that decides each
//! call's fate under the current [`FaultPlan`] and forwards the rest to the emulator with
//! the one loopback client.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use cordon_loopback::{
    BindError, Body, Bytes, Client, Handler, Refusal, Request, Reset, Response, Server,
    ServerConfig, header,
};

use crate::bucket::Bucket;
use crate::call::Call;
use crate::plan::{Fault, FaultPlan};
use crate::responses::{AwsError, error_for, respond};
use crate::stats::{Stats, Tally};

/// A running fault-injection proxy.
pub struct FaultProxy {
    server: Server,
    state: Arc<Shared>,
}

struct Shared {
    upstream: String,
    client: Client,
    decisions: Mutex<Decisions>,
    tally: Mutex<Tally>,
}

/// The plan and what its draws depend on.
struct Decisions {
    plan: FaultPlan,
    rng: fastrand::Rng,
    iam_bucket: Option<Bucket>,
}

impl Decisions {
    fn new(plan: FaultPlan) -> Decisions {
        Decisions {
            rng: fastrand::Rng::with_seed(plan.seed),
            iam_bucket: plan.iam_rate_limit.map(Bucket::new),
            plan,
        }
    }
}

/// What happens to one call.
enum Fate {
    Forward,
    Limited,
    Inject(Fault),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaultProxy {
    /// Serves on `127.0.0.1:port` (0 picks one), forwarding to `upstream`
    /// (`http://127.0.0.1:PORT` of the emulator), with no faults until
    /// [`FaultProxy::set_plan`].
    pub async fn start(upstream: &str, port: u16) -> Result<FaultProxy, BindError> {
        let state = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::new(),
            decisions: Mutex::new(Decisions::new(FaultPlan::none())),
            tally: Mutex::new(Tally::default()),
        });
        let config = ServerConfig::new("fault-injection proxy")
            .port(port)
            .max_body(16 * 1024 * 1024)
            // A burst opens many client connections at once.
            .max_connections(2048);
        let server = cordon_loopback::serve(
            config,
            ProxyHandler {
                state: state.clone(),
            },
        )
        .await?;
        Ok(FaultProxy { server, state })
    }

    /// `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` of the code under test names.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Replaces the plan; its rules' counts, the draws and the rate limit start afresh.
    pub fn set_plan(&self, plan: FaultPlan) {
        *lock(&self.state.decisions) = Decisions::new(plan);
    }

    /// What the calls met so far.
    pub fn stats(&self) -> Stats {
        lock(&self.state.tally).snapshot()
    }

    /// Forgets the calls counted so far.
    pub fn reset_stats(&self) {
        *lock(&self.state.tally) = Tally::default();
    }

    /// Stops serving; a stalled call in flight is cut.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

struct ProxyHandler {
    state: Arc<Shared>,
}

impl ProxyHandler {
    fn fate(&self, call: &Call) -> Fate {
        let mut decisions = lock(&self.state.decisions);
        let Decisions {
            plan,
            rng,
            iam_bucket,
        } = &mut *decisions;
        if call.is_mutating_iam()
            && let Some(bucket) = iam_bucket
            && !bucket.take(tokio::time::Instant::now())
        {
            return Fate::Limited;
        }
        match plan.decide(call, || rng.f64()) {
            Some(fault) => Fate::Inject(fault),
            None => Fate::Forward,
        }
    }

    async fn forward(&self, call: &Call, request: Request<Bytes>) -> Response<Body> {
        lock(&self.state.tally).forwarded(&call.service, &call.operation);
        let (parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let url = format!("{}{path}", self.state.upstream);
        // The client sets Host and the framing headers for the upstream connection.
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter(|(name, _)| !is_hop_header(name))
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        match self
            .state
            .client
            .request(parts.method.clone(), &url, &headers, body)
            .await
        {
            Ok(answer) => {
                let mut response = Response::new(Body::new(answer.body));
                *response.status_mut() = cordon_loopback::StatusCode::from_u16(answer.status)
                    .unwrap_or(cordon_loopback::StatusCode::BAD_GATEWAY);
                for (name, value) in answer.headers.iter() {
                    if !is_hop_header(name) {
                        response.headers_mut().append(name.clone(), value.clone());
                    }
                }
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "the emulator did not answer");
                let mut response =
                    Response::new(Body::new(Bytes::from(format!("fault proxy: {e}\n"))));
                *response.status_mut() = cordon_loopback::StatusCode::BAD_GATEWAY;
                response
            }
        }
    }
}

/// Headers of one connection, not of the request: never forwarded.
fn is_hop_header(name: &header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

fn reset() -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::new()));
    response.extensions_mut().insert(Reset);
    response
}

impl Handler for ProxyHandler {
    async fn handle(&self, request: Request<Bytes>, _peer: SocketAddr) -> Response<Body> {
        let call = Call::identify(&request);
        lock(&self.state.tally).arrived(&call.service, &call.operation);
        let fate = self.fate(&call);
        let fault = match fate {
            Fate::Forward => return self.forward(&call, request).await,
            Fate::Limited => {
                lock(&self.state.tally).faulted(&call.service, &call.operation, "RateLimited");
                Fault::Throttle
            }
            Fate::Inject(fault) => {
                lock(&self.state.tally).faulted(&call.service, &call.operation, fault.name());
                fault
            }
        };
        tracing::debug!(
            service = call.service,
            operation = call.operation,
            fault = fault.name(),
            "injecting"
        );
        match fault {
            Fault::Reset => reset(),
            Fault::Stall(duration) => {
                tokio::time::sleep(duration).await;
                reset()
            }
            Fault::ResponseLost => {
                let _ = self.forward(&call, request).await;
                reset()
            }
            answered => match error_for(&call.service, answered) {
                Some(error) => respond(&call, error),
                None => reset(),
            },
        }
    }

    fn refuse(&self, refusal: &Refusal) -> Response<Body> {
        respond(
            &Call {
                service: "unknown".into(),
                operation: String::new(),
                protocol: crate::call::Protocol::Query,
            },
            AwsError {
                status: refusal.status(),
                code: "InvalidRequest",
                message: "the fault proxy refused the request before forwarding it",
            },
        )
    }
}
