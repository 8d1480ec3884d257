//! The job that syncs one portal.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{
    schedule::{next_nightly_run, portal_time_zone},
    store::{RunTrigger, Store, entities::portal},
};
use sea_orm::{DbErr, EntityTrait};

/// Run the Holded → HubSpot sync of one portal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncPortal {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// What asked for the run.
    pub trigger: RunTrigger,
}

/// Runs the job: records the run and, for scheduled runs, sets the next one.
///
/// The sync itself arrives with the `sync` module; until then a run is
/// recorded and completes at once.
pub async fn run_sync_portal(store: &Store, job: &SyncPortal) -> Result<(), DbErr> {
    let Some(portal) = portal::Entity::find_by_id(job.portal_id)
        .one(store.db())
        .await?
    else {
        tracing::warn!(
            portal_id = job.portal_id,
            "sync job for an unknown portal; dropped"
        );
        return Ok(());
    };
    let run = store.start_run(portal.id, job.trigger, Utc::now()).await?;
    tracing::info!(portal_id = portal.id, run_id = run.id, trigger = ?job.trigger, "sync run started");
    let run = store.finish_run(run, "completed", None).await?;
    if job.trigger == RunTrigger::Scheduled {
        let next = next_nightly_run(portal_time_zone(&portal.time_zone), Utc::now());
        store.schedule_portal(portal.id, Some(next)).await?;
    }
    tracing::info!(portal_id = portal.id, run_id = run.id, "sync run finished");
    Ok(())
}
