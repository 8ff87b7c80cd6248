//! Mapping AWS SDK errors onto [`TaskError`].
//!
//! One generic mapping for every SDK call (`SdkError<E, HttpResponse>` with
//! [`ProvideErrorMetadata`]), so call sites only name the operation:
//!
//! - throttling codes, HTTP 5xx/429, timeouts, dispatch (IO) failures and unparseable
//!   responses become [`TaskError::Transient`] (the ASL retries `Cordon.Transient`);
//! - everything else becomes [`TaskError::Aws`] with the service's error code.
//!
//! Call sites that give `NoSuchEntity` a meaning (a user that does not exist, a login
//! profile that is already gone) use [`SdkResultExt`] to turn it into `None`, `false` or
//! [`TaskError::PrincipalNotFound`] before the generic mapping applies.
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cordon_core::TaskError;

/// Error codes that mean "slow down / try again" across IAM, SNS, DynamoDB and SFN.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    // SNS's `ThrottledException` is sent as code `Throttled`; a topic encrypted with KMS
    // answers `KMSThrottling` when KMS throttles the publish.
    "Throttled",
    "KMSThrottling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

/// Server-side error codes that are safe to retry.
pub const SERVER_ERROR_CODES: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalErrorException",
    "ServiceFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    // IAM: "the request was rejected because multiple requests to change this object
    // were submitted simultaneously"; AWS documents it as retryable.
    "ConcurrentModification",
    "ConcurrentModificationException",
];

/// IAM's "the entity does not exist" code.
pub const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// Map any SDK error onto a [`TaskError`]. `operation` is `service:Operation`,
/// e.g. `iam:AttachUserPolicy`.
pub fn map_sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => {
            TaskError::transient(operation, "the request timed out before AWS answered")
        }
        SdkError::DispatchFailure(f) => TaskError::transient(
            operation,
            format!(
                "the request could not be sent: {}",
                source_chain(&err, f.is_timeout())
            ),
        ),
        SdkError::ResponseError(_) => TaskError::transient(
            operation,
            format!(
                "the response could not be read: {}",
                source_chain(&err, false)
            ),
        ),
        SdkError::ConstructionFailure(_) => TaskError::Aws {
            operation: operation.to_string(),
            code: "ConstructionFailure".to_string(),
            message: format!(
                "the request could not be built: {}",
                source_chain(&err, false)
            ),
        },
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            classify(operation, err.code(), err.message(), Some(status))
        }
        // SdkError is non_exhaustive.
        _ => TaskError::Aws {
            operation: operation.to_string(),
            code: "Unknown".to_string(),
            message: source_chain(&err, false),
        },
    }
}

/// The pure part of the mapping, for a service error response.
pub fn classify(
    operation: &str,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
) -> TaskError {
    let code_str = code.unwrap_or("Unknown");
    let message = message
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| match status {
            Some(s) => format!("HTTP {s} with no error message"),
            None => "no error message".to_string(),
        });
    let retryable_code = code
        .map(|c| THROTTLING_CODES.contains(&c) || SERVER_ERROR_CODES.contains(&c))
        .unwrap_or(false);
    let retryable_status = matches!(status, Some(s) if s >= 500 || s == 429);
    if retryable_code || retryable_status {
        TaskError::transient(operation, format!("{code_str}: {message}"))
    } else {
        TaskError::Aws {
            operation: operation.to_string(),
            code: code_str.to_string(),
            message,
        }
    }
}

/// The error code of a service error, if it is one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(_) => err.code(),
        _ => None,
    }
}

fn source_chain(err: &dyn std::error::Error, timeout: bool) -> String {
    let mut parts = Vec::new();
    let mut current = err.source();
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    if timeout {
        parts.push("timed out".to_string());
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Extension methods over SDK results; one generic impl for every operation.
pub trait SdkResultExt<T> {
    /// Map any error with [`map_sdk_error`].
    fn aws(self, operation: &str) -> Result<T, TaskError>;
    /// `NoSuchEntity` → `Ok(None)`; anything else as [`SdkResultExt::aws`].
    fn or_absent(self, operation: &str) -> Result<Option<T>, TaskError>;
    /// `NoSuchEntity` → [`TaskError::PrincipalNotFound`] naming `principal`.
    fn for_principal(self, operation: &str, principal: &str) -> Result<T, TaskError>;
    /// `code` → `Ok(None)`; anything else as [`SdkResultExt::aws`].
    fn or_none_on(self, operation: &str, code: &str) -> Result<Option<T>, TaskError>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn aws(self, operation: &str) -> Result<T, TaskError> {
        self.map_err(|e| map_sdk_error(operation, e))
    }

    fn or_absent(self, operation: &str) -> Result<Option<T>, TaskError> {
        self.or_none_on(operation, NO_SUCH_ENTITY)
    }

    fn for_principal(self, operation: &str, principal: &str) -> Result<T, TaskError> {
        self.map_err(|e| {
            if error_code(&e) == Some(NO_SUCH_ENTITY) {
                TaskError::PrincipalNotFound(principal.to_string())
            } else {
                map_sdk_error(operation, e)
            }
        })
    }

    fn or_none_on(self, operation: &str, code: &str) -> Result<Option<T>, TaskError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if error_code(&e) == Some(code) => Ok(None),
            Err(e) => Err(map_sdk_error(operation, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_user::GetUserError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> SdkError<GetUserError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message(format!("{code} happened"))
            .build();
        let raw = HttpResponse::new(
            status.try_into().expect("valid status in test"),
            SdkBody::empty(),
        );
        SdkError::service_error(GetUserError::generic(meta), raw)
    }

    #[test]
    fn throttling_codes_are_transient() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "ProvisionedThroughputExceededException",
            "Throttled",
            "KMSThrottling",
        ] {
            let e = map_sdk_error("iam:GetUser", service_error(code, 400));
            assert!(e.is_transient(), "{code}: {e:?}");
            assert!(e.to_string().contains(code), "{e}");
        }
    }

    #[test]
    fn server_errors_are_transient() {
        let e = map_sdk_error("iam:GetUser", service_error("ServiceFailure", 500));
        assert!(e.is_transient());
        let e = map_sdk_error("sns:Publish", service_error("Whatever", 503));
        assert!(e.is_transient());
        let e = map_sdk_error("sns:Publish", service_error("Whatever", 429));
        assert!(e.is_transient());
    }

    #[test]
    fn timeouts_and_dispatch_failures_are_transient() {
        let e = map_sdk_error::<GetUserError>(
            "iam:GetUser",
            SdkError::timeout_error("operation timeout"),
        );
        assert!(e.is_transient(), "{e:?}");
        let e = map_sdk_error::<GetUserError>(
            "iam:GetUser",
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into())),
        );
        assert!(e.is_transient(), "{e:?}");
        assert!(e.to_string().contains("connection refused"), "{e}");
        let e = map_sdk_error::<GetUserError>(
            "iam:GetUser",
            SdkError::response_error(
                "truncated body",
                HttpResponse::new(200u16.try_into().expect("status"), SdkBody::empty()),
            ),
        );
        assert!(e.is_transient(), "{e:?}");
    }

    #[test]
    fn other_service_errors_keep_their_code() {
        let e = map_sdk_error("iam:AttachUserPolicy", service_error("AccessDenied", 403));
        assert_eq!(
            e,
            TaskError::Aws {
                operation: "iam:AttachUserPolicy".into(),
                code: "AccessDenied".into(),
                message: "AccessDenied happened".into(),
            }
        );
        assert_eq!(e.error_name(), cordon_core::names::AWS);
    }

    #[test]
    fn construction_failures_are_not_retried() {
        let e = map_sdk_error::<GetUserError>(
            "iam:GetUser",
            SdkError::construction_failure("missing user_name"),
        );
        assert!(!e.is_transient());
        assert_eq!(e.error_name(), cordon_core::names::AWS);
    }

    #[test]
    fn no_such_entity_has_call_site_meanings() {
        let r: Result<(), _> = Err(service_error(NO_SUCH_ENTITY, 404));
        assert_eq!(r.or_absent("iam:GetUser"), Ok(None));
        let r: Result<(), _> = Err(service_error(NO_SUCH_ENTITY, 404));
        assert_eq!(
            r.for_principal("iam:AttachUserPolicy", "bob"),
            Err(TaskError::PrincipalNotFound("bob".into()))
        );
        let r: Result<(), _> = Err(service_error(NO_SUCH_ENTITY, 404));
        let e = r.aws("iam:GetUser").expect_err("mapped");
        assert_eq!(e.error_name(), cordon_core::names::AWS);
        // Transient errors stay transient even where NoSuchEntity has a meaning.
        let r: Result<(), _> = Err(service_error("Throttling", 400));
        assert!(
            r.or_absent("iam:GetUser")
                .expect_err("mapped")
                .is_transient()
        );
    }

    #[test]
    fn empty_messages_are_described() {
        let e = classify("sfn:SendTaskSuccess", Some("TaskTimedOut"), None, Some(400));
        assert_eq!(
            e,
            TaskError::Aws {
                operation: "sfn:SendTaskSuccess".into(),
                code: "TaskTimedOut".into(),
                message: "HTTP 400 with no error message".into(),
            }
        );
    }
}
