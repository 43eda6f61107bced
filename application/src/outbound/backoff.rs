//! How long to wait before the next attempt: exponential back-off with jitter. Pure: the
//! caller brings the attempt number and a random sample, so tests and replays are exact.

use std::time::Duration;

/// Exponential back-off with "equal jitter": retry `n` (1-based) waits a random time between
/// half and all of `min(max, base · 2^(n-1))`. Half is fixed so that a burst of failures
/// (Meta's throughput limit) still spreads out and never retries at once; the random half
/// keeps many workers from retrying in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s, ... up to 5 minutes.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait before retry `attempt` (1 is the first retry; 0 counts as 1). `jitter` is a
    /// sample from the caller's random source in `[0, 1]` (out-of-range values are clamped,
    /// NaN counts as 0). A server's `Retry-After` (`after`) is a floor: never retry sooner.
    pub fn delay(&self, attempt: u32, jitter: f64, after: Option<Duration>) -> Duration {
        let exponent = attempt.max(1) - 1;
        let factor = 1u128.checked_shl(exponent.min(127)).unwrap_or(u128::MAX);
        let cap = self
            .base
            .as_nanos()
            .saturating_mul(factor)
            .min(self.max.as_nanos());
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = cap / 2;
        // `as` saturates for floats; `half - 0` is exact, the random part may round.
        let random = ((cap - half) as f64 * jitter) as u128;
        let wait = nanos(half.saturating_add(random).min(cap));
        after.map_or(wait, |after| wait.max(after))
    }
}

fn nanos(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10^9 and fits.
    let sub = u32::try_from(n % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}
