//! What both bench programs share: their command line (`--flag value` pairs, of which
//! `--definition` and `--input` are required) and how they end (one JSON object on stdout
//! and success, the usage and exit code 2, or the error and failure).
use std::process::ExitCode;

use serde_json::Value;

/// The required files, after [`parse`].
pub struct Files {
    pub definition: String,
    pub input: String,
}

/// Parses the process's arguments as `--flag value` pairs, giving each one other than
/// `--definition` and `--input` to `flag`. `Err("")` asks for the usage alone (`-h`, `--help`).
pub fn parse(mut flag: impl FnMut(&str, &str) -> Result<(), String>) -> Result<Files, String> {
    let mut definition = None;
    let mut input = None;
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        if name == "-h" || name == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
        match name.as_str() {
            "--definition" => definition = Some(value),
            "--input" => input = Some(value),
            _ => flag(&name, &value)?,
        }
    }
    Ok(Files {
        definition: definition.ok_or("--definition is required")?,
        input: input.ok_or("--input is required")?,
    })
}

/// `value` as a count, or an error that names `flag`.
pub fn count(flag: &str, value: &str) -> Result<usize, String> {
    value.parse().map_err(|e| format!("{flag} {value}: {e}"))
}

/// The error for a flag the program does not know.
pub fn unknown(flag: &str) -> Result<(), String> {
    Err(format!("unknown flag {flag}"))
}

/// Exit code 2 after `error` (unless empty: `--help`) and the usage.
pub fn usage_error(program: &str, usage: &str, error: &str) -> ExitCode {
    if !error.is_empty() {
        eprintln!("{program}: {error}\n");
    }
    eprint!("{usage}");
    ExitCode::from(2)
}

/// Prints the measurements, or the error.
pub fn finish(program: &str, result: Result<Value, String>) -> ExitCode {
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The file at `path`, or an error that names it.
pub fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))
}
