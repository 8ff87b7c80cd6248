//! Local stays local: the commands that create users, policies and tables for a
//! demonstration (`cordon local up`, `cordon simulate`, `cordon demo`) run only against an
//! emulator on loopback, unless the operator says `--aws`.
//!
//! Without `AWS_ENDPOINT_URL` the SDK talks to whatever account the default credentials
//! name: a demo that "really creates a backdoor user" would really create one there.

/// The endpoint variables the local stack's SDK clients read (the generic one and the
/// per-service overrides of every service it calls).
const ENDPOINT_VARIABLES: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SNS",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SFN",
];

/// Refuses to go on unless every AWS endpoint this process will use is on loopback, or
/// `allow_aws` is set. `command` names the command in the message.
pub fn ensure_local(command: &str, allow_aws: bool) -> anyhow::Result<()> {
    ensure_local_with(command, allow_aws, |name| std::env::var(name).ok())
}

/// [`ensure_local`] with the environment given, for tests.
pub fn ensure_local_with(
    command: &str,
    allow_aws: bool,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    if allow_aws {
        return Ok(());
    }
    let generic = env("AWS_ENDPOINT_URL").filter(|v| !v.trim().is_empty());
    if generic.is_none() {
        anyhow::bail!(
            "{command} creates IAM users, policies and tables for a demonstration, and \
             AWS_ENDPOINT_URL is not set, so it would act on the real account your AWS \
             credentials name. Start the emulator (`cargo xtask moto`) and export the \
             variables it prints, or pass --aws if you really mean that account."
        );
    }
    for name in ENDPOINT_VARIABLES {
        let Some(url) = env(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        if !is_loopback_url(&url) {
            anyhow::bail!(
                "{command} runs only against an emulator on this machine, but {name} is \
                 {url:?}, which is not a loopback address (127.0.0.1, localhost or [::1]). \
                 Point it at the emulator, or pass --aws if you really mean that endpoint."
            );
        }
    }
    Ok(())
}

/// `http(s)://127.0.0.1[:port][/...]`, `localhost` or `[::1]`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // `http://127.0.0.1@attacker.example` names attacker.example.
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, _)) => return addr == "::1",
            None => return false,
        },
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn an_emulator_on_loopback_is_fine() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:5000/",
            "http://[::1]:5000",
        ] {
            ensure_local_with("cordon demo", false, env(&[("AWS_ENDPOINT_URL", url)]))
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn no_endpoint_means_a_real_account_and_is_refused() {
        let err = ensure_local_with("cordon demo", false, env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("AWS_ENDPOINT_URL is not set"),
            "{err}"
        );
        assert!(err.to_string().contains("--aws"), "{err}");
        assert!(
            ensure_local_with("cordon demo", false, env(&[("AWS_ENDPOINT_URL", " ")])).is_err()
        );
    }

    #[test]
    fn a_remote_endpoint_or_override_is_refused() {
        for vars in [
            vec![("AWS_ENDPOINT_URL", "https://iam.amazonaws.com")],
            vec![("AWS_ENDPOINT_URL", "http://127.0.0.1.attacker.example:5000")],
            vec![("AWS_ENDPOINT_URL", "http://127.0.0.1@attacker.example")],
            vec![
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("AWS_ENDPOINT_URL_IAM", "https://iam.amazonaws.com"),
            ],
        ] {
            let err = ensure_local_with("cordon local up", false, env(&vars)).unwrap_err();
            assert!(
                err.to_string().contains("not a loopback address"),
                "{vars:?}: {err}"
            );
        }
    }

    #[test]
    fn aws_is_allowed_when_asked_for() {
        ensure_local_with("cordon demo", true, env(&[])).expect("--aws");
    }
}
