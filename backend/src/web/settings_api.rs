//! `GET, PUT /api/settings?portalId=…`: the settings page's API, and
//! `POST /api/settings/holded-webhook/register`, which registers the portal's
//! webhook in Holded. Requests are HubSpot-signed; a portal reads and changes
//! only its own settings.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, put, web};

use super::{
    ApiError, AppState,
    signed::{SignedCaller, internal, signed_portal},
    sync_api::queue_sync,
};
use serde_json::json;

use crate::{
    hubspot::{HubspotError, PortalClient},
    settings::{
        ONLY_ADMINS, SettingsAccess, SettingsUpdate, SettingsView, UpdateError, settings_access,
    },
    store::entities::portal,
};

/// The API's answer to a failed read or save. A revoked installation (the
/// portal's token store has marked it disconnected) is a 409.
fn update_error(err: UpdateError) -> ApiError {
    match err {
        UpdateError::Hubspot(HubspotError::Auth { .. }) => ApiError::new(
            StatusCode::CONFLICT,
            "portal_disconnected",
            "La app está desconectada de este portal: vuelve a instalarla desde HubSpot.",
        ),
        UpdateError::Invalid(fields) => ApiError::invalid_fields(fields.0),
        UpdateError::Hubspot(err) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "hubspot_error",
            format!("No se pudo consultar HubSpot: {err}"),
        ),
        UpdateError::Database(err) => internal(err),
    }
}

/// The settings and what the page needs to draw them, with what the signed
/// user may do with them.
#[get("/api/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (caller, portal, client) = signed_portal(&state, &req, b"").await?;
    let mut view = settings_view(&state, &portal, &client).await?;
    view.access = Some(caller_access(&state, &portal, &client, &caller).await?);
    Ok(HttpResponse::Ok().json(view))
}

/// What `caller` may do with `portal`'s settings.
async fn caller_access(
    state: &AppState,
    portal: &portal::Model,
    client: &PortalClient,
    caller: &SignedCaller,
) -> Result<SettingsAccess, ApiError> {
    let row = state
        .store
        .settings_row(portal.id)
        .await
        .map_err(internal)?;
    Ok(settings_access(
        &state.super_admins,
        client,
        row.and_then(|r| r.allowed_editors).as_deref(),
        caller.user_id,
    )
    .await)
}

/// A 403 with `message`, the refused attempt audited.
async fn forbidden(
    state: &AppState,
    caller: &SignedCaller,
    message: String,
) -> Result<ApiError, ApiError> {
    state
        .store
        .audit(
            Some(caller.portal_id),
            &caller.actor(),
            "settings.refused",
            json!({"motivo": message}),
        )
        .await
        .map_err(internal)?;
    Ok(ApiError::new(StatusCode::FORBIDDEN, "forbidden", message))
}

/// The settings of `portal` as the settings page and the console draw them.
pub async fn settings_view(
    state: &AppState,
    portal: &portal::Model,
    client: &PortalClient,
) -> Result<SettingsView, ApiError> {
    match state.settings.view(portal, client).await {
        Ok(view) => Ok(view),
        Err(err) => Err(update_error(err)),
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
    let access = caller_access(&state, &portal, &client, &caller).await?;
    if !access.can_edit {
        let message = access.message.unwrap_or_else(|| ONLY_ADMINS.to_owned());
        return Err(forbidden(&state, &caller, message).await?);
    }
    if update.allowed_editors.is_some() && !access.super_admin {
        let message = "Solo un superadministrador del portal puede cambiar quién más puede cambiar la configuración.".to_owned();
        return Err(forbidden(&state, &caller, message).await?);
    }
    let mut view = save_settings(&state, &portal, &client, update, &caller.actor()).await?;
    view.access = Some(caller_access(&state, &portal, &client, &caller).await?);
    Ok(HttpResponse::Ok().json(view))
}

/// «Registrar automáticamente en Holded», for those who may change the
/// settings: 200 with whether Holded took the webhook and what to do next
/// (Spanish), Holded's refusal included.
#[post("/api/settings/holded-webhook/register")]
pub async fn register_holded_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (caller, portal, client) = signed_portal(&state, &req, &body).await?;
    let access = caller_access(&state, &portal, &client, &caller).await?;
    if !access.can_edit {
        let message = access.message.unwrap_or_else(|| ONLY_ADMINS.to_owned());
        return Err(forbidden(&state, &caller, message).await?);
    }
    let registration = state
        .settings
        .register_holded_webhook(portal.id, &caller.actor())
        .await
        .map_err(internal)?;
    Ok(HttpResponse::Ok().json(registration))
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
        Err(err) => return Err(update_error(err)),
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
