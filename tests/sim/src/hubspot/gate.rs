//! What every API request goes through before its handler: counting,
//! authentication, fault injection and the per-portal rate limits (110 per
//! rolling 10 s with `X-HubSpot-RateLimit-*` headers; search 5/s, no headers).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use actix_web::{HttpResponse, dev::ServiceRequest, http::header};
use rand::Rng;
use serde_json::json;

use super::{
    HubspotSim,
    errors::ApiError,
    model::{ObjType, PropDef},
    state::{Fault, State},
};

/// Who is calling (put in request extensions for handlers).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The portal the token belongs to.
    pub portal_id: u64,
    /// Granted scopes (`None` = all).
    pub scopes: Option<Vec<String>>,
    /// Whether it is an OAuth token of the registered app (its writes are
    /// `changeSource: INTEGRATION`).
    pub app_token: bool,
    /// Whether the request uses the `2026-09` APIs, which enforce the
    /// account's required-property rules on writes.
    pub enforces_required: bool,
}

impl Caller {
    /// 403 `MISSING_SCOPES` unless one of `any_of` is granted.
    pub fn require(&self, any_of: &[String]) -> Result<(), ApiError> {
        match &self.scopes {
            Some(granted) if !any_of.iter().any(|s| granted.contains(s)) => {
                Err(ApiError::missing_scopes(any_of))
            }
            _ => Ok(()),
        }
    }

    /// 403 `MISSING_SCOPES` unless the caller may read (or write) the values
    /// of every sensitive property of `t` among `names`.
    pub fn require_sensitive<'a>(
        &self,
        t: ObjType,
        defs: &BTreeMap<String, PropDef>,
        names: impl IntoIterator<Item = &'a str>,
        write: bool,
    ) -> Result<(), ApiError> {
        names
            .into_iter()
            .filter_map(|name| defs.get(name))
            .filter_map(|def| t.sensitive_scope(&def.data_sensitivity, write))
            .try_for_each(|scope| self.require(&[scope]))
    }
}

/// The gate's decision.
pub enum Admission {
    /// Answer now (after `delay`) without calling the handler.
    Reject(HttpResponse, Duration),
    /// Call the handler, then add `headers` and wait `delay`.
    Pass {
        /// The caller.
        caller: Caller,
        /// Headers to add.
        headers: Vec<(&'static str, String)>,
        /// Delay before answering.
        delay: Duration,
        /// The answer the caller gets instead of the handler's, when a fault
        /// loses it on the way back (the handler's writes stand).
        answer_instead: Option<HttpResponse>,
    },
}

/// What a fault does to the request it matches.
pub(crate) enum Effect {
    /// The request is not handled; this is the answer.
    Refuse(HttpResponse),
    /// The request is handled and answered as usual, late.
    Delay,
    /// The request is handled (its writes land), but this is the answer: the
    /// real one is lost on the way back, as behind a gateway that timed out.
    LoseAnswer(HttpResponse),
}

/// `METHOD /path` with numeric segments replaced by `{id}`.
fn endpoint_key(method: &str, path: &str) -> String {
    let normalized: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
}

fn error_response(e: ApiError) -> HttpResponse {
    HttpResponse::build(e.status).json(e.body)
}

fn rate_limit_body(message: &str, policy: &str) -> serde_json::Value {
    json!({"status": "error", "message": message, "errorType": "RATE_LIMIT", "correlationId": uuid::Uuid::new_v4().to_string(),
           "policyName": policy, "requestId": uuid::Uuid::new_v4().to_string()})
}

fn too_many(body: serde_json::Value) -> HttpResponse {
    HttpResponse::TooManyRequests().json(body)
}

fn secondly_limit() -> HttpResponse {
    too_many(rate_limit_body(
        "You have reached your secondly limit.",
        "SECONDLY",
    ))
}

fn ten_secondly_limit() -> HttpResponse {
    too_many(rate_limit_body(
        "You have reached your ten_secondly_rolling limit.",
        "TEN_SECONDLY_ROLLING",
    ))
}

impl HubspotSim {
    /// Decides what happens to an API request.
    pub(crate) fn admit(&self, req: &ServiceRequest) -> Admission {
        let path = req.path().to_owned();
        let is_search = req.method() == actix_web::http::Method::POST && path.ends_with("/search");
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::to_owned);
        let mut state = self.lock();
        state.stats.total += 1;
        *state
            .stats
            .by_endpoint
            .entry(endpoint_key(req.method().as_str(), &path))
            .or_default() += 1;
        let caller = match authenticate(&state, bearer.as_deref()) {
            Ok(caller) => Caller {
                enforces_required: path.contains("/2026-09/"),
                ..caller
            },
            Err(e) => return Admission::Reject(error_response(e), Duration::ZERO),
        };
        state
            .stats
            .by_portal
            .entry(caller.portal_id)
            .or_default()
            .requests += 1;
        if let Some(fault) = take_fault(&mut state, &path, caller.portal_id) {
            let (effect, delay) = fault_response(&fault);
            let answer_instead = match effect {
                Effect::Refuse(response) => {
                    if response.status() == 429 {
                        count_429(&mut state, caller.portal_id);
                    }
                    return Admission::Reject(response, delay);
                }
                Effect::Delay => None,
                Effect::LoseAnswer(response) => Some(response),
            };
            return Admission::Pass {
                caller,
                headers: Vec::new(),
                delay,
                answer_instead,
            };
        }
        let settings = state.settings;
        let (max, window) = if is_search {
            (settings.search_per_second, Duration::from_secs(1))
        } else {
            (
                settings.rate_limit_max,
                Duration::from_millis(settings.rate_limit_window_ms),
            )
        };
        let now = Instant::now();
        let times = state
            .windows
            .entry((caller.portal_id, is_search))
            .or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() >= max as usize {
            count_429(&mut state, caller.portal_id);
            let response = if is_search {
                secondly_limit()
            } else {
                ten_secondly_limit()
            };
            return Admission::Reject(response, Duration::ZERO);
        }
        times.push_back(now);
        let remaining = max as usize - times.len();
        let headers = if is_search {
            Vec::new()
        } else {
            vec![
                ("x-hubspot-ratelimit-max", max.to_string()),
                ("x-hubspot-ratelimit-remaining", remaining.to_string()),
                (
                    "x-hubspot-ratelimit-interval-milliseconds",
                    settings.rate_limit_window_ms.to_string(),
                ),
            ]
        };
        Admission::Pass {
            caller,
            headers,
            delay: Duration::ZERO,
            answer_instead: None,
        }
    }
}

fn count_429(state: &mut State, portal: u64) {
    state.stats.rate_limited += 1;
    state
        .stats
        .by_portal
        .entry(portal)
        .or_default()
        .rate_limited += 1;
}

fn authenticate(state: &State, bearer: Option<&str>) -> Result<Caller, ApiError> {
    let Some(token) = bearer else {
        return Err(ApiError::new(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ));
    };
    let Some(found) = state.tokens.get(token) else {
        return Err(ApiError::new(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
        ));
    };
    if let Some(expires_at) = found.expires_at {
        let now = state.now();
        if now >= expires_at {
            let ago = (now - expires_at).num_seconds();
            return Err(ApiError::new(
                401,
                "EXPIRED_AUTHENTICATION",
                format!("The OAuth token used to make this call expired {ago} second(s) ago."),
            )
            .with_context(json!({"expire time": [expires_at.to_rfc2822()]})));
        }
    }
    Ok(Caller {
        portal_id: found.grant.portal_id,
        scopes: found.grant.scopes.clone(),
        app_token: found.expires_at.is_some(),
        enforces_required: false,
    })
}

/// The first fault matching this request, consuming one of its uses.
fn take_fault(state: &mut State, path: &str, portal: u64) -> Option<Fault> {
    let mut rng = rand::rng();
    let index = state.faults.iter().position(|f| {
        f.path_contains.as_deref().is_none_or(|p| path.contains(p))
            && f.portal_id.is_none_or(|p| p == portal)
            && f.count.is_none_or(|c| c > 0)
            && f.rate.is_none_or(|r| rng.random::<f64>() < r)
    })?;
    let fault = state.faults[index].clone();
    if let Some(count) = state.faults[index].count.as_mut() {
        *count -= 1;
        if *count == 0 {
            state.faults.remove(index);
        }
    }
    Some(fault)
}

/// A fault for the OAuth token endpoint at `path`: only faults that name it
/// (`path_contains` matching `/oauth/…`) and no portal (a token exchange
/// names none), so API-wide faults leave token exchanges alone. Returns the
/// fault's effect and its delay.
pub(crate) fn oauth_fault(state: &mut State, path: &str) -> Option<(Effect, Duration)> {
    let named = state
        .faults
        .iter()
        .any(|f| f.path_contains.as_deref().is_some_and(|p| path.contains(p)));
    if !named {
        return None;
    }
    take_fault(state, path, 0).map(|fault| fault_response(&fault))
}

/// A gateway's answer when HubSpot took too long.
fn gateway_timeout() -> HttpResponse {
    HttpResponse::GatewayTimeout()
        .content_type("text/html")
        .body("<html><body>504 Gateway Time-out</body></html>")
}

/// The fault's effect and its delay.
fn fault_response(fault: &Fault) -> (Effect, Duration) {
    let delay = Duration::from_millis(fault.delay_ms.unwrap_or(0));
    let response = match fault.kind.as_str() {
        "rate_limit" => ten_secondly_limit(),
        "daily_limit" => too_many(rate_limit_body(
            "You have reached your daily limit.",
            "DAILY",
        )),
        "search_limit" => secondly_limit(),
        "locked" => error_response(ApiError::new(
            423,
            "LOCKED",
            "Locked: the record is being updated, try again in 2 seconds",
        )),
        "timeout" => gateway_timeout(),
        "slow" => return (Effect::Delay, delay),
        "lost_answer" => return (Effect::LoseAnswer(gateway_timeout()), delay),
        "html" => HttpResponse::Ok()
            .content_type("text/html")
            .body("<html><body>HubSpot</body></html>"),
        _ => {
            let status = fault.status.unwrap_or(500);
            error_response(ApiError::new(status, "INTERNAL_ERROR", "internal error"))
        }
    };
    (Effect::Refuse(response), delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keys_hide_ids() {
        assert_eq!(
            endpoint_key("GET", "/crm/v3/objects/deals/123"),
            "GET /crm/v3/objects/deals/{id}"
        );
        assert_eq!(
            endpoint_key("POST", "/crm/objects/2026-09/0-3/search"),
            "POST /crm/objects/2026-09/0-3/search"
        );
    }
}
