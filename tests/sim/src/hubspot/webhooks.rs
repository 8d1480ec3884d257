//! Webhook deliveries: the events the app subscribes to in its project
//! (`hubspot-app/src/app/webhooks/webhooks-hsmeta.json` by default), in the
//! format of each subscription — `object.propertyChange` with `objectTypeId`
//! for `crmObjects`, `deal.propertyChange` for `legacyCrmObjects`,
//! `contact.privacyDeletion` for `hubEvents` — and only for portals where the
//! app is installed. POSTed in batches of up to 100 to the app's target URL
//! with real v3 (and v1) signatures, retried on HubSpot's schedule on non-2xx
//! or slow answers, optionally duplicated or reordered.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    HubspotSim,
    state::{Delivery, State},
    store::Source,
};

/// Events per POST (HubSpot: "under 100").
const BATCH: usize = 100;
/// How often queued events are flushed.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// Delays before retries 1..=9 (≈ 24 h in all, HubSpot retries up to 10 times).
const RETRY_DELAYS_S: [u64; 9] = [60, 300, 900, 1_800, 3_600, 7_200, 14_400, 21_600, 36_000];
/// The project's webhooks component: what the registered app subscribes to
/// unless a test says otherwise.
const PROJECT_WEBHOOKS: &str =
    include_str!("../../../../hubspot-app/src/app/webhooks/webhooks-hsmeta.json");

/// One subscription of the app (a `*-hsmeta.json` entry).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    subscription_type: String,
    /// `crmObjects`: the object (`deal`); HubSpot's docs also write `objectName`.
    #[serde(default, alias = "objectName")]
    object_type: Option<String>,
    #[serde(default)]
    property_name: Option<String>,
    #[serde(default)]
    active: bool,
}

/// The app's subscriptions, by kind, as a project declares them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscriptions {
    #[serde(default)]
    crm_objects: Vec<Subscription>,
    #[serde(default)]
    legacy_crm_objects: Vec<Subscription>,
    #[serde(default)]
    hub_events: Vec<Subscription>,
}

impl Subscriptions {
    /// Reads the `subscriptions` of a webhooks `*-hsmeta.json` component.
    pub fn from_hsmeta(component: &Value) -> Result<Self, String> {
        serde_json::from_value(component["config"]["subscriptions"].clone())
            .map_err(|e| format!("webhooks component: {e}"))
    }

    /// What the project in this repository subscribes to.
    pub fn project() -> Self {
        let component: Value =
            serde_json::from_str(PROJECT_WEBHOOKS).expect("the project's webhooks JSON");
        Self::from_hsmeta(&component).expect("the project's subscriptions")
    }

    /// The events a change of `property` on a deal produces: one per active
    /// subscription to it (id = its position), in that subscription's format.
    fn deal_property(&self, property: &str) -> Vec<(u64, Value)> {
        let wants = |s: &Subscription| s.active && s.property_name.as_deref() == Some(property);
        let generic = self
            .crm_objects
            .iter()
            .filter(|s| {
                wants(s)
                    && s.subscription_type == "object.propertyChange"
                    && s.object_type.as_deref() == Some("deal")
            })
            .map(|_| json!({"subscriptionType": "object.propertyChange", "objectTypeId": "0-3"}));
        let legacy = self
            .legacy_crm_objects
            .iter()
            .filter(|s| wants(s) && s.subscription_type == "deal.propertyChange")
            .map(|_| json!({"subscriptionType": "deal.propertyChange"}));
        generic
            .chain(legacy)
            .enumerate()
            .map(|(i, e)| (i as u64 + 1, e))
            .collect()
    }

    /// Whether the app subscribes to `contact.privacyDeletion`.
    fn privacy_deletion(&self) -> bool {
        self.hub_events
            .iter()
            .any(|s| s.active && s.subscription_type == "contact.privacyDeletion")
    }
}

/// Whether the app is installed in `portal` (an OAuth grant it has not
/// lost by an uninstall or a revocation).
fn installed(state: &State, portal: u64) -> bool {
    state.refresh_tokens.values().any(|g| g.portal_id == portal)
}

/// Queues `event` (with the delivery fields every event carries) for the
/// app's target URL, when the app is installed in `portal`.
fn enqueue(state: &mut State, portal: u64, subscription: u64, mut event: Value) {
    if state.app.webhook_url.is_none() || !installed(state, portal) {
        return;
    }
    state.next_event += 1;
    let common = json!({
        "eventId": state.next_event, "subscriptionId": subscription, "portalId": portal,
        "appId": state.app.app_id, "occurredAt": state.now().timestamp_millis(), "attemptNumber": 0,
    });
    if let (Some(event), Value::Object(common)) = (event.as_object_mut(), common) {
        event.extend(common);
    }
    state.pending_events.push(event);
}

/// Queues the events of a deal's `dealstage` change.
pub fn enqueue_stage_change(
    state: &mut State,
    portal: u64,
    deal: u64,
    stage: &str,
    source: Source,
) {
    let (change_source, source_id) = match source {
        Source::App => ("INTEGRATION", state.app.app_id.to_string()),
        Source::OtherIntegration => ("INTEGRATION", "private-app".to_owned()),
        Source::User => ("CRM_UI", "userId:1".to_owned()),
    };
    for (subscription, mut event) in state.subscriptions.deal_property("dealstage") {
        if let Some(fields) = event.as_object_mut() {
            fields.extend([
                ("objectId".to_owned(), json!(deal)),
                ("propertyName".to_owned(), json!("dealstage")),
                ("propertyValue".to_owned(), json!(stage)),
                ("changeSource".to_owned(), json!(change_source)),
                ("sourceId".to_owned(), json!(source_id)),
            ]);
        }
        enqueue(state, portal, subscription, event);
    }
}

/// Queues the `contact.privacyDeletion` event HubSpot sends when a user
/// permanently deletes a contact to comply with privacy law.
pub fn enqueue_privacy_deletion(state: &mut State, portal: u64, contact: u64) {
    if !state.subscriptions.privacy_deletion() {
        return;
    }
    let event = json!({
        "subscriptionType": "contact.privacyDeletion", "objectId": contact,
        "changeFlag": "PRIVACY_DELETION", "changeSource": "GDPR",
    });
    let subscription =
        state.subscriptions.crm_objects.len() + state.subscriptions.legacy_crm_objects.len() + 1;
    enqueue(state, portal, subscription as u64, event);
}

/// The v3 signature HubSpot sends.
pub fn sign_v3(secret: &str, method: &str, uri: &str, body: &[u8], timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body);
    mac.update(timestamp_ms.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The v1 signature: hex(SHA-256(secret + body)).
pub fn sign_v1(secret: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(secret.as_bytes());
    digest.update(body);
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One batch to deliver.
struct Batch {
    id: u64,
    events: Vec<Value>,
}

impl HubspotSim {
    /// Starts the delivery loop once, on the current Tokio runtime.
    pub(crate) fn ensure_dispatcher(&self) {
        if self
            .dispatcher_started
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let sim = self.clone();
        tokio::spawn(async move {
            let http = http_client();
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                for batch in sim.take_batches() {
                    let sim = sim.clone();
                    let http = http.clone();
                    tokio::spawn(async move { sim.deliver(http, batch).await });
                }
            }
        });
    }

    /// Cuts queued events into batches, applying duplicate/reorder faults.
    fn take_batches(&self) -> Vec<Batch> {
        let mut state = self.lock();
        let events = std::mem::take(&mut state.pending_events);
        let mut batches = Vec::new();
        for chunk in events.chunks(BATCH) {
            state.next_event += 1;
            let mut events = chunk.to_vec();
            if state.webhook_faults.reorder_next > 0 {
                state.webhook_faults.reorder_next -= 1;
                events.reverse();
            }
            let copies = if state.webhook_faults.duplicate_next > 0 {
                state.webhook_faults.duplicate_next -= 1;
                2
            } else {
                1
            };
            for _ in 0..copies {
                batches.push(Batch {
                    id: state.next_event,
                    events: events.clone(),
                });
            }
        }
        batches
    }

    /// Delivers one batch, retrying on HubSpot's schedule.
    async fn deliver(self, http: reqwest::Client, batch: Batch) {
        for attempt in 0..=RETRY_DELAYS_S.len() as u32 {
            let (url, secret, timeout, factor) = {
                let state = self.lock();
                let Some(url) = state.app.webhook_url.clone() else {
                    return;
                };
                (
                    url,
                    state.app.client_secret.clone(),
                    state.app.webhook_timeout_ms,
                    state.app.webhook_time_factor,
                )
            };
            let events: Vec<Value> = batch
                .events
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    e["attemptNumber"] = json!(attempt);
                    e
                })
                .collect();
            let body = serde_json::to_vec(&events).expect("events serialise");
            let timestamp = chrono::Utc::now().timestamp_millis();
            let result = http
                .post(&url)
                .timeout(Duration::from_millis(timeout))
                .header("Content-Type", "application/json")
                .header(
                    "X-HubSpot-Signature-v3",
                    sign_v3(&secret, "POST", &url, &body, timestamp),
                )
                .header("X-HubSpot-Request-Timestamp", timestamp.to_string())
                .header("X-HubSpot-Signature", sign_v1(&secret, &body))
                .header("X-HubSpot-Signature-Version", "v1")
                .body(body)
                .send()
                .await;
            let status = result.as_ref().ok().map(|r| r.status().as_u16());
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            self.lock().deliveries.push(Delivery {
                batch: batch.id,
                attempt,
                status,
                events,
                delivered,
            });
            if delivered {
                return;
            }
            let Some(base) = RETRY_DELAYS_S.get(attempt as usize) else {
                return;
            };
            let jitter = rand::rng().random_range(0.9..1.1);
            let delay = Duration::from_secs_f64(*base as f64 * jitter / factor.max(1e-9));
            tokio::time::sleep(delay).await;
        }
    }
}

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("reqwest client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_matches_hubspot_vector() {
        let body = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
        assert_eq!(
            sign_v1("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", body.as_bytes()),
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
        );
    }
}
