//! Per-portal request budgets: HubSpot's 110 requests per rolling 10 s for
//! OAuth apps and the separate 5 searches per second, enforced client-side
//! so the client never trips the ten-second policy.
//!
//! A [`Budget`] decides when a request may go. [`Limiters`] keeps it in this
//! process (`governor`); the service gives the client one kept in the
//! database every process shares, so that a web process and any number of
//! workers together stay within one portal's limit. Both use the same
//! [`Pace`]: a generic cell rate (GCRA) with a burst, tuned so that no
//! rolling window ever sees more than the limit.

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use futures::future::BoxFuture;
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

/// How requests are paced: one every `period`, with up to `burst` at once.
///
/// A token bucket with burst `b` refilling one token every `p` admits at most
/// `b + (window + jitter) / p` requests in any window as seen by the server
/// when network delays vary by up to `jitter`. With `p = window / (limit − b − m)`
/// and a margin `m` of 5 % (at least one request), up to `m · p` of jitter
/// (≈ 0.5 s for 110 per 10 s) still stays under the limit: 105 of 110.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Time between requests once the burst is spent.
    pub period: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Pace {
    /// The pace that keeps every rolling `window` within `limit` requests.
    pub fn within(limit: u32, window: Duration) -> Self {
        let limit = limit.max(3);
        let burst = (limit / 12).max(1);
        let margin = (limit / 20).max(1);
        Self {
            period: window / (limit - burst - margin),
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

/// The pace of each bucket for `limits`.
pub fn paces(limits: RateLimits) -> (Pace, Pace) {
    (
        Pace::within(limits.requests, limits.window),
        Pace::within(limits.searches_per_second, Duration::from_secs(1)),
    )
}

/// Decides when a portal's next request may go.
pub trait Budget: Send + Sync + fmt::Debug {
    /// Waits until `portal` may spend one request from `bucket`.
    fn acquire(&self, portal: u64, bucket: Bucket) -> BoxFuture<'_, ()>;
}

/// The budget kept in this process, keyed by portal id (tests, one-off
/// tools, and a fallback when the shared budget cannot be read).
#[derive(Debug)]
pub struct Limiters {
    general: DefaultKeyedRateLimiter<u64>,
    search: DefaultKeyedRateLimiter<u64>,
}

impl Limiters {
    /// Limiters for `limits`.
    pub fn new(limits: RateLimits) -> Self {
        let (general, search) = paces(limits);
        Self {
            general: DefaultKeyedRateLimiter::keyed(general.quota()),
            search: DefaultKeyedRateLimiter::keyed(search.quota()),
        }
    }

    /// Waits until `portal` may spend one request from `bucket`.
    pub async fn until_ready(&self, portal: u64, bucket: Bucket) {
        match bucket {
            Bucket::General => self.general.until_key_ready(&portal).await,
            Bucket::Search => self.search.until_key_ready(&portal).await,
        }
    }
}

impl Budget for Limiters {
    fn acquire(&self, portal: u64, bucket: Bucket) -> BoxFuture<'_, ()> {
        Box::pin(self.until_ready(portal, bucket))
    }
}

/// A budget shared by the clients of one app.
pub type SharedBudget = Arc<dyn Budget>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Admissions in any window never exceed the limit.
    #[test]
    fn quota_respects_rolling_window() {
        for (limit, window) in [(110, 10_000u64), (5, 1_000), (20, 1_000)] {
            let q = Pace::within(limit, Duration::from_millis(window)).quota();
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
