//! HTTP to Holded: authentication per generation, rate limiting per key
//! (halved for a minute after a 429 or a 5xx), retries with backoff (429s, 5xx and
//! timeouts), call counting, and turning replies into typed errors.

use std::{
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode, Url, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{error::HoldedError, types::Generation};
use crate::pace::WindowPace;

/// v1 requests a minute per key unless configured (`HH_HOLDED_V1_RATE`): v1
/// documents no limit; clients pace it at up to 10 a second. A 429 or a 5xx
/// halves the pace for a minute; every 429 and 5xx is retried after a backoff.
pub const DEFAULT_V1_REQUESTS_PER_MINUTE: u32 = 600;

/// v2 requests a minute per key: Holded's documented limit.
const V2_REQUESTS_PER_MINUTE: u32 = 100;

/// How long a 429 or a 5xx halves the pace.
const SLOW_DOWN: Duration = Duration::from_secs(60);

/// How hard to retry transient failures (429, 5xx, timeouts, connection errors).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured (longer requests are cut to this).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Client options; tests shorten the waits.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Requests per minute for this key; `None` picks the generation's
    /// (v2: 100, Holded's documented limit; v1: `v1_requests_per_minute`).
    pub requests_per_minute: Option<NonZeroU32>,
    /// v1 requests per minute per key (`HH_HOLDED_V1_RATE`).
    pub v1_requests_per_minute: NonZeroU32,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// v2 page size (`limit`, 1–100).
    pub v2_page_size: u32,
    /// Calls a month the account's plan allows, v1 and v2 together
    /// (`HH_HOLDED_MONTHLY_QUOTA`; Holded's own limit lowers it where a v2
    /// token may read it).
    pub monthly_quota: u64,
    /// The HubSpot portal the client works for, named in each call's log line.
    pub portal: Option<i64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            requests_per_minute: None,
            v1_requests_per_minute: NonZeroU32::new(DEFAULT_V1_REQUESTS_PER_MINUTE)
                .expect("positive"),
            retry: RetryPolicy::default(),
            v2_page_size: 100,
            monthly_quota: 5_000,
            portal: None,
        }
    }
}

/// Whether a request may be sent again after an unclear failure.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Safety {
    /// Reads and idempotent writes.
    Repeatable,
    /// Creates: retried only when Holded surely did not act (429, connection never opened);
    /// a timeout, 5xx or broken connection after sending is an ambiguous outcome.
    CreateOnce(&'static str),
}

/// One request.
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    pub safety: Safety,
}

impl Call {
    /// A GET.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            safety: Safety::Repeatable,
        }
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// A PUT (idempotent).
    pub(crate) fn put(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::PUT,
            body: Some(body),
            ..Self::get(path)
        }
    }

    /// A POST that creates `what`.
    pub(crate) fn create(path: impl Into<String>, body: Value, what: &'static str) -> Self {
        Self {
            method: Method::POST,
            body: Some(body),
            safety: Safety::CreateOnce(what),
            ..Self::get(path)
        }
    }
}

/// The shared HTTP machinery of one client (one key).
pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    pub(crate) generation: Generation,
    limiter: WindowPace,
    /// Until when the pace is halved (a 429 or a 5xx came).
    slow_until: Mutex<Option<Instant>>,
    retry: RetryPolicy,
    calls: Arc<AtomicU64>,
    portal: Option<i64>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("generation", &self.generation)
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport for `key` against `base` (e.g. `https://api.holded.com`).
    pub(crate) fn new(
        base: &Url,
        key: SecretString,
        generation: Generation,
        options: &ClientOptions,
    ) -> Result<Self, HoldedError> {
        let http = crate::http::client_builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| HoldedError::Connection(e.to_string()))?;
        let prefix = match generation {
            Generation::V1 => "/api/invoicing/v1",
            Generation::V2 => "/api/v2",
        };
        let default_rate = match generation {
            Generation::V1 => options.v1_requests_per_minute.get(),
            Generation::V2 => V2_REQUESTS_PER_MINUTE,
        };
        let rate = options
            .requests_per_minute
            .map_or(default_rate, NonZeroU32::get);
        Ok(Self {
            http,
            base: format!("{}{prefix}", base.as_str().trim_end_matches('/')),
            key,
            generation,
            // A tenth at once: a deal's few calls go without waiting; a scan
            // runs at the limit.
            limiter: WindowPace::new(rate, Duration::from_secs(60), rate / 10),
            slow_until: Mutex::new(None),
            retry: options.retry.clone(),
            calls: Arc::new(AtomicU64::new(0)),
            portal: options.portal,
        })
    }

    /// The counter of HTTP requests sent (retries included).
    pub(crate) fn calls(&self) -> &Arc<AtomicU64> {
        &self.calls
    }

    /// Sends `call` (retrying transient failures) and returns the JSON body.
    pub(crate) async fn json(&self, call: Call) -> Result<Value, HoldedError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let cap = self.retry.max_retry_after;
        let attempts = AtomicU32::new(0);
        (|| self.attempt(&call, attempts.fetch_add(1, Ordering::Relaxed) + 1))
            .retry(backoff)
            .when(HoldedError::is_transient)
            .adjust(move |err, delay| delay.map(|d| err.retry_after().map_or(d, |r| r.min(cap))))
            .notify(|err, delay| {
                tracing::debug!(error = %err, ?delay, "Holded call failed; retrying");
            })
            .await
    }

    /// Waits for this key's turn: one request of the pace, two while slowed.
    async fn turn(&self) {
        self.limiter.until_ready().await;
        let slow_until = *self.slow_until.lock().unwrap_or_else(|p| p.into_inner());
        if slow_until.is_some_and(|until| Instant::now() < until) {
            self.limiter.until_ready().await;
        }
    }

    /// Halves the pace for [`SLOW_DOWN`] when Holded says it is too fast or
    /// struggles (a 5xx).
    fn note_pushback(&self, outcome: &Result<Value, HoldedError>) {
        if let Err(HoldedError::RateLimited { .. } | HoldedError::Server { .. }) = outcome {
            let mut slow_until = self.slow_until.lock().unwrap_or_else(|p| p.into_inner());
            *slow_until = Some(Instant::now() + SLOW_DOWN);
        }
    }

    async fn attempt(&self, call: &Call, attempt: u32) -> Result<Value, HoldedError> {
        self.turn().await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(call.method.clone(), format!("{}{}", self.base, call.path))
            .header(header::ACCEPT, "application/json");
        request = match self.generation {
            Generation::V1 => request.header("key", self.key.expose_secret()),
            Generation::V2 => request.bearer_auth(self.key.expose_secret()),
        };
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let started = std::time::Instant::now();
        let mut answered = None;
        let outcome = async {
            let response = request.send().await.map_err(send_error)?;
            let status = response.status();
            answered = Some(status.as_u16());
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(send_error)?;
            self.interpret(&call.path, status, &headers, &body)
        }
        .await;
        self.note_pushback(&outcome);
        tracing::debug!(
            portal = self.portal,
            method = %call.method,
            route = %call.path,
            status = answered,
            duration_ms = started.elapsed().as_millis() as u64,
            attempt,
            "Holded call"
        );
        match (outcome, call.safety) {
            (Err(err), Safety::CreateOnce(what))
                if matches!(
                    err,
                    HoldedError::Timeout | HoldedError::Server { .. } | HoldedError::Interrupted(_)
                ) =>
            {
                Err(HoldedError::AmbiguousCreate {
                    what: what.to_owned(),
                    cause: err.to_string(),
                })
            }
            (outcome, _) => outcome,
        }
    }

    fn interpret(
        &self,
        path: &str,
        status: StatusCode,
        headers: &header::HeaderMap,
        body: &[u8],
    ) -> Result<Value, HoldedError> {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(match quota_refusal(headers, body) {
                Some(detail) => HoldedError::QuotaExhausted { detail },
                None => HoldedError::RateLimited {
                    retry_after: retry_after(headers),
                },
            });
        }
        if status.is_server_error() {
            return Err(HoldedError::Server {
                status: status.as_u16(),
            });
        }
        if is_html(headers, body) {
            return Err(HoldedError::HtmlPage {
                status: status.as_u16(),
                path: path.to_owned(),
            });
        }
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(body)
                .map_err(|e| HoldedError::decode("(body)", format!("not JSON: {e}")))?
        };
        if status.is_success() {
            return match self.generation {
                Generation::V1 => v1_business_error(&value).map_or(Ok(value), Err),
                Generation::V2 => Ok(value),
            };
        }
        Err(match self.generation {
            Generation::V1 => v1_error(status, path, &value),
            Generation::V2 => v2_error(status, path, &value, self.key.expose_secret()),
        })
    }
}

fn send_error(err: reqwest::Error) -> HoldedError {
    if err.is_connect() {
        HoldedError::Connection(err.without_url().to_string())
    } else if err.is_timeout() {
        HoldedError::Timeout
    } else {
        HoldedError::Interrupted(err.without_url().to_string())
    }
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A 429 for the monthly quota rather than the per-minute limit: no source
/// shows Holded's; an `X-RateLimit-Window: month` header (one integrator
/// reports these headers name the tripped window), or a body that speaks of
/// a monthly quota, tells it. Returns what Holded said.
fn quota_refusal(headers: &header::HeaderMap, body: &[u8]) -> Option<String> {
    let monthly_window = headers
        .get("x-ratelimit-window")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|w| w.trim().eq_ignore_ascii_case("month"));
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            ["detail", "info", "message", "title"]
                .iter()
                .find_map(|k| v.get(k)?.as_str().map(str::to_owned))
        })
        .unwrap_or_default();
    let lower = text.to_lowercase();
    let speaks_of_quota = ["quota", "cuota", "monthly", "mensual"]
        .iter()
        .any(|w| lower.contains(w));
    (monthly_window || speaks_of_quota).then(|| {
        if text.is_empty() {
            "HTTP 429, ventana mensual".to_owned()
        } else {
            text
        }
    })
}

fn is_html(headers: &header::HeaderMap, body: &[u8]) -> bool {
    let html_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &body[i..]);
    html_type || start.starts_with(b"<")
}

/// The human message of a v1 body (`info` or `msg`).
fn v1_message(value: &Value) -> Option<String> {
    ["info", "msg", "message"]
        .iter()
        .find_map(|k| value.get(k)?.as_str().map(str::to_owned))
}

/// v1 reports business failures as `{"status":0,"info":…}`, sometimes with HTTP 200.
/// (A record carries an `id`; documents have their own `status` field, 0 = draft.)
fn v1_business_error(value: &Value) -> Option<HoldedError> {
    let failed =
        value.get("status").and_then(Value::as_i64) == Some(0) && value.get("id").is_none();
    failed.then(|| HoldedError::Validation {
        message: v1_message(value).unwrap_or_else(|| "status 0".to_owned()),
    })
}

fn v1_error(status: StatusCode, path: &str, value: &Value) -> HoldedError {
    let message = v1_message(value);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            HoldedError::unauthorized(Generation::V1)
        }
        StatusCode::BAD_REQUEST if message.as_deref() == Some("Invalid key") => {
            HoldedError::WrongKeyGeneration { expected: "v1" }
        }
        StatusCode::NOT_FOUND => HoldedError::NotFound {
            what: path.to_owned(),
        },
        _ => HoldedError::Validation {
            message: message.unwrap_or_else(|| format!("HTTP {status}")),
        },
    }
}

fn v2_error(status: StatusCode, path: &str, value: &Value, key: &str) -> HoldedError {
    let detail = value
        .get("detail")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let rejected = if key.starts_with("pat_") {
        HoldedError::unauthorized(Generation::V2)
    } else {
        HoldedError::WrongKeyGeneration { expected: "v2" }
    };
    match status {
        StatusCode::UNAUTHORIZED => rejected,
        StatusCode::FORBIDDEN => match detail.as_deref().and_then(missing_permission) {
            Some(permission) => HoldedError::MissingPermission { permission },
            None => rejected,
        },
        StatusCode::NOT_FOUND => HoldedError::NotFound {
            what: path.to_owned(),
        },
        _ => HoldedError::Validation {
            message: detail.unwrap_or_else(|| format!("HTTP {status}")),
        },
    }
}

/// `"Insufficient permissions: inventory:warehouses.read required."` → the scope.
fn missing_permission(detail: &str) -> Option<String> {
    let rest = detail.strip_prefix("Insufficient permissions:")?.trim();
    let scope = rest.strip_suffix('.').unwrap_or(rest);
    let scope = scope.strip_suffix(" required").unwrap_or(scope).trim();
    (!scope.is_empty()).then(|| scope.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_is_read_from_the_problem_detail() {
        assert_eq!(
            missing_permission("Insufficient permissions: inventory:warehouses.read required."),
            Some("inventory:warehouses.read".to_owned())
        );
        assert_eq!(missing_permission("Access denied."), None);
    }

    #[test]
    fn a_monthly_quota_refusal_is_told_from_the_minute_limit() {
        let mut headers = header::HeaderMap::new();
        let minute = br#"{"type":"https://api.holded.com/problems/too-many-requests","status":429,"detail":"Rate limit exceeded: 100 requests per minute per API key."}"#;
        assert_eq!(quota_refusal(&headers, minute), None);
        let month =
            br#"{"status":429,"detail":"Monthly API quota exceeded: 5000 requests in 2026-12."}"#;
        assert!(quota_refusal(&headers, month).is_some_and(|d| d.contains("5000")));
        headers.insert("x-ratelimit-window", "month".parse().unwrap());
        assert!(quota_refusal(&headers, b"").is_some());
    }

    #[test]
    fn html_is_detected_by_type_or_body() {
        let mut headers = header::HeaderMap::new();
        assert!(is_html(&headers, b"  <!DOCTYPE html><html>"));
        assert!(!is_html(&headers, b"[]"));
        headers.insert(
            header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        assert!(is_html(&headers, b""));
    }

    #[test]
    fn v1_status_zero_is_a_validation_error() {
        let body = serde_json::json!({"status": 0, "info": "contactId needed"});
        match v1_business_error(&body) {
            Some(HoldedError::Validation { message }) => assert_eq!(message, "contactId needed"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(v1_business_error(&serde_json::json!({"status": 1})).is_none());
        let draft = serde_json::json!({"id": "6a00", "status": 0, "docNumber": "F260001"});
        assert!(v1_business_error(&draft).is_none());
    }
}
