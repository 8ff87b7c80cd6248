//! Every AWS call a function makes, recorded and checked against the function's own
//! identity policies, so that what passes offline is what AWS would allow.
//!
//! An [`Access`] says who a function is (its role, the policies the template gives it, the
//! account and region it runs in, which resources are encrypted with which KMS key) and
//! where its calls are logged. [`crate::Aws::with_access`] installs it on every client the
//! function's adapters use:
//!
//! - `requests.rs` turns each SDK operation's typed input into the IAM requests it makes:
//!   the action and the real resource ARN (from the service authorization data in
//!   [`cordon_core::iam::catalogue`]), the condition keys it carries (`iam:PolicyARN`,
//!   `aws:TagKeys`, ...), and the KMS requests it implies (a DynamoDB call on a table, or
//!   an SNS publish to a topic, encrypted with a customer managed key);
//! - `guard.rs` decides them with [`cordon_core::iam::PolicySet::evaluate`] and logs them
//!   in the [`CallLog`];
//! - `interceptor.rs` runs that once per operation (an SDK interceptor) and, in
//!   [`Mode::Enforce`], stops a denied call before it is sent: the client's HTTP layer
//!   (`http.rs`) answers it with the error AWS would send (`denial.rs`: `AccessDenied`,
//!   `AccessDeniedException`, `AuthorizationError`, `KMSAccessDenied`), so the function
//!   sees exactly what it would see on AWS.
//!
//! The local stack enforces; the least-privilege test records (so one run reports every
//! call a policy lacks, each with the statement that came closest).
mod denial;
mod guard;
mod http;
mod interceptor;
mod requests;

pub use guard::{Access, CallLog, Encryption, Identity, Mode, RecordedCall};

/// The interceptor to install on a client of `access`'s function.
pub(crate) fn interceptor(access: &Access) -> interceptor::AccessInterceptor {
    interceptor::AccessInterceptor(access.clone())
}

/// The HTTP client to install on a client of `access`'s function, around `inner` (the
/// configuration's own, if it names one).
pub(crate) fn http_client(
    access: &Access,
    inner: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
) -> http::GuardedHttpClient {
    http::GuardedHttpClient::new(inner, access.denials.clone())
}
