//! Errors that say what went wrong and what to do: no credentials, no or wrong Region, a
//! stack or incident that does not exist, a decision already made, a call not allowed.
//! Every command's failure reaches the operator through [`report`]; a closed pipe
//! (`cordon … | head`) ends the command quietly.
use std::fmt;
use std::process::ExitCode;

use aws_config::SdkConfig;
use aws_sdk_sts::config::ProvideCredentials;
use cordon_core::TaskError;

/// A failure the operator can act on: what went wrong, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub todo: String,
}

impl Problem {
    pub fn new(what: impl Into<String>, todo: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            todo: todo.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  what to do: {}", self.what, self.todo)
    }
}

impl std::error::Error for Problem {}

/// Whether `e` is a write to a closed pipe (the reader went away: `| head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Print `e` for the operator and pick the exit code: quiet success for a closed pipe,
/// `1` otherwise.
pub fn report(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::SUCCESS;
    }
    match e.downcast_ref::<Problem>() {
        Some(problem) => eprintln!("cordon: error: {problem}"),
        None => eprintln!("cordon: error: {e:#}"),
    }
    ExitCode::FAILURE
}

/// Region and credentials, checked before the first call.
pub async fn check_config(config: &SdkConfig, profile: Option<&str>) -> anyhow::Result<()> {
    let profile_hint = profile
        .map(|p| format!(" for profile {p}"))
        .unwrap_or_default();
    if config.region().is_none() {
        return Err(Problem::new(
            format!("no AWS Region is configured{profile_hint}"),
            "pass --region (Cordon's main stack lives in us-east-1), set AWS_REGION, or set \
             `region` in the profile (`aws configure`)",
        )
        .into());
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials(
            &profile_hint,
            "no credentials provider is configured",
        ));
    };
    if let Err(e) = provider.provide_credentials().await {
        return Err(no_credentials(&profile_hint, &e.to_string()));
    }
    Ok(())
}

fn no_credentials(profile_hint: &str, why: &str) -> anyhow::Error {
    Problem::new(
        format!("no AWS credentials found{profile_hint} ({why})"),
        "sign in (`aws sso login --profile NAME`, or `aws configure`), then pass --profile \
         NAME or set AWS_PROFILE; or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    )
    .into()
}

/// Codes AWS answers a call the caller's policies do not allow with.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
];

/// Codes that mean the credentials themselves are bad or expired.
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
];

/// An AWS error met while `doing` something, said as what went wrong and what to do.
pub fn aws(e: TaskError, doing: &str) -> anyhow::Error {
    let TaskError::Aws {
        operation,
        code,
        message,
    } = &e
    else {
        if let TaskError::Transient { .. } = e {
            return Problem::new(
                format!("{doing} failed: {e}"),
                "check the endpoint and your network (AWS_ENDPOINT_URL, if set, must answer), \
                 then run the command again",
            )
            .into();
        }
        return anyhow::Error::new(e).context(format!("{doing} failed"));
    };
    if DENIED.contains(&code.as_str()) {
        return Problem::new(
            format!("{doing}: you are not allowed to call {operation} ({message})"),
            format!(
                "ask for {operation} on the resource named above (the README's \"What each \
                 command needs\" lists every command's IAM actions), or use a profile that has it"
            ),
        )
        .into();
    }
    if BAD_CREDENTIALS.contains(&code.as_str()) {
        return Problem::new(
            format!("{doing}: AWS refused your credentials ({code}: {message})"),
            "refresh them (`aws sso login`, or new access keys) and check --profile / \
             AWS_PROFILE",
        )
        .into();
    }
    if code == "ResourceNotFoundException" && operation.starts_with("dynamodb:") {
        return Problem::new(
            format!("{doing}: the incident table does not exist here ({message})"),
            "check --region (the table is in the stack's Region) and --stack; the stack's \
             IncidentTableName output names the table",
        )
        .into();
    }
    Problem::new(
        format!("{doing}: {operation} failed: {code}: {message}"),
        "fix what the error names and run the command again",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_recognised_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        let e = anyhow::Error::new(io).context("printing the table");
        assert!(is_broken_pipe(&e));
        assert_eq!(report(&e), ExitCode::SUCCESS);
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn denied_calls_say_which_action_is_missing() {
        let e = aws(
            TaskError::Aws {
                operation: "dynamodb:Query".into(),
                code: "AccessDeniedException".into(),
                message: "User: arn:aws:iam::1:user/bob is not authorized".into(),
            },
            "listing incidents",
        );
        let p = e.downcast_ref::<Problem>().expect("a problem");
        assert!(p.what.contains("not allowed to call dynamodb:Query"), "{p}");
        assert!(p.todo.contains("dynamodb:Query"), "{p}");
    }
}
