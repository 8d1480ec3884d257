//! The HTTP core: one [`Hubspot`] per app (shared limiters, caches, OAuth),
//! one [`PortalClient`] per installed portal (its tokens and call counter).
//! Every request goes through [`PortalClient::send`], which budgets, refreshes
//! tokens, retries and maps errors.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    error::{ErrorBody, HubspotError},
    limits::{Bucket, Limiters, RateLimits, SharedBudget},
    oauth::{OAuth, OAuthSettings},
    pipelines::Pipeline,
    tokens::{AccessEvent, TokenStore, Tokens},
};

/// How the client retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after failures whose outcome is unclear (5xx, transport).
    pub max_retries: usize,
    /// Waits after answers that say the request was not done and when to
    /// come back (429, 423), counted apart: a rate-limit storm never uses up
    /// the retries of failures.
    pub max_waits: usize,
    /// First backoff delay for 5xx and transport errors.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Wait after a 423 Locked (HubSpot: at least 2 s).
    pub locked_delay: Duration,
    /// Wait after a `TEN_SECONDLY_ROLLING` 429 (HubSpot's window).
    pub rate_limited_delay: Duration,
    /// Wait after a search 429 (one second).
    pub search_limited_delay: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            max_waits: 12,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            locked_delay: Duration::from_secs(2),
            rate_limited_delay: Duration::from_secs(10),
            search_limited_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct HubspotConfig {
    /// API base URL, e.g. `https://api.hubapi.com` (the simulator's URL in tests).
    pub api_base: String,
    /// Per-portal limits.
    pub limits: RateLimits,
    /// Where the per-portal budget is kept; `None`: in this process.
    pub budget: Option<SharedBudget>,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Refresh access tokens this long before they expire.
    pub refresh_margin: chrono::Duration,
}

impl HubspotConfig {
    /// Defaults (HubSpot's limits, 5-minute refresh margin) for `api_base`.
    pub fn new(api_base: impl Into<String>) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            limits: RateLimits::default(),
            budget: None,
            retry: RetryPolicy::default(),
            refresh_margin: chrono::Duration::minutes(5),
        }
    }
}

#[derive(Debug)]
struct Shared {
    http: reqwest::Client,
    config: HubspotConfig,
    budget: SharedBudget,
    oauth: Option<OAuth>,
    calls: AtomicU64,
    daily_blocks: Mutex<HashMap<u64, DateTime<Utc>>>,
    time_zones: Mutex<HashMap<u64, Tz>>,
    pipelines: Mutex<HashMap<u64, Arc<Vec<Pipeline>>>>,
}

/// The HubSpot app's client: shared by every portal, cheap to clone.
#[derive(Debug, Clone)]
pub struct Hubspot {
    shared: Arc<Shared>,
}

impl Hubspot {
    /// A client for `config`; `oauth` enables refresh and the install flow.
    pub fn new(config: HubspotConfig, oauth: Option<OAuthSettings>) -> Result<Self, HubspotError> {
        let http = crate::http::client_builder()
            .timeout(config.retry.timeout)
            .build()
            .map_err(|e| HubspotError::Transport(e.to_string()))?;
        let oauth = oauth.map(|s| OAuth::new(s, http.clone())).transpose()?;
        Ok(Self {
            shared: Arc::new(Shared {
                budget: config
                    .budget
                    .clone()
                    .unwrap_or_else(|| Arc::new(Limiters::new(config.limits))),
                http,
                config,
                oauth,
                calls: AtomicU64::new(0),
                daily_blocks: Mutex::new(HashMap::new()),
                time_zones: Mutex::new(HashMap::new()),
                pipelines: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The OAuth flow, if configured.
    pub fn oauth(&self) -> Option<&OAuth> {
        self.shared.oauth.as_ref()
    }

    /// API calls made by every portal client of this app.
    pub fn calls_used(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }

    /// A client for one portal whose tokens live in `store`. Create one per
    /// portal and reuse it: it serialises token refreshes.
    pub fn portal(&self, portal_id: u64, store: Arc<dyn TokenStore>) -> PortalClient {
        PortalClient {
            shared: self.shared.clone(),
            portal_id,
            store,
            refresh_lock: Arc::new(tokio::sync::Mutex::new(())),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// One portal's view of the API. Cheap to clone (clones share the counter).
#[derive(Clone)]
pub struct PortalClient {
    shared: Arc<Shared>,
    portal_id: u64,
    store: Arc<dyn TokenStore>,
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
    calls: Arc<AtomicU64>,
}

impl std::fmt::Debug for PortalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalClient")
            .field("portal_id", &self.portal_id)
            .field("calls", &self.calls_used())
            .finish_non_exhaustive()
    }
}

/// One API request (path relative to the API base).
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path, e.g. `/crm/objects/2026-09/deals/batch/upsert`.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
    /// Which budget it spends.
    pub bucket: Bucket,
    /// Whether repeating the request is harmless. Creates are not: after a
    /// timeout or a 5xx HubSpot may have applied them, so they are not retried
    /// (the sync heals through `holded_id` on its next run instead).
    pub idempotent: bool,
}

impl ApiRequest {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            bucket: Bucket::General,
            idempotent: true,
        }
    }

    /// A POST of `body` (JSON) to `path`.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::POST,
            body: Some(body),
            ..Self::get(path)
        }
    }

    /// A PATCH of `body` (JSON) to `path`.
    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::PATCH,
            body: Some(body),
            ..Self::get(path)
        }
    }

    /// A DELETE of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self {
            method: Method::DELETE,
            ..Self::get(path)
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Marks the request as unsafe to repeat (creates).
    pub fn non_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Spends the search budget instead of the general one.
    pub fn search(mut self) -> Self {
        self.bucket = Bucket::Search;
        self
    }
}

/// What the retry loop decided about one answer.
enum Next {
    Done(StatusCode, Vec<u8>),
    /// Try again after the delay: the outcome was unclear.
    Retry(Duration, HubspotError),
    /// Come back after the delay: HubSpot did not do it (limited, locked).
    Wait(Duration, HubspotError),
    RefreshAndRetry,
    Fail(HubspotError),
}

impl PortalClient {
    /// The portal id.
    pub fn portal_id(&self) -> u64 {
        self.portal_id
    }

    /// HubSpot calls this client has made (the sync reports it as "HubSpot
    /// calls used"); retries count, as HubSpot counts them.
    pub fn calls_used(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The same client (tokens, budget, refreshes) with a call counter of its
    /// own, for work that runs alongside other work of the portal and counts
    /// its calls apart (the app-wide count still sees them).
    pub fn counted_apart(&self) -> Self {
        Self {
            calls: Arc::new(AtomicU64::new(0)),
            ..self.clone()
        }
    }

    pub(crate) fn time_zone(&self) -> Option<Tz> {
        lock(&self.shared.time_zones).get(&self.portal_id).copied()
    }

    pub(crate) fn remember_time_zone(&self, tz: Tz) {
        lock(&self.shared.time_zones).insert(self.portal_id, tz);
    }

    pub(crate) fn cached_pipelines(&self) -> Option<Arc<Vec<Pipeline>>> {
        lock(&self.shared.pipelines).get(&self.portal_id).cloned()
    }

    pub(crate) fn cache_pipelines(&self, pipelines: Arc<Vec<Pipeline>>) {
        lock(&self.shared.pipelines).insert(self.portal_id, pipelines);
    }

    /// Forgets this portal's cached pipelines (e.g. after the settings page
    /// reports an unknown stage).
    pub fn forget_pipelines(&self) {
        lock(&self.shared.pipelines).remove(&self.portal_id);
    }

    /// Sends a request and decodes a JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<(StatusCode, T), HubspotError> {
        let (status, bytes) = self.send(request).await?;
        let bytes = if bytes.is_empty() {
            b"null".to_vec()
        } else {
            bytes
        };
        let value =
            serde_json::from_slice(&bytes).map_err(|e| HubspotError::Decode(e.to_string()))?;
        Ok((status, value))
    }

    /// Sends a request with budgeting, token refresh and retries.
    pub(crate) async fn send(
        &self,
        request: ApiRequest,
    ) -> Result<(StatusCode, Vec<u8>), HubspotError> {
        let policy = self.shared.config.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter()
            .build();
        let (mut retries, mut waits) = (0, 0);
        let mut refreshed = false;
        loop {
            self.check_daily_block()?;
            self.shared
                .budget
                .acquire(self.portal_id, request.bucket)
                .await;
            let tokens = self.current_tokens(false).await?;
            let next = match self.attempt(&request, &tokens, retries + waits + 1).await {
                Ok((status, bytes)) => {
                    self.judge(&request, status, bytes, &policy, &mut backoff, refreshed)
                }
                Err(e) if !request.idempotent => Next::Fail(e),
                Err(e) => match backoff.next() {
                    Some(delay) => Next::Retry(delay, e),
                    None => Next::Fail(e),
                },
            };
            match next {
                Next::Done(status, bytes) => return Ok((status, bytes)),
                Next::Fail(e) => {
                    if let HubspotError::MissingScopes { scopes } = &e {
                        self.store
                            .note(AccessEvent::MissingScopes(scopes.clone()))
                            .await;
                    }
                    return Err(e);
                }
                Next::RefreshAndRetry => {
                    refreshed = true;
                    self.current_tokens(true).await?;
                }
                Next::Retry(delay, error) => {
                    retries += 1;
                    if retries > policy.max_retries {
                        return Err(error);
                    }
                    tracing::debug!(portal = self.portal_id, path = %request.path, ?delay, "retrying HubSpot call");
                    tokio::time::sleep(delay).await;
                }
                Next::Wait(delay, error) => {
                    waits += 1;
                    if waits > policy.max_waits {
                        return Err(error);
                    }
                    tracing::debug!(portal = self.portal_id, path = %request.path, ?delay, "HubSpot asked to wait");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &ApiRequest,
        tokens: &Tokens,
        attempt: usize,
    ) -> Result<(StatusCode, Vec<u8>), HubspotError> {
        let url = format!("{}{}", self.shared.config.api_base, request.path);
        let mut builder = self
            .shared
            .http
            .request(request.method.clone(), url)
            .bearer_auth(tokens.access_token.expose_secret());
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
        let transport = |e: reqwest::Error| HubspotError::Transport(e.without_url().to_string());
        let started = std::time::Instant::now();
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        let class = status_class(status);
        metrics::counter!("hh_hubspot_calls_total", "status" => class).increment(1);
        metrics::histogram!("hh_hubspot_call_duration_seconds", "status" => class)
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(
            portal = self.portal_id,
            method = %request.method,
            route = %request.path,
            status = status.as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            attempt,
            "HubSpot call"
        );
        Ok((status, bytes.to_vec()))
    }

    fn judge(
        &self,
        request: &ApiRequest,
        status: StatusCode,
        bytes: Vec<u8>,
        policy: &RetryPolicy,
        backoff: &mut impl Iterator<Item = Duration>,
        refreshed: bool,
    ) -> Next {
        if status.is_success() {
            return Next::Done(status, bytes);
        }
        let body = ErrorBody::parse(&bytes);
        let code = status.as_u16();
        match code {
            // An expired token, or one HubSpot no longer knows: refresh once;
            // whether the installation is gone is the refresh's to say.
            401 if !refreshed && self.shared.oauth.is_some() => Next::RefreshAndRetry,
            429 if body.policy_name.as_deref() == Some("DAILY") => {
                Next::Fail(self.block_until_reset())
            }
            // A search meets the secondly search limit, unless the answer
            // names the ten-second window, which takes its own wait.
            429 if request.bucket == Bucket::Search
                && body.policy_name.as_deref() != Some("TEN_SECONDLY_ROLLING") =>
            {
                Next::Wait(policy.search_limited_delay, body.into_error(code))
            }
            429 => Next::Wait(policy.rate_limited_delay, body.into_error(code)),
            423 => Next::Wait(policy.locked_delay, body.into_error(code)),
            500..=599 if !request.idempotent => Next::Fail(body.into_error(code)),
            500..=599 => match backoff.next() {
                Some(delay) => Next::Retry(delay, body.into_error(code)),
                None => Next::Fail(body.into_error(code)),
            },
            _ => Next::Fail(body.into_error(code)),
        }
    }

    fn check_daily_block(&self) -> Result<(), HubspotError> {
        let mut blocks = lock(&self.shared.daily_blocks);
        match blocks.get(&self.portal_id) {
            Some(until) if *until > Utc::now() => Err(HubspotError::DailyLimit {
                portal_id: self.portal_id,
                until: *until,
            }),
            Some(_) => {
                blocks.remove(&self.portal_id);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Stops the portal until the daily limit resets (midnight in the
    /// account's time zone, UTC if unknown).
    fn block_until_reset(&self) -> HubspotError {
        let until = next_midnight(Utc::now(), self.time_zone().unwrap_or(Tz::UTC));
        lock(&self.shared.daily_blocks).insert(self.portal_id, until);
        tracing::warn!(portal = self.portal_id, %until, "HubSpot daily limit reached; portal paused");
        HubspotError::DailyLimit {
            portal_id: self.portal_id,
            until,
        }
    }

    /// The tokens to use, refreshed (and saved) when they are about to
    /// expire or when `force` is set after an `EXPIRED_AUTHENTICATION`.
    async fn current_tokens(&self, force: bool) -> Result<Tokens, HubspotError> {
        let load = || async { self.store.load().await.map_err(HubspotError::TokenStore) };
        let margin = self.shared.config.refresh_margin;
        let tokens = load().await?;
        let needs = |t: &Tokens| {
            t.refresh_token.is_some() && (force || t.expires_within(Utc::now(), margin))
        };
        let Some(oauth) = self.shared.oauth.as_ref().filter(|_| needs(&tokens)) else {
            return Ok(tokens);
        };
        let _guard = self.refresh_lock.lock().await;
        // Another task may have refreshed while we waited.
        let latest = load().await?;
        if latest.access_token.expose_secret() != tokens.access_token.expose_secret()
            && !latest.expires_within(Utc::now(), margin)
        {
            return Ok(latest);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let fresh = match oauth.refresh(&latest, Utc::now()).await {
            Ok(fresh) => fresh,
            Err(err) => {
                let reason = crate::i18n::spanish_part(&err.to_string());
                let event = match err {
                    HubspotError::Auth { .. } => AccessEvent::Revoked(reason),
                    _ => AccessEvent::RefreshFailed(reason),
                };
                tracing::warn!(
                    portal = self.portal_id,
                    ?event,
                    "HubSpot token refresh failed"
                );
                self.store.note(event).await;
                return Err(err);
            }
        };
        self.store
            .save(fresh.clone())
            .await
            .map_err(HubspotError::TokenStore)?;
        Ok(fresh)
    }
}

/// A low-cardinality label for a status (`2xx`, `429`, `4xx`, `5xx`).
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        429 => "429",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The next local midnight in `tz` after `now`, as UTC.
pub fn next_midnight(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    let tomorrow = local
        .succ_opt()
        .unwrap_or(local)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    tomorrow
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_reset_is_local_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T23:30:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let madrid = next_midnight(now, chrono_tz::Europe::Madrid);
        assert_eq!(madrid.to_rfc3339(), "2026-11-29T23:00:00+00:00");
        let utc = next_midnight(now, Tz::UTC);
        assert_eq!(utc.to_rfc3339(), "2026-11-29T00:00:00+00:00");
    }
}
