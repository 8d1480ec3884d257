//! Holded products → HubSpot products, written by HubSpot id from the link
//! table (products may not have unique custom properties). A product without a
//! link is looked up by `holded_id` first, so a lost link heals instead of
//! duplicating the product.

use std::{collections::HashMap, time::Duration};

use futures::TryStreamExt;

use super::{
    SyncError,
    context::{RunContext, Scan},
    deletions::{mark_gone, mark_vanished},
    hash::content_hash,
    isolate,
    mapping::product_properties,
    tally::Tally,
    write::{BATCH, Pending, Settled, reason},
};
use crate::{
    holded::HoldedApi,
    hubspot::{
        CreateInput, ObjectType, UpdateInput,
        search::{Filter, FilterGroup, Operator, SearchRequest},
    },
};

const KIND: &str = "products";

/// Runs the products part of a run.
pub async fn sync_products(ctx: &RunContext<'_>) -> Result<Option<Tally>, SyncError> {
    let mut tally = Tally::open(ctx, KIND).await?;
    if tally.completed() {
        return Ok(None);
    }
    let mut seen = Scan::default();
    let mut batch = Vec::new();
    let targeted = ctx.products_scope().ids();
    let whole = targeted.is_none();
    let mut pages = match targeted {
        Some(ids) => ctx.holded.products_by_id(ids),
        None => ctx.holded.products().read_ahead(),
    };
    let mut scanned = 0;
    while let Some(page) = pages.try_next().await? {
        scanned += page.len();
        let ids: Vec<String> = page.iter().map(|p| p.id.clone()).collect();
        let links = ctx.store.links(ctx.portal_id, KIND, &ids).await?;
        for product in &page {
            seen.see(&product.id);
            let props = product_properties(product);
            let hash = content_hash(&props, &[]);
            let link = links.get(&product.id).filter(|l| l.hubspot_id.is_some());
            if link.is_some_and(|l| {
                l.content_hash.as_deref() == Some(hash.as_str()) && !l.deleted_in_holded
            }) {
                tally.counts().unchanged += 1;
                continue;
            }
            if links.get(&product.id).is_some_and(|l| l.refused(&hash)) {
                // HubSpot refused this very content: it waits for a change or a retry.
                tally.counts().skipped += 1;
                continue;
            }
            batch.push(Pending {
                holded_id: product.id.clone(),
                props,
                hash,
                updated_at: None,
                hubspot_id: link.and_then(|l| l.hubspot_id.clone()),
            });
            if batch.len() == BATCH {
                flush(ctx, &mut tally, std::mem::take(&mut batch)).await?;
            }
        }
        tally
            .checkpoint(
                ctx.store,
                ctx.hubspot,
                &ctx.holded_calls,
                "running",
                Some(format!("{scanned} productos leídos")),
            )
            .await?;
        ctx.progress.page(KIND, scanned);
        ctx.renew_lease().await?;
    }
    flush(ctx, &mut tally, batch).await?;
    if whole {
        seen.finish(&pages);
        mark_vanished(ctx, KIND, ObjectType::Products, &seen, &mut tally).await?;
    } else {
        mark_gone(ctx, KIND, ObjectType::Products, &pages.gone(), &mut tally).await?;
    }
    tally
        .checkpoint(ctx.store, ctx.hubspot, &ctx.holded_calls, "completed", None)
        .await?;
    Ok(Some(tally))
}

async fn flush(
    ctx: &RunContext<'_>,
    tally: &mut Tally,
    mut batch: Vec<Pending>,
) -> Result<(), SyncError> {
    if batch.is_empty() {
        return Ok(());
    }
    if ctx.dry_run {
        tally.plan(KIND, &batch);
        return Ok(());
    }
    heal_links(ctx, &mut batch).await?;
    let (updates, creates): (Vec<&Pending>, Vec<&Pending>) =
        batch.iter().partition(|p| p.hubspot_id.is_some());
    let mut links = Vec::new();
    if !updates.is_empty() {
        let inputs: Vec<UpdateInput> = updates
            .iter()
            .map(|p| UpdateInput::new(p.hubspot_id.clone().unwrap_or_default(), p.props.clone()))
            .collect();
        let settled = isolate::write(
            ctx.hubspot,
            ObjectType::Products,
            &inputs,
            &vec![false; inputs.len()],
        )
        .await?;
        for (i, record) in settled.written {
            tally.counts().updated += 1;
            links.push(updates[i].link(&record.id));
        }
        for (i, error) in settled.refused {
            tally.refused(updates[i], reason(KIND, &error));
        }
    }
    if !creates.is_empty() {
        let mut creates: Vec<Pending> = creates.into_iter().cloned().collect();
        let settled = match create(ctx, &creates).await {
            Err(SyncError::Hubspot(error)) if error.outcome_unknown() => {
                // The answer was lost, not necessarily the products: keep
                // those HubSpot made. The rest are not sent blind a second
                // time (HubSpot's search may just be late): they fail for
                // tonight and the next run, which looks first, settles them.
                for (pending, id) in find_made(ctx, &mut creates).await? {
                    tally.counts().created += 1;
                    links.push(pending.link(&id));
                }
                for pending in &creates {
                    tally.item(pending.item(KIND, "failed", Some(UNCONFIRMED.to_owned())));
                }
                Settled::default()
            }
            settled => settled?,
        };
        for (i, record) in settled.written {
            tally.counts().created += 1;
            links.push(creates[i].link(&record.id));
        }
        for (i, error) in settled.refused {
            tally.refused(&creates[i], reason(KIND, &error));
        }
    }
    let written: Vec<String> = links.iter().map(|l| l.holded_id.clone()).collect();
    ctx.store.save_links(ctx.portal_id, KIND, &links).await?;
    ctx.store
        .resolve_run_items(ctx.portal_id, KIND, &written)
        .await?;
    Ok(())
}

/// Creates `creates` in HubSpot, isolating refused ones.
async fn create(ctx: &RunContext<'_>, creates: &[Pending]) -> Result<Settled, SyncError> {
    let inputs: Vec<CreateInput> = creates
        .iter()
        .map(|p| CreateInput::new(p.props.clone()))
        .collect();
    Ok(isolate::write(
        ctx.hubspot,
        ObjectType::Products,
        &inputs,
        &vec![true; inputs.len()],
    )
    .await?)
}

/// Why a product whose create went unanswered is not in HubSpot tonight.
const UNCONFIRMED: &str = "HubSpot no confirmó la creación del producto y aún no aparece en sus \
    búsquedas; la próxima sincronización lo buscará antes de crearlo";

/// After a create whose answer was lost: waits for HubSpot's search to show
/// what it made (it lags "a few moments"), takes those out of `creates` and
/// returns them with their HubSpot ids. What is left after [`INDEX_WAITS`]
/// was not found.
async fn find_made(
    ctx: &RunContext<'_>,
    creates: &mut Vec<Pending>,
) -> Result<Vec<(Pending, String)>, SyncError> {
    let mut made = Vec::new();
    for wait in INDEX_WAITS {
        tokio::time::sleep(wait).await;
        heal_links(ctx, creates).await?;
        for pending in std::mem::take(creates) {
            match pending.hubspot_id.clone() {
                Some(id) => made.push((pending, id)),
                None => creates.push(pending),
            }
        }
        if creates.is_empty() {
            break;
        }
    }
    Ok(made)
}

/// How long to wait, search after search, for products a lost create may
/// have made to show in HubSpot's search (15 s in all).
const INDEX_WAITS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Finds HubSpot products already carrying the `holded_id` of unlinked ones
/// (a link lost, or a create whose answer never arrived) and adopts them.
async fn heal_links(ctx: &RunContext<'_>, batch: &mut [Pending]) -> Result<(), SyncError> {
    let unlinked: Vec<String> = batch
        .iter()
        .filter(|p| p.hubspot_id.is_none())
        .map(|p| p.holded_id.clone())
        .collect();
    if unlinked.is_empty() {
        return Ok(());
    }
    let request = SearchRequest {
        filter_groups: vec![FilterGroup {
            filters: vec![Filter {
                property_name: "holded_id".to_owned(),
                operator: Operator::In,
                value: None,
                high_value: None,
                values: Some(unlinked),
            }],
        }],
        sort: None,
        properties: vec!["holded_id".into()],
        limit: 200,
        after: None,
    };
    let page = ctx.hubspot.search(ObjectType::Products, &request).await?;
    let found: HashMap<String, String> = page
        .results
        .into_iter()
        .filter_map(|r| Some((r.get("holded_id")?.to_owned(), r.id)))
        .collect();
    for pending in batch.iter_mut().filter(|p| p.hubspot_id.is_none()) {
        pending.hubspot_id = found.get(&pending.holded_id).cloned();
    }
    Ok(())
}
