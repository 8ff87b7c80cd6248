//! `Retry` and `Catch` of Task, Parallel and Map states.

use super::model::{Catcher, ErrorHandling, Jitter, Retrier};
use super::reader::Obj;
use crate::dataflow::{JsonataScope, QueryLanguage};
use crate::error;

/// `Retry`, then `Catch`.
pub(super) fn error_handling(o: &mut Obj<'_>) -> ErrorHandling {
    ErrorHandling {
        retry: retriers(o),
        catch: catchers(o),
    }
}

fn error_equals(o: &mut Obj<'_>, prefix: &str, last: bool) -> Vec<String> {
    let Some(list) = o.required::<Vec<String>>("ErrorEquals") else {
        return Vec::new();
    };
    if list.is_empty() {
        o.err("ErrorEquals", "must contain at least one error name");
    }
    if list.iter().any(|e| e == error::ALL) {
        if list.len() > 1 {
            o.err(
                "ErrorEquals",
                "must contain \"States.ALL\" alone when it is used",
            );
        }
        if !last {
            o.err(
                "ErrorEquals",
                &format!("uses \"States.ALL\", which must appear only in the last {prefix}"),
            );
        }
    }
    for e in &list {
        if e.starts_with("States.") && !error::KNOWN_STATES_ERRORS.contains(&e.as_str()) {
            o.err(
                "ErrorEquals",
                &format!("names unknown error '{e}' (names starting with 'States.' are reserved)"),
            );
        }
    }
    list
}

/// Reads each object of the array `key` (`Retry`, `Catch`) with a reader of its own over the
/// `allowed` fields; `read` gets that reader and the entry's checked `ErrorEquals` (`what`
/// names an entry in messages).
fn entries<T>(
    o: &mut Obj<'_>,
    key: &str,
    what: &str,
    allowed: &[&str],
    mut read: impl FnMut(&mut Obj<'_>, Vec<String>) -> Option<T>,
) -> Vec<T> {
    let Some(v) = o.raw(key) else {
        return Vec::new();
    };
    let Some(items) = v.as_array() else {
        o.err(key, "must be an array");
        return Vec::new();
    };
    let mut objects = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_object() {
            Some(m) => objects.push((i, m)),
            None => o.err(&format!("{key}[{i}]"), "must be a JSON object"),
        }
    }
    let mut out = Vec::new();
    for (i, m) in objects {
        let mut r = Obj::new(
            m,
            o.state.as_deref(),
            &format!("{key}[{i}]."),
            allowed,
            o.language,
        );
        let error_equals = error_equals(&mut r, what, i + 1 == items.len());
        out.extend(read(&mut r, error_equals));
        o.errs.append(&mut r.errs);
    }
    out
}

fn retriers(o: &mut Obj<'_>) -> Vec<Retrier> {
    let allowed = [
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    ];
    entries(o, "Retry", "retrier", &allowed, |r, error_equals| {
        let interval_seconds = r.positive_int("IntervalSeconds").unwrap_or(1);
        let max_attempts = match r.raw("MaxAttempts") {
            None => 3,
            Some(v) => match v.as_u64().and_then(|x| u32::try_from(x).ok()) {
                Some(x) => x,
                None => {
                    r.err("MaxAttempts", "must be a non-negative integer");
                    3
                }
            },
        };
        let backoff_rate = match r.get::<f64>("BackoffRate") {
            Some(b) if b < 1.0 => {
                r.err("BackoffRate", "must be >= 1.0");
                2.0
            }
            Some(b) => b,
            None => 2.0,
        };
        let max_delay_seconds = r.positive_int("MaxDelaySeconds");
        let jitter = match r.get::<String>("JitterStrategy").as_deref() {
            None | Some("NONE") => Jitter::None,
            Some("FULL") => Jitter::Full,
            Some(other) => {
                r.err(
                    "JitterStrategy",
                    &format!("must be \"FULL\" or \"NONE\", got \"{other}\""),
                );
                Jitter::None
            }
        };
        Some(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        })
    })
}

fn catchers(o: &mut Obj<'_>) -> Vec<Catcher> {
    let allowed: &[&str] = match o.language {
        QueryLanguage::JsonPath => &["ErrorEquals", "Next", "ResultPath", "Comment", "Assign"],
        QueryLanguage::JsonAta => &["ErrorEquals", "Next", "Output", "Comment", "Assign"],
    };
    // A catcher's Output and Assign read the error it handles as `$states.errorOutput`.
    let scope = JsonataScope { error_output: true };
    entries(o, "Catch", "catcher", allowed, |c, error_equals| {
        let next = c.required::<String>("Next");
        let result_path = c.opt_path("ResultPath", true);
        let output = c.template_in("Output", scope);
        let assign = c.assign(scope);
        Some(Catcher {
            error_equals,
            next: next?,
            result_path,
            output,
            assign,
        })
    })
}
