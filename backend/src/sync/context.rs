//! What every part of a run needs.

use std::{
    collections::HashSet,
    sync::{Arc, atomic::AtomicU64},
};

use chrono::NaiveDate;

use super::{Progress, SyncError, mapping::Sensitive};
use crate::{
    holded::HoldedClient, hubspot::PortalClient, lease::Heartbeat, settings::DocumentMapping,
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
}

impl RunContext<'_> {
    /// Whether a record dated `date` is before the start date.
    pub fn before_start(&self, date: Option<NaiveDate>) -> bool {
        matches!((self.since, date), (Some(since), Some(date)) if date < since)
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

/// Holded ids seen in a complete scan (deletion detection).
pub type Seen = HashSet<String>;
