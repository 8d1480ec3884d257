//! Per-portal request budgets: HubSpot's 110 requests per rolling 10 s for
//! OAuth apps and the separate 5 searches per second, enforced client-side
//! with `governor` so the client never trips the ten-second policy.

use std::{num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota};

/// The limits HubSpot applies per portal.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Requests allowed per `window` (OAuth apps: 110).
    pub requests: u32,
    /// The rolling window (10 s).
    pub window: Duration,
    /// Search requests allowed per second (5).
    pub searches_per_second: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            requests: 110,
            window: Duration::from_secs(10),
            searches_per_second: 5,
        }
    }
}

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Everything but search.
    General,
    /// CRM search (exempt from the ten-second limit, own 5/s limit).
    Search,
}

/// A GCRA quota that never exceeds `limit` requests in any rolling `window`,
/// even when requests reach HubSpot unevenly delayed.
///
/// A token bucket with burst `b` refilling one token every `p` admits at most
/// `b + (window + jitter) / p` requests in any window as seen by the server
/// when network delays vary by up to `jitter`. With `p = window / (limit − b − m)`
/// and a margin `m` of 5 % (at least one request), up to `m · p` of jitter
/// (≈ 0.5 s for 110 per 10 s) still stays under the limit.
pub fn rolling_quota(limit: u32, window: Duration) -> Quota {
    let limit = limit.max(3);
    let burst = (limit / 12).max(1);
    let margin = (limit / 20).max(1);
    let period = window / (limit - burst - margin);
    Quota::with_period(period)
        .expect("period is positive")
        .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"))
}

/// The limiters shared by every client of one app, keyed by portal id.
#[derive(Debug)]
pub struct Limiters {
    general: DefaultKeyedRateLimiter<u64>,
    search: DefaultKeyedRateLimiter<u64>,
}

impl Limiters {
    /// Limiters for `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            general: DefaultKeyedRateLimiter::keyed(rolling_quota(limits.requests, limits.window)),
            search: DefaultKeyedRateLimiter::keyed(rolling_quota(
                limits.searches_per_second,
                Duration::from_secs(1),
            )),
        }
    }

    /// Waits until `portal` may spend one request from `bucket`.
    pub async fn acquire(&self, portal: u64, bucket: Bucket) {
        match bucket {
            Bucket::General => self.general.until_key_ready(&portal).await,
            Bucket::Search => self.search.until_key_ready(&portal).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admissions in any window never exceed the limit.
    #[test]
    fn quota_respects_rolling_window() {
        for (limit, window) in [(110, 10_000u64), (5, 1_000), (20, 1_000)] {
            let q = rolling_quota(limit, Duration::from_millis(window));
            let burst = u64::from(q.burst_size().get());
            let period = q.replenish_interval().as_millis() as u64;
            let admitted_in_window = burst + window / period;
            assert!(
                admitted_in_window < u64::from(limit),
                "{limit}/{window}: {admitted_in_window}"
            );
            assert!(
                admitted_in_window * 100 >= u64::from(limit) * 70,
                "uses most of the budget"
            );
        }
    }
}
