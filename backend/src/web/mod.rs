//! HTTP surface (actix-web): thin handlers that call into the domain modules.

mod console;
mod deals_api;
mod error;
mod health;
mod holded_webhooks;
mod oauth;
mod operator;
mod page;
mod request_context;
mod settings_api;
mod signed;
mod sync_api;
mod webhooks;

use actix_web::{
    App, HttpServer,
    dev::Server,
    http::header,
    middleware::{Condition, DefaultHeaders},
    web,
};
use metrics_exporter_prometheus::PrometheusHandle;

pub use error::ApiError;

use crate::{
    config::Config,
    crypto::Keyring,
    install::Installer,
    jobs::JobQueue,
    settings::{SettingsService, SuperAdminCache},
    store::Store,
};

/// Largest request body accepted, in bytes (HubSpot webhook batches are well below).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// Database.
    pub store: Store,
    /// Renders the Prometheus metrics.
    pub metrics: PrometheusHandle,
    /// Validated configuration.
    pub config: Config,
    /// OAuth install and portal clients; `None` when the HubSpot app is not configured.
    pub installer: Option<Installer>,
    /// Portal settings.
    pub settings: SettingsService,
    /// Job queue (manual syncs, deal jobs).
    pub queue: JobQueue,
    /// Recent answers to "is this HubSpot user a super admin?".
    pub super_admins: SuperAdminCache,
    /// Keys derived from `HH_SECRET_KEY` (console sessions).
    pub keys: Keyring,
}

/// Registers every route on an actix service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(oauth::install)
        .service(oauth::callback)
        .service(settings_api::get_settings)
        .service(settings_api::put_settings)
        .service(settings_api::register_holded_webhook)
        .service(sync_api::sync_now)
        .service(sync_api::runs)
        .service(webhooks::hubspot_webhook)
        .service(holded_webhooks::receive)
        .service(deals_api::get_deal)
        .service(deals_api::put_deal)
        .service(deals_api::create_document)
        .configure(console::routes);
}

/// The server of `HH_METRICS_BIND`: `/metrics` only, without a token (for
/// an address only Prometheus reaches).
pub fn metrics_server(state: AppState, listener: std::net::TcpListener) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(health::metrics_only))
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .run())
}

/// Builds the HTTP server on an already-bound listener (port 0 works for tests).
/// When the public URL is https, every answer carries HSTS.
/// It handles no signals itself: its owner stops it through its handle
/// (gracefully, finishing requests in flight for up to 30 seconds).
pub fn server(state: AppState, listener: std::net::TcpListener) -> std::io::Result<Server> {
    let https = state.config.public_url.scheme() == "https";
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Condition::new(
                https,
                DefaultHeaders::new().add((
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains",
                )),
            ))
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(error::json_error),
            )
            .wrap(actix_web::middleware::from_fn(
                request_context::request_context,
            ))
            .configure(routes)
            .default_service(web::to(error::not_found))
    })
    .listen(listener)?
    .shutdown_timeout(30)
    .disable_signals()
    .run();
    Ok(server)
}
