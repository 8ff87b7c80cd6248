//! A deployed function's SDK configuration, read from the variables Lambda and the template
//! set, without aws-config's loader.
//!
//! Lambda puts every function's region (`AWS_REGION`) and its role's temporary credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) in its environment.
//! The loader finds them there first too, but linking it links every source it could fall
//! back to: profile files, web identity and assume-role through STS, the container and EC2
//! metadata services. In a task binary that is code the function never runs, which the
//! kernel still maps in around the code that does (the cold-start bench measures the
//! resident set).
//!
//! Read here, as the loader reads them from the environment:
//! - the region: `AWS_REGION`, else `AWS_DEFAULT_REGION`;
//! - credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
//!   read at each use (a function without them fails its calls with an error naming them,
//!   not its start);
//! - endpoints: `AWS_ENDPOINT_URL_<SERVICE>` (the service id in capitals, spaces as `_`),
//!   else `AWS_ENDPOINT_URL`, neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`;
//! - `AWS_USE_FIPS_ENDPOINT` and `AWS_USE_DUALSTACK_ENDPOINT` (`true` or `false`).
//!
//! Not read: profile files, and the variables that tune retries (`AWS_MAX_ATTEMPTS`,
//! `AWS_RETRY_MODE`), which the template does not set: a function retries in the SDK's
//! standard mode, three attempts (the caller adds the functions' timeouts).
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future,
};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::env::optional;

/// A variable lookup that outlives the configuration (the SDK asks for endpoints whenever
/// a client is built).
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The configuration described in the module docs, from `env`.
pub fn sdk_config(env: Env) -> SdkConfig {
    let set = |name: &str| optional(&*env, name);
    let region = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION"));
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region.map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(EnvCredentials {
            env: env.clone(),
        }))
        .retry_config(RetryConfig::standard());
    builder.set_use_fips(flag(&set, "AWS_USE_FIPS_ENDPOINT"));
    builder.set_use_dual_stack(flag(&set, "AWS_USE_DUALSTACK_ENDPOINT"));
    builder.service_config(Endpoints { env }).build()
}

/// `true` or `false`, in any case; anything else is ignored with a warning, as the loader
/// ignores it.
fn flag(set: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<bool> {
    let value = set(name)?;
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            tracing::warn!("{name}={value:?} is neither true nor false; ignored");
            None
        }
    }
}

/// The role's credentials, read from the environment at each use (the SDK caches them).
struct EnvCredentials {
    env: Env,
}

impl std::fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvCredentials")
    }
}

impl EnvCredentials {
    fn read(&self) -> Result<Credentials, CredentialsError> {
        let set = |name: &str| optional(&*self.env, name);
        let missing = |name: &str| {
            CredentialsError::not_loaded(format!(
                "{name} is not set: a function's credentials are AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which Lambda sets"
            ))
        };
        let key_id = set("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?;
        let secret =
            set("AWS_SECRET_ACCESS_KEY").ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?;
        Ok(Credentials::new(
            key_id,
            secret,
            set("AWS_SESSION_TOKEN"),
            None,
            "Environment",
        ))
    }
}

impl ProvideCredentials for EnvCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.read())
    }
}

/// The endpoint URLs from the environment, service by service.
struct Endpoints {
    env: Env,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoints(from the environment)")
    }
}

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let set = |name: &str| optional(&*self.env, name);
        if key.env() != "AWS_ENDPOINT_URL"
            || set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        set(&format!("{}_{service}", key.env())).or_else(|| set(key.env()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Arc::new(move |name| vars.get(name).cloned())
    }

    fn endpoint(config: &SdkConfig, service_id: &str) -> Option<String> {
        config.service_config()?.load_config(
            ServiceConfigKey::builder()
                .service_id(service_id)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn the_region_is_aws_region_else_aws_default_region() {
        let config = sdk_config(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let config = sdk_config(env(&[
            ("AWS_REGION", " "),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(sdk_config(env(&[])).region(), None);
    }

    #[test]
    fn a_service_endpoint_wins_over_the_global_one_unless_both_are_ignored() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:8083"),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:9000"),
        ];
        let config = sdk_config(env(&vars));
        assert_eq!(
            endpoint(&config, "SFN").as_deref(),
            Some("http://127.0.0.1:8083")
        );
        assert_eq!(
            endpoint(&config, "IAM").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            endpoint(&config, "CloudFormation").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        let ignored = sdk_config(env(&[
            vars[0],
            vars[1],
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ]));
        assert_eq!(endpoint(&ignored, "SFN"), None);
        assert_eq!(endpoint(&ignored, "IAM"), None);
        assert_eq!(endpoint(&sdk_config(env(&[])), "IAM"), None);
    }

    #[test]
    fn fips_and_dual_stack_take_true_or_false_and_ignore_anything_else() {
        let config = sdk_config(env(&[
            ("AWS_USE_FIPS_ENDPOINT", "True"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
        ]));
        assert_eq!(config.use_fips(), Some(true));
        assert_eq!(config.use_dual_stack(), Some(false));
        let config = sdk_config(env(&[("AWS_USE_FIPS_ENDPOINT", "yes")]));
        assert_eq!(config.use_fips(), None);
        assert_eq!(config.use_dual_stack(), None);
    }

    /// A client built from it signs with the environment's credentials and sends to the
    /// configured endpoint: the request is seen on a loopback listener.
    #[tokio::test]
    async fn a_client_signs_with_the_environment_credentials_and_reaches_the_endpoint() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = sdk_config(env(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_IAM", &url),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEKEY"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "the-session-token"),
        ]));
        let seen = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&request).contains("Action=GetUser") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the connection closed before the body");
                request.extend_from_slice(&buf[..n]);
            }
            let _ = socket
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
                .await;
            String::from_utf8_lossy(&request).into_owned()
        });
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&config)
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        let _ = iam.get_user().send().await;
        let request = seen.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post / http/1.1"), "{request}");
        assert!(
            request.contains("credential=asiaexamplekey/"),
            "signed with the environment's key: {request}"
        );
        assert!(
            request.contains("x-amz-security-token: the-session-token"),
            "{request}"
        );
    }

    #[test]
    fn missing_credentials_fail_the_call_naming_the_variable() {
        let provider = EnvCredentials {
            env: env(&[("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")]),
        };
        let error = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(provider.read().unwrap_err())
        );
        assert!(
            error.contains("AWS_SECRET_ACCESS_KEY is not set"),
            "{error}"
        );
        let ok = EnvCredentials {
            env: env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ]),
        }
        .read()
        .unwrap();
        assert_eq!(ok.access_key_id(), "AKIAEXAMPLE");
        assert_eq!(ok.session_token(), None);
    }
}
