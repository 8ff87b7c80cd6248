//! A token bucket: IAM's throttling of mutating calls, as a client meets it.
//!
//! IAM is a global control-plane service whose write calls are throttled per account with
//! `Throttling: Rate exceeded`. AWS does not publish the per-action rates (the IAM User
//! Guide's "IAM and AWS STS quotas" lists object quotas only), so the rate and burst are
//! the caller's: the defaults are deliberately low, the regime an attacker's scripted
//! burst and Cordon's containment share.
use tokio::time::Instant;

/// A bucket of `burst` tokens refilled at `per_second`; a call that finds it empty is
/// throttled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl RateLimit {
    /// IAM's mutating calls in the burst test and the bench: 20 per second, bursts of 40.
    pub const IAM_MUTATING: RateLimit = RateLimit {
        per_second: 20.0,
        burst: 40,
    };
}

/// The bucket's state.
#[derive(Debug)]
pub(crate) struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(limit: RateLimit) -> Bucket {
        Bucket {
            limit,
            tokens: f64::from(limit.burst),
            at: Instant::now(),
        }
    }

    /// Takes a token if there is one at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at);
        self.at = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.limit.per_second)
            .min(f64::from(self.limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// How long until the next token.
    fn refill_time(bucket: &Bucket) -> Duration {
        Duration::from_secs_f64(((1.0 - bucket.tokens).max(0.0)) / bucket.limit.per_second)
    }

    #[test]
    fn a_burst_drains_the_bucket_and_time_refills_it() {
        let start = Instant::now();
        let mut bucket = Bucket::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        bucket.at = start;
        assert!((0..3).all(|_| bucket.take(start)), "the burst is allowed");
        assert!(!bucket.take(start), "the fourth call at once is throttled");
        let wait = refill_time(&bucket).as_secs_f64();
        assert!((wait - 0.1).abs() < 1e-6, "{wait}");
        assert!(!bucket.take(start + Duration::from_millis(50)));
        assert!(bucket.take(start + Duration::from_millis(110)), "refilled");
        // Never more than the burst, however long it rested.
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.take(later)));
        assert!(!bucket.take(later));
    }
}
