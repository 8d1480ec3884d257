//! HubSpot-signed requests (`X-HubSpot-Signature-v3`, signed with the app's
//! client secret over method, URL, body and timestamp) come in two shapes,
//! and each route accepts only its own:
//!
//! - **UI calls** (`hubspot.fetch` from the settings page and the deal card):
//!   HubSpot appends `portalId`, `userId`, `userEmail` and `appId` to the URL
//!   before signing it. [`ui_caller`] is the one function that decides who
//!   such a caller is: each of the four exactly once (a duplicate would let a
//!   UI add its own `portalId` in front of HubSpot's), `appId` this app's,
//!   and a signed write accepted once (a copy replayed within the five-minute
//!   window is refused).
//! - **Webhook deliveries**: no query string, a JSON array of events whose
//!   `appId` is this app's ([`webhook_events`]).
//!
//! Anything else is refused with 401 and nothing is read or written.

use actix_web::{HttpRequest, http::StatusCode};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use crate::{
    config::HubspotApp,
    crypto::to_hex,
    hubspot::{
        PortalClient,
        signature::{MAX_TIMESTAMP_SKEW_MS, SignedRequest, verify_v3},
    },
    store::{PortalStatus, entities::portal},
};

/// The query parameters `hubspot.fetch` appends to every UI call.
pub const IDENTITY_PARAMS: [&str; 4] = ["portalId", "userId", "userEmail", "appId"];

/// Who a verified UI call speaks for, from the parameters HubSpot appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCaller {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// The HubSpot user who made the call.
    pub user_id: u64,
    /// That user's email, as HubSpot sends it.
    pub user_email: String,
}

impl SignedCaller {
    /// The audit log's actor: `hubspot-user:<userId>`.
    pub fn actor(&self) -> String {
        format!("hubspot-user:{}", self.user_id)
    }
}

/// Why a UI call's identity parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A parameter HubSpot always appends is absent.
    #[error("falta el parámetro {0}")]
    Missing(&'static str),
    /// A parameter appears more than once.
    #[error("el parámetro {0} aparece más de una vez")]
    Repeated(&'static str),
    /// A parameter is empty or not a number where one is expected.
    #[error("el parámetro {0} no es válido")]
    Malformed(&'static str),
    /// The call was signed for another app.
    #[error("la llamada es de otra app de HubSpot")]
    ForeignApp,
}

/// The caller named by a UI call's query string: each of
/// [`IDENTITY_PARAMS`] exactly once, `appId` equal to `app_id`.
pub fn identity_from_query(query: &str, app_id: u64) -> Result<SignedCaller, IdentityError> {
    let mut values: [Option<String>; 4] = Default::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if let Some(i) = IDENTITY_PARAMS.iter().position(|name| *name == key) {
            if values[i].is_some() {
                return Err(IdentityError::Repeated(IDENTITY_PARAMS[i]));
            }
            values[i] = Some(value.into_owned());
        }
    }
    let [portal_id, user_id, user_email, caller_app] = values;
    let number = |value: Option<String>, name: &'static str| -> Result<u64, IdentityError> {
        let value = value.ok_or(IdentityError::Missing(name))?;
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::Malformed(name));
        }
        value.parse().map_err(|_| IdentityError::Malformed(name))
    };
    let portal_id = number(portal_id, "portalId")?;
    let user_id = number(user_id, "userId")?;
    let user_email = user_email.ok_or(IdentityError::Missing("userEmail"))?;
    if user_email.trim().is_empty() {
        return Err(IdentityError::Malformed("userEmail"));
    }
    if number(caller_app, "appId")? != app_id {
        return Err(IdentityError::ForeignApp);
    }
    Ok(SignedCaller {
        portal_id: i64::try_from(portal_id).map_err(|_| IdentityError::Malformed("portalId"))?,
        user_id,
        user_email,
    })
}

/// The configured HubSpot app, or 503 when this server has none.
fn hubspot_app(state: &AppState) -> Result<&HubspotApp, ApiError> {
    state.config.hubspot_app.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "El servidor no tiene configurada la app de HubSpot.",
        )
    })
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

/// Verifies HubSpot's `X-HubSpot-Signature-v3` over the method, the public
/// URL, the raw `body` and the timestamp (5-minute window, constant-time
/// compare). Refuses with 401 and touches nothing otherwise.
fn verify_signature(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    let app = hubspot_app(state)?;
    let uri = public_url(state, req);
    let request = SignedRequest {
        method: req.method().as_str(),
        uri: &uri,
        body,
    };
    verify_v3(
        &app.client_secret,
        &request,
        header(req, "X-HubSpot-Signature-v3"),
        header(req, "X-HubSpot-Request-Timestamp"),
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

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Refuses a signed write whose signature was accepted before (a replay within
/// the signature's window); reads are not recorded.
async fn refuse_replay(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    if matches!(req.method().as_str(), "GET" | "HEAD") {
        return Ok(());
    }
    let signature = header(req, "X-HubSpot-Signature-v3").unwrap_or_default();
    let hash = to_hex(&Sha256::digest(signature.trim().as_bytes()));
    // A timestamp is accepted up to 5 minutes either side of now.
    let expires_at = Utc::now() + chrono::Duration::milliseconds(2 * MAX_TIMESTAMP_SKEW_MS);
    let fresh = state
        .store
        .remember_signature(&hash, expires_at)
        .await
        .map_err(internal)?;
    if fresh {
        Ok(())
    } else {
        tracing::warn!("refused a replayed signed request");
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "replayed_request",
            "Esta petición firmada ya se recibió: no se acepta dos veces.",
        ))
    }
}

/// Who a HubSpot-signed UI call speaks for (see the module docs): the
/// signature, then the identity HubSpot appended, then, for a write, that
/// this signature was not accepted before. Every signed UI route calls this.
pub async fn ui_caller(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<SignedCaller, ApiError> {
    let app_id = hubspot_app(state)?.app_id;
    verify_signature(state, req, body)?;
    let caller = identity_from_query(req.query_string(), app_id).map_err(|err| {
        tracing::warn!(error = %err, "refused a signed call with a bad identity");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_caller",
            format!("Llamada de HubSpot no válida: {err}."),
        )
    })?;
    refuse_replay(state, req).await?;
    Ok(caller)
}

/// A verified webhook delivery.
#[derive(Debug)]
pub struct WebhookDelivery {
    /// This app's id (every event carries it).
    pub app_id: u64,
    /// The events, as received.
    pub events: Vec<serde_json::Value>,
}

/// A HubSpot webhook delivery (see the module docs): no query string, a valid
/// signature, a JSON array whose events are all this app's. 401 for anything
/// that is not a delivery to this app, 400 for a body that is not an array;
/// nothing is stored either way.
pub fn webhook_events(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<WebhookDelivery, ApiError> {
    let app_id = hubspot_app(state)?.app_id;
    let not_a_delivery = |why: &str| {
        tracing::warn!(
            reason = why,
            "refused a signed request on the webhook route"
        );
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_a_webhook",
            format!("No es una entrega de webhooks de HubSpot para esta app: {why}."),
        )
    };
    if !req.query_string().is_empty() {
        return Err(not_a_delivery("lleva parámetros en la URL"));
    }
    verify_signature(state, req, body)?;
    let events: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("Se esperaba un array JSON de eventos: {e}"),
        )
    })?;
    let ours =
        |event: &serde_json::Value| event.get("appId").and_then(|v| v.as_u64()) == Some(app_id);
    if !events.iter().all(ours) {
        return Err(not_a_delivery("hay eventos de otra app o sin appId"));
    }
    Ok(WebhookDelivery { app_id, events })
}

/// The signed UI caller's portal, installed and not disconnected, and a
/// client for it.
pub async fn signed_portal(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(SignedCaller, portal::Model, PortalClient), ApiError> {
    let caller = ui_caller(state, req, body).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const APP: u64 = 424242;

    #[test]
    fn the_caller_is_what_hubspot_appended_once_each() {
        let caller = identity_from_query(
            "portalId=77&userId=9&userEmail=ana%40ejemplo.es&appId=424242",
            APP,
        )
        .unwrap();
        assert_eq!(
            caller,
            SignedCaller {
                portal_id: 77,
                user_id: 9,
                user_email: "ana@ejemplo.es".into()
            }
        );
        assert_eq!(caller.actor(), "hubspot-user:9");
        // Other parameters of the page's own do not matter.
        assert!(
            identity_from_query(
                "view=1&portalId=77&userId=9&userEmail=a%40b.es&appId=424242",
                APP
            )
            .is_ok()
        );
    }

    #[test]
    fn a_repeated_missing_malformed_or_foreign_identity_is_refused() {
        let full = "portalId=77&userId=9&userEmail=a%40b.es&appId=424242";
        assert_eq!(
            identity_from_query(&format!("portalId=1&{full}"), APP),
            Err(IdentityError::Repeated("portalId"))
        );
        assert_eq!(
            identity_from_query(&format!("{full}&portalId=1"), APP),
            Err(IdentityError::Repeated("portalId"))
        );
        assert_eq!(
            identity_from_query(&format!("{full}&appId=424242"), APP),
            Err(IdentityError::Repeated("appId"))
        );
        assert_eq!(
            identity_from_query(&format!("{full}&userEmail=x%40y.es"), APP),
            Err(IdentityError::Repeated("userEmail"))
        );
        assert_eq!(
            identity_from_query("userId=9&userEmail=a%40b.es&appId=424242", APP),
            Err(IdentityError::Missing("portalId"))
        );
        assert_eq!(
            identity_from_query("portalId=77&userId=9&userEmail=a%40b.es", APP),
            Err(IdentityError::Missing("appId"))
        );
        assert_eq!(
            identity_from_query("portalId=77&userId=9&appId=424242", APP),
            Err(IdentityError::Missing("userEmail"))
        );
        assert_eq!(
            identity_from_query("portalId=-77&userId=9&userEmail=a%40b.es&appId=424242", APP),
            Err(IdentityError::Malformed("portalId"))
        );
        assert_eq!(
            identity_from_query("portalId=77&userId=&userEmail=a%40b.es&appId=424242", APP),
            Err(IdentityError::Malformed("userId"))
        );
        assert_eq!(
            identity_from_query("portalId=77&userId=9&userEmail=a%40b.es&appId=1", APP),
            Err(IdentityError::ForeignApp)
        );
        assert_eq!(
            identity_from_query("", APP),
            Err(IdentityError::Missing("portalId"))
        );
    }
}
