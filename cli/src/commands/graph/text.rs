//! The graph as text, for a terminal: the path taken, one state per line with its status,
//! duration, retries and error, the branch each transition took, and the states the
//! execution did not reach. Pure (golden-tested).
use std::fmt::Write as _;

use super::model::{ExecutionGraph, Status};
use crate::output::text::{duration, opt_time, truncate};

fn mark(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "✓",
        Status::Caught => "↯",
        Status::Failed => "✗",
        Status::InProgress => "…",
        Status::Aborted => "■",
        Status::NotRun => "·",
    }
}

/// The text rendering of `graph`, lines cut to `width` when given.
pub fn render(graph: &ExecutionGraph, width: Option<usize>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Execution {}", graph.execution_arn);
    let _ = writeln!(
        out,
        "  {}  started {}  {}",
        graph.status,
        opt_time(graph.started_at),
        graph.duration_ms.map(duration).unwrap_or_default()
    );
    if let Some(e) = &graph.error {
        let _ = writeln!(out, "  error: {e}");
    }
    let _ = writeln!(out);
    let name_width = graph
        .path
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut previous: Option<&str> = None;
    for (i, name) in graph.path.iter().enumerate() {
        if let Some(prev) = previous
            && let Some(edge) = graph
                .edges
                .iter()
                .find(|e| e.from == prev && e.to == *name && e.taken)
            && edge.label != "Next"
        {
            let _ = writeln!(out, "  │ {}", edge.label);
        } else if i > 0 {
            let _ = writeln!(out, "  │");
        }
        let Some(state) = graph.state(name) else {
            continue;
        };
        // A state visited more than once shows its last visit each time it appears.
        let mut line = format!(
            "  {} {:<name_width$}  {:<6}  {:<11}",
            mark(state.status),
            state.name,
            state.kind,
            state.status.as_str()
        );
        if let Some(ms) = state.duration_ms {
            let _ = write!(line, "  {:>7}", duration(ms));
        }
        if state.retries > 0 {
            let _ = write!(
                line,
                "  {} retr{}",
                state.retries,
                if state.retries == 1 { "y" } else { "ies" }
            );
        }
        if let Some(e) = &state.error
            && state.status != Status::Succeeded
        {
            let _ = write!(line, "  {e}");
        }
        let line = match width {
            Some(w) => truncate(line.trim_end(), w),
            None => line.trim_end().to_string(),
        };
        let _ = writeln!(out, "{line}");
        previous = Some(name);
    }
    let not_run: Vec<&str> = graph
        .states
        .iter()
        .filter(|s| s.status == Status::NotRun)
        .map(|s| s.name.as_str())
        .collect();
    if !not_run.is_empty() {
        let _ = writeln!(out);
        let list = format!("  not run ({}): {}", not_run.len(), not_run.join(", "));
        let _ = writeln!(
            out,
            "{}",
            match width {
                Some(w) => truncate(&list, w),
                None => list,
            }
        );
    }
    out
}
