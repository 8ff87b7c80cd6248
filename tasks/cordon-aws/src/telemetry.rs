//! Logging for every Cordon Lambda: JSON lines (what CloudWatch Logs' JSON format and Logs
//! Insights expect), level from `RUST_LOG` (default `info`), no timestamps (Lambda adds
//! them), no span noise. One place, so every function logs the same way.
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}
