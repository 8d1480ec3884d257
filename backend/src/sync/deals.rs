//! Holded documents → HubSpot deals, upserted by `holded_id` into the pipeline
//! stage mapped for their type (documents of unmapped types are skipped and
//! counted), associated with their contact or company, with line items from
//! the document's lines (linked to the synced products where known).
//!
//! A deal is written when what the list shows of its document (number,
//! total, date, contact…) or its lines changed. A v2 list carries no lines:
//! a document whose deal is to be created or changed is read whole first
//! (one call each, within the rate limit), and only those.
//!
//! Documents this app created in Holded from a HubSpot deal keep their deal
//! as the rep left it: only their number, link and status are refreshed
//! ([`super::created_documents`]).
//!
//! A deal's link is saved only after its associations and line items are in
//! place, so an interrupted batch is redone whole on resume; a deal's old line
//! items are archived before new ones are created, so redoing never duplicates.

use std::collections::HashMap;

use futures::TryStreamExt;

use super::{
    SyncError,
    billing::{announce, billing_properties, state_of},
    context::{RunContext, Scan},
    created_documents::CreatedDocuments,
    deletions::{mark_gone, mark_vanished},
    hash::content_hash,
    isolate,
    mapping::deal_properties,
    tally::Tally,
    targets::Scope,
    write::{BATCH, Pending, reason},
};
use crate::{
    deals::ORIGIN_KIND,
    holded::{Document, DocumentLine, DocumentType, HoldedApi, HoldedError},
    hubspot::{
        CreateInput, ObjectType, Properties, UpsertInput,
        associations::{AssociationInput, types},
        objects::NewAssociation,
    },
    settings::StageRef,
    store::{document_states::DocumentState, entities::record_link, links::LinkWrite},
};

const KIND: &str = "deals";
/// How many times a group of lines whose create went unanswered is replaced again.
const LINE_RETRIES: usize = 5;
/// Link kind holding the hash of a deal's lines (rewritten only when they change).
const LINES_KIND: &str = "deal_lines";

/// Links by Holded id.
type Links = HashMap<String, record_link::Model>;

/// What a deal needs besides its properties.
struct DealExtra {
    target: Option<(ObjectType, String)>,
    lines: Vec<Properties>,
    lines_hash: String,
    /// Its document's status and payments, to tell what changed.
    state: DocumentState,
}

struct Lookups {
    /// Documents created from a HubSpot deal: that deal is their source.
    from_hubspot: Links,
    deals: Links,
    lines: Links,
    persons: Links,
    companies: Links,
    /// Products of the lines the page carries (v1 lists have them).
    products: Links,
}

async fn lookups(ctx: &RunContext<'_>, page: &[Document]) -> Result<Lookups, SyncError> {
    let store = ctx.store;
    let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
    let contacts: Vec<String> = page.iter().filter_map(|d| d.contact_id.clone()).collect();
    let lines = page.iter().flat_map(|d| d.lines.iter().flatten());
    Ok(Lookups {
        from_hubspot: store.links(ctx.portal_id, ORIGIN_KIND, &ids).await?,
        deals: store.links(ctx.portal_id, KIND, &ids).await?,
        lines: store.links(ctx.portal_id, LINES_KIND, &ids).await?,
        persons: store.links(ctx.portal_id, "contacts", &contacts).await?,
        companies: store.links(ctx.portal_id, "companies", &contacts).await?,
        products: product_links(ctx, lines).await?,
    })
}

/// The product links of `lines`' Holded products.
async fn product_links(
    ctx: &RunContext<'_>,
    lines: impl Iterator<Item = &DocumentLine>,
) -> Result<Links, SyncError> {
    let products: Vec<String> = lines.filter_map(|l| l.product_id.clone()).collect();
    Ok(ctx
        .store
        .links(ctx.portal_id, "products", &products)
        .await?)
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

fn hubspot_id(link: Option<&record_link::Model>) -> Option<String> {
    link.filter(|l| !l.deleted_in_holded)
        .and_then(|l| l.hubspot_id.clone())
}

/// What one listed document needs.
enum Plan {
    /// Nothing: its deal shows it as it is.
    Unchanged,
    /// Not synced by design (unmapped type, before the start date), or gone
    /// from Holded since it was listed.
    Skipped,
    /// Its deal is to be written.
    Write(Box<(Pending, DealExtra)>),
    /// Holded's answer lacks what the deal needs (its lines): a failure of
    /// this record, never an empty deal.
    Failed(String),
    /// Made by this app from that HubSpot deal (its notes carry the marker),
    /// though not linked yet — the deal flow's answer from Holded is late or
    /// lost: it belongs to that deal, never to a second one.
    FromDeal(String),
}

/// Decides what `document`'s deal needs, reading the document whole when its
/// deal is to be written and the list did not carry its lines.
async fn plan(
    ctx: &RunContext<'_>,
    document: &Document,
    found: &Lookups,
    stage: &StageRef,
) -> Result<Plan, SyncError> {
    let link = found
        .deals
        .get(&document.id)
        .filter(|l| l.hubspot_id.is_some());
    if link.is_none() && ctx.before_start(document.date) {
        return Ok(Plan::Skipped);
    }
    if let Some(deal) = made_from_deal(ctx, document, link.is_some(), document.notes.as_deref()) {
        return Ok(Plan::FromDeal(deal));
    }
    let mut props = deal_properties(document);
    props.extend(billing_properties(document, ctx.today));
    let target = document.contact_id.as_ref().and_then(|id| {
        hubspot_id(found.companies.get(id))
            .map(|h| (ObjectType::Companies, h))
            .or_else(|| hubspot_id(found.persons.get(id)).map(|h| (ObjectType::Contacts, h)))
    });
    let target_text = target
        .as_ref()
        .map(|(o, id)| format!("{}:{id}", o.name()))
        .unwrap_or_default();
    let hash = content_hash(&props, &[&target_text]);
    let head_unchanged = link
        .is_some_and(|l| l.content_hash.as_deref() == Some(hash.as_str()) && !l.deleted_in_holded);
    if !head_unchanged
        && found
            .deals
            .get(&document.id)
            .is_some_and(|l| l.refused(&hash))
    {
        // HubSpot refused this very content: it waits for a change or a retry.
        return Ok(Plan::Skipped);
    }
    let read;
    let (lines, products) = match &document.lines {
        Some(lines) => (lines, &found.products),
        // What the list shows is unchanged; its lines cannot be seen without
        // reading it, and are not read for that.
        None if head_unchanged => return Ok(Plan::Unchanged),
        None => match read_lines(ctx, document).await? {
            Ok(Some(whole)) => {
                if let Some(deal) =
                    made_from_deal(ctx, document, link.is_some(), whole.notes.as_deref())
                {
                    return Ok(Plan::FromDeal(deal));
                }
                read = whole;
                (&read.lines, &read.products)
            }
            Ok(None) => return Ok(Plan::Skipped),
            Err(why) => return Ok(Plan::Failed(why)),
        },
    };
    let lines: Vec<Properties> = lines
        .iter()
        .map(|line| {
            let product = line
                .product_id
                .as_ref()
                .and_then(|id| hubspot_id(products.get(id)));
            line_properties(line, product.as_deref())
        })
        .collect();
    let lines_text = serde_json::to_string(&lines).expect("strings serialise");
    let lines_hash = content_hash(&Properties::new(), &[&lines_text]);
    let lines_unchanged = found
        .lines
        .get(&document.id)
        .is_some_and(|l| l.content_hash.as_deref() == Some(lines_hash.as_str()));
    if head_unchanged && lines_unchanged {
        return Ok(Plan::Unchanged);
    }
    if link.is_none() {
        props.insert("pipeline".to_owned(), stage.pipeline_id.clone());
        props.insert("dealstage".to_owned(), stage.stage_id.clone());
    }
    let extra = DealExtra {
        target,
        lines: if lines_unchanged { Vec::new() } else { lines },
        lines_hash: if lines_unchanged {
            String::new()
        } else {
            lines_hash
        },
        state: state_of(document, ctx.today),
    };
    let pending = Pending {
        holded_id: document.id.clone(),
        props,
        hash,
        updated_at: None,
        hubspot_id: link.and_then(|l| l.hubspot_id.clone()),
    };
    Ok(Plan::Write(Box::new((pending, extra))))
}

/// A document read whole, as far as its deal needs it.
struct Whole {
    lines: Vec<DocumentLine>,
    /// Links of the products its lines name.
    products: Links,
    notes: Option<String>,
}

/// The deal an unlinked document was made from by this app, if its `notes`
/// say so.
fn made_from_deal(
    ctx: &RunContext<'_>,
    document: &Document,
    linked: bool,
    notes: Option<&str>,
) -> Option<String> {
    if linked {
        return None;
    }
    crate::deals::deal_of(notes?, ctx.portal_id, document.doc_type)
}

/// `document` read whole: its lines, their products' links and its notes.
/// `Ok(None)` when it is gone from Holded since it was listed; `Err` with the
/// reason when Holded's answer lacks a field the deal needs.
async fn read_lines(
    ctx: &RunContext<'_>,
    document: &Document,
) -> Result<Result<Option<Whole>, String>, SyncError> {
    let lines = match ctx.holded.document(document.doc_type, &document.id).await {
        Ok(whole) => {
            let notes = whole.notes.clone();
            whole.into_lines().map(|lines| (lines, notes))
        }
        Err(HoldedError::NotFound { .. }) => return Ok(Ok(None)),
        Err(other) => Err(other),
    };
    match lines {
        Ok((lines, notes)) => {
            let products = product_links(ctx, lines.iter()).await?;
            Ok(Ok(Some(Whole {
                lines,
                products,
                notes,
            })))
        }
        Err(err @ HoldedError::Decode { .. }) => {
            Ok(Err(crate::i18n::spanish_part(&err.to_string()).to_owned()))
        }
        Err(other) => Err(other.into()),
    }
}

/// Runs the deals part of a run.
pub async fn sync_deals(ctx: &RunContext<'_>) -> Result<Option<Tally>, SyncError> {
    let mut tally = Tally::open(ctx, KIND).await?;
    if tally.completed() {
        return Ok(None);
    }
    let mut scan = Scan::default();
    let mut batch = Vec::new();
    let mut extras = HashMap::new();
    let mut created = CreatedDocuments::default();
    let mut scanned = 0;
    let mut whole = true;
    let mut gone = Vec::new();
    for doc_type in DocumentType::ALL {
        let stage = ctx.mapping.stage(doc_type).cloned();
        let mut pages = match ctx.documents_scope(doc_type) {
            Scope::Nothing => {
                whole = false;
                continue;
            }
            Scope::Records(ids) => {
                whole = false;
                ctx.holded
                    .documents_by_id(doc_type, ids.iter().cloned().collect())
            }
            Scope::Everything => ctx.holded.documents(doc_type),
        };
        while let Some(page) = pages.try_next().await? {
            scanned += page.len();
            let found = lookups(ctx, &page).await?;
            for document in &page {
                scan.see(&document.id);
                if let Some(origin) = found.from_hubspot.get(&document.id) {
                    if created.consider(ctx, &mut tally, document, origin) {
                        created.flush(ctx, &mut tally).await?;
                    }
                    continue;
                }
                let planned = match &stage {
                    Some(stage) => plan(ctx, document, &found, stage).await?,
                    None => Plan::Skipped,
                };
                match planned {
                    Plan::Unchanged => tally.counts().unchanged += 1,
                    Plan::Skipped => tally.counts().skipped += 1,
                    Plan::FromDeal(deal) => {
                        tally.counts().skipped += 1;
                        ctx.store
                            .save_links(
                                ctx.portal_id,
                                ORIGIN_KIND,
                                &[LinkWrite {
                                    holded_id: document.id.clone(),
                                    hubspot_id: deal,
                                    content_hash: String::new(),
                                    holded_updated_at: None,
                                    listed: false,
                                }],
                            )
                            .await?;
                    }
                    Plan::Failed(why) => tally.item(crate::store::RunItem {
                        object_kind: KIND,
                        holded_id: document.id.clone(),
                        hubspot_id: hubspot_id(found.deals.get(&document.id)),
                        outcome: "failed",
                        reason: Some(why),
                        payload_summary: None,
                    }),
                    Plan::Write(write) => {
                        let (pending, extra) = *write;
                        extras.insert(pending.holded_id.clone(), extra);
                        batch.push(pending);
                        if batch.len() == BATCH {
                            flush(ctx, &mut tally, std::mem::take(&mut batch), &mut extras).await?;
                        }
                    }
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
        scan.finish(&pages);
        gone.extend(pages.gone());
    }
    flush(ctx, &mut tally, batch, &mut extras).await?;
    created.flush(ctx, &mut tally).await?;
    if whole {
        mark_vanished(ctx, KIND, ObjectType::Deals, &scan, &mut tally).await?;
        mark_vanished(ctx, ORIGIN_KIND, ObjectType::Deals, &scan, &mut tally).await?;
    } else {
        // A targeted run (some types not read at all): only what Holded said
        // it no longer has is marked.
        mark_gone(ctx, KIND, ObjectType::Deals, &gone, &mut tally).await?;
        mark_gone(ctx, ORIGIN_KIND, ObjectType::Deals, &gone, &mut tally).await?;
    }
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
    let mut told = Vec::new();
    for (pending, deal_id, new) in &written {
        if let Some(reason) = failed_lines.get(&pending.holded_id) {
            tally.refused(pending, reason.clone());
            continue;
        }
        let state = extras[&pending.holded_id].state.clone();
        let link = pending
            .props
            .get("holded_enlace")
            .cloned()
            .unwrap_or_default();
        told.push((deal_id.clone(), state, link));
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
                listed: true,
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
    announce(ctx, told).await?;
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

/// Replaces the line items of written deals whose lines changed, in groups
/// of deals whose lines fit one batch create. Returns the deals whose lines
/// HubSpot refused, with the reason.
///
/// A group whose create went unanswered may have its lines or not: the group
/// is replaced again from what its deals have now (read from their
/// associations) — safe to repeat, so repeated as an idempotent call would
/// be — while the groups before it stand.
async fn replace_lines(
    ctx: &RunContext<'_>,
    written: &[(&Pending, String, bool)],
    extras: &HashMap<String, DealExtra>,
) -> Result<HashMap<String, String>, SyncError> {
    let changed: Vec<&(&Pending, String, bool)> = written
        .iter()
        .filter(|(p, _, _)| !extras[&p.holded_id].lines_hash.is_empty())
        .collect();
    let mut failed = HashMap::new();
    for group in line_groups(&changed, extras) {
        let mut outcome = replace_group(ctx, &group, extras, true).await;
        for _ in 0..LINE_RETRIES {
            match &outcome {
                Err(SyncError::Hubspot(error)) if error.outcome_unknown() => {
                    outcome = replace_group(ctx, &group, extras, false).await;
                }
                _ => break,
            }
        }
        failed.extend(outcome?);
    }
    Ok(failed)
}

/// `deals` cut into groups whose lines together fit one batch (a deal with
/// more lines than that stands alone).
fn line_groups<'a, 'b>(
    deals: &[&'a (&'b Pending, String, bool)],
    extras: &HashMap<String, DealExtra>,
) -> Vec<Vec<&'a (&'b Pending, String, bool)>> {
    let mut groups: Vec<Vec<_>> = Vec::new();
    let mut lines_in_last = 0;
    for deal in deals {
        let lines = extras[&deal.0.holded_id].lines.len();
        match groups.last_mut() {
            Some(group) if lines_in_last + lines <= BATCH => group.push(*deal),
            _ => {
                groups.push(vec![*deal]);
                lines_in_last = 0;
            }
        }
        lines_in_last += lines;
    }
    groups
}

/// Archives what the group's deals have now (for new deals only when
/// `trust_new` is false: a deal created this run has no lines yet) and
/// creates their lines.
async fn replace_group(
    ctx: &RunContext<'_>,
    group: &[&(&Pending, String, bool)],
    extras: &HashMap<String, DealExtra>,
    trust_new: bool,
) -> Result<HashMap<String, String>, SyncError> {
    let existing_deals: Vec<String> = group
        .iter()
        .filter(|(_, _, new)| !(trust_new && *new))
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
    for (pending, deal_id, _) in group {
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
