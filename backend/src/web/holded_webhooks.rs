//! `POST /webhooks/holded/{token}`: Holded's webhook deliveries for the
//! portal whose opaque endpoint token this is. A delivery is taken only when
//! it is small, carries Holded's headers, is signed with the portal's signing
//! secret over its raw body (checked in constant time), was sent within five
//! minutes, comes from the portal's Holded account (the first verified
//! delivery pins it) and was not taken before (its `x-holded-webhook-id`).
//! Anything else changes nothing but the refusal count the console and the
//! settings page show. A taken delivery is stored and answered at once; the
//! targeted sync runs in a job.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, post, web};
use chrono::Utc;
use serde_json::json;

use super::{ApiError, AppState, signed::internal};
use crate::{
    holded::webhook::{self, Change, Refusal},
    jobs::HoldedChanges,
    store::{
        PortalStatus, entities::holded_webhook as webhook_row, holded_webhooks::NewHoldedEvent,
    },
};

/// Largest delivery taken: Holded sends one record per delivery.
pub const MAX_DELIVERY_BYTES: usize = 256 * 1024;

/// Receives one delivery.
#[post("/webhooks/holded/{token}")]
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(row) = state
        .store
        .holded_webhook_by_token(&token)
        .await
        .map_err(internal)?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No existe este webhook.",
        ));
    };
    match accept(&state, &req, &row, &body).await? {
        Ok(outcome) => {
            metrics::counter!("hh_holded_webhooks_total", "outcome" => outcome).increment(1);
            Ok(HttpResponse::Ok().json(json!({"outcome": outcome})))
        }
        Err(refusal) => {
            metrics::counter!("hh_holded_webhooks_total", "outcome" => "refused").increment(1);
            let reason = refusal.to_string();
            tracing::warn!(portal_id = row.portal_id, reason = %reason, "Holded webhook delivery refused");
            state
                .store
                .note_holded_refusal(row.portal_id, &reason)
                .await
                .map_err(internal)?;
            let status = match refusal {
                Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                Refusal::BadSignature | Refusal::NoSecret => StatusCode::UNAUTHORIZED,
                Refusal::ForeignAccount(_) => StatusCode::FORBIDDEN,
                Refusal::MissingHeader(_) | Refusal::Stale(_) => StatusCode::BAD_REQUEST,
            };
            Err(ApiError::new(
                status,
                "refused",
                format!("Envío rechazado: {reason}."),
            ))
        }
    }
}

/// Checks and stores one delivery; the inner error is why it was refused.
async fn accept(
    state: &AppState,
    req: &HttpRequest,
    row: &webhook_row::Model,
    body: &[u8],
) -> Result<Result<&'static str, Refusal>, ApiError> {
    if body.len() > MAX_DELIVERY_BYTES {
        return Ok(Err(Refusal::TooLarge(MAX_DELIVERY_BYTES)));
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let Some(secret) = state
        .settings
        .holded_webhook_secret(row)
        .map_err(internal)?
    else {
        return Ok(Err(Refusal::NoSecret));
    };
    if let Err(refusal) = webhook::verify(&secret, body, header("x-holded-webhook-signature")) {
        return Ok(Err(refusal));
    }
    let delivery = match webhook::delivery(header) {
        Ok(delivery) => delivery,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Err(refusal) = webhook::check_fresh(&delivery, Utc::now()) {
        return Ok(Err(refusal));
    }
    if row
        .account_id
        .as_deref()
        .is_some_and(|pinned| pinned != delivery.account_id)
    {
        return Ok(Err(Refusal::ForeignAccount(delivery.account_id)));
    }
    let connected = state
        .store
        .portal(row.portal_id)
        .await
        .map_err(internal)?
        .is_some_and(|p| p.status == PortalStatus::Connected.as_str());
    state
        .store
        .note_holded_delivery(row.portal_id, &delivery.account_id)
        .await
        .map_err(internal)?;
    if !connected {
        return Ok(Ok("ignored"));
    }
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let change = Change::of(&delivery.event, &parsed).unwrap_or(Change::Other);
    let stored = state
        .store
        .record_holded_event(NewHoldedEvent {
            portal_id: row.portal_id,
            delivery_id: delivery.id,
            event: delivery.event,
            object_id: change.key(),
        })
        .await
        .map_err(internal)?;
    let Some(event_id) = stored else {
        return Ok(Ok("duplicate"));
    };
    // One job gathers a burst: queued only by the first delivery waiting
    // (the job looks again for deliveries after each run; the sweeper
    // queues it again if it is lost).
    let waiting = state
        .store
        .other_pending_holded_events(row.portal_id, event_id)
        .await
        .map_err(internal)?;
    if !waiting
        && let Err(err) = state
            .queue
            .push_holded_changes(HoldedChanges {
                portal_id: row.portal_id,
            })
            .await
    {
        tracing::warn!(error = %err, "could not queue the Holded changes job; the sweeper will");
    }
    Ok(Ok("accepted"))
}
