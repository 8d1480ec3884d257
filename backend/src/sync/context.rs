//! What every part of a run needs.

use std::{
    collections::HashSet,
    sync::{Arc, atomic::AtomicU64},
};

use chrono::NaiveDate;

use super::{
    Progress, SyncError,
    mapping::Sensitive,
    targets::{Scope, Targets},
};
use crate::{
    contact_index::ContactIndex,
    deals::timeline::TimelineChannel,
    holded::{DocumentType, HoldedClient, Pages},
    hubspot::PortalClient,
    lease::Heartbeat,
    settings::DocumentMapping,
    store::Store,
};

/// A run in progress.
pub struct RunContext<'a> {
    /// Database.
    pub store: &'a Store,
    /// Portal.
    pub portal_id: i64,
    /// Run id.
    pub run_id: i64,
    /// HubSpot, as this portal.
    pub hubspot: &'a PortalClient,
    /// Holded, with the portal's key.
    pub holded: &'a HoldedClient,
    /// Holded calls made (shared counter).
    pub holded_calls: Arc<AtomicU64>,
    /// The index of Holded contacts the deal flow consults (written by the
    /// contact scan).
    pub index: ContactIndex<'a>,
    /// Whether sensitive values travel.
    pub sensitive: Sensitive,
    /// Clear sensitive values already in HubSpot (sensitive data was turned off).
    pub erase_sensitive: bool,
    /// Records (contacts by `updatedAt`, documents by date) before this date are
    /// not brought unless already linked.
    pub since: Option<NaiveDate>,
    /// Compute the plan only; write nothing to HubSpot.
    pub dry_run: bool,
    /// Document type → stage.
    pub mapping: DocumentMapping,
    /// Progress reporting.
    pub progress: &'a dyn Progress,
    /// The heartbeat of this run's sync lock.
    pub lock: &'a Heartbeat,
    /// A targeted run's records (webhooks); `None` for a whole run.
    pub targets: Option<&'a Targets>,
    /// The portal's calendar day (overdue documents are counted from it).
    pub today: NaiveDate,
    /// Where changes of the deals' documents are told.
    pub timeline: &'a TimelineChannel,
}

impl RunContext<'_> {
    /// Whether a record dated `date` is before the start date.
    pub fn before_start(&self, date: Option<NaiveDate>) -> bool {
        matches!((self.since, date), (Some(since), Some(date)) if date < since)
    }

    /// What the contacts part reads.
    pub fn contacts_scope(&self) -> Scope<'_> {
        self.targets.map_or(Scope::Everything, Targets::contacts)
    }

    /// What the products part reads.
    pub fn products_scope(&self) -> Scope<'_> {
        self.targets.map_or(Scope::Everything, Targets::products)
    }

    /// What the deals part reads of `doc_type`.
    pub fn documents_scope(&self, doc_type: DocumentType) -> Scope<'_> {
        self.targets
            .map_or(Scope::Everything, |t| t.documents(doc_type))
    }

    /// Between batches: whether this run still holds the portal's sync lock
    /// (its heartbeat renews it); `LockLost` stops the run before it writes.
    pub async fn renew_lease(&self) -> Result<(), SyncError> {
        if self.lock.lost() {
            Err(SyncError::LockLost)
        } else {
            Ok(())
        }
    }
}

/// What a scan of Holded saw (deletion detection): the ids, and why the scan
/// may have missed some.
#[derive(Debug, Default)]
pub struct Scan {
    seen: HashSet<String>,
    doubt: Option<String>,
}

impl Scan {
    /// A record the scan saw.
    pub fn see(&mut self, holded_id: &str) {
        self.seen.insert(holded_id.to_owned());
    }

    /// A list of the scan ended: keeps its doubt, if it did not end cleanly.
    pub fn finish<T>(&mut self, pages: &Pages<T>) {
        if self.doubt.is_none() {
            self.doubt = pages.doubt();
        }
    }

    /// The ids seen.
    pub fn seen(&self) -> &HashSet<String> {
        &self.seen
    }

    /// Why the scan may be incomplete; `None` when every list ended cleanly.
    pub fn doubt(&self) -> Option<&str> {
        self.doubt.as_deref()
    }
}
