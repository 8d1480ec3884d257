//! `GET, PUT /api/settings?portalId=…`: the settings page's API. Requests are
//! HubSpot-signed; a portal reads and changes only its own settings.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, put, web};

use super::{
    ApiError, AppState,
    signed::{internal, signed_portal},
    sync_api::queue_sync,
};
use crate::settings::{SettingsUpdate, UpdateError};

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
    let view = state
        .settings
        .view(&portal, &client)
        .await
        .map_err(update_error)?;
    Ok(HttpResponse::Ok().json(view))
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
    let erase = update.sensitive_data.erase_existing && !update.sensitive_data.enabled;
    let view = state
        .settings
        .update(&portal, &client, update, &caller.actor)
        .await
        .map_err(update_error)?;
    if erase
        && let Some(row) = state
            .store
            .settings_row(portal.id)
            .await
            .map_err(internal)?
        && row.erase_sensitive_pending
    {
        // Erase now rather than at the next nightly run.
        queue_sync(&state, portal.id, &caller.actor).await?;
    }
    Ok(HttpResponse::Ok().json(view))
}
