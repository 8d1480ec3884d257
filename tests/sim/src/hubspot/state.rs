//! The simulator's mutable state and its settings.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{model::Portal, webhooks::Subscriptions};

/// The app registered with the simulated HubSpot.
#[derive(Clone, Serialize, Deserialize)]
pub struct AppConfig {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (signs webhooks too).
    pub client_secret: String,
    /// App id (`sourceId` of the app's own writes, `appId` in webhooks).
    pub app_id: u64,
    /// Where webhooks go.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Divides webhook retry delays (1 = real time; 60000 turns a minute into 1 ms).
    #[serde(default = "one")]
    pub webhook_time_factor: f64,
    /// A webhook answer slower than this counts as failed (HubSpot: 5 s).
    #[serde(default = "five_seconds")]
    pub webhook_timeout_ms: u64,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("app_id", &self.app_id)
            .field("webhook_url", &self.webhook_url)
            .finish_non_exhaustive()
    }
}

fn one() -> f64 {
    1.0
}

fn five_seconds() -> u64 {
    5_000
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            client_id: "sim-client-id".into(),
            client_secret: "sim-client-secret".into(),
            app_id: 1_000_001,
            webhook_url: None,
            webhook_time_factor: 1.0,
            webhook_timeout_ms: 5_000,
        }
    }
}

/// Tunable behaviour.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Settings {
    /// Delay before writes become searchable (HubSpot: "a few moments";
    /// 1 s by default, tests that are not about the lag set 0).
    pub index_lag_ms: u64,
    /// Requests per window per portal (OAuth apps: 110).
    pub rate_limit_max: u32,
    /// The rolling window (10 s).
    pub rate_limit_window_ms: u64,
    /// Searches per second per portal (5).
    pub search_per_second: u32,
    /// The reference's reading of batch upsert and update: one bad input
    /// comes back as a per-record error (207) when every input has its own
    /// `objectWriteTraceId`. Off by default: integrators report that HubSpot
    /// refuses the whole request (400, nothing written) for one bad input,
    /// and only batch create answers per record.
    #[serde(default)]
    pub multi_status_upserts: bool,
    /// The newer app-events page's reading: an occurrence may name its event
    /// type by the type's `uid` as well as by the fully qualified name HubSpot
    /// assigned. Off by default: only the fully qualified name is accepted.
    #[serde(default)]
    pub app_event_uids: bool,
    /// The August 2024 search changelog's limits (10 filters a group, 25 in
    /// all). Off by default: the search guide's 6 a group and 18 in all.
    #[serde(default)]
    pub wide_search_filters: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            index_lag_ms: 1_000,
            rate_limit_max: 110,
            rate_limit_window_ms: 10_000,
            search_per_second: 5,
            multi_status_upserts: false,
            app_event_uids: false,
            wide_search_filters: false,
        }
    }
}

/// What a token (or code) grants.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Portal.
    pub portal_id: u64,
    /// Scopes (`None` = everything, for direct tokens).
    pub scopes: Option<Vec<String>>,
}

/// An access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// What it grants.
    pub grant: Grant,
    /// Expiry (`None` = never, direct tokens).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A fault to inject into API answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fault {
    /// `rate_limit` (429 ten-secondly), `daily_limit` (429 daily),
    /// `search_limit` (429 secondly), `server_error`, `locked` (423),
    /// `timeout` (hold `delay_ms` then 504), `slow` (hold `delay_ms` then answer),
    /// `lost_answer` (handle the request — its writes land — then answer 504),
    /// `html` (200 with an HTML page).
    pub kind: String,
    /// Status for `server_error` (default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay for `timeout`/`slow`.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Apply to the next N matching requests (`None` = unlimited).
    #[serde(default)]
    pub count: Option<u32>,
    /// Probability (0..=1) of applying to a matching request (default 1).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Only paths containing this.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Only this portal.
    #[serde(default)]
    pub portal_id: Option<u64>,
}

/// Request counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// All API requests.
    pub total: u64,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Per `METHOD /path` (ids replaced by `{id}`).
    pub by_endpoint: BTreeMap<String, u64>,
    /// Per portal.
    pub by_portal: BTreeMap<u64, PortalStats>,
}

/// One portal's counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortalStats {
    /// Requests.
    pub requests: u64,
    /// 429s sent.
    pub rate_limited: u64,
    /// The most batch writes (`POST …/batch/…` but reads) answered at once.
    pub peak_writes_in_flight: u64,
}

/// Webhook delivery faults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookFaults {
    /// Send each of the next N batches twice.
    #[serde(default)]
    pub duplicate_next: u32,
    /// Reverse the event order of the next N batches.
    #[serde(default)]
    pub reorder_next: u32,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Batch id (stable across retries).
    pub batch: u64,
    /// Attempt number (0 = first).
    pub attempt: u32,
    /// Answer status (`None` = connection failure or timeout).
    pub status: Option<u16>,
    /// Events in the batch.
    pub events: Vec<Value>,
    /// Whether the attempt counted as delivered.
    pub delivered: bool,
}

/// Everything the simulator holds.
#[derive(Debug, Default)]
pub struct State {
    /// The registered app.
    pub app: AppConfig,
    /// Accounts.
    pub portals: BTreeMap<u64, Portal>,
    /// Next portal id.
    pub next_portal: u64,
    /// Next record id (unique across types, like HubSpot's large ids).
    pub next_record: u64,
    /// Access tokens.
    pub tokens: HashMap<String, AccessToken>,
    /// Refresh tokens.
    pub refresh_tokens: HashMap<String, Grant>,
    /// Authorization codes with their redirect URI.
    pub codes: HashMap<String, (Grant, String)>,
    /// Which portal `/oauth/authorize` installs into.
    pub install_portal: Option<u64>,
    /// Added to the real clock.
    pub clock_offset: chrono::Duration,
    /// Settings.
    pub settings: Settings,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// Counts.
    pub stats: Stats,
    /// Admitted request times per (portal, is_search).
    pub windows: HashMap<(u64, bool), VecDeque<Instant>>,
    /// Batch writes being answered per portal.
    pub writes_in_flight: HashMap<u64, u64>,
    /// Webhook faults.
    pub webhook_faults: WebhookFaults,
    /// Webhook attempts.
    pub deliveries: Vec<Delivery>,
    /// Events waiting for the next batch.
    pub pending_events: Vec<Value>,
    /// Whether a flush is scheduled.
    pub flush_scheduled: bool,
    /// Event and batch counter.
    pub next_event: u64,
    /// The app's deployed app-event types: fully qualified name → `uid`.
    pub app_event_types: BTreeMap<String, String>,
    /// What the app subscribes to.
    pub subscriptions: Subscriptions,
}

impl State {
    /// Fresh state delivering webhooks to `webhook_url`.
    pub fn new(webhook_url: Option<String>) -> Self {
        Self {
            app: AppConfig {
                webhook_url,
                ..AppConfig::default()
            },
            next_portal: 40_000_001,
            next_record: 10_001,
            next_event: 1,
            subscriptions: Subscriptions::project(),
            ..Self::default()
        }
    }

    /// The simulated clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// Index lag.
    pub fn index_lag(&self) -> Duration {
        Duration::from_millis(self.settings.index_lag_ms)
    }

    /// A new record id.
    pub fn record_id(&mut self) -> u64 {
        self.next_record += 1;
        self.next_record
    }

    /// A fresh opaque token.
    pub fn token(prefix: &str) -> String {
        format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
    }
}
