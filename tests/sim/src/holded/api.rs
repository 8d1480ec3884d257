//! Entry for API calls: statistics, fault injection, then the generation's
//! handlers.

use super::{
    faults::{CallShape, FaultKind},
    http::{Reply, SimRequest},
    state::State,
    v1, v2, webhooks,
};

/// Path prefix of API v1.
pub const V1_PREFIX: &str = "/api/invoicing/v1";
/// Path prefix of API v2.
pub const V2_PREFIX: &str = "/api/v2";

/// Handles an API call; returns the reply and how long to hold it back (ms).
pub fn handle(state: &mut State, req: &SimRequest) -> (Reply, u64) {
    let (generation, segments) = if let Some(s) = req.segments(V1_PREFIX) {
        ("v1", s)
    } else if let Some(s) = req.segments(V2_PREFIX) {
        ("v2", s)
    } else {
        return (Reply::html(), 0);
    };
    let route = route_template(generation, &segments);
    let key = key_label(state, generation, req);
    state.record(&req.method, &route, &key);
    let mut delay = 0;
    let mut list_fault = None;
    let shape = call_shape(generation, req, &segments);
    if let Some(fault) = state.fault_for(generation, &format!("{} {route}", req.method), shape) {
        list_fault = fault.list_fault(state.now().timestamp());
        match fault.kind {
            FaultKind::RateLimit { retry_after_secs } => {
                let reply = match generation {
                    "v1" => Reply::json(429, serde_json::json!({"status": 429})),
                    _ => Reply::problem(429, "Too many requests."),
                };
                let reply = match retry_after_secs {
                    Some(secs) => reply.with_header("retry-after", secs.to_string()),
                    None => reply,
                };
                return (reply, 0);
            }
            FaultKind::ServerError { status } => return (Reply::empty(status), 0),
            FaultKind::Html => return (Reply::html(), 0),
            FaultKind::Timeout | FaultKind::Slow => delay = fault.delay_ms(),
            FaultKind::ListLag | FaultKind::RepeatPage => {}
        }
    }
    let reply = match generation {
        "v1" => v1::handle(state, req, &segments, list_fault),
        _ => v2::handle(state, req, &segments, list_fault),
    };
    if let Some(account) = account_of(state, generation, req) {
        webhooks::after_call(
            state,
            &account,
            generation,
            &req.method,
            &segments,
            reply.status,
            &reply.body,
        );
    }
    (reply, delay)
}

/// Whether a call lists a collection, and whether it continues a list.
fn call_shape(generation: &str, req: &SimRequest, segments: &[&str]) -> CallShape {
    if req.method != "GET" {
        return CallShape::default();
    }
    match generation {
        "v1" => CallShape {
            list: matches!(segments, ["contacts" | "products"] | ["documents", _]),
            continuation: req
                .param("page")
                .and_then(|p| p.parse::<usize>().ok())
                .is_some_and(|p| p >= 2),
        },
        _ => CallShape {
            list: segments.len() == 1 && segments[0] != "usage",
            continuation: req.param("cursor").is_some_and(|c| !c.is_empty()),
        },
    }
}

/// `/api/v2/contacts/6a…` → `GET /api/v2/contacts/{id}` style template.
fn route_template(generation: &str, segments: &[&str]) -> String {
    let prefix = if generation == "v1" {
        V1_PREFIX
    } else {
        V2_PREFIX
    };
    segments.iter().fold(prefix.to_owned(), |mut acc, s| {
        acc.push('/');
        if s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            acc.push_str("{id}");
        } else {
            acc.push_str(s);
        }
        acc
    })
}

/// The account a call's key opens: `None` without a key, `Some(None)` for
/// an unknown one.
fn caller<'s>(state: &'s State, generation: &str, req: &SimRequest) -> Option<Option<&'s String>> {
    match generation {
        "v1" => req.key.as_deref().map(|k| state.v1_keys.get(k)),
        _ => req
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(|t| state.tokens.get(t.trim()).map(|t| &t.account_id)),
    }
}

/// The account of a call with a known key.
fn account_of(state: &State, generation: &str, req: &SimRequest) -> Option<String> {
    caller(state, generation, req).flatten().cloned()
}

/// Who called, without revealing the key: `<account> v1`, `<account> v2`, or why not.
fn key_label(state: &State, generation: &str, req: &SimRequest) -> String {
    match caller(state, generation, req) {
        None => "anonymous".to_owned(),
        Some(None) => "unknown key".to_owned(),
        Some(Some(account)) => format!("{account} {generation}"),
    }
}
