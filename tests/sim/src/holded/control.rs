//! The control surface `/_sim/holded/…` (JSON), a thin layer over the
//! in-process methods of [`HoldedSim`]:
//!
//! - `POST /accounts` `{permissions?}` → `{account_id, v1_key, v2_token}`;
//!   `POST /accounts/{id}/tokens` `{permissions?}` → `{v2_token}`;
//!   `GET /accounts/{id}/contacts`, `GET /accounts/{id}/documents` (records, for assertions);
//!   `POST /accounts/{id}/documents/{document}/approve` (as a user approves it in Holded);
//!   `POST /accounts/{id}/webhooks` `{url, events}` → `{id, url, events, secret}` (as a user
//!   adds a webhook in Holded; the secret is the `whsec_…` Holded shows);
//!   `GET /accounts/{id}/webhooks` (as Holded lists them, secrets included);
//! - `POST /webhooks/faults` `{duplicate_next?, reorder_next?, drop_next?, bad_signature_next?,
//!   delay_ms?}`, `GET /webhooks/deliveries`;
//! - `POST /seed` `{account_id, seed, contacts, products, documents_per_type}` → counts;
//! - `POST /faults` `{kind: rate_limit|server_error|timeout|html|slow|list_lag|repeat_page, rate?, next?,
//!   delay_ms?, status?, retry_after_secs?, generation?, route?}`, `GET /faults`, `DELETE /faults`;
//! - `GET /stats` → requests per (method, route, caller), 429s sent, faults injected;
//! - `GET /clock`, `POST /clock` `{set: RFC 3339}` or `{advance_secs}`;
//! - `GET /settings`, `POST /settings` `{v1_page_size?, v2_rate_limit_per_minute?, monthly_limit?,
//!   quota_enforced?, v2_contact_code_filter?, ignore_contact_filters?, v2_webhooks_api?}`;
//! - `POST /reset`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    HoldedSim,
    faults::Fault,
    http::{Reply, SimRequest},
    seed::SeedSpec,
    webhooks::WebhookFaults,
};

/// Path prefix of the control surface.
pub const PREFIX: &str = "/_sim/holded";

#[derive(Deserialize, Default)]
struct AccountRequest {
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct WebhookRequest {
    url: String,
    events: Vec<String>,
}

#[derive(Deserialize)]
struct ClockRequest {
    #[serde(default)]
    set: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    advance_secs: Option<i64>,
}

#[derive(Deserialize, Default)]
struct SettingsPatch {
    v1_page_size: Option<usize>,
    v2_rate_limit_per_minute: Option<usize>,
    monthly_limit: Option<u64>,
    quota_enforced: Option<bool>,
    v2_contact_code_filter: Option<bool>,
    ignore_contact_filters: Option<bool>,
    v2_webhooks_api: Option<bool>,
}

fn parse<T: for<'de> Deserialize<'de> + Default>(req: &SimRequest) -> Result<T, Reply> {
    match req.json() {
        Ok(Value::Null) => Ok(T::default()),
        Ok(value) => serde_json::from_value(value)
            .map_err(|e| Reply::json(400, json!({"error": e.to_string()}))),
        Err(e) => Err(Reply::json(400, json!({"error": e}))),
    }
}

fn ok(value: impl serde::Serialize) -> Reply {
    Reply::json(200, serde_json::to_value(value).unwrap_or(Value::Null))
}

/// Handles a control call.
pub fn handle(sim: &HoldedSim, req: &SimRequest) -> Reply {
    let Some(segments) = req.segments(PREFIX) else {
        return Reply::json(404, json!({"error": "unknown control route"}));
    };
    let result =
        match (req.method.as_str(), segments.as_slice()) {
            ("POST", ["accounts"]) => parse::<AccountRequest>(req)
                .map(|body| ok(sim.create_account(body.permissions.as_deref()))),
            ("POST", ["accounts", id, "tokens"]) => parse::<AccountRequest>(req).map(|body| {
                match sim.create_token(id, body.permissions.as_deref()) {
                    Some(token) => ok(json!({"v2_token": token})),
                    None => Reply::json(404, json!({"error": "no such account"})),
                }
            }),
            ("GET", ["accounts", id, "documents"]) => Ok(ok(sim.documents(id))),
            ("GET", ["accounts", id, "contacts"]) => Ok(ok(sim.contacts(id))),
            ("POST", ["accounts", id, "documents", document, "approve"]) => {
                match sim.approve_document(id, document) {
                    Some(approved) => Ok(ok(approved)),
                    None => Err(Reply::json(404, json!({"error": "no such document"}))),
                }
            }
            ("POST", ["accounts", id, "webhooks"]) => parse::<WebhookRequest>(req).map(|body| {
                match sim.register_webhook(id, &body.url, &body.events) {
                    Ok(webhook) => ok(webhook),
                    Err(e) => Reply::json(422, json!({"error": e})),
                }
            }),
            ("GET", ["accounts", id, "webhooks"]) => Ok(ok(sim.webhooks(id))),
            ("POST", ["webhooks", "faults"]) => parse::<WebhookFaults>(req).map(|faults| {
                sim.set_webhook_faults(faults.clone());
                ok(faults)
            }),
            ("GET", ["webhooks", "deliveries"]) => Ok(ok(sim.webhook_deliveries())),
            ("POST", ["seed"]) => parse::<SeedSpec>(req).map(|spec| match sim.seed(&spec) {
                Some(summary) => ok(summary),
                None => Reply::json(404, json!({"error": "no such account"})),
            }),
            ("POST", ["faults"]) => match req
                .json()
                .and_then(|v| serde_json::from_value::<Fault>(v).map_err(|e| e.to_string()))
            {
                Ok(fault) => {
                    sim.add_fault(fault);
                    Ok(ok(sim.faults()))
                }
                Err(e) => Err(Reply::json(400, json!({"error": e}))),
            },
            ("GET", ["faults"]) => Ok(ok(sim.faults())),
            ("DELETE", ["faults"]) => {
                sim.clear_faults();
                Ok(ok(sim.faults()))
            }
            ("GET", ["stats"]) => Ok(ok(sim.stats())),
            ("GET", ["clock"]) => Ok(ok(json!({"now": sim.now()}))),
            ("POST", ["clock"]) => match req
                .json()
                .and_then(|v| serde_json::from_value::<ClockRequest>(v).map_err(|e| e.to_string()))
            {
                Ok(ClockRequest { set: Some(at), .. }) => {
                    sim.set_clock(at);
                    Ok(ok(json!({"now": sim.now()})))
                }
                Ok(ClockRequest {
                    advance_secs: Some(secs),
                    ..
                }) => {
                    sim.advance_clock(chrono::Duration::seconds(secs));
                    Ok(ok(json!({"now": sim.now()})))
                }
                Ok(_) => Err(Reply::json(
                    400,
                    json!({"error": "send set or advance_secs"}),
                )),
                Err(e) => Err(Reply::json(400, json!({"error": e}))),
            },
            ("GET", ["settings"]) => Ok(ok(sim.settings())),
            ("POST", ["settings"]) => parse::<SettingsPatch>(req).map(|patch| {
                let mut settings = sim.settings();
                settings.v1_page_size = patch.v1_page_size.unwrap_or(settings.v1_page_size).max(1);
                settings.v2_rate_limit_per_minute = patch
                    .v2_rate_limit_per_minute
                    .unwrap_or(settings.v2_rate_limit_per_minute);
                settings.monthly_limit = patch.monthly_limit.unwrap_or(settings.monthly_limit);
                settings.quota_enforced = patch.quota_enforced.unwrap_or(settings.quota_enforced);
                if let Some(on) = patch.v2_webhooks_api {
                    settings.v2_webhooks_api = on;
                }
                settings.v2_contact_code_filter = patch
                    .v2_contact_code_filter
                    .unwrap_or(settings.v2_contact_code_filter);
                settings.ignore_contact_filters = patch
                    .ignore_contact_filters
                    .unwrap_or(settings.ignore_contact_filters);
                sim.set_settings(settings.clone());
                ok(settings)
            }),
            ("POST", ["reset"]) => {
                sim.reset();
                Ok(ok(json!({"reset": true})))
            }
            _ => Err(Reply::json(404, json!({"error": "unknown control route"}))),
        };
    result.unwrap_or_else(|reply| reply)
}
