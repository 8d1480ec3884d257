//! Holded contacts → HubSpot: persons become contacts and companies become
//! companies, both upserted by `holded_id` from one scan of Holded's contacts.
//! A HubSpot contact with the same email, or a company with the same domain
//! (or NIF, when sensitive data is on), that has no Holded id yet is linked
//! instead of duplicated.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, atomic::AtomicU64},
    task::{Context, Poll},
};

use futures::{FutureExt, StreamExt, TryStreamExt, future::BoxFuture, stream::FuturesUnordered};

use super::{
    SyncError,
    context::{RunContext, Scan},
    deletions::{mark_gone, mark_vanished},
    existing::Unlinked,
    hash::content_hash,
    isolate,
    mapping::{company_properties, erase_sensitive, person_properties},
    tally::Tally,
    write::{BATCH, Pending, reason},
};
use crate::{
    holded::{Contact, HoldedApi},
    hubspot::{HubspotError, ObjectType, PortalClient, UpdateInput, UpsertInput},
    store::Store,
};

/// Batch writes a run keeps in flight at once: enough to keep HubSpot's
/// budget busy while each waits for its answer and saves its links.
const IN_FLIGHT: usize = 3;

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
    /// HubSpot as this kind: its calls are counted on this kind.
    client: PortalClient,
    /// The Holded calls counted on this kind (the shared scan's calls count
    /// on the first kind; the other's counter stays at zero).
    holded_calls: Arc<AtomicU64>,
}

impl Side {
    async fn open(
        ctx: &RunContext<'_>,
        kind: &'static str,
        object: ObjectType,
        holded_calls: Arc<AtomicU64>,
    ) -> Result<Option<Self>, SyncError> {
        let mut tally = Tally::open(ctx, kind).await?;
        if tally.completed() {
            return Ok(None);
        }
        let client = ctx.hubspot.counted_apart();
        tally.reset_calls(&client, &holded_calls);
        Ok(Some(Self {
            kind,
            object,
            tally,
            batch: Vec::new(),
            seen: Scan::default(),
            client,
            holded_calls,
        }))
    }

    /// Counts this kind's calls since the last count.
    fn count_calls(&mut self) {
        self.tally.count_calls(&self.client, &self.holded_calls);
    }

    /// Counts what a batch write did.
    fn settle(&mut self, written: Written) {
        let counts = self.tally.counts();
        counts.created += written.created;
        counts.updated += written.updated;
        for (pending, why) in written.refused {
            self.tally.refused(&pending, why);
        }
    }
}

/// What one batch write did, counted on its kind once it ends.
#[derive(Default)]
struct Written {
    created: u32,
    updated: u32,
    refused: Vec<(Pending, String)>,
}

impl Written {
    fn add(&mut self, other: Written) {
        self.created += other.created;
        self.updated += other.updated;
        self.refused.extend(other.refused);
    }
}

/// Batch writes in flight, each with the index of its side. Each runs on a
/// task of its own, so it goes on (and releases what it holds in the
/// database) whatever the scan awaits meanwhile; dropping them aborts them.
type Writes = FuturesUnordered<BoxFuture<'static, (usize, Result<Written, SyncError>)>>;

/// What a batch write needs, owned, to run on a task of its own.
struct WriteJob {
    store: Store,
    portal_id: i64,
    client: PortalClient,
    kind: &'static str,
    object: ObjectType,
    unlinked: Arc<Unlinked>,
}

impl WriteJob {
    fn of(ctx: &RunContext<'_>, side: &Side, unlinked: &Arc<Unlinked>) -> Self {
        Self {
            store: ctx.store.clone(),
            portal_id: ctx.portal_id,
            client: side.client.clone(),
            kind: side.kind,
            object: side.object,
            unlinked: unlinked.clone(),
        }
    }
}

/// A spawned task, aborted when dropped unfinished (a failed run stops its
/// writes in flight).
struct Spawned<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Spawned<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(value) => value,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        })
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the contacts and companies part of a run (what `kinds` enables and an
/// earlier attempt did not finish). Returns the finished tallies.
///
/// The scan reads one Holded page ahead, and up to [`IN_FLIGHT`] batches are
/// written at once while it goes on.
pub async fn sync_contacts(
    ctx: &RunContext<'_>,
    kinds: ContactKinds,
) -> Result<Vec<Tally>, SyncError> {
    let no_calls = Arc::new(AtomicU64::new(0));
    let persons = if kinds.persons {
        Side::open(
            ctx,
            "contacts",
            ObjectType::Contacts,
            ctx.holded_calls.clone(),
        )
        .await?
    } else {
        None
    };
    let companies_calls = if persons.is_some() {
        no_calls
    } else {
        ctx.holded_calls.clone()
    };
    let companies = if kinds.companies {
        Side::open(ctx, "companies", ObjectType::Companies, companies_calls).await?
    } else {
        None
    };
    let mut sides = [persons, companies];
    if sides.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    let unlinked = [
        Arc::new(Unlinked::open(ctx, "contacts", ObjectType::Contacts).await?),
        Arc::new(Unlinked::open(ctx, "companies", ObjectType::Companies).await?),
    ];
    let mut writes: Writes = FuturesUnordered::new();
    let started = chrono::Utc::now();
    let targeted = ctx.contacts_scope().ids();
    let whole = targeted.is_none();
    let mut pages = match targeted {
        Some(ids) => ctx.holded.contacts_by_id(ids),
        None => ctx.holded.contacts().read_ahead(),
    };
    let mut scanned = 0usize;
    loop {
        // The writes in flight go on while the next page comes.
        let page = loop {
            tokio::select! {
                page = pages.try_next() => break page?,
                Some((which, done)) = writes.next(), if !writes.is_empty() => {
                    settle(&mut sides, which, done)?;
                }
            }
        };
        let Some(page) = page else { break };
        scanned += page.len();
        ctx.index.record(&page).await?;
        let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
        for which in 0..sides.len() {
            let Some(side) = sides[which].as_mut() else {
                continue;
            };
            let links = ctx.store.links(ctx.portal_id, side.kind, &ids).await?;
            let is_person = side.kind == "contacts";
            let mut full = Vec::new();
            for contact in page.iter().filter(|c| c.is_person == is_person) {
                consider(ctx, side, contact, links.get(&contact.id));
                if side.batch.len() == BATCH {
                    full.push(std::mem::take(&mut side.batch));
                }
            }
            side.count_calls();
            side.tally
                .save(
                    ctx.store,
                    "running",
                    Some(format!("{scanned} contactos leídos")),
                )
                .await?;
            for batch in full {
                send(ctx, &mut sides, &mut writes, &unlinked, which, batch).await?;
            }
        }
        ctx.progress.page("contacts", scanned);
        ctx.renew_lease().await?;
    }
    for which in 0..sides.len() {
        if let Some(side) = sides[which].as_mut() {
            let batch = std::mem::take(&mut side.batch);
            send(ctx, &mut sides, &mut writes, &unlinked, which, batch).await?;
        }
    }
    while let Some((which, done)) = writes.next().await {
        settle(&mut sides, which, done)?;
    }
    for (side, unlinked) in sides.iter_mut().zip(&unlinked) {
        let Some(side) = side.as_mut() else { continue };
        let rest = unlinked.take_deferred();
        if !rest.is_empty() {
            let job = WriteJob::of(ctx, side, unlinked);
            side.settle(write_adopted(&job, rest).await?);
        }
    }
    if whole && pages.doubt().is_none() {
        ctx.index.complete(started).await?;
    }
    let mut done = Vec::new();
    for mut side in sides.into_iter().flatten() {
        side.seen.finish(&pages);
        side.count_calls();
        // The deletion sweep goes through the run's client.
        side.tally.reset_calls(ctx.hubspot, &side.holded_calls);
        if whole {
            mark_vanished(ctx, side.kind, side.object, &side.seen, &mut side.tally).await?;
        } else {
            mark_gone(ctx, side.kind, side.object, &pages.gone(), &mut side.tally).await?;
        }
        side.tally.count_calls(ctx.hubspot, &side.holded_calls);
        side.tally.save(ctx.store, "completed", None).await?;
        done.push(side.tally);
    }
    Ok(done)
}

/// Counts a finished batch write on its side.
fn settle(
    sides: &mut [Option<Side>; 2],
    which: usize,
    done: Result<Written, SyncError>,
) -> Result<(), SyncError> {
    let written = done?;
    if let Some(side) = sides[which].as_mut() {
        side.settle(written);
    }
    Ok(())
}

/// Starts writing `batch` of side `which` (after the oldest write in flight
/// ends, when [`IN_FLIGHT`] are); a dry run only plans it.
async fn send(
    ctx: &RunContext<'_>,
    sides: &mut [Option<Side>; 2],
    writes: &mut Writes,
    unlinked: &[Arc<Unlinked>; 2],
    which: usize,
    batch: Vec<Pending>,
) -> Result<(), SyncError> {
    let Some(side) = sides[which].as_mut() else {
        return Ok(());
    };
    if batch.is_empty() {
        return Ok(());
    }
    if ctx.dry_run {
        side.tally.plan(side.kind, &batch);
        return Ok(());
    }
    let job = WriteJob::of(ctx, side, &unlinked[which]);
    while writes.len() >= IN_FLIGHT {
        if let Some((done_side, done)) = writes.next().await {
            settle(sides, done_side, done)?;
        }
    }
    let task = Spawned(tokio::spawn(async move { write_batch(&job, batch).await }));
    writes.push(task.map(move |written| (which, written)).boxed());
    Ok(())
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

/// Upserts the batch's records by `holded_id`, except those HubSpot already
/// has without a Holded id (same email, or domain or NIF), found before or
/// named by a conflict: those are linked, written by id [`BATCH`] at a time
/// across the run's batches (see [`Unlinked::defer`]). Saves the links;
/// returns what it did, for the kind's tally.
async fn write_batch(job: &WriteJob, batch: Vec<Pending>) -> Result<Written, SyncError> {
    let WriteJob {
        store,
        portal_id,
        client,
        kind,
        object,
        ..
    } = job;
    let (kind, object) = (*kind, *object);
    let existing = job
        .unlinked
        .matches(client, store, *portal_id, &batch)
        .await?;
    let (to_link, to_upsert): (Vec<&Pending>, Vec<&Pending>) = batch
        .iter()
        .partition(|p| p.hubspot_id.is_none() && existing.contains_key(&p.holded_id));
    let mut written = Written::default();
    let mut links = Vec::new();
    let mut adopt: Vec<(Pending, String)> = to_link
        .iter()
        .map(|p| ((*p).clone(), existing[&p.holded_id].clone()))
        .collect();

    if !to_upsert.is_empty() {
        let inputs: Vec<UpsertInput> = to_upsert
            .iter()
            .map(|p| UpsertInput::new("holded_id", p.holded_id.clone(), p.props.clone()))
            .collect();
        let creates: Vec<bool> = to_upsert.iter().map(|p| p.hubspot_id.is_none()).collect();
        let settled = isolate::write(client, object, &inputs, &creates).await?;
        for (i, record) in settled.written {
            let pending = to_upsert[i];
            if record.new == Some(true) {
                written.created += 1;
            } else {
                written.updated += 1;
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
                    adopt.push((pending.clone(), id.clone()));
                }
                _ => written
                    .refused
                    .push((pending.clone(), reason(kind, &error))),
            }
        }
    }
    save_written(job, &links).await?;
    let due = job.unlinked.defer(adopt);
    if !due.is_empty() {
        written.add(write_adopted(job, due).await?);
    }
    Ok(written)
}

/// Writes records onto the HubSpot records they were matched to (an update
/// by id each) and saves their links.
async fn write_adopted(
    job: &WriteJob,
    adopt: Vec<(Pending, String)>,
) -> Result<Written, SyncError> {
    let mut written = Written::default();
    let inputs: Vec<UpdateInput> = adopt
        .iter()
        .map(|(p, id)| UpdateInput::new(id.clone(), p.props.clone()))
        .collect();
    let settled =
        isolate::write(&job.client, job.object, &inputs, &vec![false; inputs.len()]).await?;
    let mut links = Vec::new();
    for (i, record) in settled.written {
        written.updated += 1;
        links.push(adopt[i].0.link(&record.id));
    }
    for (i, error) in settled.refused {
        written
            .refused
            .push((adopt[i].0.clone(), reason(job.kind, &error)));
    }
    save_written(job, &links).await?;
    Ok(written)
}

/// Saves the links of written records and clears their failures.
async fn save_written(
    job: &WriteJob,
    links: &[crate::store::links::LinkWrite],
) -> Result<(), SyncError> {
    if links.is_empty() {
        return Ok(());
    }
    let linked: Vec<String> = links.iter().map(|l| l.holded_id.clone()).collect();
    job.store.save_links(job.portal_id, job.kind, links).await?;
    job.store
        .resolve_run_items(job.portal_id, job.kind, &linked)
        .await?;
    Ok(())
}
