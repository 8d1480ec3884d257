//! HubSpot-signed requests (`X-HubSpot-Signature-v3`): the settings page and
//! the deal card reach us through `hubspot.fetch`, which signs every request
//! with the app's client secret over the URL it called.

use actix_web::{HttpRequest, http::StatusCode};
use chrono::Utc;

use super::{ApiError, AppState};
use crate::{
    hubspot::{
        PortalClient,
        signature::{SignedRequest, verify_v3},
    },
    store::{PortalStatus, entities::portal},
};

/// The portal a verified request speaks for, and who asked.
#[derive(Debug, Clone)]
pub struct SignedCaller {
    /// HubSpot hub id, from the signed URL's `portalId`.
    pub portal_id: i64,
    /// Audit actor: `hubspot-user:<userId>` when HubSpot names the user.
    pub actor: String,
}

/// The public URL this request reached: `HH_PUBLIC_URL` (scheme, host and any
/// path prefix a proxy adds) followed by the path and query actually received.
fn public_url(state: &AppState, req: &HttpRequest) -> String {
    let base = state.config.public_url.as_str().trim_end_matches('/');
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    format!("{base}{path_and_query}")
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Verifies HubSpot's `X-HubSpot-Signature-v3` over the method, the public
/// URL, the raw `body` and the timestamp (5-minute window, constant-time
/// compare). Refuses with 401 and touches nothing otherwise.
pub fn verify_signature(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    let app = state.config.hubspot_app.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "El servidor no tiene configurada la app de HubSpot.",
        )
    })?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let uri = public_url(state, req);
    let request = SignedRequest {
        method: req.method().as_str(),
        uri: &uri,
        body,
    };
    verify_v3(
        &app.client_secret,
        &request,
        header("X-HubSpot-Signature-v3"),
        header("X-HubSpot-Request-Timestamp"),
        Utc::now(),
    )
    .map_err(|err| {
        tracing::warn!(error = %err, "refused a request with a bad HubSpot signature");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            format!("Firma de HubSpot no válida: {err}"),
        )
    })
}

/// Verifies the signature (see [`verify_signature`]) and returns the portal
/// named by the signed URL's `portalId`.
pub fn verify(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<SignedCaller, ApiError> {
    verify_signature(state, req, body)?;
    let portal_id = query_param(req, "portalId")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_portal",
                "Falta el parámetro portalId.",
            )
        })?;
    let actor = query_param(req, "userId")
        .filter(|id| id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty())
        .map(|id| format!("hubspot-user:{id}"))
        .unwrap_or_else(|| format!("portal:{portal_id}"));
    Ok(SignedCaller { portal_id, actor })
}

/// The signed portal, installed and not disconnected, and a client for it.
pub async fn signed_portal(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(SignedCaller, portal::Model, PortalClient), ApiError> {
    let caller = verify(state, req, body)?;
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
    let client = connected_client(state, &portal)?;
    Ok((caller, portal, client))
}

/// A HubSpot client for `portal`, refused when the HubSpot app is not
/// configured on this server or the portal is disconnected (settings API and
/// console).
pub fn connected_client(
    state: &AppState,
    portal: &portal::Model,
) -> Result<PortalClient, ApiError> {
    let installer = state.installer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "El servidor no tiene configurada la app de HubSpot.",
        )
    })?;
    if portal.status == PortalStatus::Disconnected.as_str() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "portal_disconnected",
            "La app está desconectada de este portal: vuelve a instalarla desde HubSpot.",
        ));
    }
    Ok(installer.portal_client(portal.id))
}

/// A 500 for an unexpected failure (logged; the caller sees a generic Spanish message).
pub fn internal(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "request failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Error interno. Inténtalo de nuevo en unos minutos.",
    )
}
