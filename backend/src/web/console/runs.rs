//! A portal's sync runs — trigger, status, timing, counts and API calls per
//! object kind — and each run's failed records, with "Reintentar" (sends
//! that record again in a run queued now, even if it has not changed) and
//! "Sincronizar ahora".

use actix_web::{HttpResponse, get, http::StatusCode, post, web};
use maud::{Markup, html};
use serde_json::json;

use super::{
    AUDIT_ACTOR, CONSOLE_PATH,
    csrf::VerifiedForm,
    error::ConsoleError,
    layout::{self, Done, DoneQuery, PortalTab, Section},
    portal_or_404,
    session::Session,
};
use crate::{
    store::{
        RunDetail,
        entities::{sync_run_item, sync_run_object},
    },
    sync::kind_label,
    web::{AppState, signed::internal, sync_api::queue_sync},
};

/// Runs listed on the page, newest first.
const RUNS_SHOWN: u64 = 20;

/// A run's status in Spanish.
pub fn run_status_label(status: &str) -> &str {
    match status {
        "running" => "En curso",
        "completed" => "Completada",
        "failed" => "Fallida",
        "paused" => "En pausa",
        other => other,
    }
}

/// A run's status as a coloured badge (red when it needs attention).
pub fn run_status_badge(status: &str) -> Markup {
    let class = match status {
        "completed" => "ok",
        "running" => "info",
        _ => "bad",
    };
    html! { span class={ "badge " (class) } { (run_status_label(status)) } }
}

fn trigger_label(trigger: &str) -> &str {
    match trigger {
        "scheduled" => "Programada",
        "manual" => "Manual",
        "cli" => "Línea de órdenes",
        "webhook" => "Webhook de Holded",
        other => other,
    }
}

/// Where "Sincronizar ahora" posts for `portal_id`.
pub fn sync_now_path(portal_id: i64) -> String {
    format!("{CONSOLE_PATH}/portals/{portal_id}/sync")
}

fn retry_path(portal_id: i64) -> String {
    format!("{CONSOLE_PATH}/portals/{portal_id}/retry")
}

fn calls(run: &RunDetail) -> (i64, i64) {
    run.kinds.iter().fold((0, 0), |(hubspot, holded), kind| {
        (
            hubspot + i64::from(kind.hubspot_calls),
            holded + i64::from(kind.holded_calls),
        )
    })
}

fn summary_table(runs: &[RunDetail]) -> Markup {
    html! {
        div.scroll {
            table {
                caption { "Últimas ejecuciones (las " (RUNS_SHOWN) " más recientes)" }
                (layout::column_headers(&["Nº", "Inicio", "Origen", "Estado", "Duración", "Creados", "Actualizados", "Con error", "Llamadas a HubSpot", "Llamadas a Holded"]))
                tbody {
                    @for run in runs {
                        @let (hubspot, holded) = calls(run);
                        @let summary = &run.summary;
                        tr.attention[summary.failed > 0 || summary.status == "failed"] {
                            th scope="row" { a href={ "#run-" (summary.id) } { (summary.id) } }
                            td { (layout::when(summary.started_at)) }
                            td { (trigger_label(&summary.trigger)) @if run.dry_run { " (simulación)" } }
                            td { (run_status_badge(&summary.status)) }
                            td { (layout::duration(summary.started_at, summary.finished_at)) }
                            td.number { (summary.created) }
                            td.number { (summary.updated) }
                            td.number { (summary.failed) }
                            td.number { (hubspot) }
                            td.number { (holded) }
                        }
                    }
                }
            }
        }
    }
}

fn kinds_table(run_id: i64, kinds: &[sync_run_object::Model]) -> Markup {
    html! {
        div.scroll {
            table {
                caption { "Ejecución " (run_id) " por tipo de objeto" }
                (layout::column_headers(&["Objeto", "Estado", "Creados", "Actualizados", "Sin cambios", "Omitidos", "Con error", "Llamadas a HubSpot", "Llamadas a Holded"]))
                tbody {
                    @for kind in kinds {
                        tr {
                            th scope="row" { (kind_label(&kind.object_kind)) }
                            td { (run_status_label(&kind.status)) }
                            td.number { (kind.created) }
                            td.number { (kind.updated) }
                            td.number { (kind.unchanged) }
                            td.number { (kind.skipped) }
                            td.number { (kind.failed) }
                            td.number { (kind.hubspot_calls) }
                            td.number { (kind.holded_calls) }
                        }
                    }
                }
            }
        }
    }
}

fn failed_table(
    session: &Session,
    portal_id: i64,
    run_id: i64,
    failed: &[sync_run_item::Model],
) -> Markup {
    html! {
        div.scroll {
            table.failed {
                caption { "Registros con error de la ejecución " (run_id) }
                (layout::column_headers(&["Objeto", "ID en Holded", "Motivo", "Lo que se envió", "Estado", "Acción"]))
                tbody {
                    @for item in failed {
                        tr.attention[!item.resolved] {
                            td { (kind_label(&item.object_kind)) }
                            th scope="row" { code { (item.holded_id) } }
                            td { (item.reason.as_deref().unwrap_or("—")) }
                            td { @if let Some(summary) = &item.payload_summary { code.payload { (summary) } } @else { "—" } }
                            td {
                                @if item.resolved {
                                    span.badge.ok { "Resuelto" }
                                } @else {
                                    span.badge.bad { "Sin resolver" }
                                }
                            }
                            td {
                                @if !item.resolved {
                                    (layout::post_button(session, &retry_path(portal_id), "Reintentar", &[("item", item.id.to_string())], "secondary"))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn run_section(session: &Session, portal_id: i64, run: &RunDetail) -> Markup {
    let id = run.summary.id;
    html! {
        section.run id={ "run-" (id) } aria-labelledby={ "run-" (id) "-heading" } {
            h2 id={ "run-" (id) "-heading" } {
                "Ejecución " (id) " · " (trigger_label(&run.summary.trigger)) " · " (run_status_label(&run.summary.status))
            }
            @if let Some(error) = &run.error {
                p.error { (error) }
            }
            @if run.kinds.is_empty() {
                p { "Sin detalle por tipo de objeto." }
            } @else {
                (kinds_table(id, &run.kinds))
            }
            @for kind in run.kinds.iter().filter(|k| k.warning.is_some()) {
                p.warning { strong { (kind_label(&kind.object_kind)) ": " } (kind.warning.as_deref().unwrap_or_default()) }
            }
            @if !run.failed.is_empty() {
                @if run.failed.iter().any(|item| !item.resolved) {
                    (layout::post_button(session, &retry_path(portal_id), "Reintentar todos", &[("run", id.to_string())], "secondary"))
                }
                (failed_table(session, portal_id, id, &run.failed))
            }
        }
    }
}

/// The runs tab.
#[get("/portals/{portal_id}/runs")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let runs = state
        .store
        .run_history(portal.id, RUNS_SHOWN)
        .await
        .map_err(internal)?;
    let body = html! {
        (done.notice())
        (layout::post_button(&session, &sync_now_path(portal.id), "Sincronizar ahora", &[], "primary"))
        @if runs.is_empty() {
            p { "Todavía no hay ejecuciones de este portal." }
        } @else {
            (summary_table(&runs))
            @for run in &runs { (run_section(&session, portal.id, run)) }
        }
    };
    Ok(layout::console_page(
        StatusCode::OK,
        &session,
        Section::Portal(portal.id, PortalTab::Runs),
        "Ejecuciones",
        body,
    ))
}

/// "Sincronizar ahora": queues a run (as `POST /api/sync` does).
#[post("/portals/{portal_id}/sync")]
pub async fn sync_now(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    queue_sync(&state, portal.id, AUDIT_ACTOR, json!({})).await?;
    Ok(Done::SyncQueued.redirect(&PortalTab::Runs.href(portal.id)))
}

/// "Reintentar" on a failed record (`item`), or "Reintentar todos" on a run
/// (`run`: its unresolved failed records): forgets HubSpot's refusal of their
/// content and queues a run of the portal, which sends them again (even
/// unchanged) and marks the ones that land resolved.
#[post("/portals/{portal_id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let missing =
        || ConsoleError::NotFound("Ese registro con error no es de este portal.".to_owned());
    let (items, details) = if let Ok(run_id) = form.fields.text("run").parse::<i64>() {
        let items = state
            .store
            .unresolved_failures(portal.id, run_id)
            .await
            .map_err(internal)?;
        let details = json!({"reintento": {"ejecución": run_id, "registros": items.len()}});
        (items, details)
    } else {
        let item_id: i64 = form.fields.text("item").parse().map_err(|_| missing())?;
        let item = state
            .store
            .failed_item(portal.id, item_id)
            .await
            .map_err(internal)?
            .ok_or_else(missing)?;
        let details = json!({
            "reintento": {
                "objeto": item.object_kind,
                "holdedId": item.holded_id,
                "ejecución": item.run_id,
            }
        });
        (vec![item], details)
    };
    if items.is_empty() {
        return Err(missing());
    }
    for item in &items {
        state
            .store
            .clear_refusal(portal.id, &item.object_kind, &item.holded_id)
            .await
            .map_err(internal)?;
    }
    queue_sync(&state, portal.id, AUDIT_ACTOR, details).await?;
    Ok(Done::RetryQueued.redirect(&PortalTab::Runs.href(portal.id)))
}
