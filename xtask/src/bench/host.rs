//! What the bench reads of the machine and the checkout: the time, the load, a tool's
//! version line, the release profile, a file of the workspace.
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;

/// A file of the workspace, as text.
pub fn read(root: &Path, rel: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))
}

/// The first line a command prints, or why there is none.
pub fn command_line(cmd: &mut Command) -> String {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        }
        Ok(o) => format!("unknown ({:?} exited {})", cmd.get_program(), o.status),
        Err(e) => format!("unknown ({:?}: {e})", cmd.get_program()),
    }
}

/// The settings of `[profile.release]` in the root manifest, as one line.
pub fn release_profile(manifest: &str) -> String {
    let settings: Vec<&str> = manifest
        .lines()
        .skip_while(|l| l.trim() != "[profile.release]")
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if settings.is_empty() {
        "cargo's defaults".to_owned()
    } else {
        settings.join(", ")
    }
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The current UTC time as `YYYY-MM-DD HH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_profile_is_read_from_the_manifest() {
        let manifest = "[profile.dev]\ndebug = 1\n\n[profile.release]\nopt-level = \"s\"\n# c\nlto = \"thin\"\n\n[x]\ny = 1\n";
        assert_eq!(
            release_profile(manifest),
            "opt-level = \"s\", lto = \"thin\""
        );
        assert_eq!(release_profile("[package]\n"), "cargo's defaults");
    }

    #[test]
    fn dates_are_civil() {
        let d = utc_now();
        assert_eq!(d.len(), "2024-01-01 00:00:00Z".len());
        assert!(d.starts_with("20"), "{d}");
    }
}
