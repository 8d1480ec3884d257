//! Pacing requests under a provider's rolling-window limit: a generic cell
//! rate (GCRA) with a small burst, tuned so that no rolling window the
//! provider counts ever sees more than its limit, while the steady rate stays
//! within a few percent of it.

use std::{num::NonZeroU32, time::Duration};

use governor::Quota;

/// Share of the window kept free for network jitter: requests admitted on
/// schedule may reach the provider up to this much of the window closer
/// together without tripping the limit (400 ms of 10 s; 2.4 s of a minute)…
const JITTER_SHARE: u32 = 4;

/// … and never less than this (a budget shared through the database admits
/// a request a little before it leaves, and answers on a loaded machine
/// were seen to vary by 250 ms: 200 ms of a one-second window).
const MIN_JITTER: Duration = Duration::from_millis(200);

/// How requests are paced: one every `period`, with up to `burst` at once.
///
/// Admitting one request every `p` after a burst of `b`, a rolling window of
/// length `w` (half-open, as providers count) sees at most
/// `b − 1 + ⌈w / p⌉` requests. With `p = w · (1 + j) / (limit − b + 1)` that
/// is the limit even when requests arrive up to `j · w` closer together
/// than they were sent, and the steady rate is `(limit − b + 1) / (1 + j)`
/// per window: 95 % of 110 per 10 s, 95 % of 100 a minute, 83 % of 5 a
/// second (where the jitter floor weighs most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Time between requests once the burst is spent.
    pub period: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Pace {
    /// The pace that keeps every rolling `window` within `limit` requests at
    /// the highest steady rate: limits of 20 or more get a burst of two,
    /// which absorbs a late caller without losing its turn; smaller ones none.
    pub fn within(limit: u32, window: Duration) -> Self {
        Self::bursting(limit, window, if limit >= 20 { 2 } else { 1 })
    }

    /// The pace that keeps every rolling `window` within `limit` requests
    /// with up to `burst` at once (a few calls answer sooner; the steady
    /// rate gives up `burst − 2` of the window).
    pub fn bursting(limit: u32, window: Duration, burst: u32) -> Self {
        let limit = limit.max(1);
        let burst = burst.clamp(1, limit);
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
    /// jitter, and the steady rate uses at least 95 % of the limit (80 % of
    /// a one-second window's; 85 % with a burst of a tenth).
    #[test]
    fn pace_fills_the_window_and_never_exceeds_it() {
        let cases = [
            (
                Pace::within(110, Duration::from_secs(10)),
                110,
                10_000.0,
                0.95,
            ),
            (Pace::within(5, Duration::from_secs(1)), 5, 1_000.0, 0.80),
            (
                Pace::within(100, Duration::from_secs(60)),
                100,
                60_000.0,
                0.95,
            ),
            (
                Pace::bursting(100, Duration::from_secs(60), 10),
                100,
                60_000.0,
                0.85,
            ),
            (
                Pace::bursting(600, Duration::from_secs(60), 60),
                600,
                60_000.0,
                0.85,
            ),
        ];
        for (pace, limit, window, share) in cases {
            let period = pace.period.as_secs_f64() * 1000.0;
            let jitter = (window * 0.03_f64).max(190.0);
            let admitted = f64::from(pace.burst - 1) + ((window + jitter) / period).ceil();
            assert!(admitted <= f64::from(limit), "{pace:?}: {admitted}");
            let steady = window / period;
            assert!(
                steady >= f64::from(limit) * share,
                "{pace:?}: {steady} a window"
            );
        }
    }
}
