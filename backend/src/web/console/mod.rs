//! The operator console (`/console`): Spanish, server-rendered pages for the
//! operator who runs the service for many portals — every portal at a glance,
//! a portal's settings, its sync runs and failed records, its document
//! requests (HubSpot deal → Holded document), and the audit log.
//!
//! It is open only when `HH_ADMIN_TOKEN` is set (otherwise every page answers
//! 404 saying so). The operator trades the token for a signed session cookie
//! ([`session`]); every form carries the session's CSRF token ([`csrf`]); every
//! response carries the security headers of [`security_headers`]. The pages
//! need no JavaScript and load none.

mod audit;
mod csrf;
mod documents;
mod error;
mod layout;
mod login;
mod portal_settings;
mod portals;
mod runs;
mod session;

use actix_web::{
    HttpResponse, get,
    http::header::{self, CacheControl, CacheDirective},
    middleware::DefaultHeaders,
    web,
};

use super::{AppState, signed::internal};
use crate::store::entities::portal;
use error::ConsoleError;

/// Where the console lives (also the session cookie's path).
pub const CONSOLE_PATH: &str = "/console";

/// Who the audit log names for changes made in the console.
const AUDIT_ACTOR: &str = "console";

/// No script at all, styles only from the console's own stylesheet, forms
/// posted only to the console, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every console response carries.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(CacheControl(vec![CacheDirective::NoStore]))
}

/// Registers the console's pages under [`CONSOLE_PATH`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(CONSOLE_PATH)
            .wrap(security_headers())
            .service(stylesheet)
            .service(login::show)
            .service(login::submit)
            .service(login::logout)
            .service(web::resource(["", "/"]).get(portals::list))
            .service(portal_settings::show)
            .service(portal_settings::save)
            .service(runs::sync_now)
            .service(runs::list)
            .service(runs::retry)
            .service(documents::list)
            .service(documents::retry)
            .service(audit::global)
            .service(audit::of_portal)
            .default_service(web::to(not_found)),
    );
}

/// The console's stylesheet (a file, so the CSP needs no inline styles).
#[get("/console.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("console.css"))
}

async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::NotFound(
        "Esta página no existe en la consola.".to_owned(),
    ))
}

/// The installed portal `portal_id`, or a 404 page.
async fn portal_or_404(state: &AppState, portal_id: i64) -> Result<portal::Model, ConsoleError> {
    state
        .store
        .portal(portal_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            ConsoleError::NotFound(format!("No hay ningún portal {portal_id} instalado."))
        })
}
