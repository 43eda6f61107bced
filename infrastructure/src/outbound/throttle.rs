//! In-process pacing and the per-tenant circuit breaker.
//!
//! - Each business number sends at most `per_number_per_second` messages a second from this
//!   process: sends are spaced evenly (Meta's default throughput is 80 a second per number).
//! - Each customer gets at most one message every `recipient_gap` (the queue already sends one
//!   customer's replies one at a time and in order).
//! - A tenant whose sends fail `breaker_failures` times in a row (transient failures, not
//!   refusals) opens its breaker: the dispatcher holds the tenant for a cool-down, then the
//!   next send probes (half-open); a success closes it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Throttle {
    number_spacing: Duration,
    recipient_gap: Duration,
    breaker_failures: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Number -> the earliest instant of its next send.
    numbers: HashMap<String, Instant>,
    /// Customer subject -> the earliest instant of their next message.
    recipients: HashMap<String, Instant>,
    /// Tenant -> consecutive transient failures.
    failures: HashMap<String, u32>,
}

const LIMIT: usize = 100_000;

impl Throttle {
    pub fn new(per_number_per_second: u32, recipient_gap: Duration, breaker_failures: u32) -> Self {
        Self {
            number_spacing: Duration::from_secs(1) / per_number_per_second.max(1),
            recipient_gap,
            breaker_failures: breaker_failures.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Reserves the next send slot for `number` and `recipient`; returns how long to wait.
    pub fn reserve(&self, number: &str, recipient: &str) -> Duration {
        let now = Instant::now();
        let Ok(mut state) = self.state.lock() else {
            return Duration::ZERO;
        };
        if state.recipients.len() > LIMIT {
            state.recipients.retain(|_, at| *at > now);
        }
        let number_at = state.numbers.get(number).copied().unwrap_or(now).max(now);
        let recipient_at = state
            .recipients
            .get(recipient)
            .copied()
            .unwrap_or(now)
            .max(now);
        let at = number_at.max(recipient_at);
        state
            .numbers
            .insert(number.to_string(), at + self.number_spacing);
        state
            .recipients
            .insert(recipient.to_string(), at + self.recipient_gap);
        at - now
    }

    /// A send of `tenant` went through (or was refused by Meta: the service answered).
    pub fn succeeded(&self, tenant: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.failures.remove(tenant);
        }
    }

    /// A transient failure of `tenant`; true when the breaker opens now.
    pub fn failed(&self, tenant: &str) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let count = state.failures.entry(tenant.to_string()).or_default();
        *count += 1;
        if *count >= self.breaker_failures {
            state.failures.remove(tenant);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_from_one_number_are_spaced() {
        let throttle = Throttle::new(10, Duration::ZERO, 3);
        assert_eq!(throttle.reserve("n", "a"), Duration::ZERO);
        let second = throttle.reserve("n", "b");
        assert!(second > Duration::from_millis(90) && second <= Duration::from_millis(100));
        assert_eq!(throttle.reserve("other", "c"), Duration::ZERO);
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_only() {
        let throttle = Throttle::new(80, Duration::ZERO, 3);
        assert!(!throttle.failed("t"));
        assert!(!throttle.failed("t"));
        throttle.succeeded("t");
        assert!(!throttle.failed("t"));
        assert!(!throttle.failed("t"));
        assert!(throttle.failed("t"));
        assert!(!throttle.failed("t"));
    }
}
