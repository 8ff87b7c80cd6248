//! The functions Step Functions adds to JSONata, and the one it takes away.
//!
//! AWS Step Functions developer guide, "Transforming data with JSONata in Step Functions",
//! section "JSONata functions provided by Step Functions": `$partition`, `$range`, `$hash`,
//! `$random`, `$uuid` and `$parse`; `$eval` is not available (use `$parse`).
//!
//! As on AWS, a non-integer count is truncated towards zero, and the degenerate cases (a chunk
//! size of zero, an empty array, a `$range` step of zero or of the wrong sign, a `$hash`
//! without an algorithm) evaluate to nothing, which fails the field that holds them.
use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;

use super::convert::to_jvalue;
use crate::intrinsics::{JavaRandom, digest};

/// The most elements `$range` builds before AWS refuses it.
pub(super) const MAX_RANGE_ITEMS: usize = 360_145;

type Result = std::result::Result<JValue, EvaluatorError>;

/// Registers the Step Functions functions on `ev` and disables `$eval`.
pub(super) fn install(ev: &mut Evaluator) {
    let add = |ev: &mut Evaluator, name: &str, f: fn(&[JValue]) -> Result| {
        // The names are not JSONata built-ins, so registration cannot collide.
        let _ = ev.register_fn(name, f);
    };
    add(ev, "partition", partition);
    add(ev, "range", range);
    add(ev, "hash", hash);
    add(ev, "uuid", uuid);
    add(ev, "parse", parse);
    // `$random` and `$eval` are JSONata built-ins that AWS replaces.
    let _ = ev.register_fn_override("random", random);
    let _ = ev.register_fn_override("eval", |_: &[JValue]| -> Result { Err(not_a_function()) });
}

fn not_a_function() -> EvaluatorError {
    EvaluatorError::TypeError("T1006: Attempted to invoke a non-function".into())
}

fn signature_error(position: usize, name: &str) -> EvaluatorError {
    EvaluatorError::TypeError(format!(
        "T0410: Argument {position} of function \"{name}\" does not match function signature"
    ))
}

/// A number argument, truncated towards zero; `None` when absent or undefined.
fn count(
    args: &[JValue],
    i: usize,
    name: &str,
) -> std::result::Result<Option<i64>, EvaluatorError> {
    match args.get(i) {
        None | Some(JValue::Undefined) => Ok(None),
        Some(JValue::Number(n)) if n.is_finite() => Ok(Some(n.trunc() as i64)),
        Some(_) => Err(signature_error(i + 1, name)),
    }
}

/// `$partition(array, size)`: the array in chunks of `size`, the last holding the rest.
fn partition(args: &[JValue]) -> Result {
    let items: Vec<JValue> = match args.first() {
        Some(JValue::Array(a)) => a.iter().cloned().collect(),
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(_) => return Err(signature_error(1, "partition")),
    };
    let Some(size) = count(args, 1, "partition")? else {
        return Ok(JValue::Undefined);
    };
    if size <= 0 || items.is_empty() {
        return Ok(JValue::Undefined);
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|c| JValue::array(c.to_vec()))
            .collect(),
    ))
}

/// `$range(start, end, step)`: from `start` towards `end` (inclusive when a step lands on
/// it); a single value is returned bare.
fn range(args: &[JValue]) -> Result {
    let (Some(start), Some(end), Some(step)) = (
        count(args, 0, "range")?,
        count(args, 1, "range")?,
        count(args, 2, "range")?,
    ) else {
        return Ok(JValue::Undefined);
    };
    if step == 0 || (step > 0 && end < start) || (step < 0 && end > start) {
        return Ok(JValue::Undefined);
    }
    let n = ((end - start) / step) as u64 + 1;
    if n > MAX_RANGE_ITEMS as u64 {
        return Err(EvaluatorError::EvaluationError(
            "Expression evaluation memory limit exceeded".into(),
        ));
    }
    let mut out: Vec<JValue> = (0..n as i64)
        .map(|i| JValue::Number((start + i * step) as f64))
        .collect();
    if out.len() == 1 {
        return Ok(out.remove(0));
    }
    Ok(JValue::array(out))
}

/// `$hash(value, algorithm)`: the hex digest of a string.
fn hash(args: &[JValue]) -> Result {
    let text = match args.first() {
        Some(JValue::String(s)) => s.to_string(),
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(_) => return Err(signature_error(1, "hash")),
    };
    let algorithm = match args.get(1) {
        Some(JValue::String(s)) => s.to_string(),
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(_) => return Err(signature_error(2, "hash")),
    };
    digest(&text, &algorithm).map(JValue::from).ok_or_else(|| {
        EvaluatorError::EvaluationError(format!(
            "The hashing algorithm '{algorithm}' is not supported. Supported algorithms: MD5, SHA-1, SHA-256, SHA-384, SHA-512."
        ))
    })
}

/// `$random([seed])`: a number in `[0, 1)`, reproducible for an integer seed.
fn random(args: &[JValue]) -> Result {
    match count(args, 0, "random")? {
        Some(seed) => Ok(JValue::Number(JavaRandom::new(seed).next_double())),
        None => Ok(JValue::Number(fastrand::f64())),
    }
}

/// `$uuid()`: a version 4 UUID.
fn uuid(_: &[JValue]) -> Result {
    Ok(JValue::from(uuid::Uuid::new_v4().to_string()))
}

/// `$parse(text)`: the JSON value `text` holds.
fn parse(args: &[JValue]) -> Result {
    let text = match args.first() {
        Some(JValue::String(s)) => s.to_string(),
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(_) => return Err(signature_error(1, "parse")),
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        EvaluatorError::EvaluationError(format!(
            "D3140: The argument of $parse is not valid JSON: {e}"
        ))
    })?;
    Ok(to_jvalue(&v))
}
