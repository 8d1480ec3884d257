//! `GET, PUT /api/settings?portalId=…`: the settings page's API. Requests are
//! HubSpot-signed; a portal reads and changes only its own settings.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, put, web};

use super::{
    ApiError, AppState,
    signed::{internal, signed_portal},
    sync_api::queue_sync,
};
use serde_json::json;

use crate::{
    hubspot::{HubspotError, PortalClient},
    settings::{SettingsUpdate, SettingsView, UpdateError},
    store::{PortalStatus, entities::portal},
};

/// A refused token means the app was uninstalled or its access revoked: the
/// portal is marked disconnected (nothing runs for it until it is installed
/// again) instead of failing on every request.
async fn disconnect_on_auth(state: &AppState, portal_id: i64, err: UpdateError) -> ApiError {
    if let UpdateError::Hubspot(HubspotError::Auth { .. }) = &err {
        let reason =
            "HubSpot rechazó los tokens de la app (desinstalada o revocada). Vuelve a instalarla.";
        if let Err(db) = state
            .store
            .set_portal_status(
                portal_id,
                PortalStatus::Disconnected,
                Some(reason.to_owned()),
            )
            .await
        {
            return internal(db);
        }
        return ApiError::new(
            StatusCode::CONFLICT,
            "portal_disconnected",
            "La app está desconectada de este portal: vuelve a instalarla desde HubSpot.",
        );
    }
    update_error(err)
}

fn update_error(err: UpdateError) -> ApiError {
    match err {
        UpdateError::Invalid(fields) => ApiError::invalid_fields(fields.0),
        UpdateError::Hubspot(err) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "hubspot_error",
            format!("No se pudo consultar HubSpot: {err}"),
        ),
        UpdateError::Database(err) => internal(err),
    }
}

/// The settings and what the page needs to draw them.
#[get("/api/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (_, portal, client) = signed_portal(&state, &req, b"").await?;
    Ok(HttpResponse::Ok().json(settings_view(&state, &portal, &client).await?))
}

/// The settings of `portal` as the settings page and the console draw them.
pub async fn settings_view(
    state: &AppState,
    portal: &portal::Model,
    client: &PortalClient,
) -> Result<SettingsView, ApiError> {
    match state.settings.view(portal, client).await {
        Ok(view) => Ok(view),
        Err(err) => Err(disconnect_on_auth(state, portal.id, err).await),
    }
}

/// Validates everything, then saves; 422 with a Spanish message per field.
#[put("/api/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (caller, portal, client) = signed_portal(&state, &req, &body).await?;
    let update: SettingsUpdate = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("El cuerpo no es una configuración válida: {e}"),
        )
    })?;
    let view = save_settings(&state, &portal, &client, update, &caller.actor).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Validates and saves `update` as `actor` (settings API and console); a
/// refusal is a 422 whose [`ApiError::fields`] name each refused field. Turning
/// sensitive data off with "erase" queues the erasing sync at once.
pub async fn save_settings(
    state: &AppState,
    portal: &portal::Model,
    client: &PortalClient,
    update: SettingsUpdate,
    actor: &str,
) -> Result<SettingsView, ApiError> {
    let erase = update.sensitive_data.erase_existing && !update.sensitive_data.enabled;
    let view = match state.settings.update(portal, client, update, actor).await {
        Ok(view) => view,
        Err(err) => return Err(disconnect_on_auth(state, portal.id, err).await),
    };
    if erase
        && let Some(row) = state
            .store
            .settings_row(portal.id)
            .await
            .map_err(internal)?
        && row.erase_sensitive_pending
    {
        // Erase now rather than at the next nightly run.
        queue_sync(state, portal.id, actor, json!({})).await?;
    }
    Ok(view)
}
