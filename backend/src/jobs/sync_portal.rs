//! The job that syncs one portal.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{
    schedule::{next_nightly_run, portal_time_zone},
    store::{RunTrigger, Store, entities::portal, portals::SYNC_HEARTBEAT},
    sync::{LogProgress, SyncEngine, SyncError, SyncReport, SyncRequest},
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
            match run_or_take_over(store, engine, request).await {
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

/// Runs the portal's sync. When another run holds the portal, waits to see
/// whether its holder is alive: a holder that stops renewing its lock died
/// (a killed worker, whose job the queue handed on here), so once its lease
/// lapses the run it left is resumed. A live or finished holder ends this
/// job with [`SyncError::AlreadyRunning`].
async fn run_or_take_over(
    store: &Store,
    engine: &SyncEngine,
    request: SyncRequest,
) -> Result<SyncReport, SyncError> {
    loop {
        match engine.run(request.clone(), &LogProgress).await {
            Err(SyncError::AlreadyRunning) if holder_died(store, request.portal_id).await? => {
                tracing::info!(
                    portal_id = request.portal_id,
                    "the run holding the portal stopped renewing its lock; resuming it once the lock lapses"
                );
            }
            outcome => return outcome,
        }
    }
}

/// Whether the portal's sync lock stayed as it was for longer than its
/// holder's heartbeat (not renewed, not released): its holder is gone.
async fn holder_died(store: &Store, portal_id: i64) -> Result<bool, sea_orm::DbErr> {
    let lease = |portal: Option<portal::Model>| portal.and_then(|p| p.sync_lock_until);
    let Some(before) = lease(store.portal(portal_id).await?) else {
        return Ok(false);
    };
    tokio::time::sleep(SYNC_HEARTBEAT + SYNC_HEARTBEAT / 4).await;
    Ok(lease(store.portal(portal_id).await?) == Some(before))
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
