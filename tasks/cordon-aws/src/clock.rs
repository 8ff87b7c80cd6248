//! The injectable clock every handler reads the time from, so tests are deterministic.
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// An injectable clock, so handler tests are deterministic.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock stopped at `at`.
pub fn fixed_clock(at: DateTime<Utc>) -> Clock {
    Arc::new(move || at)
}
