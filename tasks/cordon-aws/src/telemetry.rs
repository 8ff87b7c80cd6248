//! Logging for every Cordon Lambda: JSON lines (what CloudWatch Logs' JSON format and Logs
//! Insights expect), no timestamps (Lambda adds them), no span noise. One place, so every
//! function logs the same way.
//!
//! The filter is `RUST_LOG` (the template sets `info`), else the level Lambda's advanced
//! logging controls put in `AWS_LAMBDA_LOG_LEVEL`, else `info`. It takes `target=level`
//! directives (`info,cordon_aws=debug`) but not `EnvFilter`'s span and field filters: those
//! need the regex engine, about a megabyte of every bootstrap, resident from the first event.
use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_tracing() {
    let filter = filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_target(false)
                .without_time()
                .with_filter(filter),
        )
        .init();
}

/// The filter from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`. A value that does
/// not parse falls through to the next, so a typo never silences a function.
fn filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    [rust_log, lambda_level.map(lambda_to_tracing)]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .find_map(|s| Targets::from_str(s).ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// `AWS_LAMBDA_LOG_LEVEL` is upper case and may be `FATAL`, which tracing does not have.
fn lambda_to_tracing(level: &str) -> &str {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    fn allows(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn rust_log_wins_and_takes_per_target_directives() {
        let f = filter(Some("warn,cordon_aws=debug"), Some("TRACE"));
        assert!(allows(&f, "cordon_aws::iam", Level::DEBUG));
        assert!(!allows(&f, "aws_smithy_runtime", Level::INFO));
        assert!(allows(&f, "aws_smithy_runtime", Level::WARN));
    }

    #[test]
    fn lambda_log_level_applies_when_rust_log_is_unset_or_bad() {
        let f = filter(None, Some("DEBUG"));
        assert!(allows(&f, "cordon_quarantine", Level::DEBUG));
        assert!(!allows(&f, "cordon_quarantine", Level::TRACE));
        let f = filter(Some("cordon=loud"), Some("FATAL"));
        assert!(allows(&f, "x", Level::ERROR));
        assert!(!allows(&f, "x", Level::WARN));
    }

    #[test]
    fn nothing_set_or_nothing_parsable_means_info() {
        for (rust_log, lambda) in [(None, None), (Some(""), Some("LOUD")), (Some("=?"), None)] {
            let f = filter(rust_log, lambda);
            assert_eq!(
                f.default_level(),
                Some(LevelFilter::INFO),
                "{rust_log:?} {lambda:?}"
            );
            assert!(!allows(&f, "x", Level::DEBUG));
        }
    }
}
