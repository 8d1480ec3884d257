//! The worker processes' monitor: the minute scheduler tick and the job workers.

use std::{str::FromStr, time::Duration};

use apalis::prelude::{
    BackendExt, BoxDynError, Data, Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt,
};
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};

use super::{JobQueue, SyncPortal, run_sync_portal};
use crate::{
    store::{RunTrigger, Store},
    sync::SyncEngine,
};

/// How long workers get to finish their current job on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How often workers look for new jobs ("sync now" starts within this).
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Jobs run at most this many at a time per process.
const CONCURRENCY: usize = 4;

/// What jobs need: the database, the queue and the sync engine.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// Database.
    pub store: Store,
    /// Queue, for jobs that enqueue more jobs.
    pub queue: JobQueue,
    /// The sync; `None` when the HubSpot app is not configured on this server.
    pub engine: Option<SyncEngine>,
}

/// One scheduler tick: claims the portals whose nightly run is due at `now`
/// and queues one sync job for each. Returns the claimed portal ids.
pub async fn scheduler_tick(ctx: &JobContext, now: DateTime<Utc>) -> Result<Vec<i64>, BoxDynError> {
    let claimed = ctx.store.claim_due_portals(now).await?;
    for &portal_id in &claimed {
        ctx.queue
            .push(SyncPortal {
                portal_id,
                trigger: RunTrigger::Scheduled,
            })
            .await?;
        tracing::info!(portal_id, "nightly run due; queued");
    }
    Ok(claimed)
}

async fn on_tick(_tick: Tick, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let result = scheduler_tick(&ctx, Utc::now()).await;
    record_outcome("scheduler_tick", result.is_ok());
    if let Err(err) = &result {
        tracing::error!(error = %err, "scheduler tick failed");
    }
    result.map(|_| ())
}

async fn on_sync_portal(job: SyncPortal, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let result = run_sync_portal(&ctx.store, ctx.engine.as_ref(), &job).await;
    record_outcome("sync_portal", result.is_ok());
    if let Err(err) = &result {
        tracing::error!(portal_id = job.portal_id, error = %err, "sync job failed");
    }
    Ok(result?)
}

fn record_outcome(job: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("hh_jobs_total", "job" => job, "outcome" => outcome).increment(1);
}

/// Builds the sync worker for one storage backend (the two storages are
/// distinct types, so the builder is spelled once here).
macro_rules! sync_worker {
    ($storage:expr, $ctx:expr) => {
        WorkerBuilder::new("sync-portal")
            .backend($storage.poll_with_interval(POLL_INTERVAL))
            .concurrency(CONCURRENCY)
            .parallelize(tokio::spawn)
            .data($ctx)
            .build(on_sync_portal)
    };
}

/// Runs the scheduler tick (every minute) and the job workers until `shutdown`
/// resolves, then lets running jobs finish (up to a grace period).
pub async fn run_workers(
    ctx: JobContext,
    shutdown: impl Future<Output = std::io::Result<()>> + Send,
) -> Result<(), BoxDynError> {
    let every_minute = cron::Schedule::from_str("0 * * * * *")?;
    let tick_ctx = ctx.clone();
    let monitor = Monitor::new()
        .shutdown_timeout(SHUTDOWN_GRACE)
        .register(move |_| {
            WorkerBuilder::new("scheduler")
                .backend(CronScheduler::new(every_minute.clone()))
                .data(tick_ctx.clone())
                .build(on_tick)
        });
    let monitor = match ctx.queue.clone() {
        JobQueue::Sqlite(storage) => {
            monitor.register(move |_| sync_worker!(storage.clone(), ctx.clone()))
        }
        JobQueue::Postgres(storage) => {
            monitor.register(move |_| sync_worker!(storage.clone(), ctx.clone()))
        }
    };
    monitor.run_with_signal(shutdown).await?;
    Ok(())
}
