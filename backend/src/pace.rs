//! Pacing requests under a provider's rolling-window limit, so that no
//! rolling window the provider counts ever sees more than its limit while
//! the steady rate stays within a few percent of it: a generic cell rate
//! (GCRA, [`Pace`]) for budgets shared through the database (HubSpot's), and
//! a log of the last sends ([`WindowPace`]) for a limit one process keeps
//! (a Holded key's), which allows a burst without giving up steady rate.

use std::{collections::VecDeque, num::NonZeroU32, sync::Mutex, time::Duration};

use governor::Quota;
use tokio::time::Instant;

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
        let limit = limit.max(1);
        let burst = if limit >= 20 { 2 } else { 1 };
        Self {
            period: room(window) / (limit - burst + 1),
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

/// A provider's window with the room kept for jitter.
fn room(window: Duration) -> Duration {
    window + (window * JITTER_SHARE / 100).max(MIN_JITTER)
}

/// Pacing by remembering when the last `limit` requests went: a request goes
/// once the one `limit` requests before it left a window (with room for
/// jitter) ago, spaced by a cell rate of the limit over that window with up
/// to `burst` at once. No rolling window sees more than the limit, and a long
/// run keeps the steady rate at the limit less the jitter room (96 % of 600
/// a minute) whatever the burst, where a [`Pace`] gives the burst up from
/// its steady rate. For a limit one process keeps (the last `limit` instants
/// in memory).
#[derive(Debug)]
pub struct WindowPace {
    limit: usize,
    span: Duration,
    /// Time between requests once the burst is spent.
    period: Duration,
    /// How far ahead of the cell rate a request may go (the burst).
    tolerance: Duration,
    state: Mutex<Sends>,
}

/// What a [`WindowPace`] remembers.
#[derive(Debug, Default)]
struct Sends {
    /// The last `limit` sends within the window.
    recent: VecDeque<Instant>,
    /// When the cell rate would next admit a request (GCRA's theoretical
    /// arrival time).
    next_due: Option<Instant>,
}

impl WindowPace {
    /// At most `limit` requests per rolling `window`, `burst` at once.
    pub fn new(limit: u32, window: Duration, burst: u32) -> Self {
        let limit = limit.max(1);
        let span = room(window);
        let period = span / limit;
        Self {
            limit: limit as usize,
            span,
            period,
            tolerance: period * (burst.clamp(1, limit) - 1),
            state: Mutex::new(Sends::default()),
        }
    }

    /// Waits until a request may go, and counts it as sent.
    pub async fn until_ready(&self) {
        loop {
            let wait = self.admit(Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts a request sent at `now` if it may go (zero), else how long to wait.
    fn admit(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Sends { recent, next_due } = &mut *state;
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.span)
        {
            recent.pop_front();
        }
        let window_wait = match recent.front() {
            Some(oldest) if recent.len() >= self.limit => {
                self.span.saturating_sub(now.duration_since(*oldest))
            }
            _ => Duration::ZERO,
        };
        let due = next_due.unwrap_or(now);
        let rate_wait = due
            .checked_sub(self.tolerance)
            .map_or(Duration::ZERO, |earliest| {
                earliest.saturating_duration_since(now)
            });
        let wait = window_wait.max(rate_wait);
        if wait.is_zero() {
            recent.push_back(now);
            *next_due = Some(due.max(now) + self.period);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window never sees more than the limit, even right after a burst,
    /// at most the burst goes at once, and a long run goes at the limit over
    /// the window with its room (requests sent as soon as allowed).
    #[test]
    fn a_window_pace_keeps_every_window_within_the_limit_at_its_full_rate() {
        let pace = WindowPace::new(10, Duration::from_secs(1), 5);
        let span = room(Duration::from_secs(1));
        let started = Instant::now();
        let mut now = started;
        let mut sent = Vec::new();
        for _ in 0..40 {
            let wait = pace.admit(now);
            if !wait.is_zero() {
                now += wait;
                assert_eq!(pace.admit(now), Duration::ZERO, "allowed after the wait");
            }
            sent.push(now);
        }
        assert!(
            sent[..5].iter().all(|at| *at == started),
            "the burst goes at once"
        );
        for i in 5..10 {
            assert!(
                sent[i].duration_since(sent[i - 1]) >= span / 10,
                "request {i}: past the burst, one per cell"
            );
        }
        for (i, at) in sent.iter().enumerate().skip(10) {
            assert!(
                at.duration_since(sent[i - 10]) >= span,
                "request {i}: 11 within a window"
            );
        }
        let elapsed = sent[39].duration_since(started);
        assert!(
            elapsed <= span * 4,
            "40 requests at 10 a window took {elapsed:?}"
        );
    }

    /// Admissions in any window never exceed the limit, with room for
    /// jitter, and the steady rate uses at least 95 % of the limit (80 % of
    /// a one-second window's).
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
