//! The MFA audit Lambda: the shared runner around this crate's handler.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), cordon_aws::lambda::Error> {
    cordon_aws::lambda::run::<cordon_mfa_audit::Deps>().await
}
