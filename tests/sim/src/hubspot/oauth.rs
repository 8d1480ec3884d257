//! OAuth: authorize (approves at once for the chosen portal), token
//! (`/oauth/v1/token`, `/oauth/v3/token`, `/oauth/2026-03/token`),
//! introspect and revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    HubspotSim, gate,
    state::{AccessToken, Grant, State},
};

/// Access token lifetime.
pub const EXPIRES_IN: i64 = 1_800;

/// Registers the OAuth routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/authorize", web::get().to(authorize));
    for version in ["v1", "v3", "2026-03", "2026-09"] {
        cfg.route(&format!("/oauth/{version}/token"), web::post().to(token));
    }
    for version in ["v3", "2026-03", "2026-09"] {
        cfg.route(
            &format!("/oauth/{version}/token/introspect"),
            web::post().to(introspect),
        )
        .route(
            &format!("/oauth/{version}/token/revoke"),
            web::post().to(revoke),
        );
    }
}

/// RFC 6749 error with HubSpot's extra fields.
fn oauth_error(status: u16, error: &str, description: &str, hubspot_status: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default()).json(json!({
        "error": error, "error_description": description, "status": hubspot_status, "message": description,
        "correlationId": uuid::Uuid::new_v4().to_string(),
    }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    optional_scope: String,
    state: Option<String>,
}

async fn authorize(sim: web::Data<HubspotSim>, query: web::Query<AuthorizeQuery>) -> HttpResponse {
    let mut state = sim.lock();
    if query.client_id != state.app.client_id {
        return HttpResponse::BadRequest()
            .content_type("text/html")
            .body("<html><body>Invalid client_id</body></html>");
    }
    let Some(portal_id) = state
        .install_portal
        .or_else(|| state.portals.keys().next_back().copied())
    else {
        return HttpResponse::BadRequest()
            .content_type("text/html")
            .body("<html><body>No HubSpot account to install into</body></html>");
    };
    let code = State::token("code");
    // Optional scopes are granted only where the account has the feature:
    // sensitive-data scopes need an Enterprise subscription.
    let enterprise = state
        .portals
        .get(&portal_id)
        .is_some_and(|p| p.tier == crate::hubspot::model::Tier::Enterprise);
    let scopes = query
        .scope
        .split_whitespace()
        .chain(
            query
                .optional_scope
                .split_whitespace()
                .filter(|s| enterprise || !s.contains("sensitive.")),
        )
        .map(str::to_owned)
        .collect();
    state.codes.insert(
        code.clone(),
        (
            Grant {
                portal_id,
                scopes: Some(scopes),
            },
            query.redirect_uri.clone(),
        ),
    );
    let mut location = url::Url::parse(&query.redirect_uri).map_or_else(
        |_| query.redirect_uri.clone(),
        |mut u| {
            u.query_pairs_mut().append_pair("code", &code);
            if let Some(s) = &query.state {
                u.query_pairs_mut().append_pair("state", s);
            }
            u.to_string()
        },
    );
    if location.is_empty() {
        location = "/".into();
    }
    HttpResponse::Found()
        .insert_header(("Location", location))
        .finish()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
}

/// Issues an access + refresh token pair for `grant`.
fn issue(state: &mut State, grant: Grant, refresh: Option<String>) -> serde_json::Value {
    let access = State::token("sim-at");
    let refresh = refresh.unwrap_or_else(|| State::token("sim-rt"));
    let expires_at = state.now() + chrono::Duration::seconds(EXPIRES_IN);
    state.refresh_tokens.insert(refresh.clone(), grant.clone());
    state.tokens.insert(
        access.clone(),
        AccessToken {
            grant: grant.clone(),
            expires_at: Some(expires_at),
        },
    );
    json!({"token_type": "bearer", "access_token": access, "refresh_token": refresh, "expires_in": EXPIRES_IN,
           "hub_id": grant.portal_id, "scopes": grant.scopes.unwrap_or_default(), "token_use": "access_token"})
}

async fn token(sim: web::Data<HubspotSim>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let fault = gate::oauth_fault(&mut sim.lock(), req.path());
    if let Some((effect, delay)) = fault {
        tokio::time::sleep(delay).await;
        if let gate::Effect::Refuse(response) = effect {
            return response;
        }
    }
    let Some(form) = form::<TokenForm>(&body) else {
        return oauth_error(
            400,
            "invalid_request",
            "missing or invalid parameters",
            "BAD_REQUEST",
        );
    };
    let mut state = sim.lock();
    if form.client_id.as_deref() != Some(state.app.client_id.as_str())
        || form.client_secret.as_deref() != Some(state.app.client_secret.as_str())
    {
        return oauth_error(
            400,
            "invalid_client",
            "client id or secret is invalid",
            "BAD_CLIENT_ID",
        );
    }
    match form.grant_type.as_str() {
        "authorization_code" => {
            let Some((grant, redirect)) = form.code.as_deref().and_then(|c| state.codes.remove(c))
            else {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "code is invalid, expired or already used",
                    "BAD_AUTH_CODE",
                );
            };
            if form.redirect_uri.as_deref() != Some(redirect.as_str()) {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "redirect_uri does not match",
                    "BAD_REDIRECT_URI",
                );
            }
            let body = issue(&mut state, grant, None);
            HttpResponse::Ok().json(body)
        }
        "refresh_token" => {
            let Some(refresh) = form.refresh_token else {
                return oauth_error(
                    400,
                    "invalid_request",
                    "refresh_token is required",
                    "BAD_REQUEST",
                );
            };
            let Some(grant) = state.refresh_tokens.get(&refresh).cloned() else {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "refresh token is invalid, expired or revoked",
                    "BAD_REFRESH_TOKEN",
                );
            };
            let body = issue(&mut state, grant, Some(refresh));
            HttpResponse::Ok().json(body)
        }
        _ => oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type is not supported",
            "BAD_GRANT_TYPE",
        ),
    }
}

/// Parses a form-encoded body.
fn form<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Option<T> {
    let pairs: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), json!(v.into_owned())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(pairs)).ok()
}

#[derive(Deserialize)]
struct IntrospectForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
}

async fn introspect(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let Some(form) = form::<IntrospectForm>(&body) else {
        return oauth_error(400, "invalid_request", "missing parameters", "BAD_REQUEST");
    };
    let state = sim.lock();
    if form.client_id.as_deref() != Some(state.app.client_id.as_str())
        || form.client_secret.as_deref() != Some(state.app.client_secret.as_str())
    {
        return oauth_error(
            400,
            "invalid_client",
            "client id or secret is invalid",
            "BAD_CLIENT_ID",
        );
    }
    let token = form.token.unwrap_or_default();
    let app_id = state.app.app_id;
    let client_id = state.app.client_id.clone();
    if let Some(t) = state.tokens.get(&token) {
        let expires_in = t
            .expires_at
            .map_or(0, |at| (at - state.now()).num_seconds().max(0));
        let active = t.expires_at.is_none_or(|at| at > state.now());
        return HttpResponse::Ok().json(json!({
            "active": active, "token": token, "token_type": "access", "token_use": "access_token", "hub_id": t.grant.portal_id,
            "app_id": app_id, "client_id": client_id, "user_id": 1, "user": "admin@example.com", "hub_domain": format!("portal-{}.hubspot.com", t.grant.portal_id),
            "scopes": t.grant.scopes.clone().unwrap_or_default(), "expires_in": expires_in, "is_private_distribution": false,
            "signed_access_token": {"hubId": t.grant.portal_id, "appId": app_id, "expiresAt": t.expires_at.map(|a| a.timestamp_millis())},
        }));
    }
    if let Some(g) = state.refresh_tokens.get(&token) {
        return HttpResponse::Ok().json(json!({
            "active": true, "token": token, "token_type": "refresh", "token_use": "refresh_token", "hub_id": g.portal_id,
            "app_id": app_id, "client_id": client_id, "user_id": 1, "scopes": g.scopes.clone().unwrap_or_default(),
        }));
    }
    HttpResponse::Ok().json(json!({"active": false}))
}

async fn revoke(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let Some(form) = form::<IntrospectForm>(&body) else {
        return oauth_error(400, "invalid_request", "missing parameters", "BAD_REQUEST");
    };
    let mut state = sim.lock();
    let token = form.token.unwrap_or_default();
    if let Some(grant) = state.refresh_tokens.remove(&token) {
        state
            .tokens
            .retain(|_, t| t.grant.portal_id != grant.portal_id || t.expires_at.is_none());
    }
    state.tokens.remove(&token);
    HttpResponse::NoContent().finish()
}
