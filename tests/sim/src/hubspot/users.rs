//! The user provisioning API's read of one user (`GET
//! /settings/users/2026-03/{userId}` and the legacy `/settings/v3/users/…`),
//! by id or, with `idProperty=EMAIL`, by email. Needs `settings.users.read`;
//! an unknown user is a 404 (HubSpot docs: "Retrieves a user identified by
//! userId. userId refers to the user's ID by default, or optionally email as
//! specified by the IdProperty query param").

use actix_web::{HttpRequest, HttpResponse, web};

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    store::query_param,
};

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/settings/users/2026-03", "/settings/v3/users"] {
        cfg.route(&format!("{prefix}/{{user}}"), web::get().to(user));
    }
}

async fn user(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult {
    caller.require(&["settings.users.read".to_owned()])?;
    let by_email = match query_param(req.query_string(), "idProperty").as_deref() {
        None | Some("USER_ID") => false,
        Some("EMAIL") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "Invalid idProperty {other}: expected one of USER_ID, EMAIL"
            )));
        }
    };
    let state = sim.lock();
    let users = &state.portals[&caller.portal_id].users;
    let key = path.into_inner();
    let found = if by_email {
        users.values().find(|u| u.email.eq_ignore_ascii_case(&key))
    } else {
        key.parse().ok().and_then(|id: u64| users.get(&id))
    };
    let user = found.ok_or_else(|| ApiError::not_found(format!("User {key} not found")))?;
    Ok(HttpResponse::Ok().json(user.to_json()))
}
