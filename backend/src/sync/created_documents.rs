//! The deals whose Holded document this app created from the deal: the deal
//! is their source, so the nightly sync leaves their content to the rep and
//! refreshes only what Holded decides afterwards — the number a v2 draft gets
//! when it is approved, the link and the status — and only when it changed.

use std::collections::HashMap;

use super::{
    SyncError,
    billing::{announce, billing_properties, state_of},
    context::RunContext,
    hash::content_hash,
    isolate,
    mapping::created_document_properties,
    tally::Tally,
    write::{BATCH, Pending, reason},
};
use crate::{
    deals::ORIGIN_KIND,
    holded::Document,
    hubspot::{ObjectType, UpdateInput},
    store::{document_states::DocumentState, entities::record_link},
};

/// The kind their refreshes and failures are counted under.
const KIND: &str = "deals";

/// Refreshes waiting to be written, up to a batch.
#[derive(Default)]
pub struct CreatedDocuments {
    batch: Vec<Pending>,
    /// The documents' status and payments, by Holded id, to tell what changed.
    states: HashMap<String, DocumentState>,
}

impl CreatedDocuments {
    /// Queues the refresh of `document`'s deal (its link in `origin`) when
    /// what the deal shows of it changed; returns whether a batch is full.
    pub fn consider(
        &mut self,
        ctx: &RunContext<'_>,
        tally: &mut Tally,
        document: &Document,
        origin: &record_link::Model,
    ) -> bool {
        let mut props = created_document_properties(document);
        props.extend(billing_properties(document, ctx.today));
        let hash = content_hash(&props, &[]);
        let current =
            origin.content_hash.as_deref() == Some(hash.as_str()) && !origin.deleted_in_holded;
        match &origin.hubspot_id {
            Some(deal_id) if !current => {
                self.states
                    .insert(document.id.clone(), state_of(document, ctx.today));
                self.batch.push(Pending {
                    holded_id: document.id.clone(),
                    props,
                    hash,
                    updated_at: None,
                    hubspot_id: Some(deal_id.clone()),
                });
            }
            _ => tally.counts().unchanged += 1,
        }
        self.batch.len() >= BATCH
    }

    /// Writes the queued refreshes (by deal id), links what landed and
    /// records the new numbers on the deals' document requests.
    pub async fn flush(
        &mut self,
        ctx: &RunContext<'_>,
        tally: &mut Tally,
    ) -> Result<(), SyncError> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        if ctx.dry_run {
            tally.plan(KIND, &batch);
            return Ok(());
        }
        let inputs: Vec<UpdateInput> = batch
            .iter()
            .filter_map(|p| Some(UpdateInput::new(p.hubspot_id.clone()?, p.props.clone())))
            .collect();
        let settled = isolate::write(
            ctx.hubspot,
            ObjectType::Deals,
            &inputs,
            &vec![false; inputs.len()],
        )
        .await?;
        let mut links = Vec::new();
        let mut told = Vec::new();
        for (i, record) in settled.written {
            let pending = &batch[i];
            tally.counts().updated += 1;
            if let Some(state) = self.states.remove(&pending.holded_id) {
                let link = pending
                    .props
                    .get("holded_enlace")
                    .cloned()
                    .unwrap_or_default();
                told.push((record.id.clone(), state, link));
            }
            ctx.store
                .set_created_document_number(
                    ctx.portal_id,
                    &pending.holded_id,
                    pending
                        .props
                        .get("holded_numero_documento")
                        .map(String::as_str)
                        .filter(|n| !n.is_empty()),
                )
                .await?;
            links.push(pending.link(&record.id));
        }
        for (i, error) in settled.refused {
            tally.item(batch[i].item(KIND, "failed", Some(reason(KIND, &error))));
        }
        let done: Vec<String> = links.iter().map(|l| l.holded_id.clone()).collect();
        ctx.store
            .save_links(ctx.portal_id, ORIGIN_KIND, &links)
            .await?;
        ctx.store
            .resolve_run_items(ctx.portal_id, KIND, &done)
            .await?;
        self.states.clear();
        announce(ctx, told).await
    }
}
