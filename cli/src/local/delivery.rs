//! How AWS services' events reach the local stack: CloudTrail records and the schedule's
//! events come in through the PutEvents API's delivery path
//! (`CordonLocal.DeliverAwsEvents`, see [`cordon_eventbridge::put_events`]), which needs
//! the token `cordon local up` writes next to its database. PutEvents itself refuses
//! `aws.*` sources, as AWS does, so nothing else on the machine can forge a CloudTrail
//! record; `cordon simulate` reads the token and delivers as CloudTrail would.
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cordon_loopback::{Client, ClientResponse};
use serde_json::Value;

/// The token file's name, next to the stack's database.
const TOKEN_FILE: &str = "delivery-token";

/// Where `cordon local up` with the database `db` keeps its delivery token.
pub fn token_file(db: &Path) -> PathBuf {
    db.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
        .join(TOKEN_FILE)
}

/// A new token (32 bytes from the OS random generator, hex), written to `path` readable by
/// this user only.
pub fn create_token(path: &Path) -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random generator: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing the delivery token {}", path.display()))?;
    // An older file keeps its mode when truncated: make sure it is the owner's only.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    std::io::Write::write_all(&mut file, token.as_bytes())
        .with_context(|| format!("writing the delivery token {}", path.display()))?;
    Ok(token)
}

/// The token `cordon local up` wrote to `path`.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the local stack's delivery token {} (is `cordon local up` running with \
             this state directory? --delivery-token-file names another)",
            path.display()
        )
    })?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("the delivery token file {} is empty", path.display());
    }
    Ok(token)
}

/// Delivers a PutEvents-shaped request (`{"Entries": [...]}`) to the stack at `endpoint` as
/// an AWS service would (any source, `aws.*` included).
pub async fn deliver(
    endpoint: &str,
    token: &str,
    request: &Value,
) -> anyhow::Result<ClientResponse> {
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let target = format!(
        "{}.{}",
        cordon_eventbridge::DELIVERY_TARGET_PREFIX,
        cordon_eventbridge::DELIVERY_OPERATION
    );
    Ok(Client::new()
        .post(
            &url,
            &[
                ("x-amz-target", target.as_str()),
                ("content-type", "application/x-amz-json-1.1"),
                (cordon_eventbridge::DELIVERY_TOKEN_HEADER, token),
            ],
            request.to_string(),
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_random_and_only_its_owner_reads_it() {
        let dir = std::env::temp_dir().join(format!("cordon-delivery-{}", std::process::id()));
        let path = token_file(&dir.join("sfn.sqlite"));
        assert_eq!(path, dir.join("delivery-token"));
        let first = create_token(&path).expect("created");
        assert_eq!(first.len(), 64);
        assert_eq!(read_token(&path).expect("read"), first);
        let second = create_token(&path).expect("created again");
        assert_ne!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).expect("cleaned up");
        let err = read_token(&path).expect_err("gone");
        assert!(format!("{err:#}").contains("cordon local up"), "{err:#}");
    }
}
