//! The matrix's figures: what should exist, what does, what is duplicated or
//! lost — counted from the simulators and the database, not from what the
//! service says it did.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    time::Duration,
};

use holded_hubspot::store::{
    Store,
    entities::{portal, record_link, sync_run, sync_run_item, sync_run_object, webhook_event},
};
use holded_hubspot_sim::RunningSims;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{proxy::Injected, world::World};

/// One run's figures.
#[derive(Debug, Default)]
pub struct Figures {
    /// Deals whose stage change HubSpot delivered (at least once, answered 2xx).
    pub deals_delivered: usize,
    /// Deals with a stage change the service stored.
    pub deals_stored: usize,
    pub documents_expected: usize,
    pub documents_created: usize,
    pub documents_duplicated: usize,
    pub documents_failed: usize,
    pub customers_expected: usize,
    pub customers_created: usize,
    pub customers_duplicated: usize,
    /// The nightly run's status (and error), as the run history shows it.
    pub sync_run: String,
    pub records_seen: i64,
    pub records_written: i64,
    pub records_failed: i64,
    pub records_lost: usize,
    pub wrongly_disconnected: usize,
    pub hubspot_429s: u64,
    pub injected: String,
    pub kills: usize,
    pub settled: bool,
    pub wall: Duration,
}

impl Figures {
    /// The first thing that makes the run not clean (a duplicate, a loss, a
    /// run that did not settle or complete, a portal wrongly disconnected).
    pub fn fault(&self) -> Option<&'static str> {
        let checks = [
            (self.settled, "the run did not settle in time"),
            (
                self.sync_run == "completed",
                "the nightly run did not complete",
            ),
            (self.documents_duplicated == 0, "a document was duplicated"),
            (self.customers_duplicated == 0, "a customer was duplicated"),
            (self.records_lost == 0, "a record was lost"),
            (
                self.wrongly_disconnected == 0,
                "a portal was wrongly disconnected",
            ),
            (
                self.documents_created + self.documents_failed == self.documents_expected,
                "a deal's document neither exists nor waits for the rep",
            ),
        ];
        checks.into_iter().find(|(ok, _)| !ok).map(|(_, why)| why)
    }

    /// Panics unless nothing was duplicated or lost and everything settled.
    pub fn assert_clean(&self) {
        if let Some(why) = self.fault() {
            panic!("{why}:\n{self}");
        }
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| figure | expected | got |")?;
        writeln!(f, "|---|---:|---:|")?;
        let mut row = |name: &str, expected: String, got: String| {
            writeln!(f, "| {name} | {expected} | {got} |")
        };
        row(
            "deals whose stage change was delivered / stored",
            self.documents_expected.to_string(),
            format!("{} / {}", self.deals_delivered, self.deals_stored),
        )?;
        row(
            "documents created",
            self.documents_expected.to_string(),
            self.documents_created.to_string(),
        )?;
        row(
            "documents failed (waiting for the rep)",
            "—".into(),
            self.documents_failed.to_string(),
        )?;
        row(
            "documents duplicated",
            "0".into(),
            self.documents_duplicated.to_string(),
        )?;
        row(
            "Holded customers created",
            self.customers_expected.to_string(),
            self.customers_created.to_string(),
        )?;
        row(
            "Holded customers duplicated",
            "0".into(),
            self.customers_duplicated.to_string(),
        )?;
        row(
            "nightly sync run",
            "completed".into(),
            self.sync_run.clone(),
        )?;
        row(
            "sync records seen",
            "—".into(),
            self.records_seen.to_string(),
        )?;
        row(
            "sync records written",
            "—".into(),
            self.records_written.to_string(),
        )?;
        row(
            "sync records failed",
            "—".into(),
            self.records_failed.to_string(),
        )?;
        row("records lost", "0".into(), self.records_lost.to_string())?;
        row(
            "portals wrongly disconnected",
            "0".into(),
            self.wrongly_disconnected.to_string(),
        )?;
        row(
            "HubSpot 429s (limit exceeded)",
            "0".into(),
            self.hubspot_429s.to_string(),
        )?;
        row("faults injected", "—".into(), self.injected.clone())?;
        row("workers killed", "—".into(), self.kills.to_string())?;
        row(
            "wall time",
            "—".into(),
            format!("{:.1} s", self.wall.as_secs_f64()),
        )
    }
}

/// Counts everything.
#[allow(clippy::too_many_arguments)]
pub async fn tally(
    sims: &RunningSims,
    store: &Store,
    portal_id: i64,
    world: &World,
    injected: &Injected,
    kills: usize,
    wall: Duration,
    settled: bool,
) -> Figures {
    use std::sync::atomic::Ordering::Relaxed;
    let account = &world.account.account_id;
    let reference = |deal: u64, doc_type: &str| format!("hh-{portal_id}-{deal}-{doc_type}");
    let documents = sims.holded.documents(account);
    let mut per_reference: BTreeMap<String, usize> = BTreeMap::new();
    for document in &documents {
        for deal in &world.deals {
            let marker = reference(deal.id, deal.doc_type);
            if document
                .notes
                .as_deref()
                .is_some_and(|n| n.contains(&marker))
            {
                *per_reference.entry(marker).or_default() += 1;
            }
        }
    }
    let failed_requests = holded_hubspot::store::entities::document_request::Entity::find()
        .filter(holded_hubspot::store::entities::document_request::Column::PortalId.eq(portal_id))
        .filter(holded_hubspot::store::entities::document_request::Column::State.eq("failed"))
        .all(store.db())
        .await
        .unwrap_or_default();
    let contacts = sims.holded.contacts(account);
    let named = |name: &str| contacts.iter().filter(|c| c.name == name).count();
    // New to Holded, with at least one deal: each must be created once.
    let new_customers: Vec<_> = world
        .customers
        .iter()
        .enumerate()
        .filter(|(i, c)| !c.known && world.deals.iter().any(|d| d.customer == *i))
        .map(|(_, c)| c)
        .collect();
    let customers_duplicated = world
        .customers
        .iter()
        .map(|c| named(&c.name).saturating_sub(1))
        .sum();

    let run = sync_run::Entity::find()
        .filter(sync_run::Column::PortalId.eq(portal_id))
        .order_by_desc(sync_run::Column::Id)
        .one(store.db())
        .await
        .ok()
        .flatten();
    let kinds = match &run {
        Some(run) => sync_run_object::Entity::find()
            .filter(sync_run_object::Column::RunId.eq(run.id))
            .all(store.db())
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let sum =
        |f: fn(&sync_run_object::Model) -> i32| kinds.iter().map(|k| i64::from(f(k))).sum::<i64>();

    // Lost: a Holded contact that is neither in HubSpot (through its link)
    // nor recorded as failed.
    let dump = sims.hubspot.dump(portal_id as u64).unwrap_or_default();
    let in_hubspot = |object: &str, id: &str| {
        dump["records"][object]
            .as_array()
            .is_some_and(|records| records.iter().any(|r| r["id"] == id))
    };
    let links = record_link::Entity::find()
        .filter(record_link::Column::PortalId.eq(portal_id))
        .all(store.db())
        .await
        .unwrap_or_default();
    let failed_items: Vec<String> = match &run {
        Some(run) => sync_run_item::Entity::find()
            .filter(sync_run_item::Column::RunId.eq(run.id))
            .filter(sync_run_item::Column::Outcome.eq("failed"))
            .all(store.db())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.holded_id)
            .collect(),
        None => Vec::new(),
    };
    let lost = |kind: &str, holded_id: &str| {
        let landed = links.iter().any(|l| {
            l.object_kind == kind
                && l.holded_id == holded_id
                && l.hubspot_id
                    .as_deref()
                    .is_some_and(|id| in_hubspot(kind, id))
        });
        !landed && !failed_items.iter().any(|f| f == holded_id)
    };
    let records_lost = contacts
        .iter()
        .filter(|c| lost(if c.is_person { "contacts" } else { "companies" }, &c.id))
        .count()
        + sims
            .holded
            .products(account)
            .iter()
            .filter(|p| lost("products", &p.id))
            .count();
    let wrongly_disconnected = portal::Entity::find_by_id(portal_id)
        .one(store.db())
        .await
        .ok()
        .flatten()
        .is_none_or(|p| p.status != "connected") as usize;
    let delivered: BTreeSet<u64> = sims
        .hubspot
        .deliveries()
        .iter()
        .filter(|d| d.delivered)
        .flat_map(|d| d.events.iter().filter_map(|e| e["objectId"].as_u64()))
        .collect();
    let stored: BTreeSet<String> = webhook_event::Entity::find()
        .filter(webhook_event::Column::PortalId.eq(portal_id))
        .all(store.db())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.object_id)
        .collect();
    Figures {
        deals_delivered: world
            .deals
            .iter()
            .filter(|d| delivered.contains(&d.id))
            .count(),
        deals_stored: world
            .deals
            .iter()
            .filter(|d| stored.contains(&d.id.to_string()))
            .count(),
        documents_expected: world.deals.len(),
        documents_created: per_reference.len(),
        documents_duplicated: per_reference.values().map(|n| n - 1).sum(),
        documents_failed: failed_requests.len(),
        customers_expected: new_customers.len(),
        customers_created: new_customers.iter().filter(|c| named(&c.name) > 0).count(),
        customers_duplicated,
        sync_run: run
            .as_ref()
            .map_or("not started".to_owned(), |run| match &run.error {
                Some(error) => format!("{} ({error})", run.status),
                None => run.status.clone(),
            }),
        records_seen: sum(|k| k.created + k.updated + k.unchanged + k.skipped + k.failed),
        records_written: sum(|k| k.created + k.updated),
        records_failed: sum(|k| k.failed),
        records_lost,
        wrongly_disconnected,
        hubspot_429s: sims.hubspot.stats().rate_limited,
        injected: format!(
            "{} lost answers, {} failed reads, {} storm 429s",
            injected.lost_writes.load(Relaxed),
            injected.failed_reads.load(Relaxed),
            injected.storm_429s.load(Relaxed)
        ),
        kills,
        settled,
        wall,
    }
}
