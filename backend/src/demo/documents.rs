//! The deal → document step: moves each demo deal into the stage mapped to
//! its document type, as a sales rep would, and waits while HubSpot's
//! webhook reaches the service and its workers create the documents in Holded.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::{deals::DemoDeal, environment::Environment, settings::DOCUMENT_STAGES};
use crate::{
    deals::money::format_amount,
    holded::DocumentType,
    store::{RequestState, entities::document_request},
};

/// How long the step waits for the documents.
const PATIENCE: Duration = Duration::from_secs(45);

/// A demo deal's Holded document.
#[derive(Clone, Debug)]
pub struct DemoDocument {
    /// The deal's name.
    pub deal: &'static str,
    /// "Presupuesto", "Proforma"…
    pub kind: &'static str,
    /// The document's number, when Holded gave one (drafts have none in v2).
    pub number: Option<String>,
    /// Its total in euros, as Holded computed it.
    pub total: Option<Decimal>,
    /// Where it opens in Holded.
    pub link: Option<String>,
}

fn stage_of(document_type: &str) -> anyhow::Result<&'static str> {
    DOCUMENT_STAGES
        .iter()
        .find(|(t, _)| *t == document_type)
        .map(|(_, stage)| *stage)
        .ok_or_else(|| anyhow::anyhow!("no stage for {document_type}"))
}

/// Moves every deal into its trigger stage and waits until each has its
/// Holded document (or the request failed, which fails the step).
pub async fn create_documents(
    env: &Environment,
    portal_id: i64,
    deals: &[DemoDeal],
) -> anyhow::Result<Vec<DemoDocument>> {
    let portal = u64::try_from(portal_id)?;
    for deal in deals {
        env.sims
            .hubspot
            .move_deal(portal, deal.deal_id, stage_of(deal.document_type)?)
            .map_err(|reason| anyhow::anyhow!("HubSpot no movió «{}»: {reason}", deal.name))?;
    }
    let store = &env.service.runtime.store;
    let started = Instant::now();
    let mut done: Vec<DemoDocument> = Vec::new();
    while done.len() < deals.len() {
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "los documentos no llegaron a Holded en {} s / the documents did not reach Holded in time",
            PATIENCE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        done.clear();
        for deal in deals {
            let requests = store
                .deal_document_requests(portal_id, &deal.deal_id.to_string())
                .await?;
            let Some(request) = requests
                .into_iter()
                .find(|r| r.document_type == deal.document_type)
            else {
                continue;
            };
            match RequestState::parse(&request.state) {
                Some(RequestState::Created) => done.push(document(deal, request)),
                Some(RequestState::Failed) => {
                    anyhow::bail!("«{}»: {}", deal.name, request.error.unwrap_or_default())
                }
                _ => {}
            }
        }
    }
    for document in &done {
        println!(
            "   ✔ {} {} · {} · {}",
            document.kind,
            document.number.as_deref().unwrap_or("(borrador)"),
            document
                .total
                .map(|t| format_amount(t, "EUR"))
                .unwrap_or_default(),
            document.deal
        );
    }
    Ok(done)
}

fn document(deal: &DemoDeal, request: document_request::Model) -> DemoDocument {
    DemoDocument {
        deal: deal.name,
        kind: DocumentType::from_v1_name(deal.document_type)
            .map(DocumentType::spanish_name)
            .unwrap_or("Documento"),
        number: request.holded_document_number,
        total: request.holded_total.and_then(|t| t.parse().ok()),
        link: request.holded_link,
    }
}
