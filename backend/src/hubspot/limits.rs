//! Per-portal request budgets: HubSpot's 110 requests per rolling 10 s for
//! OAuth apps and the separate 5 searches per second, enforced client-side
//! so the client never trips the ten-second policy.
//!
//! A [`Budget`] decides when a request may go. [`Limiters`] keeps it in this
//! process (`governor`); the service gives the client one kept in the
//! database every process shares, so that a web process and any number of
//! workers together stay within one portal's limit. Both use the same
//! [`Pace`] (see [`crate::pace`]): no rolling window ever sees more than the
//! limit, and the steady rate stays above 95 % of it.

use std::{fmt, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use governor::DefaultKeyedRateLimiter;

pub use crate::pace::Pace;

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
