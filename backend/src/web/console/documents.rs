//! A portal's document requests (HubSpot deal → Holded document): state,
//! Holded number and link, attempts, the last error, and "Reintentar" for
//! the failed ones (the same re-opening as the deal card's button).

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
    holded::DocumentType,
    jobs::DealDocument,
    store::{RequestState, RequestTrigger, entities::document_request},
    web::{AppState, signed::internal},
};

/// Requests listed, most recently changed first.
const SHOWN: u64 = 100;

fn retry_path(portal_id: i64) -> String {
    format!("{CONSOLE_PATH}/portals/{portal_id}/documents/retry")
}

/// The request's state as a badge, in Spanish.
fn state_badge(state: &str) -> Markup {
    let (class, label) = match RequestState::parse(state) {
        Some(RequestState::Created) => ("ok", "Creado"),
        Some(RequestState::Failed) => ("bad", "Error"),
        Some(RequestState::Pending) => ("info", "Pendiente"),
        Some(RequestState::ContactReady) => ("info", "Contacto listo"),
        Some(RequestState::Creating) => ("info", "Creando"),
        None => ("bad", "Desconocido"),
    };
    html! { span class={ "badge " (class) } { (label) } }
}

fn type_label(name: &str) -> &str {
    match DocumentType::from_v1_name(name) {
        Some(doc_type) => doc_type.spanish_name(),
        None => name,
    }
}

fn requests_table(
    session: &Session,
    portal_id: i64,
    requests: &[document_request::Model],
) -> Markup {
    html! {
        div.scroll {
            table {
                caption { "Solicitudes de documento (las " (SHOWN) " más recientes)" }
                (layout::column_headers(&["Negocio", "Tipo", "Estado", "Número", "Documento", "Intentos", "Último error", "Actualizado", "Acción"]))
                tbody {
                    @for request in requests {
                        @let failed = request.state == RequestState::Failed.as_str();
                        tr.attention[failed] {
                            th scope="row" { code { (request.deal_id) } }
                            td { (type_label(&request.document_type)) }
                            td { (state_badge(&request.state)) }
                            td {
                                @match (&request.holded_document_number, request.holded_document_id.is_some()) {
                                    (Some(number), _) => (number),
                                    (None, true) => "Borrador",
                                    (None, false) => "—",
                                }
                            }
                            td {
                                @if let Some(link) = &request.holded_link {
                                    a href=(link) rel="noopener noreferrer" { "Abrir en Holded" }
                                } @else { "—" }
                            }
                            td.number { (request.attempts) }
                            td { (request.error.as_deref().unwrap_or("—")) }
                            td { (layout::when(request.updated_at)) }
                            td {
                                @if failed {
                                    (layout::post_button(session, &retry_path(portal_id), "Reintentar", &[("request", request.id.to_string())], "secondary"))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The documents tab.
#[get("/portals/{portal_id}/documents")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let requests = state
        .store
        .portal_document_requests(portal.id, SHOWN)
        .await
        .map_err(internal)?;
    let body = html! {
        (done.notice())
        p { "Cada negocio que llega a la etapa de su tipo de documento (o pulsa «Crear ahora» en la tarjeta) crea un único documento de ese tipo en Holded." }
        @if requests.is_empty() {
            p { "Todavía no hay solicitudes de documento en este portal." }
        } @else {
            (requests_table(&session, portal.id, &requests))
        }
    };
    Ok(layout::console_page(
        StatusCode::OK,
        &session,
        Section::Portal(portal.id, PortalTab::Documents),
        "Documentos",
        body,
    ))
}

/// "Reintentar" on a failed request: re-opens it and queues its job.
#[post("/portals/{portal_id}/documents/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let missing =
        || ConsoleError::NotFound("Esa solicitud de documento no es de este portal.".to_owned());
    let id: i64 = form.fields.text("request").parse().map_err(|_| missing())?;
    let request = state
        .store
        .document_request(id)
        .await
        .map_err(internal)?
        .filter(|r| r.portal_id == portal.id)
        .ok_or_else(missing)?;
    let reopened = state
        .store
        .open_document_request(
            portal.id,
            &request.deal_id,
            &request.document_type,
            RequestTrigger::Card,
        )
        .await
        .map_err(internal)?;
    state
        .queue
        .push_deal(DealDocument::for_request(&reopened))
        .await
        .map_err(internal)?;
    state
        .store
        .audit(
            Some(portal.id),
            AUDIT_ACTOR,
            "document.retry",
            json!({"negocio": request.deal_id, "tipo": request.document_type}),
        )
        .await
        .map_err(internal)?;
    Ok(Done::DocumentQueued.redirect(&PortalTab::Documents.href(portal.id)))
}
