//! Records that disappeared from Holded: after a complete scan, their HubSpot
//! records are marked `holded_estado_sync = eliminado_en_holded` — never deleted.
//! A scan that did not reach a clean end marks nothing (and says so in the
//! run), and a record linked within [`LIST_LAG_GRACE`] is not taken as gone
//! (Holded's lists may serve a just-created record late).

use chrono::Utc;

use super::{
    SyncError,
    context::{RunContext, Scan},
    isolate,
    tally::Tally,
    write::BATCH,
};
use crate::{
    hubspot::{ObjectType, Properties, UpdateInput},
    store::entities::record_link,
};

/// The deleted mark.
pub const DELETED: &str = "eliminado_en_holded";

/// How long a record linked (by the deal flow, say) may be missing from
/// Holded's lists before its absence counts as a deletion.
pub const LIST_LAG_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Marks the linked records of `kind` that `scan` did not see — unless the
/// scan may be incomplete, which is noted on `tally` instead.
pub async fn mark_vanished(
    ctx: &RunContext<'_>,
    kind: &'static str,
    object: ObjectType,
    scan: &Scan,
    tally: &mut Tally,
) -> Result<(), SyncError> {
    if let Some(doubt) = scan.doubt() {
        tally.warn(format!(
            "{doubt} No se marcó nada como eliminado en HubSpot en esta ejecución."
        ));
        return Ok(());
    }
    let linked_before = Utc::now() - LIST_LAG_GRACE;
    let vanished = ctx
        .store
        .vanished_links(ctx.portal_id, kind, scan.seen(), linked_before)
        .await?;
    mark(ctx, object, &vanished, tally).await
}

/// Marks the linked records of `kind` among `gone` (records a targeted run
/// asked Holded for and Holded no longer has).
pub async fn mark_gone(
    ctx: &RunContext<'_>,
    kind: &'static str,
    object: ObjectType,
    gone: &[String],
    tally: &mut Tally,
) -> Result<(), SyncError> {
    if gone.is_empty() {
        return Ok(());
    }
    let links = ctx.store.links(ctx.portal_id, kind, gone).await?;
    let gone: Vec<record_link::Model> = links
        .into_values()
        .filter(|l| !l.deleted_in_holded && l.hubspot_id.is_some())
        .collect();
    mark(ctx, object, &gone, tally).await
}

/// Marks the HubSpot records of `vanished` deleted in Holded.
async fn mark(
    ctx: &RunContext<'_>,
    object: ObjectType,
    vanished: &[record_link::Model],
    tally: &mut Tally,
) -> Result<(), SyncError> {
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
