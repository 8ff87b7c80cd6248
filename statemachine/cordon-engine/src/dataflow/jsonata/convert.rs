//! JSON values to and from `jsonata_core`'s values.
//!
//! JSONata numbers are doubles. On the way out a whole number prints as an integer (AWS
//! writes `7`, not `7.0`), and a non-finite number becomes the string JavaScript names it by
//! (`"Infinity"`, `"NaN"`), which is what AWS stores since JSON has no literal for it.
use jsonata_core::value::{JArray, JValue};
use serde_json::{Map, Number, Value};

use super::failure::JsonataFailure;

/// A JSON value as a JSONata value.
pub(super) fn to_jvalue(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(m) => {
            JValue::object(m.iter().map(|(k, v)| (k.clone(), to_jvalue(v))).collect())
        }
    }
}

/// A JSONata result as JSON: `Undefined` and functions have no JSON form. Inside arrays and
/// objects an undefined member is dropped, as JSONata's own serialisation does.
pub(super) fn from_jvalue(v: &JValue) -> Result<Value, JsonataFailure> {
    match v {
        JValue::Undefined => Err(JsonataFailure::Undefined),
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
            Err(JsonataFailure::Unsupported)
        }
        JValue::Null => Ok(Value::Null),
        JValue::Bool(b) => Ok(Value::Bool(*b)),
        JValue::Number(n) => Ok(number(*n)),
        JValue::String(s) => Ok(Value::String(s.to_string())),
        JValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                match from_jvalue(item) {
                    Ok(x) => out.push(x),
                    Err(JsonataFailure::Undefined) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(Value::Array(out))
        }
        JValue::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, item) in m.iter() {
                match from_jvalue(item) {
                    Ok(x) => {
                        out.insert(k.clone(), x);
                    }
                    Err(JsonataFailure::Undefined) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(Value::Object(out))
        }
    }
}

/// A JSONata number as JSON: whole numbers within 64 bits as integers, others as doubles,
/// non-finite ones as their JavaScript names.
pub(super) fn number(n: f64) -> Value {
    if n.is_nan() {
        return Value::String("NaN".into());
    }
    if n.is_infinite() {
        return Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into());
    }
    if n.fract() == 0.0 {
        if n.abs() < 9.223_372_036_854_775e18 {
            return Value::from(n as i64);
        }
        if n > 0.0 && n < 1.844_674_407_370_955e19 {
            return Value::from(n as u64);
        }
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_print_as_aws_does() {
        assert_eq!(number(7.0), json!(7));
        assert_eq!(number(-0.0), json!(0));
        assert_eq!(number(0.1), json!(0.1));
        assert_eq!(number(f64::INFINITY), json!("Infinity"));
        assert_eq!(number(f64::NAN), json!("NaN"));
    }

    #[test]
    fn round_trips_json() {
        let v = json!({"a": [1, 2.5, "x", null, true, {"b": []}], "c": {}});
        assert_eq!(from_jvalue(&to_jvalue(&v)), Ok(v));
    }
}
