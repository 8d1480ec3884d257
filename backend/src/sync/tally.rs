//! Per-kind bookkeeping of a run: counts, failed records, API calls and the
//! checkpoint, saved after every batch so an interrupted run can resume.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use sea_orm::DbErr;

use super::{context::RunContext, write::Pending};
use crate::{
    hubspot::PortalClient,
    store::{RunItem, Store, entities::sync_run_object},
};

/// How many planned changes a dry run lists per kind.
pub const DRY_RUN_SAMPLE: usize = 20;

/// Counts for one object kind, as reported.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindReport {
    /// `contacts`, `companies`, `products` or `deals`.
    pub kind: &'static str,
    /// Records created in HubSpot (or, in a dry run, to be created).
    pub created: u32,
    /// Records updated (or to be updated).
    pub updated: u32,
    /// Records left alone.
    pub unchanged: u32,
    /// Records not synced by design (unmapped document type, before the start
    /// date), or whose content HubSpot refused before and that have not
    /// changed since (they wait for a change in Holded or a retry).
    pub skipped: u32,
    /// Records HubSpot refused.
    pub failed: u32,
    /// Records marked as deleted in Holded.
    pub deleted: u32,
    /// HubSpot requests made.
    pub hubspot_calls: u64,
    /// Holded requests made.
    pub holded_calls: u64,
    /// A sample of planned changes (dry runs).
    pub planned: Vec<String>,
    /// What the operator should know about this part (Spanish), e.g. a list
    /// that did not end cleanly.
    pub warning: Option<String>,
}

/// The running tally of one kind.
pub struct Tally {
    portal_id: i64,
    row: sync_run_object::Model,
    report: KindReport,
    items: Vec<RunItem>,
    refusals: Vec<(String, String)>,
    hubspot_start: u64,
    holded_start: u64,
}

impl Tally {
    /// Starts (or resumes) the tally of `kind` in the run of `ctx`.
    pub async fn open(ctx: &RunContext<'_>, kind: &'static str) -> Result<Self, DbErr> {
        let row = ctx.store.run_object(ctx.run_id, kind).await?;
        let report = KindReport {
            kind,
            created: row.created as u32,
            updated: row.updated as u32,
            unchanged: 0,
            skipped: 0,
            failed: row.failed as u32,
            deleted: 0,
            hubspot_calls: row.hubspot_calls as u64,
            holded_calls: row.holded_calls as u64,
            planned: Vec::new(),
            warning: row.warning.clone(),
        };
        Ok(Self {
            portal_id: ctx.portal_id,
            row,
            report,
            items: Vec::new(),
            refusals: Vec::new(),
            hubspot_start: ctx.hubspot.calls_used(),
            holded_start: ctx.holded_calls.load(Ordering::Relaxed),
        })
    }

    /// Whether an earlier attempt of this run already completed this kind.
    pub fn completed(&self) -> bool {
        self.row.status == "completed"
    }

    /// The report so far.
    pub fn report(&self) -> &KindReport {
        &self.report
    }

    /// Mutable counts.
    pub fn counts(&mut self) -> &mut KindReport {
        &mut self.report
    }

    /// Notes something the operator should know (kept with the run part;
    /// the same note is not added twice).
    pub fn warn(&mut self, note: String) {
        match &mut self.report.warning {
            Some(existing) if existing.contains(&note) => {}
            Some(existing) => {
                existing.push(' ');
                existing.push_str(&note);
            }
            None => self.report.warning = Some(note),
        }
    }

    /// Records a failed (or planned) record.
    pub fn item(&mut self, item: RunItem) {
        if item.outcome != "failed" && self.report.planned.len() < DRY_RUN_SAMPLE {
            self.report.planned.push(format!(
                "{} {} {}",
                item.outcome, item.object_kind, item.holded_id
            ));
        }
        if item.outcome == "failed" {
            self.report.failed += 1;
        }
        self.items.push(item);
    }

    /// Records a record HubSpot refused for its data, with the Spanish
    /// `reason`: a failed item, and the refused content, which later runs do
    /// not send again until it changes (or someone retries it).
    pub fn refused(&mut self, pending: &Pending, reason: String) {
        self.refusals
            .push((pending.holded_id.clone(), pending.hash.clone()));
        self.item(pending.item(self.report.kind, "failed", Some(reason)));
    }

    /// Counts a batch as planned (dry run): created where unlinked, updated
    /// where linked, each listed in the sample.
    pub fn plan(&mut self, kind: &'static str, batch: &[Pending]) {
        for pending in batch {
            let outcome = if pending.hubspot_id.is_some() {
                self.report.updated += 1;
                "update"
            } else {
                self.report.created += 1;
                "create"
            };
            self.item(pending.item(kind, outcome, None));
        }
    }

    /// Raises the high-water mark.
    pub fn see_updated_at(&mut self, at: Option<chrono::DateTime<chrono::Utc>>) {
        if at > self.row.high_water_mark {
            self.row.high_water_mark = at;
        }
    }

    /// Adds the calls made since the last count (or reset) to this kind.
    pub fn count_calls(&mut self, hubspot: &PortalClient, holded_calls: &Arc<AtomicU64>) {
        let hubspot_now = hubspot.calls_used();
        let holded_now = holded_calls.load(Ordering::Relaxed);
        self.report.hubspot_calls += hubspot_now - self.hubspot_start;
        self.report.holded_calls += holded_now - self.holded_start;
        self.hubspot_start = hubspot_now;
        self.holded_start = holded_now;
    }

    /// Forgets the calls made since the last count: they belong to another
    /// kind that shares the clients (contacts and companies share one scan).
    pub fn reset_calls(&mut self, hubspot: &PortalClient, holded_calls: &Arc<AtomicU64>) {
        self.hubspot_start = hubspot.calls_used();
        self.holded_start = holded_calls.load(Ordering::Relaxed);
    }

    /// Counts the calls since the last count on this kind, then saves.
    pub async fn checkpoint(
        &mut self,
        store: &Store,
        hubspot: &PortalClient,
        holded_calls: &Arc<AtomicU64>,
        status: &str,
        checkpoint: Option<String>,
    ) -> Result<(), DbErr> {
        self.count_calls(hubspot, holded_calls);
        self.save(store, status, checkpoint).await
    }

    /// Saves counts, calls counted so far, new failed items and refusals, and `checkpoint`.
    pub async fn save(
        &mut self,
        store: &Store,
        status: &str,
        checkpoint: Option<String>,
    ) -> Result<(), DbErr> {
        let report = &self.report;
        self.row.status = status.to_owned();
        self.row.created = report.created as i32;
        self.row.updated = report.updated as i32;
        self.row.unchanged = report.unchanged as i32;
        self.row.skipped = report.skipped as i32;
        self.row.failed = report.failed as i32;
        self.row.hubspot_calls = report.hubspot_calls as i32;
        self.row.holded_calls = report.holded_calls as i32;
        self.row.checkpoint = checkpoint;
        self.row.warning = report.warning.clone();
        if status == "completed" {
            self.row.finished_at = Some(chrono::Utc::now());
        }
        store.save_run_object(self.row.clone()).await?;
        store.add_run_items(self.row.run_id, &self.items).await?;
        self.items.clear();
        store
            .refuse_links(self.portal_id, self.report.kind, &self.refusals)
            .await?;
        self.refusals.clear();
        Ok(())
    }
}
