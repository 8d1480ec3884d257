//! Every portal at a glance: connection, Holded, last and next run, and the
//! records still failing.

use actix_web::{HttpResponse, http::StatusCode, web};
use maud::{Markup, html};

use super::{
    layout::{self, PortalTab, Section},
    runs::run_status_badge,
    session::Session,
};
use crate::{
    store::{PortalOverview, PortalStatus, entities::portal, uninstall::UNINSTALL_GRACE},
    web::{AppState, signed::internal},
};

use super::error::ConsoleError;

fn portal_status_label(portal: &portal::Model) -> &str {
    match portal.status.as_str() {
        s if s == PortalStatus::Connected.as_str() && portal.degraded_since.is_some() => {
            "Conectado, con fallos"
        }
        s if s == PortalStatus::Connected.as_str() => "Conectado",
        s if s == PortalStatus::Installing.as_str() => "Instalación sin terminar",
        s if s == PortalStatus::Disconnected.as_str() => "Desconectado",
        other => other,
    }
}

/// Whether the portal's HubSpot access is fully healthy.
fn healthy(portal: &portal::Model) -> bool {
    portal.status == PortalStatus::Connected.as_str()
        && portal.degraded_since.is_none()
        && portal.missing_scopes.is_none()
}

/// Whether the row needs the operator's attention.
fn needs_attention(row: &PortalOverview) -> bool {
    !healthy(&row.portal)
        || !row.holded_connected
        || row.unresolved_failures > 0
        || row.failed_documents > 0
        || row
            .last_run
            .as_ref()
            .is_some_and(|run| run.status == "failed" || run.status == "paused")
}

fn portal_row(row: &PortalOverview) -> Markup {
    let portal = &row.portal;
    html! {
        tr.attention[needs_attention(row)] {
            th scope="row" { a href=(PortalTab::Settings.href(portal.id)) { (portal.id) } }
            td {
                span class={ "badge " (if healthy(portal) { "ok" } else { "bad" }) } { (portal_status_label(portal)) }
                @if let Some(reason) = &portal.status_reason {
                    br; small { (reason) }
                }
                @if let (Some(since), Some(reason)) = (portal.degraded_since, &portal.degraded_reason) {
                    br; small { "Desde " (layout::when(since)) ": " (reason) ". Se reintenta solo." }
                }
                @if let Some(at) = portal.uninstalled_at {
                    br; small { "Desinstalada el " (layout::when(at)) "; su configuración y la clave de Holded se borran el " (layout::when(at + UNINSTALL_GRACE)) " si no se vuelve a instalar." }
                }
                @if let Some(scopes) = &portal.missing_scopes {
                    br; small { "Faltan permisos de HubSpot (" (scopes) "): un superadministrador debe volver a instalar la app." }
                }
            }
            td { (portal.time_zone) }
            td {
                @if row.holded_connected {
                    span.badge.ok { "Sí" }
                    " " (row.holded_generation.as_deref().unwrap_or("—"))
                } @else {
                    span.badge.bad { "No" }
                }
            }
            td {
                @if let Some(run) = &row.last_run {
                    (run_status_badge(&run.status)) " " (layout::when(run.started_at))
                } @else {
                    "Ninguna"
                }
            }
            td { (layout::when_or_dash(portal.next_run_at)) }
            td.number {
                @if row.failed_documents > 0 {
                    a.badge.bad href=(PortalTab::Documents.href(portal.id)) { (row.failed_documents) }
                } @else {
                    "0"
                }
            }
            td.number {
                @if row.unresolved_failures > 0 {
                    a.badge.bad href=(PortalTab::Runs.href(portal.id)) { (row.unresolved_failures) }
                } @else {
                    "0"
                }
            }
        }
    }
}

/// The portals page (`/console`).
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, ConsoleError> {
    let rows = state.store.portal_overviews().await.map_err(internal)?;
    let attention = rows.iter().filter(|row| needs_attention(row)).count();
    let body = html! {
        @if rows.is_empty() {
            p { "Todavía no hay portales instalados." }
        } @else {
            p {
                (rows.len()) @if rows.len() == 1 { " portal. " } @else { " portales. " }
                @if attention > 0 {
                    strong.error { (attention) @if attention == 1 { " necesita atención" } @else { " necesitan atención" } }
                    " (en rojo)."
                } @else {
                    "Todo en orden."
                }
            }
            div.scroll {
                table {
                    caption { "Portales instalados" }
                    (layout::column_headers(&["Portal (hub id)", "Estado", "Zona horaria", "Holded conectado", "Última ejecución", "Próxima ejecución", "Documentos con error", "Registros con error sin resolver"]))
                    tbody {
                        @for row in &rows { (portal_row(row)) }
                    }
                }
            }
        }
    };
    Ok(layout::console_page(
        StatusCode::OK,
        &session,
        Section::Portals,
        "Portales",
        body,
    ))
}
