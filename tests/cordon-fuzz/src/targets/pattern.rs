//! EventBridge's content filtering: a pattern (then, after the separator, an event) parsed
//! and validated as `PutRule` would, and matched; what it accepts also generates its
//! example events, which it must match.
use cordon_eventbridge::EventPattern;
use serde_json::{Value, json};

use crate::input::split;

pub(crate) fn run(data: &[u8]) {
    let (pattern, event) = split(data);
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return;
    };
    let Ok(pattern) = EventPattern::parse_str(pattern) else {
        return;
    };
    let event: Value = serde_json::from_slice(event).unwrap_or_else(|_| json!({}));
    let _ = pattern.matches(&event);
    // A pattern with thousands of alternatives is refused by AWS; keep generation cheap.
    if pattern.branch_count() <= 64 {
        for example in pattern.examples(&event) {
            assert!(
                pattern.matches(&example.event),
                "an example of {} does not match it: {}",
                pattern.source(),
                example.event
            );
        }
    }
}
