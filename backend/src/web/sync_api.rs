//! `POST /api/sync?portalId=…` (sync now) and `GET /api/runs?portalId=…` (run
//! history with failed records), for the settings page; HubSpot-signed.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde_json::json;

use super::{
    ApiError, AppState,
    signed::{internal, signed_portal},
};
use crate::{jobs::SyncPortal, store::RunTrigger};

/// Queues a sync of the signed portal now.
#[post("/api/sync")]
pub async fn sync_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (caller, portal, _) = signed_portal(&state, &req, &body).await?;
    queue_sync(&state, portal.id, &caller.actor(), json!({})).await?;
    Ok(HttpResponse::Accepted().json(json!({
        "status": "queued",
        "message": "Sincronización en cola: empezará en unos segundos.",
    })))
}

/// Queues a manual run of `portal_id` (settings page and console), refusing
/// when there is no Holded key to sync with; audited as `sync.requested` by
/// `actor` with `details` (why, when it is more than "sync now").
pub async fn queue_sync(
    state: &AppState,
    portal_id: i64,
    actor: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let settings = state
        .store
        .settings_row(portal_id)
        .await
        .map_err(internal)?;
    if settings.and_then(|s| s.holded_key_enc).is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_holded_key",
            "Añade primero la clave de API de Holded en la configuración.",
        ));
    }
    state
        .queue
        .push(SyncPortal {
            portal_id,
            trigger: RunTrigger::Manual,
        })
        .await
        .map_err(internal)?;
    state
        .store
        .audit(Some(portal_id), actor, "sync.requested", details)
        .await
        .map_err(internal)?;
    Ok(())
}

/// The portal's recent runs, their counts and failed records.
#[get("/api/runs")]
pub async fn runs(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (_, portal, _) = signed_portal(&state, &req, b"").await?;
    let runs = state
        .store
        .run_history(portal.id, 10)
        .await
        .map_err(internal)?;
    Ok(HttpResponse::Ok().json(json!({ "runs": runs })))
}
