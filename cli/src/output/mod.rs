//! Printing: every command writes through here, so a closed pipe (`cordon … | head`) is
//! an `io::Error` that ends the command quietly ([`crate::errors::report`]) instead of a
//! panic, and tables fit the terminal.
//!
//! - [`table`]: aligned columns shrunk to a width;
//! - [`text`]: times, durations and ages as people read them;
//! - [`progress`]: a line on stderr for long operations, only on a terminal.
use std::io::{IsTerminal, Write};

use serde::Serialize;

pub mod progress;
pub mod table;
pub mod text;

/// Writes `text` to stdout as is.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `line` and a newline to stdout.
pub fn line(line: &str) -> std::io::Result<()> {
    print(&format!("{line}\n"))
}

/// Writes `value` as pretty JSON and a newline.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    line(&text)?;
    Ok(())
}

/// The width tables get: the terminal's when stdout is one, else `$COLUMNS`, else none
/// (a pipe or a file gets whole lines).
pub fn width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    if std::io::stdout().is_terminal() {
        return terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
    }
    None
}

/// Whether stdout is a terminal (the text graph, colours, progress).
pub fn is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
