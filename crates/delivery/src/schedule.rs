//! When to try again, and when to give up. Pure: every function takes `now` (unix seconds).
//!
//! The delay after attempt `n` (1-based) is `retry_initial * 2^(n-1)`, capped at
//! `retry_max`, plus a jitter of up to an eighth of it. The jitter is drawn from a seed
//! (the worker uses the message id), so that messages deferred by one outage do not all
//! come back in the same second, and so that a test can predict it.
//!
//! A recipient whose attempt fails temporarily past `max_queue_lifetime` after arrival
//! fails for good: its bounce says so.

use std::time::Duration;

use tern_proto::reply::Reply;

/// The retry policy, from `[delivery]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Delay after the first temporary failure.
    pub retry_initial: Duration,
    /// Longest delay between attempts.
    pub retry_max: Duration,
    /// How long a message may stay queued before its deferred recipients fail.
    pub max_queue_lifetime: Duration,
    /// After how long in the queue a recipient still deferred earns a delay notice (for
    /// NOTIFY=DELAY).
    pub delay_warning: Duration,
}

/// What one attempt means for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: delivered, final.
    Delivered,
    /// 4xx (or no answer): try again at `next_attempt`, after `attempts` attempts.
    Deferred {
        /// Unix seconds.
        next_attempt: u64,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// 5xx, or 4xx past the queue lifetime: final, bounce.
    Failed,
}

impl Schedule {
    /// The delay, in whole seconds, after `attempts` attempts (at least 1).
    pub fn backoff(&self, attempts: u32, seed: u64) -> u64 {
        let initial = self.retry_initial.as_secs().max(1);
        let max = self.retry_max.as_secs().max(initial);
        let shift = attempts.saturating_sub(1).min(40);
        let base = initial.saturating_mul(1 << shift).min(max);
        base + mix(seed ^ u64::from(attempts)) % (base / 8 + 1)
    }

    /// Decides a recipient's fate from the reply to an attempt made at `now`, for a message
    /// that arrived at `arrival` and had `attempts_before` attempts already.
    pub fn decide(
        &self,
        reply: &Reply,
        arrival: u64,
        attempts_before: u32,
        now: u64,
        seed: u64,
    ) -> Decision {
        if reply.is_positive() {
            return Decision::Delivered;
        }
        if reply.is_permanent() || self.expired(arrival, now) {
            return Decision::Failed;
        }
        let attempts = attempts_before.saturating_add(1);
        Decision::Deferred {
            next_attempt: now.saturating_add(self.backoff(attempts, seed)),
            attempts,
        }
    }

    /// Whether the deferral of a recipient at `now` is the first one past the delay
    /// warning, so the one that sends the notice. `prev` is the recipient's state before
    /// this attempt, `(next_attempt, attempts)` of its last deferral: that attempt was made
    /// at `next_attempt - backoff(attempts)`, which is exact because the jitter is a
    /// function of the seed. No state needs to record that the notice went out.
    pub fn delay_notice_due(
        &self,
        arrival: u64,
        prev: Option<(u64, u32)>,
        now: u64,
        seed: u64,
    ) -> bool {
        let threshold = arrival.saturating_add(self.delay_warning.as_secs());
        if now < threshold {
            return false;
        }
        match prev {
            None => true,
            Some((next_attempt, attempts)) => {
                next_attempt.saturating_sub(self.backoff(attempts, seed)) < threshold
            }
        }
    }

    /// Whether a message that arrived at `arrival` has outlived the queue lifetime.
    pub fn expired(&self, arrival: u64, now: u64) -> bool {
        now >= arrival.saturating_add(self.max_queue_lifetime.as_secs())
    }
}

/// A 64-bit finaliser (splitmix64): cheap, and every seed bit moves the jitter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::reply::Enhanced;

    const S: Schedule = Schedule {
        retry_initial: Duration::from_secs(60),
        retry_max: Duration::from_secs(3600),
        max_queue_lifetime: Duration::from_secs(5 * 86_400),
        delay_warning: Duration::from_secs(4 * 3600),
    };

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let bases = [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600];
        for (i, base) in bases.iter().enumerate() {
            let attempts = i as u32 + 1;
            for seed in 0..200 {
                let d = S.backoff(attempts, seed);
                assert!(
                    (*base..=base + base / 8).contains(&d),
                    "attempt {attempts}: {d}"
                );
            }
        }
        assert_eq!(
            S.backoff(1_000_000, 7),
            S.backoff(1_000_000, 7),
            "deterministic"
        );
        let spread: std::collections::HashSet<u64> = (0..100).map(|s| S.backoff(3, s)).collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
        let one = Schedule {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(1),
            ..S
        };
        assert_eq!(one.backoff(1, 99), 1);
        assert_eq!(one.backoff(30, 99), 1);
    }

    #[test]
    fn decisions() {
        let ok = Reply::fixed(250, Enhanced(2, 0, 0), "Ok");
        let later = Reply::fixed(451, Enhanced(4, 3, 0), "Later");
        let no = Reply::fixed(550, Enhanced(5, 1, 1), "No");
        let arrival = 1_000_000;
        let now = arrival + 100;
        assert_eq!(S.decide(&ok, arrival, 3, now, 1), Decision::Delivered);
        assert_eq!(S.decide(&no, arrival, 0, now, 1), Decision::Failed);
        match S.decide(&later, arrival, 2, now, 1) {
            Decision::Deferred {
                next_attempt,
                attempts,
            } => {
                assert_eq!(attempts, 3);
                assert_eq!(next_attempt, now + S.backoff(3, 1));
            }
            d => panic!("{d:?}"),
        }
        let end = arrival + 5 * 86_400;
        assert!(matches!(
            S.decide(&later, arrival, 9, end - 1, 1),
            Decision::Deferred { .. }
        ));
        assert_eq!(S.decide(&later, arrival, 9, end, 1), Decision::Failed);
        assert_eq!(S.decide(&ok, arrival, 9, end, 1), Decision::Delivered);
    }

    /// Replays a recipient that is deferred at every attempt: exactly one attempt is the
    /// first past the warning, whatever the seed.
    #[test]
    fn one_delay_notice_per_recipient() {
        let later = Reply::fixed(451, Enhanced(4, 3, 0), "Later");
        let arrival = 1_000_000;
        for seed in 0..50 {
            let mut prev = None;
            let mut now = arrival;
            let mut notices = Vec::new();
            while now < arrival + 86_400 {
                if S.delay_notice_due(arrival, prev, now, seed) {
                    notices.push(now);
                }
                let attempts = prev.map_or(0, |(_, a)| a);
                match S.decide(&later, arrival, attempts, now, seed) {
                    Decision::Deferred {
                        next_attempt,
                        attempts,
                    } => {
                        prev = Some((next_attempt, attempts));
                        now = next_attempt;
                    }
                    d => panic!("{d:?}"),
                }
            }
            assert_eq!(notices.len(), 1, "seed {seed}: {notices:?}");
            assert!(notices[0] >= arrival + 4 * 3600);
            assert!(notices[0] < arrival + 4 * 3600 + 3600 + 450);
        }
        // A worker that was down past the warning: the first attempt sends it.
        assert!(S.delay_notice_due(arrival, None, arrival + 5 * 3600, 1));
        assert!(!S.delay_notice_due(arrival, None, arrival + 60, 1));
    }
}
