//! The job that brings what Holded's webhooks announced into HubSpot: after
//! a short window in which more deliveries of the portal gather, one
//! targeted run syncs every record they name; deliveries that arrive while
//! it runs are taken by the next round of the same job.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::JobError;
use crate::{
    holded::webhook::Change,
    store::{RunTrigger, Store},
    sync::{LogProgress, SyncEngine, SyncError, SyncRequest, Targets},
};

/// Sync what a portal's Holded webhooks named.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HoldedChanges {
    /// HubSpot hub id.
    pub portal_id: i64,
}

/// How long deliveries gather before a run takes them (a burst of changes
/// in Holded becomes one run).
pub const COALESCE: Duration = Duration::from_secs(2);

/// Deliveries one round takes at most.
const ROUND: u64 = 1_000;

/// Runs the job: rounds of targeted runs until no delivery waits. When
/// another run holds the portal, the deliveries wait for the sweeper.
pub async fn run_holded_changes(
    store: &Store,
    engine: Option<&SyncEngine>,
    job: &HoldedChanges,
) -> Result<(), JobError> {
    let Some(engine) = engine else {
        return Ok(());
    };
    tokio::time::sleep(COALESCE).await;
    loop {
        let events = store.pending_holded_events(job.portal_id, ROUND).await?;
        if events.is_empty() {
            return Ok(());
        }
        let mut targets = Targets::default();
        for change in events
            .iter()
            .filter_map(|e| e.object_id.as_deref().and_then(Change::from_key))
        {
            targets.add(change);
        }
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        if targets.is_empty() {
            store.mark_holded_events_processed(&ids, None).await?;
            continue;
        }
        let request = SyncRequest {
            portal_id: job.portal_id,
            trigger: RunTrigger::Webhook,
            objects: None,
            since: None,
            dry_run: false,
            targets: Some(targets),
        };
        let run_id = match engine.run(request, &LogProgress).await {
            Ok(report) => {
                tracing::info!(portal_id = job.portal_id, run_id = report.run_id, status = %report.status, deliveries = ids.len(), "Holded changes synced");
                Some(report.run_id)
            }
            Err(SyncError::AlreadyRunning | SyncError::LockLost) => {
                tracing::info!(
                    portal_id = job.portal_id,
                    "another run holds the portal; the Holded changes wait"
                );
                return Ok(());
            }
            Err(SyncError::Database(err)) => return Err(err.into()),
            // Not connected, no key: the nightly run reports it; the
            // deliveries are not kept waiting for ever.
            Err(err) => {
                tracing::warn!(portal_id = job.portal_id, error = %err, "Holded changes not synced");
                None
            }
        };
        store.mark_holded_events_processed(&ids, run_id).await?;
    }
}
