//! An invocation's deadline: the moment Lambda ends it (`Sandbox.Timedout`, which the
//! workflow does not retry: the incident would go to the failure path).
//!
//! The runner ([`crate::function::Running::invoke_json_before`]) stops the handler
//! [`MARGIN`] before that moment and answers `Cordon.Transient`, which the workflow's
//! Retry does back off and try again: under throttling a handler may spend its whole
//! invocation in the SDK's retries, and that must cost a retry, not the incident. Code
//! that must not be cut between two calls (a write that records a publish) asks
//! [`remaining`] how long it still has.
//!
//! On AWS the deadline is the Lambda context's; the local stack gives each invocation its
//! template `Timeout` from the moment it starts, and ends it there as Lambda does.
use std::future::Future;
use std::time::Duration;

use cordon_core::TaskError;
use tokio::time::Instant;

/// How long before the deadline the runner stops a handler: time to answer, and to write
/// the invocation's metrics line, before Lambda ends the invocation.
pub const MARGIN: Duration = Duration::from_secs(2);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` until `deadline` minus [`MARGIN`]; if it is not done by then it is dropped
/// (the call it was making is abandoned, as a timed-out Lambda's would be) and the answer
/// is `Cordon.Transient`. Within `work`, [`remaining`] counts down to that cut.
///
/// A deadline that leaves no more than the margin when the invocation starts is not one
/// Lambda gives (a function's timeout is at least a second, and the margin is taken from
/// it only when there is more): some local emulators send none, or one already past.
/// `work` then runs without a cut.
pub async fn within<T>(
    deadline: Instant,
    work: impl Future<Output = Result<T, TaskError>>,
) -> Result<T, TaskError> {
    let cut = deadline.checked_sub(MARGIN).unwrap_or(deadline);
    if cut <= Instant::now() {
        return work.await;
    }
    DEADLINE
        .scope(cut, async {
            match tokio::time::timeout_at(cut, work).await {
                Ok(result) => result,
                Err(_) => Err(TaskError::transient(
                    "invocation",
                    format!(
                        "stopped {} s before the function's timeout, with work left (AWS is \
                         slow or throttling): the workflow retries the step with backoff",
                        MARGIN.as_secs()
                    ),
                )),
            }
        })
        .await
}

/// How long the current invocation may still work before the runner cuts it, or `None`
/// outside an invocation with a deadline (tests calling a handler directly).
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|cut| cut.saturating_duration_since(Instant::now()))
        .ok()
}

/// The deadline a Lambda context gives, in milliseconds since the Unix epoch, as an
/// instant of this process's clock.
pub fn from_epoch_millis(deadline_ms: u64) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_cut_is_stopped_as_transient() {
        // The cut is MARGIN before the deadline: here 300 ms from now.
        let deadline = Instant::now() + MARGIN + Duration::from_millis(300);
        let slow = within(deadline, async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, TaskError>(1)
        })
        .await;
        let e = slow.expect_err("cut");
        assert!(e.is_transient(), "{e}");
        assert!(Instant::now() < deadline, "stopped before the deadline");

        let deadline = Instant::now() + MARGIN + Duration::from_secs(10);
        let left = within(deadline, async { Ok::<_, TaskError>(remaining()) })
            .await
            .expect("done in time")
            .expect("inside an invocation");
        assert!(
            left > Duration::from_secs(9) && left <= Duration::from_secs(10),
            "{left:?}"
        );
        assert_eq!(remaining(), None, "no deadline outside an invocation");

        // An emulator's deadline already past (or within the margin): no cut.
        let past = Instant::now();
        let done = within(past, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, TaskError>(remaining())
        })
        .await
        .expect("not cut");
        assert_eq!(done, None, "no countdown without a usable deadline");
    }

    #[test]
    fn an_epoch_deadline_becomes_an_instant() {
        let in_ten = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64
            + 10_000;
        let left = from_epoch_millis(in_ten).saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_millis(9_000) && left <= Duration::from_secs(10),
            "{left:?}"
        );
        assert_eq!(
            from_epoch_millis(0).saturating_duration_since(Instant::now()),
            Duration::ZERO,
            "a deadline in the past is now"
        );
    }
}
