//! Where the functions' metrics go: one Embedded Metric Format line (or a few, when
//! domain metrics need their own dimensions) per invocation, written by the shared runner
//! ([`crate::function::Running::invoke_json`]) so every function emits the same
//! invocation metrics without a line of its own code.
//!
//! On Lambda the lines go to stdout, which is the function's log stream, where CloudWatch
//! Logs extracts the metrics ([`lambda::start`](crate::lambda) selects [`Sink::Stdout`]). In
//! process (the local stack, the tests) they are dropped unless a test captures them.
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::metrics::{MetricsLine, NAMESPACE, Unit, dimension, metric};

/// Where metric lines are written.
#[derive(Debug, Clone, Default)]
pub enum Sink {
    /// Not written (the default in process).
    #[default]
    Discard,
    /// The process's stdout: the Lambda log stream.
    Stdout,
    /// Kept in memory, for tests.
    Capture(Arc<Mutex<Vec<String>>>),
}

static SINK: RwLock<Sink> = RwLock::new(Sink::Discard);

/// Sends this process's metric lines to `sink`.
pub fn set_sink(sink: Sink) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
}

fn write(lines: Vec<String>) {
    match &*SINK.read().unwrap_or_else(|e| e.into_inner()) {
        Sink::Discard => {}
        Sink::Stdout => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
        Sink::Capture(lines_seen) => lines_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(lines),
    }
}

/// The invocation metrics of one call of `function`: `Invocations` and `Duration`, and on
/// an error `Errors` (with the error's name as a dimension) and, for `Cordon.Transient`,
/// `RetryableErrors`. `domain` are the function's own lines.
pub fn invocation(
    function: &str,
    at: DateTime<Utc>,
    took: Duration,
    error: Option<&TaskError>,
    domain: Vec<MetricsLine>,
) -> Vec<MetricsLine> {
    let mut lines = Vec::with_capacity(2 + domain.len());
    if let Ok(mut line) = MetricsLine::new(NAMESPACE, at).dimension(dimension::FUNCTION, function) {
        let _ = line.count(metric::INVOCATIONS);
        let _ = line.record(
            metric::DURATION,
            Unit::Milliseconds,
            took.as_secs_f64() * 1000.0,
        );
        if error.is_some_and(TaskError::is_transient) {
            let _ = line.count(metric::RETRYABLE_ERRORS);
        }
        lines.push(line);
    }
    if let Some(error) = error
        && let Ok(mut line) = MetricsLine::new(NAMESPACE, at)
            .dimension(dimension::FUNCTION, function)
            .and_then(|l| l.dimension(dimension::ERROR, error.error_name()))
    {
        let _ = line.count(metric::ERRORS);
        lines.push(line);
    }
    lines.extend(domain);
    lines
}

/// Writes `lines` to the sink.
pub fn emit(lines: &[MetricsLine]) {
    write(lines.iter().flat_map(MetricsLine::render).collect());
}

/// A function's name in its metrics: Lambda's `AWS_LAMBDA_FUNCTION_NAME` when it is set,
/// else the crate that defines `F` (`cordon_record::Deps` → `cordon-record`).
pub fn function_name<F>(env_name: Option<String>) -> String {
    env_name.filter(|n| !n.is_empty()).unwrap_or_else(|| {
        std::any::type_name::<F>()
            .split("::")
            .next()
            .unwrap_or("cordon")
            .replace('_', "-")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_core::metrics::validate;

    #[test]
    fn an_invocation_and_its_error_are_valid_lines() {
        let error = TaskError::transient("iam:GetUser", "Throttling: Rate exceeded");
        let lines = invocation(
            "cordon-enrich",
            Utc::now(),
            Duration::from_millis(42),
            Some(&error),
            Vec::new(),
        );
        let rendered: Vec<String> = lines.iter().flat_map(MetricsLine::render).collect();
        assert_eq!(rendered.len(), 2, "{rendered:#?}");
        for line in &rendered {
            validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        assert!(
            rendered[0].contains("\"RetryableErrors\":1.0"),
            "{}",
            rendered[0]
        );
        assert!(
            rendered[1].contains("\"Error\":\"Cordon.Transient\""),
            "{}",
            rendered[1]
        );
    }

    #[test]
    fn a_functions_name_comes_from_lambda_or_its_crate() {
        struct Local;
        assert_eq!(
            function_name::<Local>(Some("prod-record".into())),
            "prod-record"
        );
        assert_eq!(function_name::<Local>(None), "cordon-aws");
    }
}
