//! How JSON values print as text. Two printers, because AWS shows values in two ways:
//!
//! - [`compact`] is serde_json's compact text: what history events, `DescribeExecution` and the
//!   payload size limit see (the service stores and returns the JSON as received).
//! - [`jackson`] and [`java_to_string`] are how AWS's JVM prints a value inside a message:
//!   error causes quote documents as Jackson writes them, and `States.Format` interpolates
//!   arguments through Java's `toString`. Numbers go through [`java_double`].
//!
//! Paths, intrinsics and the data flow all print values; this module depends on none of
//! them, so none of them depends on another just to print.
use std::cell::RefCell;

use serde_json::{Number, Value};

/// Compact JSON text, as serde_json writes it.
///
/// Written into a buffer kept per thread, then copied once into a string of its exact
/// length: serde_json's own `to_string` starts from 128 bytes and doubles, reallocating
/// (and copying) four times for a 1.5 KiB state input, on every event that records one.
pub fn compact(v: &Value) -> String {
    /// A buffer this large is not kept (a payload may be 256 KiB).
    const KEPT: usize = 64 * 1024;
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        let text = match serde_json::to_writer(&mut *buf, v) {
            // serde_json writes UTF-8 only.
            Ok(()) => String::from_utf8(buf.as_slice().to_vec()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        if buf.capacity() > KEPT {
            *buf = Vec::new();
        }
        text
    })
}

/// The compact text of an object with one more field, `name` with the value whose compact
/// text is `value`, added after the others, from the object's compact text `object`: what
/// [`compact`] writes for the object with the field inserted, without writing the object
/// again. `None` when `object` is not an object's text.
pub fn with_field_added(object: &str, name: &str, value: &str) -> Option<String> {
    let body = object.strip_prefix('{')?.strip_suffix('}')?;
    let key = serde_json::to_string(name).ok()?;
    let mut out = String::with_capacity(object.len() + key.len() + value.len() + 2);
    out.push('{');
    out.push_str(body);
    if !body.is_empty() {
        out.push(',');
    }
    out.push_str(&key);
    out.push(':');
    out.push_str(value);
    out.push('}');
    Some(out)
}

/// How a JSON value prints through Java's `toString` (what `States.Format` shows):
/// `{a=1, b=[x, y]}`, strings unquoted.
pub fn java_to_string(v: &Value) -> String {
    let mut out = String::new();
    write(v, &JAVA, &mut out);
    out
}

/// A number as the JVM prints it: integers plainly, doubles via `Double.toString`.
fn java_number(n: &Number) -> String {
    if n.is_f64() {
        n.as_f64().map_or_else(|| n.to_string(), java_double)
    } else {
        n.to_string()
    }
}

/// `java.lang.Double.toString`: plain notation with at least one fractional digit for
/// 1e-3 <= |x| < 1e7, otherwise computerized scientific notation (`1.0E20`).
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{x}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{x:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

/// Compact JSON text as AWS's JVM (Jackson) writes it, doubles in `Double.toString` form:
/// what error causes quote and `States.JsonToString`/`States.Hash` produce.
pub fn jackson(v: &Value) -> String {
    let mut out = String::new();
    write(v, &JACKSON, &mut out);
    out
}

/// What tells the JVM's two ways of printing a value apart.
struct Style {
    item_separator: &'static str,
    key_separator: char,
    quote_strings: bool,
}

const JACKSON: Style = Style {
    item_separator: ",",
    key_separator: ':',
    quote_strings: true,
};

const JAVA: Style = Style {
    item_separator: ", ",
    key_separator: '=',
    quote_strings: false,
};

fn write(v: &Value, style: &Style, out: &mut String) {
    match v {
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) if !style.quote_strings => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator);
                }
                write(item, style, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator);
                }
                if style.quote_strings {
                    out.push_str(&Value::String(k.clone()).to_string());
                } else {
                    out.push_str(k);
                }
                out.push(style.key_separator);
                write(item, style, out);
            }
            out.push('}');
        }
        // null, booleans and (quoted) strings print the same in both styles.
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod field_added_tests {
    use serde_json::json;

    use super::{compact, with_field_added};

    /// The text with a field added is what writing the object with the field inserted gives.
    #[test]
    fn a_field_added_to_an_object_text_is_the_objects_text() {
        for (object, name, value) in [
            (json!({}), "a", json!(1)),
            (
                json!({"x": [1, {"y": "z"}], "q": null}),
                "new",
                json!({"n": [1.5, "s\"\n"]}),
            ),
            (json!({"a": 1}), "we\"ird\u{1}ключ", json!("v")),
        ] {
            let mut with = object.clone();
            with.as_object_mut()
                .unwrap()
                .insert(name.to_owned(), value.clone());
            assert_eq!(
                with_field_added(&compact(&object), name, &compact(&value)).as_deref(),
                Some(compact(&with).as_str())
            );
        }
        assert_eq!(with_field_added("[1]", "a", "1"), None);
    }
}
