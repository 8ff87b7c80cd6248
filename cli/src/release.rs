//! `cordon release <incident-id> [--name NAME] [--reason TEXT]`: restore a contained user
//! from its pre-containment snapshot, exactly as the release Lambda does (same handler,
//! same environment: `CORDON_TABLE_NAME`, `CORDON_QUARANTINE_POLICY_ARN`,
//! `AWS_ENDPOINT_URL`, `AWS_REGION`, credentials).
use anyhow::Context;
use cordon_release::{ReleaseInput, ReleaseVia, ReleasedBy, release_from_env};

/// Release `incident_id`, recording `name` (else `$USER`) as the releaser, and print what
/// was restored, what needs a human, and any drift since containment.
pub async fn run(
    incident_id: String,
    name: Option<String>,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let name = name
        .filter(|n| !n.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()));
    let input = ReleaseInput {
        incident_id: incident_id.clone(),
        released_by: ReleasedBy {
            name,
            ip: None,
            user_agent: Some(format!("cordon-cli/{}", env!("CARGO_PKG_VERSION"))),
            via: ReleaseVia::Cli,
            verified: None,
        },
        reason,
    };
    let out = release_from_env(input)
        .await
        .with_context(|| format!("releasing incident {incident_id}"))?;
    print!("{}", out.summary());
    Ok(())
}
