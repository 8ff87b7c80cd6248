//! The `States.*` functions themselves, applied to already-resolved argument values.
//!
//! AWS runs these on the JVM (Jackson for JSON); where that shows through, we copy it:
//! `States.Format` renders objects as `java.util.Map#toString` (`{a=1, b=[]}`), numbers are
//! rounded with `Math.round` (half up) where an integer is required, and a seeded
//! `States.MathRandom` uses the `java.util.Random` generator.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::error::{ERROR_INTRINSIC_FAILURE, IntrinsicError};
use crate::json_text::{jackson, java_to_string};

/// Largest number of characters `States.Base64Encode`/`Base64Decode`/`Hash` accept.
pub const MAX_ENCODING_INPUT: usize = 10_000;
/// Largest array `States.ArrayRange` may produce.
pub const MAX_ARRAY_RANGE_ITEMS: usize = 1_000;

/// Every `States.*` intrinsic function of the JSONPath query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The name after `States.`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "Format",
            Function::StringToJson => "StringToJson",
            Function::JsonToString => "JsonToString",
            Function::Array => "Array",
            Function::ArrayPartition => "ArrayPartition",
            Function::ArrayContains => "ArrayContains",
            Function::ArrayRange => "ArrayRange",
            Function::ArrayGetItem => "ArrayGetItem",
            Function::ArrayLength => "ArrayLength",
            Function::ArrayUnique => "ArrayUnique",
            Function::Base64Encode => "Base64Encode",
            Function::Base64Decode => "Base64Decode",
            Function::Hash => "Hash",
            Function::JsonMerge => "JsonMerge",
            Function::MathRandom => "MathRandom",
            Function::MathAdd => "MathAdd",
            Function::StringSplit => "StringSplit",
            Function::Uuid => "UUID",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Minimum and maximum number of arguments (`None`: unbounded).
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::Uuid => (0, Some(0)),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, Some(1)),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, Some(2)),
            Function::ArrayRange | Function::JsonMerge => (3, Some(3)),
            Function::MathRandom => (2, Some(3)),
        }
    }

    pub(super) fn check_arity(self, n: usize) -> Result<(), String> {
        let (min, max) = self.arity();
        let ok = n >= min && max.is_none_or(|max| n <= max);
        if ok {
            return Ok(());
        }
        let expected = match max {
            Some(max) if max == min => format!("{min}"),
            Some(max) => format!("{min} to {max}"),
            None => format!("at least {min}"),
        };
        Err(format!(
            "States.{} expects {expected} argument(s), got {n}",
            self.name()
        ))
    }
}

fn fail(function: Function, detail: impl std::fmt::Display) -> IntrinsicError {
    IntrinsicError::Failed {
        error: ERROR_INTRINSIC_FAILURE.to_owned(),
        cause: format!("Invalid arguments in States.{}: {detail}", function.name()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn want_str(f: Function, v: &Value, what: &str) -> Result<String, IntrinsicError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(fail(
            f,
            format!("{what} must be a string, got {}", type_name(other)),
        )),
    }
}

fn want_array(f: Function, v: Value, what: &str) -> Result<Vec<Value>, IntrinsicError> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(fail(
            f,
            format!("{what} must be an array, got {}", type_name(&other)),
        )),
    }
}

fn want_object(f: Function, v: Value, what: &str) -> Result<Map<String, Value>, IntrinsicError> {
    match v {
        Value::Object(map) => Ok(map),
        other => Err(fail(
            f,
            format!("{what} must be an object, got {}", type_name(&other)),
        )),
    }
}

/// `java.lang.Math.round(double)`: round half up (towards positive infinity).
pub fn java_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// An integer argument: integers as they are, other numbers rounded half up (AWS rounds
/// non-integer arguments of MathAdd, MathRandom and ArrayRange), within Java's `int` range.
fn want_int(f: Function, v: &Value, what: &str) -> Result<i64, IntrinsicError> {
    let Value::Number(n) = v else {
        return Err(fail(
            f,
            format!("{what} must be a number, got {}", type_name(v)),
        ));
    };
    let value = if let Some(i) = n.as_i64() {
        i as f64
    } else {
        let x = n
            .as_f64()
            .ok_or_else(|| fail(f, format!("{what} is not a finite number")))?;
        java_round(x)
    };
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&value) {
        return Err(fail(
            f,
            format!(
                "{what} must be an integer between {} and {}, got {n}",
                i32::MIN,
                i32::MAX
            ),
        ));
    }
    Ok(value as i64)
}

/// A strict integer (index, chunk size): a JSON number with no fractional part.
fn want_exact_int(f: Function, v: &Value, what: &str) -> Result<i64, IntrinsicError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
                _ => Err(fail(f, format!("{what} must be an integer, got {n}"))),
            }
        }
        other => Err(fail(
            f,
            format!("{what} must be an integer, got {}", type_name(other)),
        )),
    }
}

/// Applies `function` to resolved arguments. `raw_template` is the escaped source of a
/// literal `States.Format` template.
pub(super) fn apply(
    function: Function,
    args: Vec<Value>,
    raw_template: Option<&str>,
) -> Result<Value, IntrinsicError> {
    let f = function;
    let count = args.len();
    // Arity was checked at parse time; missing arguments cannot occur, but stay total.
    let mut it = args.into_iter();
    let mut next = move || it.next().unwrap_or(Value::Null);
    match f {
        Function::Format => {
            let template = next();
            let rest: Vec<Value> = (1..count).map(|_| next()).collect();
            format(&template, raw_template, &rest)
        }
        Function::StringToJson => {
            let s = want_str(f, &next(), "the argument")?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            let mut parsed = serde_json::from_str::<Value>(&s)
                .map_err(|e| fail(f, format!("the string is not valid JSON ({e})")))?;
            // serde_json reads the integer `-0` as the double -0.0; Jackson reads it as the
            // integer 0. Only when the text has no fractional/exponent negative zero.
            if !(s.contains("-0.") || s.contains("-0e") || s.contains("-0E")) {
                integer_negative_zero(&mut parsed);
            }
            Ok(parsed)
        }
        Function::JsonToString => Ok(Value::String(jackson(&next()))),
        Function::Array => Ok(Value::Array((0..count).map(|_| next()).collect())),
        Function::ArrayPartition => {
            let items = want_array(f, next(), "the first argument")?;
            let size = want_exact_int(f, &next(), "the chunk size")?;
            if size <= 0 {
                return Err(fail(
                    f,
                    format!("the chunk size must be greater than 0, got {size}"),
                ));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            Ok(Value::Array(
                items
                    .chunks(size)
                    .map(|chunk| Value::Array(chunk.to_vec()))
                    .collect(),
            ))
        }
        Function::ArrayContains => {
            let items = want_array(f, next(), "the first argument")?;
            let needle = next();
            Ok(Value::Bool(items.iter().any(|item| json_eq(item, &needle))))
        }
        Function::ArrayRange => {
            let start = want_int(f, &next(), "the start")?;
            let end = want_int(f, &next(), "the end")?;
            let step = want_int(f, &next(), "the step")?;
            array_range(start, end, step)
        }
        Function::ArrayGetItem => {
            let items = want_array(f, next(), "the first argument")?;
            let index = want_exact_int(f, &next(), "the index")?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| {
                    fail(
                        f,
                        format!(
                            "the index {index} is out of bounds for an array of length {}",
                            items.len()
                        ),
                    )
                })
        }
        Function::ArrayLength => {
            let items = want_array(f, next(), "the argument")?;
            Ok(Value::from(items.len()))
        }
        Function::ArrayUnique => {
            let items = want_array(f, next(), "the argument")?;
            let mut unique: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                if !unique.iter().any(|u| json_eq(u, &item)) {
                    unique.push(item);
                }
            }
            Ok(Value::Array(unique))
        }
        Function::Base64Encode => {
            let s = want_str(f, &next(), "the argument")?;
            check_len(f, &s)?;
            Ok(Value::String(BASE64.encode(s.as_bytes())))
        }
        Function::Base64Decode => {
            let s = want_str(f, &next(), "the argument")?;
            check_len(f, &s)?;
            let bytes = BASE64
                .decode(s.as_bytes())
                .map_err(|e| fail(f, format!("the string is not valid Base64 ({e})")))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Function::Hash => {
            let data = next();
            let algorithm = want_str(f, &next(), "the algorithm")?;
            let text = match &data {
                Value::String(s) => s.clone(),
                other => jackson(other),
            };
            check_len(f, &text)?;
            hash(&text, &algorithm)
        }
        Function::JsonMerge => {
            let mut left = want_object(f, next(), "the first argument")?;
            let right = want_object(f, next(), "the second argument")?;
            match next() {
                Value::Bool(false) => {}
                Value::Bool(true) => {
                    return Err(fail(
                        f,
                        "deep merge is not supported; the third argument must be false",
                    ));
                }
                other => {
                    return Err(fail(
                        f,
                        format!(
                            "the third argument must be a boolean, got {}",
                            type_name(&other)
                        ),
                    ));
                }
            }
            for (k, v) in right {
                left.insert(k, v);
            }
            Ok(Value::Object(left))
        }
        Function::MathRandom => {
            let start = want_int(f, &next(), "the start")?;
            let end = want_int(f, &next(), "the end")?;
            if end <= start {
                return Err(fail(
                    f,
                    format!("the end ({end}) must be greater than the start ({start})"),
                ));
            }
            let bound = end - start;
            let offset = if count == 3 {
                let seed = want_seed(f, &next())?;
                JavaRandom::new(seed).next_int(bound)
            } else {
                fastrand::i64(0..bound)
            };
            Ok(Value::from(start + offset))
        }
        Function::MathAdd => {
            let a = want_int(f, &next(), "the first argument")?;
            let b = want_int(f, &next(), "the second argument")?;
            Ok(Value::from(a + b))
        }
        Function::StringSplit => {
            let s = want_str(f, &next(), "the first argument")?;
            let delimiters = want_str(f, &next(), "the delimiter")?;
            let parts = s
                .split(|c: char| delimiters.contains(c))
                .filter(|part| !part.is_empty())
                .map(|part| Value::String(part.to_owned()))
                .collect();
            Ok(Value::Array(parts))
        }
        Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

fn integer_negative_zero(v: &mut Value) {
    match v {
        Value::Number(n) if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) => {
            *v = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_negative_zero),
        Value::Object(map) => map.values_mut().for_each(integer_negative_zero),
        _ => {}
    }
}

fn check_len(f: Function, s: &str) -> Result<(), IntrinsicError> {
    let n = s.chars().count();
    if n > MAX_ENCODING_INPUT {
        return Err(fail(
            f,
            format!("the input must be at most {MAX_ENCODING_INPUT} characters, got {n}"),
        ));
    }
    Ok(())
}

fn want_seed(f: Function, v: &Value) -> Result<i64, IntrinsicError> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => match n.as_f64() {
                Some(x) if x.is_finite() && x.abs() < 9.2e18 => Ok(java_round(x) as i64),
                _ => Err(fail(f, format!("the seed must be an integer, got {n}"))),
            },
        },
        other => Err(fail(
            f,
            format!("the seed must be an integer, got {}", type_name(other)),
        )),
    }
}

fn array_range(start: i64, end: i64, step: i64) -> Result<Value, IntrinsicError> {
    let f = Function::ArrayRange;
    if step == 0 {
        return Err(fail(f, "the step must not be 0"));
    }
    // Number of items, computed without building the array first.
    let count = if (step > 0 && end < start) || (step < 0 && end > start) {
        0
    } else {
        (end - start) / step + 1
    };
    let count = usize::try_from(count).unwrap_or(0);
    if count > MAX_ARRAY_RANGE_ITEMS {
        return Err(fail(
            f,
            format!(
                "the range would have {count} items; at most {MAX_ARRAY_RANGE_ITEMS} are allowed"
            ),
        ));
    }
    Ok(Value::Array(
        (0..count)
            .map(|i| Value::from(start + step * i as i64))
            .collect(),
    ))
}

fn hash(text: &str, algorithm: &str) -> Result<Value, IntrinsicError> {
    digest(text, algorithm).map(Value::String).ok_or_else(|| {
        fail(
            Function::Hash,
            format!(
                "the algorithm '{algorithm}' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            ),
        )
    })
}

/// The lowercase hex digest of `text` with `algorithm` (`MD5`, `SHA-1`, `SHA-256`, `SHA-384`
/// or `SHA-512`, case-sensitive, as AWS accepts them), shared by `States.Hash` and JSONata's
/// `$hash`.
pub(crate) fn digest(text: &str, algorithm: &str) -> Option<String> {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    let data = text.as_bytes();
    Some(match algorithm {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        _ => return None,
    })
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `States.Format`: replaces each `{}` of the template with the next argument.
fn format(
    template: &Value,
    raw_template: Option<&str>,
    args: &[Value],
) -> Result<Value, IntrinsicError> {
    let f = Function::Format;
    // Pieces of literal text between placeholders.
    let pieces: Vec<String> = match raw_template {
        Some(raw) => split_escaped_template(raw),
        None => {
            let Value::String(s) = template else {
                return Err(fail(
                    f,
                    format!(
                        "the first argument must be a string, got {}",
                        type_name(template)
                    ),
                ));
            };
            s.split("{}").map(str::to_owned).collect()
        }
    };
    let placeholders = pieces.len() - 1;
    if placeholders != args.len() {
        return Err(fail(
            f,
            format!(
                "the template has {placeholders} placeholder(s) but {} argument(s) were given",
                args.len()
            ),
        ));
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        out.push_str(piece);
        if let Some(arg) = args.get(i) {
            out.push_str(&java_to_string(arg));
        }
    }
    Ok(Value::String(out))
}

/// Splits an escaped template literal on unescaped `{}`, resolving the escapes.
fn split_escaped_template(raw: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let current = pieces.last_mut();
        match (c, current) {
            ('\\', Some(cur)) => match chars.next() {
                Some(e @ ('\'' | '{' | '}' | '\\')) => cur.push(e),
                Some(e) => {
                    cur.push('\\');
                    cur.push(e);
                }
                None => cur.push('\\'),
            },
            ('{', Some(_)) if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.push(String::new());
            }
            (c, Some(cur)) => cur.push(c),
            (_, None) => {}
        }
    }
    pieces
}

/// `java.util.Random`, so that a seeded `States.MathRandom` is reproducible like on AWS.
pub struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;

    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `Random.nextDouble()`: uniform in `[0, 1)`.
    pub fn next_double(&mut self) -> f64 {
        let high = i64::from(self.next(26));
        let low = i64::from(self.next(27));
        ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `Random.nextInt(bound)` for `0 < bound <= i32::MAX`; larger bounds are clamped.
    pub fn next_int(&mut self, bound: i64) -> i64 {
        let bound = i32::try_from(bound).unwrap_or(i32::MAX).max(1);
        if bound & bound.wrapping_neg() == bound {
            return (i64::from(bound) * i64::from(self.next(31))) >> 31;
        }
        loop {
            let bits = self.next(31);
            let val = bits % bound;
            if bits.wrapping_sub(val).wrapping_add(bound - 1) >= 0 {
                return i64::from(val);
            }
        }
    }
}
