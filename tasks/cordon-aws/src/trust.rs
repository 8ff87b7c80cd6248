//! The certificate authorities a Cordon function trusts: the roots of Amazon Trust Services,
//! which sign every AWS service endpoint, and Starfield's services root, which cross-signs
//! them (<https://www.amazontrust.com/repository/>). Nothing else.
//!
//! Two reasons, both about the function's cold start and its trust:
//! - A function talks only to AWS (IAM, DynamoDB, SNS, Step Functions, STS). Trusting the
//!   operating system's hundred-odd roots lets any of them vouch for `iam.amazonaws.com`;
//!   these five are all that AWS's endpoints chain to.
//! - Loading the system's roots reads and parses every certificate file it has, before the
//!   function can take its first event: most of its init time (see BENCHMARKS.md).
//!
//! The operator's CLI (`cordon`) and the local stack keep the system's roots: they may talk
//! to endpoints behind an inspecting proxy, or to emulators.
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The five roots, PEM-encoded, with their names (as in each certificate's subject CN).
pub const AWS_ROOTS: [(&str, &[u8]); 5] = [
    (
        "Amazon Root CA 1",
        include_bytes!("../certs/Amazon_Root_CA_1.pem"),
    ),
    (
        "Amazon Root CA 2",
        include_bytes!("../certs/Amazon_Root_CA_2.pem"),
    ),
    (
        "Amazon Root CA 3",
        include_bytes!("../certs/Amazon_Root_CA_3.pem"),
    ),
    (
        "Amazon Root CA 4",
        include_bytes!("../certs/Amazon_Root_CA_4.pem"),
    ),
    (
        "Starfield Services Root Certificate Authority - G2",
        include_bytes!("../certs/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
    ),
];

/// A trust store of [`AWS_ROOTS`] only.
pub fn aws_roots() -> TrustStore {
    AWS_ROOTS
        .iter()
        .fold(TrustStore::empty(), |store, (_, pem)| {
            store.with_pem_certificate(*pem)
        })
}

/// The SDK's HTTPS client (rustls with aws-lc, as the SDK's default), trusting
/// [`aws_roots`] only.
pub fn aws_https_client() -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(aws_roots())
        .build()
        .expect("a TLS context of PEM certificates builds (they are parsed on first use)");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}
