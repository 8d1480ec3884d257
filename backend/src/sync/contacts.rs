//! Holded contacts → HubSpot: persons become contacts and companies become
//! companies, both upserted by `holded_id` from one scan of Holded's contacts.
//! A HubSpot contact with the same email, or a company with the same domain
//! (or NIF, when sensitive data is on), that has no Holded id yet is linked
//! instead of duplicated.

use std::collections::HashMap;

use futures::TryStreamExt;

use super::{
    SyncError,
    context::{RunContext, Scan},
    deletions::mark_vanished,
    hash::content_hash,
    isolate,
    mapping::{company_properties, domain_of, erase_sensitive, person_properties},
    tally::Tally,
    write::{BATCH, Pending, reason},
};
use crate::{
    holded::{Contact, HoldedApi},
    hubspot::{
        HubspotError, ObjectType, UpdateInput, UpsertInput,
        search::{Filter, Operator},
        search_in::AnyOf,
    },
};

/// Which of the two kinds a pass handles.
pub struct ContactKinds {
    /// Persons → contacts.
    pub persons: bool,
    /// Companies → companies.
    pub companies: bool,
}

struct Side {
    kind: &'static str,
    object: ObjectType,
    tally: Tally,
    batch: Vec<Pending>,
    seen: Scan,
}

impl Side {
    async fn open(
        ctx: &RunContext<'_>,
        kind: &'static str,
        object: ObjectType,
    ) -> Result<Option<Self>, SyncError> {
        let tally = Tally::open(ctx, kind).await?;
        if tally.completed() {
            return Ok(None);
        }
        Ok(Some(Self {
            kind,
            object,
            tally,
            batch: Vec::new(),
            seen: Scan::default(),
        }))
    }
}

/// Runs the contacts and companies part of a run (what `kinds` enables and an
/// earlier attempt did not finish). Returns the finished tallies.
pub async fn sync_contacts(
    ctx: &RunContext<'_>,
    kinds: ContactKinds,
) -> Result<Vec<Tally>, SyncError> {
    let mut persons = if kinds.persons {
        Side::open(ctx, "contacts", ObjectType::Contacts).await?
    } else {
        None
    };
    let mut companies = if kinds.companies {
        Side::open(ctx, "companies", ObjectType::Companies).await?
    } else {
        None
    };
    if persons.is_none() && companies.is_none() {
        return Ok(Vec::new());
    }
    let started = chrono::Utc::now();
    let mut pages = ctx.holded.contacts().read_ahead();
    let mut scanned = 0usize;
    loop {
        // Holded's scan is shared; its calls are counted on the first kind.
        let first = persons
            .as_mut()
            .or(companies.as_mut())
            .map(|side| &mut side.tally);
        if let Some(tally) = first {
            tally.reset_calls(ctx.hubspot, &ctx.holded_calls);
        }
        let page = pages.try_next().await?;
        if let Some(tally) = persons
            .as_mut()
            .or(companies.as_mut())
            .map(|side| &mut side.tally)
        {
            tally.count_calls(ctx.hubspot, &ctx.holded_calls);
        }
        let Some(page) = page else { break };
        scanned += page.len();
        ctx.index.record(&page).await?;
        let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
        for side in [persons.as_mut(), companies.as_mut()].into_iter().flatten() {
            let links = ctx.store.links(ctx.portal_id, side.kind, &ids).await?;
            let is_person = side.kind == "contacts";
            for contact in page.iter().filter(|c| c.is_person == is_person) {
                consider(ctx, side, contact, links.get(&contact.id));
                if side.batch.len() == BATCH {
                    flush(ctx, side).await?;
                }
            }
            side.tally
                .save(
                    ctx.store,
                    "running",
                    Some(format!("{scanned} contactos leídos")),
                )
                .await?;
        }
        ctx.progress.page("contacts", scanned);
        ctx.renew_lease().await?;
    }
    if pages.doubt().is_none() {
        ctx.index.complete(started).await?;
    }
    let mut done = Vec::new();
    for mut side in [persons, companies].into_iter().flatten() {
        side.seen.finish(&pages);
        flush(ctx, &mut side).await?;
        side.tally.reset_calls(ctx.hubspot, &ctx.holded_calls);
        mark_vanished(ctx, side.kind, side.object, &side.seen, &mut side.tally).await?;
        side.tally.count_calls(ctx.hubspot, &ctx.holded_calls);
        side.tally.save(ctx.store, "completed", None).await?;
        done.push(side.tally);
    }
    Ok(done)
}

fn consider(
    ctx: &RunContext<'_>,
    side: &mut Side,
    contact: &Contact,
    link: Option<&crate::store::entities::record_link::Model>,
) {
    side.seen.see(&contact.id);
    side.tally.see_updated_at(contact.updated_at);
    let props = if side.kind == "contacts" {
        person_properties(contact, ctx.sensitive)
    } else {
        company_properties(contact, ctx.sensitive)
    };
    let hash = content_hash(&props, &[]);
    if link.is_some_and(|l| l.erased_at.is_some()) {
        // Its HubSpot contact was erased for privacy: never brought back.
        side.tally.counts().skipped += 1;
        return;
    }
    if let Some(link) = link.filter(|l| l.hubspot_id.is_some()) {
        if link.content_hash.as_deref() == Some(hash.as_str()) && !link.deleted_in_holded {
            side.tally.counts().unchanged += 1;
            return;
        }
    } else if ctx.before_start(contact.updated_at.map(|t| t.date_naive())) {
        side.tally.counts().skipped += 1;
        return;
    }
    if link.is_some_and(|l| l.refused(&hash)) {
        // HubSpot refused this very content: it waits for a change or a retry.
        side.tally.counts().skipped += 1;
        return;
    }
    let mut props = props;
    if ctx.erase_sensitive {
        // After hashing: the erase is a one-off, not part of the content.
        erase_sensitive(&mut props);
    }
    side.batch.push(Pending {
        holded_id: contact.id.clone(),
        props,
        hash,
        updated_at: contact.updated_at,
        hubspot_id: link.and_then(|l| l.hubspot_id.clone()),
    });
}

/// Writes the side's batch, counting the HubSpot calls on its kind.
async fn flush(ctx: &RunContext<'_>, side: &mut Side) -> Result<(), SyncError> {
    if side.batch.is_empty() {
        return Ok(());
    }
    side.tally.reset_calls(ctx.hubspot, &ctx.holded_calls);
    let result = write_batch(ctx, side).await;
    side.tally.count_calls(ctx.hubspot, &ctx.holded_calls);
    result
}

/// Links existing HubSpot records first (unlinked records whose email, or
/// domain or NIF, a HubSpot record without a Holded id already has), upserts
/// the rest by `holded_id`, and links records that turn out to exist when
/// HubSpot answers with the existing id.
async fn write_batch(ctx: &RunContext<'_>, side: &mut Side) -> Result<(), SyncError> {
    let batch = std::mem::take(&mut side.batch);
    if ctx.dry_run {
        side.tally.plan(side.kind, &batch);
        return Ok(());
    }
    let keys: &[&str] = if side.kind == "companies" {
        &["domain", "holded_nif"]
    } else {
        &["email"]
    };
    let existing = existing_records(ctx, side, &batch, keys).await?;
    let (to_link, to_upsert): (Vec<&Pending>, Vec<&Pending>) = batch
        .iter()
        .partition(|p| p.hubspot_id.is_none() && existing.contains_key(&p.holded_id));
    let mut links = Vec::new();
    let mut adopt: Vec<(&Pending, String)> = to_link
        .iter()
        .map(|p| (*p, existing[&p.holded_id].clone()))
        .collect();

    if !to_upsert.is_empty() {
        let inputs: Vec<UpsertInput> = to_upsert
            .iter()
            .map(|p| UpsertInput::new("holded_id", p.holded_id.clone(), p.props.clone()))
            .collect();
        let creates: Vec<bool> = to_upsert.iter().map(|p| p.hubspot_id.is_none()).collect();
        let settled = isolate::write(ctx.hubspot, side.object, &inputs, &creates).await?;
        for (i, record) in settled.written {
            let pending = to_upsert[i];
            if record.new == Some(true) {
                side.tally.counts().created += 1;
            } else {
                side.tally.counts().updated += 1;
            }
            links.push(pending.link(&record.id));
        }
        for (i, error) in settled.refused {
            let pending = to_upsert[i];
            match &error {
                HubspotError::Conflict {
                    existing_id: Some(id),
                    ..
                } if pending.hubspot_id.is_none() => {
                    adopt.push((pending, id.clone()));
                }
                _ => side.tally.refused(pending, reason(side.kind, &error)),
            }
        }
    }

    if !adopt.is_empty() {
        let inputs: Vec<UpdateInput> = adopt
            .iter()
            .map(|(p, id)| UpdateInput::new(id.clone(), p.props.clone()))
            .collect();
        let settled = isolate::write(
            ctx.hubspot,
            side.object,
            &inputs,
            &vec![false; inputs.len()],
        )
        .await?;
        for (i, record) in settled.written {
            side.tally.counts().updated += 1;
            links.push(adopt[i].0.link(&record.id));
        }
        for (i, error) in settled.refused {
            side.tally.refused(adopt[i].0, reason(side.kind, &error));
        }
    }
    let written: Vec<String> = links.iter().map(|l| l.holded_id.clone()).collect();
    ctx.store
        .save_links(ctx.portal_id, side.kind, &links)
        .await?;
    ctx.store
        .resolve_run_items(ctx.portal_id, side.kind, &written)
        .await?;
    Ok(())
}

/// A value as records are matched by: a domain as HubSpot's company key
/// (no scheme, no `www.`, no path, lower case), anything else lower case.
fn match_key(key: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match key {
        "domain" => domain_of(value),
        _ => Some(value.to_lowercase()),
    }
}

/// The forms of a matched value to search HubSpot for: a domain as HubSpot
/// usually keeps it and with the `www.` people often type.
fn searched_forms(key: &str, value: &str) -> Vec<String> {
    match key {
        "domain" => vec![value.to_owned(), format!("www.{value}")],
        _ => vec![value.to_owned()],
    }
}

/// HubSpot records without a `holded_id` that match unlinked records of
/// `batch` by one of `keys` (lowercased): Holded id → HubSpot id. The values
/// are spread over as many searches as HubSpot's limits need. A record
/// already linked to another Holded record is never taken (search lags
/// behind writes: a record linked minutes ago may still show no Holded id).
async fn existing_records(
    ctx: &RunContext<'_>,
    side: &Side,
    batch: &[Pending],
    keys: &[&str],
) -> Result<HashMap<String, String>, SyncError> {
    let mut by_value: HashMap<(&str, String), String> = HashMap::new();
    for pending in batch.iter().filter(|p| p.hubspot_id.is_none()) {
        for key in keys {
            if let Some(value) = pending.props.get(*key).and_then(|v| match_key(key, v)) {
                by_value
                    .entry((key, value))
                    .or_insert_with(|| pending.holded_id.clone());
            }
        }
    }
    let any_of: Vec<AnyOf> = keys
        .iter()
        .map(|key| AnyOf {
            property: (*key).to_owned(),
            values: by_value
                .keys()
                .filter(|(k, _)| k == key)
                .flat_map(|(_, v)| searched_forms(key, v))
                .collect(),
        })
        .filter(|a| !a.values.is_empty())
        .collect();
    if any_of.is_empty() {
        return Ok(HashMap::new());
    }
    let unlinked = Filter {
        property_name: "holded_id".to_owned(),
        operator: Operator::NotHasProperty,
        value: None,
        high_value: None,
        values: None,
    };
    let properties: Vec<&str> = keys.iter().copied().chain(["holded_id"]).collect();
    let records = ctx
        .hubspot
        .search_any_of(side.object, &any_of, &[unlinked], &properties)
        .await?;
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let taken = ctx
        .store
        .linked_hubspot_ids(ctx.portal_id, side.kind, &ids)
        .await?;
    let mut found = HashMap::new();
    for record in records.iter().filter(|r| !taken.contains(&r.id)) {
        for key in keys {
            if let Some(value) = record.get(key).and_then(|v| match_key(key, v))
                && let Some(holded_id) = by_value.get(&(*key, value))
            {
                found
                    .entry(holded_id.clone())
                    .or_insert_with(|| record.id.clone());
            }
        }
    }
    Ok(found)
}
