//! The approval Lambda (behind a Function URL): the shared start-up (logging, AWS, the
//! configured function) on the HTTP runtime. A bad configuration is answered on every
//! request with its `Cordon.Config` error rather than crashing at init.
use cordon_approval::{ApprovalError, Deps, handle};
use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let running = cordon_aws::lambda::start::<Deps>().await;
    let running = &running;
    lambda_http::run(service_fn(move |req: Request| async move {
        let deps = running.ready().await.map_err(ApprovalError::Unready)?;
        handle(req, deps).await
    }))
    .await
}
