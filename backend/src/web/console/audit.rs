//! The audit log, of every portal or of one, newest first, a page at a time.

use actix_web::{HttpResponse, get, http::StatusCode, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    CONSOLE_PATH,
    error::ConsoleError,
    layout::{self, PortalTab, Section},
    portal_or_404,
    session::Session,
};
use crate::{
    store::audit::AuditPage,
    web::{AppState, signed::internal},
};

/// Entries per page.
const PER_PAGE: u64 = 25;

/// `?pagina=N` (from 1).
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pagina: Option<u64>,
}

fn action_label(action: &str) -> &str {
    match action {
        "settings.updated" => "Configuración guardada",
        "sync.requested" => "Sincronización pedida",
        "portal.installed" => "App instalada",
        other => other,
    }
}

/// An entry's details (JSON, secrets already masked): one line per field, a
/// change as "antes → después".
fn details(text: &str) -> Markup {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return html! { code.payload { (text) } };
    };
    html! {
        @if fields.is_empty() {
            "—"
        } @else {
            ul.details {
                @for (field, value) in &fields {
                    li {
                        strong { (field) } ": "
                        @if let (Some(before), Some(after)) = (value.get("antes"), value.get("después")) {
                            code.payload { (before) } " → " code.payload { (after) }
                        } @else {
                            code.payload { (value) }
                        }
                    }
                }
            }
        }
    }
}

fn audit_table(page: &AuditPage, with_portal: bool) -> Markup {
    let columns: &[&str] = if with_portal {
        &["Fecha", "Portal", "Quién", "Acción", "Detalles"]
    } else {
        &["Fecha", "Quién", "Acción", "Detalles"]
    };
    html! {
        div.scroll {
            table {
                caption { "Registro de auditoría, lo más reciente primero" }
                (layout::column_headers(columns))
                tbody {
                    @for entry in &page.entries {
                        tr {
                            th scope="row" { (layout::when(entry.created_at)) }
                            @if with_portal {
                                td {
                                    @if let Some(portal_id) = entry.portal_id {
                                        a href=(PortalTab::Audit.href(portal_id)) { (portal_id) }
                                    } @else { "—" }
                                }
                            }
                            td { (entry.actor) }
                            td { (action_label(&entry.action)) }
                            td { (details(&entry.details)) }
                        }
                    }
                }
            }
        }
    }
}

/// "Más recientes" / "Más antiguas" links around "Página N de M".
fn pager(page: &AuditPage, base: &str) -> Markup {
    html! {
        nav.pager aria-label="Páginas del registro" {
            @if page.page > 1 {
                a href={ (base) "?pagina=" (page.page - 1) } rel="prev" { "« Más recientes" }
            }
            span { "Página " (page.page) " de " (page.pages) }
            @if page.page < page.pages {
                a href={ (base) "?pagina=" (page.page + 1) } rel="next" { "Más antiguas »" }
            }
        }
    }
}

fn audit_body(page: &AuditPage, base: &str, with_portal: bool) -> Markup {
    html! {
        @if page.entries.is_empty() {
            p { "Todavía no hay nada en el registro." }
        } @else {
            (audit_table(page, with_portal))
            (pager(page, base))
        }
    }
}

/// The audit log of every portal.
#[get("/audit")]
pub async fn global(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let page = state
        .store
        .audit_page(None, query.pagina.unwrap_or(1), PER_PAGE)
        .await
        .map_err(internal)?;
    let body = audit_body(&page, &format!("{CONSOLE_PATH}/audit"), true);
    Ok(layout::console_page(
        StatusCode::OK,
        &session,
        Section::Audit,
        "Registro de auditoría",
        body,
    ))
}

/// The audit log of one portal.
#[get("/portals/{portal_id}/audit")]
pub async fn of_portal(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let page = state
        .store
        .audit_page(Some(portal.id), query.pagina.unwrap_or(1), PER_PAGE)
        .await
        .map_err(internal)?;
    let body = audit_body(&page, &PortalTab::Audit.href(portal.id), false);
    Ok(layout::console_page(
        StatusCode::OK,
        &session,
        Section::Portal(portal.id, PortalTab::Audit),
        "Registro de auditoría",
        body,
    ))
}
