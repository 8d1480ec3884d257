//! OAuth install per portal: `GET /oauth/install` sends the admin to HubSpot;
//! `GET /oauth/callback` completes the install and answers with a Spanish
//! page that says what was set up.

use actix_web::{HttpResponse, get, http::StatusCode, web};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::{AppState, page::page};
use crate::install::{InstallError, Installed};

fn html_response(status: StatusCode, title: &str, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page(title, body).into_string())
}

fn failure(status: StatusCode, message: &str) -> HttpResponse {
    html_response(
        status,
        "No se pudo instalar la app",
        html! { p.error { (message) } },
    )
}

/// Redirects to HubSpot's authorization page with a signed, expiring state.
#[get("/oauth/install")]
pub async fn install(state: web::Data<AppState>) -> HttpResponse {
    let Some(installer) = &state.installer else {
        return failure(
            StatusCode::SERVICE_UNAVAILABLE,
            &InstallError::NotConfigured.to_string(),
        );
    };
    match installer.authorize_url(Utc::now()) {
        Ok(url) => HttpResponse::Found()
            .insert_header(("Location", url))
            .finish(),
        Err(err) => failure(StatusCode::SERVICE_UNAVAILABLE, &err.to_string()),
    }
}

/// What HubSpot sends back to the redirect URL.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Completes the install and shows what was set up.
#[get("/oauth/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let Some(installer) = &state.installer else {
        return failure(
            StatusCode::SERVICE_UNAVAILABLE,
            &InstallError::NotConfigured.to_string(),
        );
    };
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or(error);
        return failure(
            StatusCode::BAD_REQUEST,
            &format!("HubSpot no autorizó la instalación: {detail}"),
        );
    }
    let (Some(code), Some(oauth_state)) = (&query.code, &query.state) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "Faltan los parámetros code y state. Vuelve a empezar la instalación desde HubSpot.",
        );
    };
    match installer.complete(code, oauth_state).await {
        Ok(installed) => success_page(&installed),
        Err(err) => {
            let status = match err {
                InstallError::BadState | InstallError::Refused(_) => StatusCode::BAD_REQUEST,
                InstallError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
                InstallError::Incomplete(_) => StatusCode::BAD_GATEWAY,
                InstallError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::warn!(error = %err, "install failed");
            failure(status, &err.to_string())
        }
    }
}

fn success_page(installed: &Installed) -> HttpResponse {
    let settings_url = format!(
        "https://app.hubspot.com/integrations-settings/{}/installed",
        installed.portal_id
    );
    let report = &installed.report;
    html_response(
        StatusCode::OK,
        "Holded ⇄ HubSpot está instalada",
        html! {
            p.ok { "La app se ha conectado al portal " strong { (installed.portal_id) } "." }
            ul {
                li { "Zona horaria del portal: " (installed.time_zone) " (la sincronización nocturna se ejecuta a la 01:00)." }
                li {
                    "Propiedades de HubSpot creadas ahora: " (report.properties_created.len())
                    "; ya existían: " (report.properties_existing) "."
                }
                li { "Pipelines de negocios encontrados: " (installed.pipelines) "." }
                li {
                    @if installed.sensitive_supported {
                        "Este portal admite datos sensibles (NIF, IBAN…): puedes activarlos en la configuración."
                    } @else {
                        "Los datos sensibles (NIF, IBAN…) no se sincronizan: solo es posible en portales Enterprise."
                    }
                }
            }
            @for warning in &report.warnings { p.error { (warning) } }
            p {
                "Siguiente paso: abre la "
                a href=(settings_url) { "configuración de la app en HubSpot" }
                " para añadir la clave de API de Holded y elegir qué sincronizar."
            }
        },
    )
}
