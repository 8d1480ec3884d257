//! `GET, PUT /api/settings?portalId=…`: the settings page's API. Requests are
//! HubSpot-signed; a portal reads and changes only its own settings.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, put, web};

use super::{ApiError, AppState, signed};
use crate::{
    hubspot::PortalClient,
    settings::{SettingsUpdate, UpdateError},
    store::{PortalStatus, entities::portal},
};

/// The signed portal, installed and not disconnected, and a client for it.
async fn signed_portal(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(signed::SignedCaller, portal::Model, PortalClient), ApiError> {
    let caller = signed::verify(state, req, body)?;
    let installer = state.installer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "El servidor no tiene configurada la app de HubSpot.",
        )
    })?;
    let portal = state
        .store
        .portal(caller.portal_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "portal_not_installed",
                "La app no está instalada en este portal de HubSpot.",
            )
        })?;
    if portal.status == PortalStatus::Disconnected.as_str() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "portal_disconnected",
            "La app está desconectada de este portal: vuelve a instalarla desde HubSpot.",
        ));
    }
    let client = installer.portal_client(portal.id);
    Ok((caller, portal, client))
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "settings API failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Error interno. Inténtalo de nuevo en unos minutos.",
    )
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
    let view = state
        .settings
        .update(&portal, &client, update, &caller.actor)
        .await
        .map_err(update_error)?;
    Ok(HttpResponse::Ok().json(view))
}
