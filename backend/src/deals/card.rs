//! What the deal card shows and changes: the deal's document type and
//! "Asociar documento a", the trigger stage, and the state of each document
//! type's request; and asking for a document now (or again).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use super::{
    deal::{AssociateTo, Deal, deal_not_found},
    error::DealError,
    money::format_amount,
};
use crate::{
    holded::DocumentType,
    hubspot::{HubspotError, ObjectType, PortalClient, Properties},
    settings::DocumentMapping,
    store::{
        RequestState, RequestTrigger, Store, document_states::DocumentState,
        entities::document_request, entities::portal,
    },
    sync::billing::Status,
};

/// The card's view of a deal (`GET /api/deals/{dealId}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealCardView {
    deal_id: String,
    deal_name: String,
    document_type: Option<&'static str>,
    associate_to: Option<&'static str>,
    holded_configured: bool,
    trigger_stage: Option<StageView>,
    in_trigger_stage: bool,
    documents: Vec<DocumentView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StageView {
    pipeline_id: String,
    stage_id: String,
    label: String,
}

/// One document type's state on the deal.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentView {
    document_type: &'static str,
    label: &'static str,
    /// `none`, `pending`, `created` or `failed`.
    state: &'static str,
    number: Option<String>,
    link: Option<String>,
    error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    /// Its status and payments in Holded, once the sync has seen it.
    collection: Option<CollectionView>,
}

/// A created document's status and payments, as the card writes them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CollectionView {
    /// `borrador`, `emitida`, `cobrada_parcialmente`, `cobrada`, `vencida`, `anulada`.
    status: String,
    /// Its Spanish label («Cobrada parcialmente»).
    status_label: &'static str,
    /// Paid, Spanish style («500,00 €»).
    paid: String,
    /// Left to pay.
    pending: String,
}

fn collection_view(state: &DocumentState) -> Option<CollectionView> {
    let status = Status::from_value(&state.status)?;
    Some(CollectionView {
        status: state.status.clone(),
        status_label: status.label(),
        paid: format_amount(state.paid, &state.currency),
        pending: format_amount(state.pending, &state.currency),
    })
}

fn document_view(
    doc_type: DocumentType,
    request: Option<&document_request::Model>,
    states: &HashMap<String, DocumentState>,
) -> DocumentView {
    let state = match request.and_then(|r| RequestState::parse(&r.state)) {
        None => "none",
        Some(RequestState::Created) => "created",
        Some(RequestState::Failed) => "failed",
        Some(_) => "pending",
    };
    DocumentView {
        document_type: doc_type.v1_name(),
        label: doc_type.spanish_name(),
        state,
        number: request.and_then(|r| r.holded_document_number.clone()),
        link: request.and_then(|r| r.holded_link.clone()),
        error: request.and_then(|r| r.error.clone()),
        retry_at: request.and_then(|r| r.next_attempt_at),
        updated_at: request.map(|r| r.updated_at),
        collection: request
            .and_then(|r| r.holded_document_id.as_ref())
            .and_then(|id| states.get(id))
            .and_then(collection_view),
    }
}

/// The card's view of `deal` of `portal` (read with [`super::read_deal`] through
/// the portal's `client`, so a deal of another portal is not found).
pub async fn card_view(
    store: &Store,
    client: &PortalClient,
    portal: &portal::Model,
    deal: &Deal,
) -> Result<DealCardView, DealError> {
    let settings = store.portal_settings(portal.id, &portal.time_zone).await?;
    let mapping = DocumentMapping::from_json(&settings.document_mapping);
    let requests = store.deal_document_requests(portal.id, &deal.id).await?;
    let documents: Vec<String> = requests
        .iter()
        .filter_map(|r| r.holded_document_id.clone())
        .collect();
    let states = store.document_states(portal.id, &documents).await?;
    let trigger = match deal.document_type.and_then(|t| mapping.stage(t)) {
        Some(stage) => {
            let pipelines = client.deal_pipelines().await?;
            let label = pipelines
                .iter()
                .find(|p| p.id == stage.pipeline_id)
                .map(|p| {
                    let stage_label = p
                        .stage(&stage.stage_id)
                        .map(|s| s.label.clone())
                        .unwrap_or_else(|| stage.stage_id.clone());
                    format!("{} › {stage_label}", p.label)
                })
                .unwrap_or_else(|| stage.stage_id.clone());
            Some(StageView {
                pipeline_id: stage.pipeline_id.clone(),
                stage_id: stage.stage_id.clone(),
                label,
            })
        }
        None => None,
    };
    let in_trigger_stage = trigger.as_ref().is_some_and(|t| {
        deal.pipeline.as_deref() == Some(t.pipeline_id.as_str())
            && deal.stage.as_deref() == Some(t.stage_id.as_str())
    });
    Ok(DealCardView {
        deal_id: deal.id.clone(),
        deal_name: deal.name.clone(),
        document_type: deal.document_type.map(DocumentType::v1_name),
        associate_to: deal.associate_to.map(AssociateTo::as_str),
        holded_configured: settings.holded_key_enc.is_some(),
        trigger_stage: trigger,
        in_trigger_stage,
        documents: DocumentType::ALL
            .into_iter()
            .map(|t| {
                let request = requests.iter().find(|r| r.document_type == t.v1_name());
                document_view(t, request, &states)
            })
            .collect(),
    })
}

/// The card's choices (`PUT /api/deals/{dealId}`): a field left out stays as
/// it is; an empty string clears it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DealChoices {
    /// `estimate`, `proform`, `waybill`, `invoice`, `salesorder` or empty.
    #[serde(default)]
    pub document_type: Option<String>,
    /// `company`, `contact` or empty.
    #[serde(default)]
    pub associate_to: Option<String>,
}

/// Saves the choices on the deal (HubSpot), after checking their values.
pub async fn save_choices(
    client: &PortalClient,
    deal_id: &str,
    choices: &DealChoices,
) -> Result<(), DealError> {
    if deal_id.is_empty() || !deal_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(deal_not_found(deal_id));
    }
    let mut properties = Properties::new();
    if let Some(value) = &choices.document_type {
        if !value.is_empty() && DocumentType::from_v1_name(value).is_none() {
            return Err(DealError::Permanent(format!(
                "Tipo de documento desconocido: «{value}». Elige Presupuesto, Proforma, Albarán, Factura o Pedido."
            )));
        }
        properties.insert("holded_tipo_documento".to_owned(), value.clone());
    }
    if let Some(value) = &choices.associate_to {
        if !value.is_empty() && AssociateTo::parse(value).is_none() {
            return Err(DealError::Permanent(format!(
                "«{value}» no es una opción de «Asociar documento a»: elige Empresa o Contacto."
            )));
        }
        properties.insert("holded_asociar_documento_a".to_owned(), value.clone());
    }
    if properties.is_empty() {
        return Err(DealError::Permanent(
            "No hay nada que guardar: envía documentType o associateTo.".to_owned(),
        ));
    }
    match client
        .update_object(ObjectType::Deals, deal_id, &properties)
        .await
    {
        Ok(_) => Ok(()),
        Err(HubspotError::NotFound { .. }) => Err(deal_not_found(deal_id)),
        Err(other) => Err(other.into()),
    }
}

/// Why a document cannot be asked for now.
#[derive(Debug, thiserror::Error)]
pub enum RequestRefused {
    /// The deal has no document type and none was given.
    #[error("Elige primero el tipo de documento (Holded) del negocio.")]
    NoDocumentType,
    /// The portal has no Holded key.
    #[error("Añade primero la clave de API de Holded en la configuración de la app.")]
    NoHoldedKey,
    /// The document exists already.
    #[error("Este negocio ya tiene {label} en Holded{}.", number.as_deref().map(|n| format!(": {n}")).unwrap_or_default())]
    AlreadyCreated {
        /// "un presupuesto", "una factura"…
        label: String,
        /// Its number, if any.
        number: Option<String>,
    },
    /// Reading the deal failed.
    #[error(transparent)]
    Deal(#[from] DealError),
}

impl From<sea_orm::DbErr> for RequestRefused {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Deal(err.into())
    }
}

/// "Crear ahora" / "Reintentar": opens (or re-opens) the request of the deal's
/// document type (or `doc_type`), whatever the deal's stage. The caller queues it.
pub async fn request_document(
    store: &Store,
    portal: &portal::Model,
    deal: &Deal,
    doc_type: Option<&str>,
) -> Result<document_request::Model, RequestRefused> {
    let doc_type = match doc_type {
        Some(name) => DocumentType::from_v1_name(name).ok_or_else(|| {
            DealError::Permanent(format!("Tipo de documento desconocido: «{name}»."))
        })?,
        None => deal.document_type.ok_or(RequestRefused::NoDocumentType)?,
    };
    let settings = store.portal_settings(portal.id, &portal.time_zone).await?;
    if settings.holded_key_enc.is_none() {
        return Err(RequestRefused::NoHoldedKey);
    }
    let request = store
        .open_document_request(
            portal.id,
            &deal.id,
            doc_type.v1_name(),
            RequestTrigger::Card,
        )
        .await?;
    if request.state == RequestState::Created.as_str() {
        return Err(RequestRefused::AlreadyCreated {
            label: with_article(doc_type),
            number: request.holded_document_number,
        });
    }
    Ok(request)
}

/// "un presupuesto", "una factura"…
fn with_article(doc_type: DocumentType) -> String {
    let article = match doc_type {
        DocumentType::Proform | DocumentType::Invoice => "una",
        _ => "un",
    };
    format!("{article} {}", doc_type.spanish_name().to_lowercase())
}
