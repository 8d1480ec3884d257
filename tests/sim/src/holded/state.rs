//! The simulator's state: accounts with their keys, tokens and records, the
//! simulated clock, settings, faults and request statistics.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use super::{
    faults::Fault,
    model::{SimContact, SimDocType, SimDocument, SimProduct},
    webhooks::{DeliveryRecord, Outgoing, SimWebhook, WebhookFaults},
};

/// Every permission scope the simulator knows; new tokens get all by default.
pub const ALL_PERMISSIONS: [&str; 18] = [
    "contacts:contacts.read",
    "contacts:contacts.write",
    "inventory:products.read",
    "inventory:products.write",
    "sales:estimates.read",
    "sales:estimates.write",
    "sales:proforms.read",
    "sales:proforms.write",
    "inventory:shipments.read",
    "inventory:shipments.write",
    "sales:invoices.read",
    "sales:invoices.write",
    "inventory:sales-orders.read",
    "inventory:sales-orders.write",
    "accounting:taxes.read",
    "sales:invoicing-settings.read",
    "developers:usage.read",
    "developers:webhooks.write",
];

/// Tunable behaviour. Where sources disagree, the default is the harsher
/// reading and a setting switches to the other.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SimSettings {
    /// v1 page size (Holded's is undocumented; 50 observed, 500 claimed).
    pub v1_page_size: usize,
    /// Whether v1 lists honour a `limit` query parameter (1–500, the size
    /// some clients send). Unverified: by default a v1 page is
    /// `v1_page_size` long whatever is asked.
    pub v1_honours_limit: bool,
    /// v2 requests per minute per token.
    pub v2_rate_limit_per_minute: usize,
    /// Monthly request quota of every account, v1 and v2 calls together,
    /// reported by `/api/v2/usage` (5,000 on a small plan: S-SPIKE §5).
    pub monthly_limit: u64,
    /// Whether calls beyond `monthly_limit` are refused (default: the quota
    /// as a hard cap). `false` is the other reading — the reported limit is a
    /// billable-overage ceiling and calls beyond the plan are served and
    /// billed (a public design note of 2026-08, index id 59421950325) — under
    /// which only the client's own budget stops it.
    pub quota_enforced: bool,
    /// Whether v2 `GET /contacts` honours `code` (NIF/CIF). The April preview
    /// spec has no such filter (an unknown parameter is ignored and every
    /// contact comes back); the June scrape lists it. Default: not honoured.
    pub v2_contact_code_filter: bool,
    /// Every contact list filter (v1 `phone`/`mobile`/`customId`, v2 `phone`,
    /// `mobile`, `email`, `custom_id`, `code`) is ignored, as Holded does
    /// with parameters it does not know.
    pub ignore_contact_filters: bool,
    /// Whether v2 `POST /webhooks` registers a webhook. One source (S-MCM)
    /// reports it (`{url, events, version, description}`, scope
    /// `developers:webhooks.write`, answered with the webhook's id); another
    /// (S-FDS) says webhooks are added by hand only. Default: no such route
    /// (answered as any unknown v2 route).
    pub v2_webhooks_api: bool,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            v1_page_size: 50,
            v1_honours_limit: false,
            v2_rate_limit_per_minute: 100,
            monthly_limit: 5000,
            quota_enforced: true,
            v2_contact_code_filter: false,
            ignore_contact_filters: false,
            v2_webhooks_api: false,
        }
    }
}

/// One Holded account (company).
#[derive(Debug, Default)]
pub struct Account {
    /// Contacts in id (creation) order.
    pub contacts: Vec<SimContact>,
    /// Products in id order.
    pub products: Vec<SimProduct>,
    /// Documents in id order, all types.
    pub documents: Vec<SimDocument>,
    /// Last number used per document type (index of [`SimDocType::ALL`]).
    pub last_numbers: [u32; 5],
    /// API calls per month (`YYYY-MM`): total and per operation.
    pub usage: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Account {
    /// Position of a record by id in an id-ordered list.
    pub fn position<T>(items: &[T], id: &str, id_of: fn(&T) -> &str) -> Option<usize> {
        items.binary_search_by(|item| id_of(item).cmp(id)).ok()
    }

    /// A record by id in an id-ordered list.
    pub fn find<'a, T>(items: &'a [T], id: &str, id_of: fn(&T) -> &str) -> Option<&'a T> {
        Self::position(items, id, id_of).map(|i| &items[i])
    }

    /// Documents of one type, in order.
    pub fn documents_of(&self, doc_type: SimDocType) -> impl Iterator<Item = &SimDocument> {
        self.documents
            .iter()
            .filter(move |d| d.doc_type == doc_type)
    }
}

/// A v2 token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Account it opens.
    pub account_id: String,
    /// Scopes granted.
    pub permissions: BTreeSet<String>,
}

/// Request counts by (method, route, key label).
pub type StatsKey = (String, String, String);

/// Everything behind the simulator's mutex.
#[derive(Debug)]
pub struct State {
    /// Accounts by id.
    pub accounts: HashMap<String, Account>,
    /// v1 keys → account id.
    pub v1_keys: HashMap<String, String>,
    /// v2 tokens.
    pub tokens: HashMap<String, Token>,
    /// Simulated clock: real time plus this offset.
    pub clock_offset: Duration,
    /// Settings.
    pub settings: SimSettings,
    /// Active faults, checked in order.
    pub faults: Vec<Fault>,
    /// Request counts.
    pub stats: BTreeMap<StatsKey, u64>,
    /// 429s sent by the rate limiter.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults_injected: u64,
    /// Request times per token within the current window.
    pub windows: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Randomness for fault rates and key material.
    pub rng: StdRng,
    /// Webhooks configured, per account.
    pub webhooks: HashMap<String, Vec<SimWebhook>>,
    /// Webhook deliveries queued, not sent yet.
    pub outbox: Vec<Outgoing>,
    /// Faults for the next webhook deliveries.
    pub webhook_faults: WebhookFaults,
    /// Webhook deliveries made (or dropped), in order.
    pub webhook_deliveries: Vec<DeliveryRecord>,
    next_id: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            accounts: HashMap::new(),
            v1_keys: HashMap::new(),
            tokens: HashMap::new(),
            clock_offset: Duration::zero(),
            settings: SimSettings::default(),
            faults: Vec::new(),
            stats: BTreeMap::new(),
            rate_limited: 0,
            faults_injected: 0,
            windows: HashMap::new(),
            rng: StdRng::seed_from_u64(0x401de0),
            webhooks: HashMap::new(),
            outbox: Vec::new(),
            webhook_faults: WebhookFaults::default(),
            webhook_deliveries: Vec::new(),
            next_id: 0,
        }
    }
}

impl State {
    /// Now, on the simulated clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// A new ObjectId-like id (24 hex), increasing.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("6a{:022x}", self.next_id)
    }

    /// Random hex of `len` characters.
    pub fn random_hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    /// The quota period of now: the calendar month (UTC) as `YYYY-MM`.
    pub fn period(&self) -> String {
        self.now().format("%Y-%m").to_string()
    }

    /// Calls an account made this month, all operations.
    pub fn monthly_usage(&self, account_id: &str) -> u64 {
        self.accounts
            .get(account_id)
            .and_then(|a| a.usage.get(&self.period()))
            .map_or(0, |counts| counts.values().sum())
    }

    /// Counts one API call in the account's monthly usage (refused calls
    /// count too); `false` when the account had already spent its quota and
    /// the call must be refused.
    pub fn count_usage(&mut self, account_id: &str, operation: &str) -> bool {
        let spent = self.monthly_usage(account_id) >= self.settings.monthly_limit;
        let period = self.period();
        if let Some(account) = self.accounts.get_mut(account_id) {
            *account
                .usage
                .entry(period)
                .or_default()
                .entry(operation.to_owned())
                .or_default() += 1;
        }
        !(spent && self.settings.quota_enforced)
    }

    /// Records one request in the statistics.
    pub fn record(&mut self, method: &str, route: &str, key: &str) {
        *self
            .stats
            .entry((method.to_owned(), route.to_owned(), key.to_owned()))
            .or_default() += 1;
    }

    /// Whether a token may make another call now (sliding 60 s window); records it if so.
    pub fn admit(&mut self, token: &str) -> bool {
        let now = self.now();
        let limit = self.settings.v2_rate_limit_per_minute;
        let window = self.windows.entry(token.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| *t <= now - Duration::seconds(60) || *t > now)
        {
            window.pop_front();
        }
        if window.len() >= limit {
            self.rate_limited += 1;
            return false;
        }
        window.push_back(now);
        true
    }
}
