//! A durable local AWS Step Functions service on Cordon's embedded engine
//! ([`cordon_engine`]): the Step Functions JSON API (awsJson1_0) on loopback, so aws-sdk-sfn,
//! the AWS CLI and Cordon's approval Lambda work against it unchanged, with every execution
//! persisted in SQLite so that waiting executions (an approval may wait for hours) survive
//! restarts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cordon_sfn_local::ServeError> {
//! use std::sync::Arc;
//! use cordon_sfn_local::{InProcessLambda, LambdaError, ServiceConfig, serve};
//!
//! let lambda = InProcessLambda::new()
//!     .with("cordon-enrich", |event| async move { Ok::<_, LambdaError>(event) });
//! let handle = serve(
//!     ServiceConfig::new(".cordon/sfn.sqlite").with_port(8083).with_lambda(Arc::new(lambda)),
//! )
//! .await?;
//! println!("AWS_ENDPOINT_URL_SFN={}", handle.endpoint());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

mod api;
mod chunk;
pub mod error;
mod journal;
pub mod lambda;
mod packed;
mod router;
mod save;
mod server;
mod service;
pub mod store;
mod stored;
mod writer;

pub use error::{ApiError, ServeError, StoreError};
pub use lambda::{
    HttpLambda, InProcessLambda, InvokeError, InvokeOutput, InvokeRequest, LambdaBackend,
    LambdaDispatcher, LambdaError,
};
pub use router::Router;
pub use save::PreparedSave;
pub use server::{ServiceHandle, serve};
pub use service::ServiceConfig;
pub use store::Synchronous;
