//! The compiled form of a pattern: per-field matchers and how each one tests a leaf value.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Number, Value};

use super::error::{PatternError, PatternErrorKind, err};

/// Numeric matching (and numeric anything-but) is limited to this magnitude.
pub(super) const NUMERIC_LIMIT: f64 = 5.0e9;

/// One `$or` alternative: dotted path → matchers (OR). Sorted by path, which
/// is also the order EventBridge evaluates fields in.
pub(super) type Branch = BTreeMap<String, Vec<Matcher>>;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Matcher {
    Exact(Literal),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(NumericRange),
    Cidr(Cidr),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    /// The string, and the address when it is an IP (compared as addresses,
    /// so `::1` equals `0:0:0:0:0:0:0:1`).
    String(String, Option<IpAddr>),
    Number(Number),
    Bool(bool),
    Null,
}

impl Literal {
    pub(super) fn string(s: &str) -> Self {
        Literal::String(s.to_owned(), s.parse().ok())
    }

    /// The value as it appears in an event.
    pub(super) fn to_json(&self) -> Value {
        match self {
            Literal::String(s, _) => Value::String(s.clone()),
            Literal::Number(n) => Value::Number(n.clone()),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Null => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<i64>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// Bounds in comparable (micro-unit) form; `true` = inclusive.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct NumericRange {
    pub(super) lower: Option<(i64, bool)>,
    pub(super) upper: Option<(i64, bool)>,
}

impl NumericRange {
    /// A number in the range (in event form), for examples.
    pub(super) fn example(&self) -> Value {
        let micro = match (self.lower, self.upper) {
            (Some((b, true)), _) => b,
            (Some((b, false)), _) => b + 1,
            (None, Some((b, true))) => b,
            (None, Some((b, false))) => b - 1,
            (None, None) => 0,
        };
        // Micro-units back to a number: exact for whole numbers, six places otherwise.
        if micro % 1_000_000 == 0 {
            Value::from(micro / 1_000_000)
        } else {
            #[allow(clippy::cast_precision_loss)]
            let f = micro as f64 / 1e6;
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
    }

    pub(super) fn contains(&self, v: i64) -> bool {
        let above = match self.lower {
            Some((b, true)) => v >= b,
            Some((b, false)) => v > b,
            None => true,
        };
        let below = match self.upper {
            Some((b, true)) => v <= b,
            Some((b, false)) => v < b,
            None => true,
        };
        above && below
    }
}

/// A number in EventBridge's comparable form: six decimal places, ±5.0e9.
pub(super) fn comparable(n: &Number) -> Option<i64> {
    let f = n.as_f64()?;
    if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&f) {
        return None;
    }
    // In range, so |f * 1e6| <= 5e15 < i64::MAX: the cast cannot saturate.
    #[allow(clippy::cast_possible_truncation)]
    Some((f * 1e6).round() as i64)
}

pub(super) fn comparable_checked(n: &Number, path: &str) -> Result<i64, PatternError> {
    comparable(n).ok_or_else(|| err(path, PatternErrorKind::NumberOutOfRange(n.to_string())))
}

pub(super) fn fold(s: &str) -> String {
    s.to_lowercase()
}

pub(super) fn numbers_equal(pattern: &Number, event: &Number) -> bool {
    match (comparable(pattern), comparable(event)) {
        (Some(a), Some(b)) => a == b,
        _ => pattern == event,
    }
}

impl Matcher {
    /// Does this matcher accept `value`, a leaf (never an array or object)?
    pub(super) fn matches_leaf(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(lit) => match (lit, value) {
                (Literal::String(p, ip), Value::String(e)) => {
                    p == e || ip.is_some_and(|ip| e.parse::<IpAddr>().is_ok_and(|e| e == ip))
                }
                (Literal::Number(p), Value::Number(e)) => numbers_equal(p, e),
                (Literal::Bool(p), Value::Bool(e)) => p == e,
                (Literal::Null, Value::Null) => true,
                _ => false,
            },
            Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| fold(s).starts_with(p.as_str())),
            Matcher::SuffixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| fold(s).ends_with(p.as_str())),
            Matcher::EqualsIgnoreCase(p) => value.as_str().is_some_and(|s| fold(s) == *p),
            Matcher::Wildcard(w) => value.as_str().is_some_and(|s| w.matches(s)),
            Matcher::AnythingBut(ab) => !ab.excludes(value),
            Matcher::Numeric(range) => value
                .as_number()
                .and_then(comparable)
                .is_some_and(|v| range.contains(v)),
            Matcher::Cidr(net) => value
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(ip)),
            // Presence is decided by the caller: reaching a leaf means it exists.
            Matcher::Exists(wanted) => *wanted,
        }
    }
}

impl AnythingBut {
    /// True when `value` is one of the excluded values. Values of another type
    /// (a number against a string list, null, booleans) are never excluded.
    pub(super) fn excludes(&self, value: &Value) -> bool {
        match self {
            AnythingBut::Strings(list) => {
                value.as_str().is_some_and(|s| list.iter().any(|x| x == s))
            }
            AnythingBut::Numbers(list) => value
                .as_number()
                .and_then(comparable)
                .is_some_and(|v| list.contains(&v)),
            AnythingBut::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            AnythingBut::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            AnythingBut::EqualsIgnoreCase(list) => {
                value.as_str().is_some_and(|s| list.contains(&fold(s)))
            }
            AnythingBut::Wildcard(list) => value
                .as_str()
                .is_some_and(|s| list.iter().any(|w| w.matches(s))),
        }
    }
}

/// A wildcard pattern split on its unescaped `*`s.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Wildcard {
    /// Literal segments; a `*` sits between each consecutive pair.
    segments: Vec<String>,
}

impl Wildcard {
    pub(super) fn parse(pattern: &str, path: &str) -> Result<Self, PatternError> {
        let invalid = |reason: String| {
            err(
                path,
                PatternErrorKind::Wildcard {
                    pattern: pattern.to_owned(),
                    reason,
                },
            )
        };
        let mut segments = vec![String::new()];
        let mut chars = pattern.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '*' => {
                    if chars.peek().is_some_and(|&(_, n)| n == '*') {
                        return Err(invalid(format!(
                            "consecutive wildcard characters at position {pos}"
                        )));
                    }
                    segments.push(String::new());
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => {
                        if let Some(last) = segments.last_mut() {
                            last.push(escaped);
                        }
                    }
                    _ => {
                        return Err(invalid(format!(
                            "invalid escape at position {pos}: only \\* and \\\\ are allowed"
                        )));
                    }
                },
                other => {
                    if let Some(last) = segments.last_mut() {
                        last.push(other);
                    }
                }
            }
        }
        Ok(Self { segments })
    }

    /// A string the wildcard matches: its literal segments, with nothing for each `*`.
    pub(super) fn example(&self) -> String {
        self.segments.concat()
    }

    pub(super) fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == first;
        };
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        // Between the fixed head and tail, place the middle segments greedily.
        let mut window = &s[first.len()..s.len() - last.len()];
        for seg in middle {
            match window.find(seg.as_str()) {
                Some(at) => window = &window[at + seg.len()..],
                None => return false,
            }
        }
        true
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cidr {
    v6: bool,
    network: u128,
    mask: u128,
}

impl Cidr {
    pub(super) fn parse(s: &str) -> Option<Self> {
        let (addr, len) = s.split_once('/')?;
        let len: u32 = len.parse().ok()?;
        let (v6, bits, width) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (true, u128::from(a), 128),
        };
        if len > width {
            return None;
        }
        let host_bits = width - len;
        let full = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        let mask = if host_bits >= 128 {
            0
        } else {
            (full >> host_bits) << host_bits
        };
        Some(Self {
            v6,
            network: bits & mask,
            mask,
        })
    }

    /// The network's first address, as text.
    pub(super) fn example(&self) -> String {
        if self.v6 {
            std::net::Ipv6Addr::from(self.network).to_string()
        } else {
            // An IPv4 network fits in 32 bits.
            std::net::Ipv4Addr::from(u32::try_from(self.network).unwrap_or(0)).to_string()
        }
    }

    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        let (v6, bits) = match ip {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, u128::from(a)),
        };
        v6 == self.v6 && bits & self.mask == self.network
    }
}

// ---------------------------------------------------------------------------
