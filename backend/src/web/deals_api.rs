//! The deal card's API, HubSpot-signed like the settings API and scoped to the
//! signed portal (a deal is read with the portal's own token, so another
//! portal's deal is not found):
//! - `GET /api/deals/{dealId}?portalId=…`: choices, trigger stage and the
//!   state of each document type;
//! - `PUT /api/deals/{dealId}?portalId=…`: set "Tipo de documento (Holded)"
//!   and "Asociar documento a";
//! - `POST /api/deals/{dealId}/documents?portalId=…`: "Crear ahora" /
//!   "Reintentar" (queued; the card polls the state).

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, put, web};
use serde::Deserialize;

use super::{
    ApiError, AppState,
    signed::{internal, signed_portal},
};
use crate::{
    deals::{
        DealError,
        card::{DealChoices, RequestRefused, card_view, request_document, save_choices},
        read_deal,
    },
    jobs::DealDocument,
};

fn deal_error(err: DealError) -> ApiError {
    match err {
        DealError::DealNotFound(message) => {
            ApiError::new(StatusCode::NOT_FOUND, "deal_not_found", message)
        }
        DealError::Permanent(message) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
        DealError::Transient(message) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "upstream_unavailable", message)
        }
        err @ (DealError::QuotaSpent | DealError::Paused(_)) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "holded_quota_spent",
            err.to_string(),
        ),
        DealError::LeaseLost => internal("lease lost outside a job"),
        DealError::Database(err) => internal(err),
    }
}

/// The request's JSON body, or a 400 saying what is wrong with it.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("El cuerpo no es válido: {e}"),
        )
    })
}

/// The card's view of the deal.
#[get("/api/deals/{deal_id}")]
pub async fn get_deal(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (_, portal, client) = signed_portal(&state, &req, b"").await?;
    let deal = read_deal(&client, &path).await.map_err(deal_error)?;
    let view = card_view(&state.store, &client, &portal, &deal)
        .await
        .map_err(deal_error)?;
    Ok(HttpResponse::Ok().json(view))
}

/// Saves the card's choices on the deal, then answers the new view.
#[put("/api/deals/{deal_id}")]
pub async fn put_deal(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, portal, client) = signed_portal(&state, &req, &body).await?;
    let choices: DealChoices = json_body(&body)?;
    save_choices(&client, &path, &choices)
        .await
        .map_err(deal_error)?;
    let deal = read_deal(&client, &path).await.map_err(deal_error)?;
    let view = card_view(&state.store, &client, &portal, &deal)
        .await
        .map_err(deal_error)?;
    Ok(HttpResponse::Ok().json(view))
}

/// The body of `POST …/documents`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DocumentAsk {
    /// A document type other than the deal's.
    #[serde(default)]
    document_type: Option<String>,
}

/// "Crear ahora" / "Reintentar": queues the document of the deal's type now.
#[post("/api/deals/{deal_id}/documents")]
pub async fn create_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, portal, client) = signed_portal(&state, &req, &body).await?;
    let ask: DocumentAsk = if body.is_empty() {
        DocumentAsk::default()
    } else {
        json_body(&body)?
    };
    let deal = read_deal(&client, &path).await.map_err(deal_error)?;
    let request = request_document(&state.store, &portal, &deal, ask.document_type.as_deref())
        .await
        .map_err(|refused| match refused {
            RequestRefused::Deal(err) => deal_error(err),
            RequestRefused::NoDocumentType => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_document_type",
                refused.to_string(),
            ),
            RequestRefused::NoHoldedKey => {
                ApiError::new(StatusCode::CONFLICT, "no_holded_key", refused.to_string())
            }
            RequestRefused::AlreadyCreated { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_created", refused.to_string())
            }
        })?;
    state
        .queue
        .push_deal(DealDocument::for_request(&request))
        .await
        .map_err(internal)?;
    let view = card_view(&state.store, &client, &portal, &deal)
        .await
        .map_err(deal_error)?;
    Ok(HttpResponse::Accepted().json(view))
}
