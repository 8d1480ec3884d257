//! Pacing requests under a provider's rolling-window limit: a generic cell
//! rate (GCRA) with a small burst, tuned so that no rolling window the
//! provider counts ever sees more than its limit, while the steady rate stays
//! within a few percent of it.

use std::{num::NonZeroU32, time::Duration};

use governor::Quota;

/// Share of the window kept free for network jitter: requests admitted on
/// schedule may reach the provider up to this much of the window closer
/// together without tripping the limit (300 ms of 10 s; 1.8 s of a minute)…
const JITTER_SHARE: u32 = 3;

/// … and never less than this (a budget shared through the database admits
/// a request a few milliseconds before it leaves, and a busy machine adds
/// more: 100 ms of a one-second window).
const MIN_JITTER: Duration = Duration::from_millis(100);

/// How requests are paced: one every `period`, with up to `burst` at once.
///
/// Admitting one request every `p` after a burst of `b`, a rolling window of
/// length `w` (half-open, as providers count) sees at most
/// `b − 1 + ⌈w / p⌉` requests. With `p = w · (1 + j) / (limit − b + 1)` that
/// is the limit even when requests arrive up to `j · w` closer together
/// than they were sent, and the steady rate is `(limit − b + 1) / (1 + j)`
/// per window: 96 % of 110 per 10 s, 96 % of 100 a minute, 91 % of 5 a
/// second (where the jitter floor weighs most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Time between requests once the burst is spent.
    pub period: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Pace {
    /// The pace that keeps every rolling `window` within `limit` requests.
    /// Limits of 20 or more get a burst of two, which absorbs a late caller
    /// without losing its turn; smaller ones none.
    pub fn within(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1);
        let burst = if limit >= 20 { 2 } else { 1 };
        let room = window + (window * JITTER_SHARE / 100).max(MIN_JITTER);
        Self {
            period: room / (limit - burst + 1),
            burst,
        }
    }

    /// The same pace as a `governor` quota.
    pub fn quota(self) -> Quota {
        Quota::with_period(self.period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::new(self.burst).expect("burst is at least 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admissions in any window never exceed the limit, with room for
    /// jitter, and the steady rate uses at least 95 % of the limit (90 % of
    /// a one-second window's).
    #[test]
    fn pace_fills_the_window_and_never_exceeds_it() {
        for (limit, window, share) in [
            (110, 10_000u64, 0.95),
            (5, 1_000, 0.90),
            (100, 60_000, 0.95),
            (600, 60_000, 0.95),
        ] {
            let pace = Pace::within(limit, Duration::from_millis(window));
            let period = pace.period.as_secs_f64() * 1000.0;
            let jitter = (window as f64 * 0.02).max(90.0);
            let admitted = f64::from(pace.burst - 1) + ((window as f64 + jitter) / period).ceil();
            assert!(admitted <= f64::from(limit), "{limit}/{window}: {admitted}");
            let steady = window as f64 / period;
            assert!(
                steady >= f64::from(limit) * share,
                "{limit}/{window}: {steady} a window"
            );
        }
    }
}
