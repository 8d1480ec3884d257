//! Holded's webhooks (Holded's help article on webhooks, and public receivers
//! that verify its deliveries): a user adds
//! a webhook in Configuración › Desarrolladores › Webhooks with an `https://`
//! URL and the events to send (`contact.update`, `invoice.approve`, …);
//! Holded shows a signing secret (`whsec_…`) and, for every change of a ticked
//! event, POSTs a JSON body with the record that changed and the headers
//! `x-holded-webhook-event`, `-id` (dedupe key), `-account-id`, `-date`,
//! `-version` and `x-holded-webhook-signature: sha256=<hex>`, the hex being
//! HMAC-SHA256 of the raw body keyed with the whole secret string.
//!
//! Changes made through either API generation, and by a user (the control
//! surface), are delivered. Holded's retry policy, ordering and timeouts are
//! not documented (§5.6 "not found"): the simulator sends each delivery once
//! — a receiver that misses one has to reconcile — and faults add duplicate,
//! reordered, late, missing and wrongly signed deliveries.

use std::{collections::BTreeSet, time::Duration};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    model::SimDocType,
    state::{Account, State},
    v2,
};

/// One webhook an account configured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimWebhook {
    /// Webhook id (24 hex, as Holded shows it).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The events ticked (`contact.update`, …).
    pub events: BTreeSet<String>,
    /// The signing secret shown at creation (`whsec_…`).
    pub secret: String,
}

/// Fault rules for the next deliveries (each counts down as it applies).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookFaults {
    /// Deliver the next N twice (same `x-holded-webhook-id`).
    pub duplicate_next: u32,
    /// Deliver the next N batches of changes in reverse order.
    pub reorder_next: u32,
    /// Never deliver the next N.
    pub drop_next: u32,
    /// Sign the next N with another secret.
    pub bad_signature_next: u32,
    /// Hold every delivery back this long.
    pub delay_ms: u64,
}

/// A delivery ready to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Target URL.
    pub url: String,
    /// Signing secret (or a wrong one, under the fault).
    pub secret: String,
    /// `x-holded-webhook-event`.
    pub event: String,
    /// `x-holded-webhook-id`.
    pub delivery_id: String,
    /// `x-holded-webhook-account-id`.
    pub account_id: String,
    /// `x-holded-webhook-date` (RFC 3339, Holded's clock).
    pub date: String,
    /// Raw body.
    pub body: Vec<u8>,
    /// Send twice.
    pub duplicate: bool,
    /// Hold back (ms).
    pub delay_ms: u64,
}

/// What happened to one delivery (for assertions).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Event.
    pub event: String,
    /// Delivery id.
    pub delivery_id: String,
    /// The receiver's HTTP status; `None` when it did not answer or the
    /// delivery was dropped by a fault.
    pub status: Option<u16>,
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` keyed with the whole `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Every event name Holded offers for the objects the simulator models
/// (§5.6 catalogue): contacts, products and payments create/update/delete;
/// the sales documents create/update/delete, and approve for invoices.
pub fn catalogue() -> Vec<String> {
    let mut events = Vec::new();
    for object in ["contact", "product", "payment"] {
        for action in ["create", "update", "delete"] {
            events.push(format!("{object}.{action}"));
        }
    }
    for doc_type in SimDocType::ALL {
        for action in ["create", "update", "delete"] {
            events.push(format!("{}.{action}", doc_type.v1()));
        }
        if approvable(doc_type) {
            events.push(format!("{}.approve", doc_type.v1()));
        }
    }
    events
}

/// Whether Holded has an `approve` event for the type (§5.6: invoices,
/// credit notes, sales receipts, purchases…; not estimates, proformas,
/// sales orders or waybills).
fn approvable(doc_type: SimDocType) -> bool {
    doc_type == SimDocType::Invoice
}

/// Adds a webhook to `account_id` (`events` checked against the catalogue);
/// returns it, or why not.
pub fn register(
    state: &mut State,
    account_id: &str,
    url: &str,
    events: &[String],
) -> Result<SimWebhook, String> {
    if !state.accounts.contains_key(account_id) {
        return Err("no such account".to_owned());
    }
    let known = catalogue();
    if let Some(unknown) = events.iter().find(|e| !known.contains(e)) {
        return Err(format!("unknown event {unknown}"));
    }
    if events.is_empty() {
        return Err("tick at least one event".to_owned());
    }
    if !(url.starts_with("https://") || url.starts_with("http://127.0.0.1")) {
        return Err("the URL must be https://".to_owned());
    }
    let webhook = SimWebhook {
        id: state.random_hex(24),
        url: url.to_owned(),
        events: events.iter().cloned().collect(),
        secret: format!("whsec_{}", state.random_hex(40)),
    };
    state
        .webhooks
        .entry(account_id.to_owned())
        .or_default()
        .push(webhook.clone());
    Ok(webhook)
}

/// Queues `event` with `body` for every webhook of `account_id` that ticked it.
pub fn emit(state: &mut State, account_id: &str, event: &str, body: &Value) {
    let targets: Vec<SimWebhook> = state
        .webhooks
        .get(account_id)
        .map(|hooks| {
            hooks
                .iter()
                .filter(|h| h.events.contains(event))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for target in targets {
        let delivery_id = state.random_hex(24);
        let faults = &mut state.webhook_faults;
        let dropped = take(&mut faults.drop_next);
        let bad_signature = take(&mut faults.bad_signature_next);
        let duplicate = take(&mut faults.duplicate_next);
        let delay_ms = faults.delay_ms;
        if dropped {
            state.webhook_deliveries.push(DeliveryRecord {
                event: event.to_owned(),
                delivery_id,
                status: None,
            });
            continue;
        }
        let secret = if bad_signature {
            format!("whsec_{}", state.random_hex(40))
        } else {
            target.secret.clone()
        };
        state.outbox.push(Outgoing {
            url: target.url.clone(),
            secret,
            event: event.to_owned(),
            delivery_id,
            account_id: account_id.to_owned(),
            date: state
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            body: body.to_string().into_bytes(),
            duplicate,
            delay_ms,
        });
    }
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

/// The deliveries queued since the last call, in the order to send them.
pub fn drain(state: &mut State) -> Vec<Outgoing> {
    let mut outgoing = std::mem::take(&mut state.outbox);
    if outgoing.len() > 1 && take(&mut state.webhook_faults.reorder_next) {
        outgoing.reverse();
    }
    outgoing
}

/// The record `id` of an account as the v2 API renders it, for a webhook
/// body; a deleted record is `{id, deletedAt}` (§5.6 payload shapes).
fn record_body(state: &State, account_id: &str, object: Object, id: &str) -> Value {
    let deleted = || json!({"id": id, "deletedAt": state.now().timestamp()});
    let Some(account) = state.accounts.get(account_id) else {
        return deleted();
    };
    let found = match object {
        Object::Contact => {
            Account::find(&account.contacts, id, |c| &c.id).map(|c| json!(v2::contact_json(c)))
        }
        Object::Product => Account::find(&account.products, id, |p| &p.id).map(v2::product_json),
        Object::Document => Account::find(&account.documents, id, |d| &d.id).map(v2::document_json),
        Object::Payment => Account::find(&account.documents, id, |d| &d.id).and_then(|d| {
            let payment = d.collection.payments.last()?;
            Some(json!({
                "id": payment.id, "document_id": d.id, "document_type": d.doc_type.v1(),
                "contact_id": d.contact_id, "amount": payment.amount.to_string(),
                "date": super::model::madrid_day(payment.date).format("%Y-%m-%d").to_string(),
            }))
        }),
    };
    found.unwrap_or_else(deleted)
}

#[derive(Clone, Copy)]
enum Object {
    Contact,
    Product,
    Document,
    /// The last payment of the document.
    Payment,
}

/// After an API call answered `status` with `reply_body`: the webhook its
/// change makes Holded send, if any (event, record id, object).
fn change_of(
    generation: &str,
    method: &str,
    segments: &[&str],
    reply_body: &Value,
) -> Option<(String, String, Object)> {
    let created_id = || reply_body["id"].as_str().map(str::to_owned);
    let action = match method {
        "POST" => "create",
        "PUT" => "update",
        "DELETE" => "delete",
        _ => return None,
    };
    let doc = |kind: &str| match generation {
        "v1" => SimDocType::from_v1(kind),
        _ => SimDocType::from_v2(kind),
    };
    let segments = match (generation, segments) {
        ("v1", ["documents", rest @ ..]) => rest,
        ("v1", [_, ..]) | ("v2", _) => segments,
        _ => return None,
    };
    let documents =
        generation == "v1" || !matches!(segments.first(), Some(&"contacts" | &"products"));
    match segments {
        ["contacts"] => Some((format!("contact.{action}"), created_id()?, Object::Contact)),
        ["contacts", id] => Some((
            format!("contact.{action}"),
            (*id).to_owned(),
            Object::Contact,
        )),
        ["products"] => Some((format!("product.{action}"), created_id()?, Object::Product)),
        ["products", id] => Some((
            format!("product.{action}"),
            (*id).to_owned(),
            Object::Product,
        )),
        [kind] if documents => {
            let t = doc(kind)?;
            Some((
                format!("{}.{action}", t.v1()),
                created_id()?,
                Object::Document,
            ))
        }
        [kind, id] if documents => {
            let t = doc(kind)?;
            Some((
                format!("{}.{action}", t.v1()),
                (*id).to_owned(),
                Object::Document,
            ))
        }
        [kind, id, "approve"] if method == "POST" => {
            let t = doc(kind)?;
            Some((
                format!("{}.approve", t.v1()),
                (*id).to_owned(),
                Object::Document,
            ))
        }
        [kind, id, "pay" | "payments"] if method == "POST" => {
            doc(kind)?;
            Some((
                "payment.create".to_owned(),
                (*id).to_owned(),
                Object::Payment,
            ))
        }
        [kind, id, "cancel"] if method == "POST" => {
            let t = doc(kind)?;
            Some((
                format!("{}.update", t.v1()),
                (*id).to_owned(),
                Object::Document,
            ))
        }
        _ => None,
    }
}

/// Queues the webhooks of a successful API call of `account_id`.
pub fn after_call(
    state: &mut State,
    account_id: &str,
    generation: &str,
    method: &str,
    segments: &[&str],
    status: u16,
    reply_body: &str,
) {
    if !(200..300).contains(&status) || !state.webhooks.contains_key(account_id) {
        return;
    }
    let body: Value = serde_json::from_str(reply_body).unwrap_or(Value::Null);
    if let Some((event, id, object)) = change_of(generation, method, segments, &body) {
        let record = record_body(state, account_id, object, &id);
        emit(state, account_id, &event, &record);
    }
}

/// Queues the webhooks of a change a user made in Holded (the control
/// surface): `event` on the contact, product or document `id` (for a
/// payment, the document it was registered against).
pub fn after_user_change(state: &mut State, account_id: &str, event: &str, id: &str) {
    let object = match event.split('.').next() {
        Some("contact") => Object::Contact,
        Some("product") => Object::Product,
        Some("payment") => Object::Payment,
        _ => Object::Document,
    };
    let record = record_body(state, account_id, object, id);
    emit(state, account_id, event, &record);
}

/// Sends one delivery (and its duplicate); returns the receiver's statuses.
pub async fn send(http: &reqwest::Client, outgoing: &Outgoing) -> Vec<Option<u16>> {
    if outgoing.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(outgoing.delay_ms)).await;
    }
    let copies = if outgoing.duplicate { 2 } else { 1 };
    let mut statuses = Vec::new();
    for _ in 0..copies {
        let result = http
            .post(&outgoing.url)
            .timeout(Duration::from_secs(10))
            .header("content-type", "application/json")
            .header("x-holded-webhook-event", &outgoing.event)
            .header("x-holded-webhook-id", &outgoing.delivery_id)
            .header("x-holded-webhook-account-id", &outgoing.account_id)
            .header("x-holded-webhook-date", &outgoing.date)
            .header("x-holded-webhook-version", "v1")
            .header(
                "x-holded-webhook-signature",
                signature(&outgoing.secret, &outgoing.body),
            )
            .body(outgoing.body.clone())
            .send()
            .await;
        statuses.push(result.ok().map(|r| r.status().as_u16()));
    }
    statuses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_with_the_whole_secret() {
        // RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?").
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn api_writes_map_to_holded_event_names() {
        let created = json!({"id": "6a0000000000000000000001"});
        let event = |g: &str, m: &str, s: &[&str]| change_of(g, m, s, &created).map(|c| c.0);
        assert_eq!(
            event("v2", "PUT", &["contacts", "x"]).as_deref(),
            Some("contact.update")
        );
        assert_eq!(
            event("v1", "POST", &["products"]).as_deref(),
            Some("product.create")
        );
        assert_eq!(
            event("v1", "POST", &["documents", "proform"]).as_deref(),
            Some("proform.create")
        );
        assert_eq!(
            event("v2", "POST", &["invoices", "x", "approve"]).as_deref(),
            Some("invoice.approve")
        );
        assert_eq!(
            event("v1", "POST", &["documents", "invoice", "x", "pay"]).as_deref(),
            Some("payment.create")
        );
        assert_eq!(
            event("v2", "POST", &["invoices", "x", "payments"]).as_deref(),
            Some("payment.create")
        );
        assert_eq!(event("v2", "GET", &["contacts"]), None);
        assert!(catalogue().contains(&"salesorder.delete".to_owned()));
        assert!(!catalogue().contains(&"estimate.approve".to_owned()));
    }
}
