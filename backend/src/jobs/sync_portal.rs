//! The job that syncs one portal.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{
    schedule::{next_nightly_run, portal_time_zone},
    store::{RunTrigger, Store},
    sync::{LogProgress, SyncEngine, SyncError, SyncRequest},
};

/// Run the Holded → HubSpot sync of one portal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncPortal {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// What asked for the run.
    pub trigger: RunTrigger,
}

/// Why the job failed (it is retried by the queue only for these).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// Runs the job: the sync (or, without HubSpot credentials on this server, a
/// failed run that says so) and, for scheduled runs, the next nightly run.
pub async fn run_sync_portal(
    store: &Store,
    engine: Option<&SyncEngine>,
    job: &SyncPortal,
) -> Result<(), JobError> {
    let Some(portal) = store.portal(job.portal_id).await? else {
        tracing::warn!(
            portal_id = job.portal_id,
            "sync job for an unknown portal; dropped"
        );
        return Ok(());
    };
    let paused = match engine {
        Some(engine) => {
            let request = SyncRequest {
                portal_id: portal.id,
                trigger: job.trigger,
                objects: None,
                since: None,
                dry_run: false,
                targets: None,
            };
            match engine.run(request, &LogProgress).await {
                Ok(report) => {
                    tracing::info!(portal_id = portal.id, run_id = report.run_id, status = %report.status, "sync run ended");
                    report.status == "paused"
                }
                Err(err @ (SyncError::AlreadyRunning | SyncError::LockLost)) => {
                    tracing::info!(
                        portal_id = portal.id,
                        reason = %err,
                        "another run holds the portal; this one ends without writing"
                    );
                    return Ok(());
                }
                Err(SyncError::Database(err)) => return Err(err.into()),
                Err(err) => {
                    tracing::warn!(portal_id = portal.id, error = %err, "sync could not start");
                    let run = store.start_run(portal.id, job.trigger, false, None).await?;
                    store
                        .finish_run(run, "failed", Some(err.to_string()))
                        .await?;
                    false
                }
            }
        }
        None => {
            let run = store.start_run(portal.id, job.trigger, false, None).await?;
            store
                .finish_run(
                    run,
                    "failed",
                    Some("La app de HubSpot no está configurada en este servidor.".to_owned()),
                )
                .await?;
            false
        }
    };
    if job.trigger == RunTrigger::Scheduled && !paused {
        schedule_next_nightly(store, portal.id, &portal.time_zone, Utc::now()).await?;
    }
    Ok(())
}

/// After a scheduled run that ended at `after`: the portal's next run is the
/// following 01:00 in its time zone.
pub async fn schedule_next_nightly(
    store: &Store,
    portal_id: i64,
    time_zone: &str,
    after: chrono::DateTime<Utc>,
) -> Result<chrono::DateTime<Utc>, sea_orm::DbErr> {
    let next = next_nightly_run(portal_time_zone(time_zone), after);
    store.schedule_portal(portal_id, Some(next)).await?;
    Ok(next)
}
