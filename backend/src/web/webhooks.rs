//! `POST /webhooks/hubspot`: the events the app subscribes to. The request is
//! verified (v3 signature over the raw body and public URL) and each event is
//! read by its shape: a deal-stage change (`object.propertyChange` on
//! `objectTypeId` `0-3`, or the legacy `deal.propertyChange`) of a connected
//! portal that this app did not cause is stored once (HubSpot delivers
//! duplicates and retries) and a deal job is queued; a
//! `contact.privacyDeletion` erases what is kept about the contact. Anything
//! else is not understood: acknowledged (HubSpot would only retry it), logged
//! and counted in `hh_webhook_unrecognised_events_total` by subscription type
//! (known types only; others are `other`). The answer comes at once, the work
//! happens in the job.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiError, AppState,
    signed::{WebhookDelivery, internal, webhook_events},
};
use crate::{
    jobs::{DealCause, DealDocument},
    store::{
        PortalStatus,
        webhooks::{NewWebhookEvent, PRIVACY_DELETION},
    },
};

/// One event of HubSpot's webhook array (fields this service reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_id: u64,
    subscription_id: u64,
    portal_id: i64,
    occurred_at: i64,
    subscription_type: String,
    #[serde(default)]
    object_type_id: Option<String>,
    #[serde(default)]
    object_id: Option<serde_json::Value>,
    #[serde(default)]
    property_name: Option<String>,
    #[serde(default)]
    property_value: Option<String>,
    #[serde(default)]
    change_source: Option<String>,
    #[serde(default)]
    source_id: Option<String>,
}

/// What happened to one event.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Duplicate,
    Ignored(&'static str),
    /// Not a shape this app acts on.
    Unrecognised,
}

/// What an event is, by its shape.
enum Shape {
    DealStage,
    PrivacyDeletion,
    Unrecognised,
}

/// The CRM objects of HubSpot's subscription types (`object` is the generic one).
const SUBSCRIPTION_OBJECTS: [&str; 8] = [
    "object",
    "contact",
    "company",
    "deal",
    "ticket",
    "product",
    "line_item",
    "conversation",
];
/// The actions of HubSpot's subscription types.
const SUBSCRIPTION_ACTIONS: [&str; 8] = [
    "creation",
    "deletion",
    "propertyChange",
    "associationChange",
    "merge",
    "restore",
    "privacyDeletion",
    "newMessage",
];

/// A metric label for a subscription type: the type when HubSpot has one of
/// that form, else `other` (the label's values stay a small, known set).
fn subscription_label(subscription_type: &str) -> String {
    let known = subscription_type
        .split_once('.')
        .is_some_and(|(object, action)| {
            SUBSCRIPTION_OBJECTS.contains(&object) && SUBSCRIPTION_ACTIONS.contains(&action)
        });
    if known {
        subscription_type.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts and logs an event this app does not act on.
fn unrecognised(label: String, portal_id: Option<i64>, detail: &str) {
    tracing::warn!(
        subscription_type = %label,
        portal_id,
        detail,
        "webhook event not understood: acknowledged and counted"
    );
    metrics::counter!("hh_webhook_unrecognised_events_total", "subscription_type" => label)
        .increment(1);
}

impl Event {
    fn shape(&self) -> Shape {
        let on_deal = match self.subscription_type.as_str() {
            "deal.propertyChange" => true,
            "object.propertyChange" => self.object_type_id.as_deref() == Some("0-3"),
            _ => false,
        };
        if on_deal && self.property_name.as_deref() == Some("dealstage") {
            Shape::DealStage
        } else if self.subscription_type == PRIVACY_DELETION {
            Shape::PrivacyDeletion
        } else {
            Shape::Unrecognised
        }
    }

    fn caused_by(&self, app_id: u64) -> bool {
        self.change_source.as_deref() == Some("INTEGRATION")
            && self.source_id.as_deref() == Some(app_id.to_string().as_str())
    }

    /// A delivery of a change already received: acknowledged, logged, not stored.
    fn repeated(&self) -> Verdict {
        tracing::debug!(
            portal_id = self.portal_id,
            event_id = self.event_id,
            subscription_id = self.subscription_id,
            "webhook event repeats a change already received"
        );
        Verdict::Duplicate
    }

    /// The change itself, whatever delivery carried it: HubSpot may deliver
    /// one change more than once, even under a fresh `eventId` or through a
    /// second subscription, so the key is the object, the property and its
    /// new value, and the moment — and a repeat costs no job and no deal read.
    fn dedupe_key(&self) -> String {
        let object = stored_object_id(self).unwrap_or_default();
        match self.shape() {
            Shape::DealStage => format!(
                "{}:deal:{object}:dealstage={}:{}",
                self.portal_id,
                self.property_value.as_deref().unwrap_or_default(),
                self.occurred_at
            ),
            _ => format!(
                "{}:{}:{object}:{}",
                self.portal_id, self.subscription_type, self.occurred_at
            ),
        }
    }
}

/// The event's object id as text (HubSpot sends it as a number).
fn stored_object_id(event: &Event) -> Option<String> {
    event.object_id.as_ref().map(|id| match id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

async fn judge(
    state: &AppState,
    app_id: u64,
    event: &Event,
    raw: &serde_json::Value,
) -> Result<Verdict, ApiError> {
    match event.shape() {
        Shape::PrivacyDeletion => return erase_contact(state, event, raw).await,
        Shape::Unrecognised => {
            let detail = format!(
                "{} on {} ({})",
                event.subscription_type,
                event.object_type_id.as_deref().unwrap_or("-"),
                event.property_name.as_deref().unwrap_or("-")
            );
            unrecognised(
                subscription_label(&event.subscription_type),
                Some(event.portal_id),
                &detail,
            );
            return Ok(Verdict::Unrecognised);
        }
        Shape::DealStage => {}
    }
    if event.caused_by(app_id) {
        return Ok(Verdict::Ignored("caused by this app"));
    }
    let portal = state
        .store
        .portal(event.portal_id)
        .await
        .map_err(internal)?;
    // A portal still installing, or whose access fails for now, keeps its
    // events: they are handled once it is connected again.
    if portal.is_none_or(|p| p.status == PortalStatus::Disconnected.as_str()) {
        return Ok(Verdict::Ignored("unknown or disconnected portal"));
    }
    let stored = state
        .store
        .record_webhook_event(NewWebhookEvent {
            dedupe_key: event.dedupe_key(),
            portal_id: event.portal_id,
            subscription_type: event.subscription_type.clone(),
            object_id: stored_object_id(event),
            payload: raw.to_string(),
            occurred_at: DateTime::<Utc>::from_timestamp_millis(event.occurred_at)
                .unwrap_or_else(Utc::now),
        })
        .await
        .map_err(internal)?;
    let Some(event_id) = stored else {
        return Ok(event.repeated());
    };
    if let Some(deal_id) = stored_object_id(event) {
        // A failed push is not lost: the stored event is swept up again.
        if let Err(err) = state
            .queue
            .push_deal(DealDocument {
                portal_id: event.portal_id,
                deal_id,
                cause: DealCause::StageChange { event_id },
            })
            .await
        {
            tracing::warn!(error = %err, "could not queue the deal job; the sweeper will");
        }
    }
    Ok(Verdict::Accepted)
}

/// A contact's privacy deletion in HubSpot: what this service keeps about
/// the contact is erased at once (whatever the portal's state; erasing is
/// idempotent, so a redelivery after a failure erases again), and the first
/// delivery of the event is recorded and audited. Holded is not touched.
async fn erase_contact(
    state: &AppState,
    event: &Event,
    raw: &serde_json::Value,
) -> Result<Verdict, ApiError> {
    let Some(contact_id) = stored_object_id(event) else {
        return Ok(Verdict::Ignored("privacy deletion without a contact"));
    };
    if state
        .store
        .portal(event.portal_id)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Ok(Verdict::Ignored("unknown portal"));
    }
    let erased = state
        .store
        .erase_hubspot_contact(event.portal_id, &contact_id)
        .await
        .map_err(internal)?;
    let stored = state
        .store
        .record_webhook_event(NewWebhookEvent {
            dedupe_key: event.dedupe_key(),
            portal_id: event.portal_id,
            subscription_type: event.subscription_type.clone(),
            object_id: Some(contact_id.clone()),
            payload: raw.to_string(),
            occurred_at: DateTime::<Utc>::from_timestamp_millis(event.occurred_at)
                .unwrap_or_else(Utc::now),
        })
        .await
        .map_err(internal)?;
    let Some(event_id) = stored else {
        return Ok(event.repeated());
    };
    state
        .store
        .mark_webhook_processed(event_id)
        .await
        .map_err(internal)?;
    state
        .store
        .audit(
            Some(event.portal_id),
            "hubspot",
            "privacy.contact_erased",
            json!({"contactoHubSpot": contact_id, "borrado": erased}),
        )
        .await
        .map_err(internal)?;
    tracing::info!(
        portal_id = event.portal_id,
        ?erased,
        "contact erased for privacy"
    );
    Ok(Verdict::Accepted)
}

/// Receives a batch of events.
#[post("/webhooks/hubspot")]
pub async fn hubspot_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let WebhookDelivery {
        app_id,
        events: raw,
    } = webhook_events(&state, &req, &body)?;
    let (mut accepted, mut duplicates, mut ignored, mut not_understood) = (0, 0, 0, 0);
    for value in &raw {
        let verdict = match serde_json::from_value::<Event>(value.clone()) {
            Ok(event) => judge(&state, app_id, &event, value).await?,
            Err(error) => {
                unrecognised(
                    "unreadable".to_owned(),
                    value.get("portalId").and_then(serde_json::Value::as_i64),
                    &error.to_string(),
                );
                Verdict::Unrecognised
            }
        };
        let outcome = match verdict {
            Verdict::Accepted => {
                accepted += 1;
                "accepted"
            }
            Verdict::Duplicate => {
                duplicates += 1;
                "duplicate"
            }
            Verdict::Ignored(why) => {
                tracing::debug!(reason = why, "webhook event ignored");
                ignored += 1;
                "ignored"
            }
            Verdict::Unrecognised => {
                not_understood += 1;
                "unrecognised"
            }
        };
        metrics::counter!("hh_webhook_events_total", "outcome" => outcome).increment(1);
    }
    tracing::info!(
        received = raw.len(),
        accepted,
        duplicates,
        ignored,
        unrecognised = not_understood,
        "HubSpot webhook"
    );
    Ok(HttpResponse::Ok().json(json!({
        "received": raw.len(),
        "accepted": accepted,
        "duplicates": duplicates,
        "ignored": ignored,
        "unrecognised": not_understood,
    })))
}

#[cfg(test)]
mod tests {
    use super::subscription_label;

    #[test]
    fn labels_are_hubspot_subscription_types_or_other() {
        assert_eq!(
            subscription_label("object.propertyChange"),
            "object.propertyChange"
        );
        assert_eq!(subscription_label("line_item.merge"), "line_item.merge");
        assert_eq!(subscription_label("deal.somethingNew"), "other");
        assert_eq!(subscription_label("x".repeat(500).as_str()), "other");
        assert_eq!(subscription_label(""), "other");
    }
}
