//! Time and randomness, both injectable so that tests are deterministic and take no real time.
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

/// `d` as a chrono duration, saturating at the longest one.
pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `t` plus `s` seconds; `None` past the end of representable time.
pub(crate) fn add_secs(t: DateTime<Utc>, s: u64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(chrono::Duration::seconds(i64::try_from(s).ok()?))
}

/// The engine's source of time.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits until `deadline`. The engine calls this only when it has nothing else to do.
    async fn sleep_until(&self, deadline: DateTime<Utc>);
    /// A virtual clock jumps instead of sleeping.
    fn is_virtual(&self) -> bool {
        false
    }
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let wait = (deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
    }
}

/// A clock that only moves when told to, or when the engine is idle and sleeps until its next
/// timer: Wait states, retry backoff and approval timeouts of hours take no real time.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A virtual clock starting at 2024-01-01T00:00:00Z.
    pub fn at_epoch() -> Self {
        Self::new(
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }

    /// Moves the clock forward to `t` (never backwards).
    pub fn advance_to(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > *now {
            *now = t;
        }
    }

    pub fn advance_by(&self, d: Duration) {
        self.advance_to(self.now() + to_chrono(d));
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::at_epoch()
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        self.advance_to(deadline);
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

/// Randomness for task tokens, execution names and retry jitter; seedable for determinism.
#[derive(Debug)]
pub struct Randomness {
    rng: Mutex<fastrand::Rng>,
    /// Task tokens and names from the operating system's CSPRNG ([`Randomness::from_os`]).
    os: bool,
}

impl Randomness {
    pub fn new() -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::new()),
            os: false,
        }
    }

    pub fn seeded(seed: u64) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            os: false,
        }
    }

    /// Task tokens and execution names from the operating system's random generator, as a
    /// service whose tokens are bearer credentials needs (a token resumes a waiting
    /// execution); retry jitter stays on the fast generator.
    pub fn from_os() -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::new()),
            os: true,
        }
    }

    /// `N` bytes from the OS when [`Randomness::from_os`], else from the fast generator.
    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        if self.os {
            // The OS generator failing is not recoverable for a service that issues
            // credentials; getrandom documents it as practically never happening.
            if getrandom::fill(&mut b).is_ok() {
                return b;
            }
            panic!("the operating system's random number generator failed");
        }
        self.with(|r| {
            for x in b.iter_mut() {
                *x = r.u8(..);
            }
        });
        b
    }

    fn with<T>(&self, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rng)
    }

    /// A uniformly distributed value in `[0, 1)`.
    pub fn unit(&self) -> f64 {
        self.with(|r| r.f64())
    }

    /// An opaque task token carrying 256 random bits.
    pub fn task_token(&self) -> String {
        let bytes: [u8; 32] = self.bytes();
        let mut s = String::with_capacity(68);
        s.push_str("AQCE");
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// A random RFC 4122 version-4 UUID.
    pub fn uuid(&self) -> String {
        let bytes: [u8; 16] = self.bytes();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

impl Default for Randomness {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_clock_jumps_and_never_goes_back() {
        let c = VirtualClock::at_epoch();
        let t0 = c.now();
        c.sleep_until(t0 + chrono::Duration::hours(5)).await;
        assert_eq!(c.now() - t0, chrono::Duration::hours(5));
        c.advance_to(t0);
        assert_eq!(c.now() - t0, chrono::Duration::hours(5));
        c.advance_by(Duration::from_secs(1));
        assert_eq!(c.now() - t0, chrono::Duration::seconds(5 * 3600 + 1));
    }

    #[test]
    fn seeded_randomness_is_deterministic() {
        let a = Randomness::seeded(7);
        let b = Randomness::seeded(7);
        assert_eq!(a.task_token(), b.task_token());
        assert_eq!(a.uuid(), b.uuid());
        assert_ne!(a.task_token(), a.task_token());
        assert_eq!(a.task_token().len(), 68);
    }

    #[test]
    fn os_randomness_makes_distinct_tokens_of_the_same_shape() {
        let os = Randomness::from_os();
        let (a, b) = (os.task_token(), os.task_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 68);
        assert!(a.starts_with("AQCE") && a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(os.uuid(), os.uuid());
    }
}
