//! One reading of the clock for a stretch of synchronous work.
//!
//! Between two waits the driver steps frames, takes up answers and records events, all
//! within microseconds. Each event used to read the clock for its timestamp (38 readings an
//! execution of the incident workflow, a tenth of the engine's time in the bench); now the
//! first reading of a stretch serves the rest of it. AWS's timestamps are in milliseconds,
//! so the history reads the same.
//!
//! A stretch ends, and the next reading is fresh, where time can pass: before the driver
//! waits or returns, and after a task's handler ran inline (`task.rs` `start_dispatch`).
//! Outside the driver (a callback applied, a start, a redrive) every reading is fresh.
use chrono::{DateTime, Utc};

use crate::clock::Clock;

#[derive(Debug, Clone, Copy, Default)]
pub(super) enum StepTime {
    /// Not in a stretch: every reading goes to the clock.
    #[default]
    Off,
    /// In a stretch that has not read the clock yet.
    Armed,
    /// In a stretch that read the clock at this time.
    At(DateTime<Utc>),
}

impl StepTime {
    /// The stretch's time, read from `clock` if it has none yet.
    pub(super) fn now(&mut self, clock: &dyn Clock) -> DateTime<Utc> {
        match *self {
            StepTime::Off => clock.now(),
            StepTime::Armed => {
                let now = clock.now();
                *self = StepTime::At(now);
                now
            }
            StepTime::At(now) => now,
        }
    }

    /// A stretch begins: the next reading is fresh and serves until [`StepTime::end`].
    pub(super) fn begin(&mut self) {
        *self = StepTime::Armed;
    }

    /// Time may have passed within the stretch (a handler ran): the next reading is fresh.
    pub(super) fn refresh(&mut self) {
        if let StepTime::At(_) = self {
            *self = StepTime::Armed;
        }
    }

    /// The stretch is over: every reading goes to the clock.
    pub(super) fn end(&mut self) {
        *self = StepTime::Off;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::TimeZone;

    use super::*;

    /// A clock that moves a second at every reading.
    struct Ticking(AtomicI64);

    #[async_trait::async_trait]
    impl Clock for Ticking {
        fn now(&self) -> DateTime<Utc> {
            let s = self.0.fetch_add(1, Ordering::SeqCst);
            Utc.timestamp_opt(s, 0).single().unwrap()
        }
        async fn sleep_until(&self, _: DateTime<Utc>) {}
    }

    #[test]
    fn a_stretch_reads_the_clock_once_until_refreshed_or_ended() {
        let clock = Ticking(AtomicI64::new(0));
        let mut t = StepTime::default();
        assert_eq!(t.now(&clock).timestamp(), 0);
        assert_eq!(t.now(&clock).timestamp(), 1, "off: every reading is fresh");
        t.begin();
        assert_eq!(t.now(&clock).timestamp(), 2);
        assert_eq!(
            t.now(&clock).timestamp(),
            2,
            "within a stretch: the same time"
        );
        t.refresh();
        assert_eq!(t.now(&clock).timestamp(), 3, "after a handler ran: fresh");
        assert_eq!(t.now(&clock).timestamp(), 3);
        t.end();
        assert_eq!(t.now(&clock).timestamp(), 4);
        assert_eq!(t.now(&clock).timestamp(), 5);
    }
}
