//! Records that disappeared from Holded: after a complete scan, their HubSpot
//! records are marked `holded_estado_sync = eliminado_en_holded` — never deleted.

use super::{
    SyncError,
    context::{RunContext, Seen},
    isolate,
    tally::Tally,
    write::BATCH,
};
use crate::hubspot::{ObjectType, Properties, UpdateInput};

/// The deleted mark.
pub const DELETED: &str = "eliminado_en_holded";

/// Marks the linked records of `kind` not in `seen`.
pub async fn mark_vanished(
    ctx: &RunContext<'_>,
    kind: &'static str,
    object: ObjectType,
    seen: &Seen,
    tally: &mut Tally,
) -> Result<(), SyncError> {
    let vanished = ctx.store.vanished_links(ctx.portal_id, kind, seen).await?;
    if vanished.is_empty() {
        return Ok(());
    }
    if ctx.dry_run {
        tally.counts().deleted += vanished.len() as u32;
        return Ok(());
    }
    for chunk in vanished.chunks(BATCH) {
        let inputs: Vec<UpdateInput> = chunk
            .iter()
            .filter_map(|link| {
                let mut props = Properties::new();
                props.insert("holded_estado_sync".to_owned(), DELETED.to_owned());
                Some(UpdateInput::new(link.hubspot_id.clone()?, props))
            })
            .collect();
        let settled =
            isolate::write(ctx.hubspot, object, &inputs, &vec![false; inputs.len()]).await?;
        let marked: Vec<i64> = settled.written.iter().map(|(i, _)| chunk[*i].id).collect();
        // A record already removed from HubSpot needs no mark either.
        let gone: Vec<i64> = settled
            .refused
            .iter()
            .filter(|(_, e)| matches!(e, crate::hubspot::HubspotError::NotFound { .. }))
            .map(|(i, _)| chunk[*i].id)
            .collect();
        tally.counts().deleted += marked.len() as u32;
        ctx.store.mark_links_deleted(&marked).await?;
        ctx.store.mark_links_deleted(&gone).await?;
    }
    Ok(())
}
