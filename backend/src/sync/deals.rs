//! Holded documents → HubSpot deals, upserted by `holded_id` into the pipeline
//! stage mapped for their type (documents of unmapped types are skipped and
//! counted), associated with their contact or company, with line items from
//! the document's lines (linked to the synced products where known).
//!
//! Documents this app created in Holded from a HubSpot deal are left alone:
//! their deal is their source, and one deal may hold several of them.
//!
//! A deal's link is saved only after its associations and line items are in
//! place, so an interrupted batch is redone whole on resume; a deal's old line
//! items are archived before new ones are created, so redoing never duplicates.

use std::collections::HashMap;

use futures::TryStreamExt;

use super::{
    SyncError,
    context::{RunContext, Seen},
    deletions::mark_vanished,
    hash::content_hash,
    isolate,
    mapping::deal_properties,
    tally::Tally,
    write::{BATCH, Pending, reason},
};
use crate::{
    deals::ORIGIN_KIND,
    holded::{Document, DocumentLine, DocumentType, HoldedApi},
    hubspot::{
        CreateInput, ObjectType, Properties, UpsertInput,
        associations::{AssociationInput, types},
        objects::NewAssociation,
    },
    store::links::LinkWrite,
};

const KIND: &str = "deals";
/// Link kind holding the hash of a deal's lines (rewritten only when they change).
const LINES_KIND: &str = "deal_lines";

/// What a deal needs besides its properties.
struct DealExtra {
    target: Option<(ObjectType, String)>,
    lines: Vec<Properties>,
    lines_hash: String,
}

struct Lookups {
    /// Documents created from a HubSpot deal: that deal is their source.
    from_hubspot: HashMap<String, crate::store::entities::record_link::Model>,
    deals: HashMap<String, crate::store::entities::record_link::Model>,
    lines: HashMap<String, crate::store::entities::record_link::Model>,
    persons: HashMap<String, crate::store::entities::record_link::Model>,
    companies: HashMap<String, crate::store::entities::record_link::Model>,
    products: HashMap<String, crate::store::entities::record_link::Model>,
}

async fn lookups(ctx: &RunContext<'_>, page: &[Document]) -> Result<Lookups, SyncError> {
    let store = ctx.store;
    let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
    let contacts: Vec<String> = page.iter().filter_map(|d| d.contact_id.clone()).collect();
    let products: Vec<String> = page
        .iter()
        .flat_map(|d| d.lines.iter().filter_map(|l| l.product_id.clone()))
        .collect();
    Ok(Lookups {
        from_hubspot: store.links(ctx.portal_id, ORIGIN_KIND, &ids).await?,
        deals: store.links(ctx.portal_id, KIND, &ids).await?,
        lines: store.links(ctx.portal_id, LINES_KIND, &ids).await?,
        persons: store.links(ctx.portal_id, "contacts", &contacts).await?,
        companies: store.links(ctx.portal_id, "companies", &contacts).await?,
        products: store.links(ctx.portal_id, "products", &products).await?,
    })
}

fn line_properties(line: &DocumentLine, product: Option<&str>) -> Properties {
    let mut props = Properties::new();
    props.insert("name".to_owned(), line.name.clone());
    props.insert("quantity".to_owned(), line.units.normalize().to_string());
    props.insert("price".to_owned(), line.unit_price.normalize().to_string());
    if !line.discount.is_zero() {
        props.insert(
            "hs_discount_percentage".to_owned(),
            line.discount.normalize().to_string(),
        );
    }
    if let Some(description) = line.description.as_deref().filter(|d| !d.trim().is_empty()) {
        props.insert("description".to_owned(), description.to_owned());
    }
    if let Some(product) = product {
        props.insert("hs_product_id".to_owned(), product.to_owned());
    }
    props
}

fn hubspot_id(link: Option<&crate::store::entities::record_link::Model>) -> Option<String> {
    link.filter(|l| !l.deleted_in_holded)
        .and_then(|l| l.hubspot_id.clone())
}

/// Runs the deals part of a run.
pub async fn sync_deals(ctx: &RunContext<'_>) -> Result<Option<Tally>, SyncError> {
    let mut tally = Tally::open(ctx, KIND).await?;
    if tally.completed() {
        return Ok(None);
    }
    let mut seen = Seen::new();
    let mut batch = Vec::new();
    let mut extras = HashMap::new();
    let mut scanned = 0;
    for doc_type in DocumentType::ALL {
        let stage = ctx.mapping.stage(doc_type).cloned();
        let mut pages = ctx.holded.documents(doc_type);
        while let Some(page) = pages.try_next().await? {
            scanned += page.len();
            let found = lookups(ctx, &page).await?;
            for document in &page {
                seen.insert(document.id.clone());
                if found.from_hubspot.contains_key(&document.id) {
                    // Created in Holded from this deal: the deal stays as the rep keeps it.
                    tally.counts().skipped += 1;
                    continue;
                }
                let Some(stage) = &stage else {
                    tally.counts().skipped += 1;
                    continue;
                };
                let link = found
                    .deals
                    .get(&document.id)
                    .filter(|l| l.hubspot_id.is_some());
                if link.is_none() && ctx.before_start(document.date) {
                    tally.counts().skipped += 1;
                    continue;
                }
                let mut props = deal_properties(document);
                let target = document.contact_id.as_ref().and_then(|id| {
                    hubspot_id(found.companies.get(id))
                        .map(|h| (ObjectType::Companies, h))
                        .or_else(|| {
                            hubspot_id(found.persons.get(id)).map(|h| (ObjectType::Contacts, h))
                        })
                });
                let lines: Vec<Properties> = document
                    .lines
                    .iter()
                    .map(|line| {
                        let product = line
                            .product_id
                            .as_ref()
                            .and_then(|id| hubspot_id(found.products.get(id)));
                        line_properties(line, product.as_deref())
                    })
                    .collect();
                let lines_text = serde_json::to_string(&lines).expect("strings serialise");
                let lines_hash = content_hash(&Properties::new(), &[&lines_text]);
                let target_text = target
                    .as_ref()
                    .map(|(o, id)| format!("{}:{id}", o.name()))
                    .unwrap_or_default();
                let hash = content_hash(&props, &[&target_text, &lines_hash]);
                if link.is_some_and(|l| {
                    l.content_hash.as_deref() == Some(hash.as_str()) && !l.deleted_in_holded
                }) {
                    tally.counts().unchanged += 1;
                    continue;
                }
                if found
                    .deals
                    .get(&document.id)
                    .is_some_and(|l| l.refused(&hash))
                {
                    // HubSpot refused this very content: it waits for a change or a retry.
                    tally.counts().skipped += 1;
                    continue;
                }
                if link.is_none() {
                    props.insert("pipeline".to_owned(), stage.pipeline_id.clone());
                    props.insert("dealstage".to_owned(), stage.stage_id.clone());
                }
                let lines_unchanged = found
                    .lines
                    .get(&document.id)
                    .is_some_and(|l| l.content_hash.as_deref() == Some(lines_hash.as_str()));
                extras.insert(
                    document.id.clone(),
                    DealExtra {
                        target,
                        lines: if lines_unchanged { Vec::new() } else { lines },
                        lines_hash: if lines_unchanged {
                            String::new()
                        } else {
                            lines_hash
                        },
                    },
                );
                batch.push(Pending {
                    holded_id: document.id.clone(),
                    props,
                    hash,
                    updated_at: None,
                    hubspot_id: link.and_then(|l| l.hubspot_id.clone()),
                });
                if batch.len() == BATCH {
                    flush(ctx, &mut tally, std::mem::take(&mut batch), &mut extras).await?;
                }
            }
            tally
                .checkpoint(
                    ctx.store,
                    ctx.hubspot,
                    &ctx.holded_calls,
                    "running",
                    Some(format!("{scanned} documentos leídos")),
                )
                .await?;
            ctx.progress.page(KIND, scanned);
            ctx.renew_lease().await?;
        }
    }
    flush(ctx, &mut tally, batch, &mut extras).await?;
    mark_vanished(ctx, KIND, ObjectType::Deals, &seen, &mut tally).await?;
    tally
        .checkpoint(ctx.store, ctx.hubspot, &ctx.holded_calls, "completed", None)
        .await?;
    Ok(Some(tally))
}

async fn flush(
    ctx: &RunContext<'_>,
    tally: &mut Tally,
    batch: Vec<Pending>,
    extras: &mut HashMap<String, DealExtra>,
) -> Result<(), SyncError> {
    if batch.is_empty() {
        return Ok(());
    }
    if ctx.dry_run {
        tally.plan(KIND, &batch);
        extras.clear();
        return Ok(());
    }
    let inputs: Vec<UpsertInput> = batch
        .iter()
        .map(|p| UpsertInput::new("holded_id", p.holded_id.clone(), p.props.clone()))
        .collect();
    let creates: Vec<bool> = batch.iter().map(|p| p.hubspot_id.is_none()).collect();
    let settled = isolate::write(ctx.hubspot, ObjectType::Deals, &inputs, &creates).await?;
    for (i, error) in &settled.refused {
        tally.refused(&batch[*i], reason(KIND, error));
    }
    let written: Vec<(&Pending, String, bool)> = settled
        .written
        .iter()
        .map(|(i, record)| (&batch[*i], record.id.clone(), record.new == Some(true)))
        .collect();

    associate(ctx, &written, extras).await?;
    let failed_lines = replace_lines(ctx, &written, extras).await?;

    let mut deal_links = Vec::new();
    let mut line_links = Vec::new();
    for (pending, deal_id, new) in &written {
        if let Some(reason) = failed_lines.get(&pending.holded_id) {
            tally.refused(pending, reason.clone());
            continue;
        }
        if *new {
            tally.counts().created += 1;
        } else {
            tally.counts().updated += 1;
        }
        deal_links.push(pending.link(deal_id));
        let extra = &extras[&pending.holded_id];
        if !extra.lines_hash.is_empty() {
            line_links.push(LinkWrite {
                holded_id: pending.holded_id.clone(),
                hubspot_id: deal_id.clone(),
                content_hash: extra.lines_hash.clone(),
                holded_updated_at: None,
            });
        }
    }
    let done: Vec<String> = deal_links.iter().map(|l| l.holded_id.clone()).collect();
    ctx.store
        .save_links(ctx.portal_id, LINES_KIND, &line_links)
        .await?;
    ctx.store
        .save_links(ctx.portal_id, KIND, &deal_links)
        .await?;
    ctx.store
        .resolve_run_items(ctx.portal_id, KIND, &done)
        .await?;
    extras.clear();
    Ok(())
}

/// Associates written deals with their contact (3) or primary company (5).
async fn associate(
    ctx: &RunContext<'_>,
    written: &[(&Pending, String, bool)],
    extras: &HashMap<String, DealExtra>,
) -> Result<(), SyncError> {
    let mut to_contacts = Vec::new();
    let mut to_companies = Vec::new();
    for (pending, deal_id, _) in written {
        match &extras[&pending.holded_id].target {
            Some((ObjectType::Companies, company)) => to_companies.push(AssociationInput {
                from_id: deal_id.clone(),
                to_id: company.clone(),
                type_id: types::DEAL_TO_COMPANY_PRIMARY,
            }),
            Some((_, contact)) => to_contacts.push(AssociationInput {
                from_id: deal_id.clone(),
                to_id: contact.clone(),
                type_id: types::DEAL_TO_CONTACT,
            }),
            None => {}
        }
    }
    if !to_companies.is_empty() {
        ctx.hubspot
            .associate(ObjectType::Deals, ObjectType::Companies, &to_companies)
            .await?;
    }
    if !to_contacts.is_empty() {
        ctx.hubspot
            .associate(ObjectType::Deals, ObjectType::Contacts, &to_contacts)
            .await?;
    }
    Ok(())
}

/// Replaces the line items of written deals whose lines changed: archives what
/// the deal has now (when it existed before) and creates the new lines.
/// Returns the deals whose lines HubSpot refused, with the reason.
async fn replace_lines(
    ctx: &RunContext<'_>,
    written: &[(&Pending, String, bool)],
    extras: &HashMap<String, DealExtra>,
) -> Result<HashMap<String, String>, SyncError> {
    let changed: Vec<&(&Pending, String, bool)> = written
        .iter()
        .filter(|(p, _, _)| !extras[&p.holded_id].lines_hash.is_empty())
        .collect();
    let existing_deals: Vec<String> = changed
        .iter()
        .filter(|(_, _, new)| !new)
        .map(|(_, id, _)| id.clone())
        .collect();
    if !existing_deals.is_empty() {
        let current = ctx
            .hubspot
            .associations(ObjectType::Deals, ObjectType::LineItems, &existing_deals)
            .await?;
        let old: Vec<String> = current.into_values().flatten().map(|a| a.to_id).collect();
        if !old.is_empty() {
            ctx.hubspot
                .batch_archive(ObjectType::LineItems, &old)
                .await?;
        }
    }
    let mut inputs = Vec::new();
    let mut owners = Vec::new();
    for (pending, deal_id, _) in &changed {
        for line in &extras[&pending.holded_id].lines {
            let mut input = CreateInput::new(line.clone());
            input.associations.push(NewAssociation {
                to_id: deal_id.clone(),
                type_id: types::LINE_ITEM_TO_DEAL,
            });
            owners.push(pending.holded_id.clone());
            inputs.push(input);
        }
    }
    let mut failed = HashMap::new();
    let settled = isolate::write(
        ctx.hubspot,
        ObjectType::LineItems,
        &inputs,
        &vec![true; inputs.len()],
    )
    .await?;
    for (i, error) in settled.refused {
        failed.entry(owners[i].clone()).or_insert_with(|| {
            format!(
                "Línea del documento rechazada: {}",
                reason("line_items", &error)
            )
        });
    }
    Ok(failed)
}
