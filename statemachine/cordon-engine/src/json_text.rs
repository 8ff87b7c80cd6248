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
        write_compact(buf, v);
        // Only whole `str`s and ASCII are written: always UTF-8.
        let text = String::from_utf8(buf.as_slice().to_vec()).unwrap_or_default();
        if buf.capacity() > KEPT {
            *buf = Vec::new();
        }
        text
    })
}

/// Writes `v` as serde_json's compact formatter does, byte for byte, without going through
/// its `Serializer` (numbers still do, so they print exactly as serde_json prints them).
fn write_compact(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // Writing a number into a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_escaped(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(out, item);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_escaped(out, k);
                out.push(b':');
                write_compact(out, item);
            }
            out.push(b'}');
        }
    }
}

/// What serde_json writes for a byte of a string: 0 for the byte itself, `u` for `\u00XX`,
/// or the letter after the backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// A string as a JSON string literal, escaped as serde_json escapes it: `"`, `\\` and the
/// control characters below U+0020, nothing else.
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none of them needs escaping.
        if let Some(chunk) = bytes.get(i..i + 8)
            && let Ok(chunk) = <[u8; 8]>::try_from(chunk)
            && !needs_escape(u64::from_le_bytes(chunk))
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        let escape = ESCAPE[usize::from(b)];
        if escape != 0 {
            out.extend_from_slice(&bytes[start..i]);
            if escape == b'u' {
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', escape]);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `x` is below 0x20, `"` or `\\` (bytes of 0x80 and up,
/// parts of non-ASCII characters, never are).
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below n (n <= 0x80) sets its high bit in `(x - n) & !x`.
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let zero = |y: u64| y.wrapping_sub(ONES) & !y;
    (below_space | zero(quote) | zero(backslash)) & HIGH != 0
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

    /// `compact` writes what serde_json writes, byte for byte: every character that is or
    /// is not escaped, at every position of the eight-byte scan, numbers of every kind, and
    /// nesting.
    #[test]
    fn compact_text_is_serde_jsons() {
        let mut values = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.0),
            json!(-0.0),
            json!(0.1),
            json!(1e300),
            json!(2.5e-308),
            json!(123_456_789.123_456_78),
            json!(""),
            json!([]),
            json!({}),
            json!([[], {}, [{}], {"": []}]),
            json!({"a": [1, "b", {"c": null}], "d\"e": {"f\n": [true, false, 1.5]}}),
            json!("ключ 鍵 🔑 \u{2028}\u{2029} \u{7f} \u{80} \u{ff}"),
        ];
        // Every ASCII character, alone and at each offset of a longer string.
        for c in 0u8..0x80 {
            let c = char::from(c);
            values.push(json!(c.to_string()));
            for pad in 0..17 {
                let s = format!("{}{c}{}", "x".repeat(pad), "y".repeat(16 - pad));
                values.push(json!(s));
                values.push(json!({ s.clone(): s }));
            }
        }
        values.push(json!((0u8..0x80).map(char::from).collect::<String>()));
        values.push(json!("é".repeat(20) + "\"" + &"\u{1}".repeat(9)));
        for v in values {
            assert_eq!(compact(&v), serde_json::to_string(&v).unwrap(), "{v:?}");
        }
    }
}
