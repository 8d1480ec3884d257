//! The worker processes' monitor: the minute scheduler tick and the job workers.

use std::{str::FromStr, time::Duration};

use apalis::prelude::{
    BackendExt, BoxDynError, Data, Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt,
};
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};

use super::{
    DealDocument, HoldedChanges, JobError, JobQueue, SyncPortal, queue::Storage, run_deal_document,
    run_holded_changes, run_sync_portal, sweep_deal_work,
};
use crate::{
    deals::DealFlow,
    store::{RunTrigger, Store},
    sync::SyncEngine,
};

/// How long workers get to finish their current job on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How often workers look for new sync jobs ("sync now" starts within this).
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often workers look for new deal jobs: a rep is watching the deal, and
/// a second of queue wait was most of a document's time when APIs answer
/// fast. Five small indexed reads a second per worker process.
const DEAL_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Jobs of one queue run at most this many at a time per process.
pub const CONCURRENCY: usize = 4;

/// How often the sweeper looks for deal work whose job was lost or whose
/// retry is due (cron, seconds first).
const SWEEP_SCHEDULE: &str = "*/5 * * * * *";

/// How often the pruner removes journal rows past their retention.
const PRUNE_SCHEDULE: &str = "0 */10 * * * *";

/// What jobs need: the database, the queue, the sync engine and the deal flow.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// Database.
    pub store: Store,
    /// Queue, for jobs that enqueue more jobs.
    pub queue: JobQueue,
    /// The sync; `None` when the HubSpot app is not configured on this server.
    pub engine: Option<SyncEngine>,
    /// Deal → document; `None` when the HubSpot app is not configured.
    pub deals: Option<DealFlow>,
    /// How long journals are kept (`HH_RETENTION_DAYS`).
    pub retention: chrono::Duration,
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
    Ok(portal_job_finished("sync_portal", job.portal_id, result)?)
}

async fn on_holded_changes(job: HoldedChanges, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let result = run_holded_changes(&ctx.store, ctx.engine.as_ref(), &job).await;
    Ok(portal_job_finished(
        "holded_changes",
        job.portal_id,
        result,
    )?)
}

/// Counts a portal's job by outcome and logs its failure.
fn portal_job_finished(
    job: &'static str,
    portal_id: i64,
    result: Result<(), JobError>,
) -> Result<(), JobError> {
    record_outcome(job, result.is_ok());
    if let Err(err) = &result {
        tracing::error!(job, portal_id, error = %err, "job failed");
    }
    result
}

async fn on_sweep(_tick: Tick, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    if ctx.deals.is_none() {
        return Ok(());
    }
    let result = sweep_deal_work(&ctx.store, &ctx.queue, Utc::now()).await;
    record_outcome("deal_sweep", result.is_ok());
    if let Err(err) = &result {
        tracing::error!(error = %err, "deal sweep failed");
    }
    Ok(result.map(|_| ())?)
}

async fn on_prune(_tick: Tick, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let result = ctx.store.prune_journals(Utc::now(), ctx.retention).await;
    record_outcome("prune", result.is_ok());
    match &result {
        Ok(pruned) if *pruned != Default::default() => {
            tracing::info!(?pruned, "journals pruned");
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "pruning the journals failed"),
    }
    Ok(result.map(|_| ())?)
}

async fn on_deal_document(job: DealDocument, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let Some(flow) = ctx.deals.as_ref() else {
        tracing::warn!(
            portal_id = job.portal_id,
            "deal job without the HubSpot app configured; dropped"
        );
        return Ok(());
    };
    let result = run_deal_document(flow, &job).await;
    record_outcome("deal_document", result.is_ok());
    if let Err(err) = &result {
        tracing::error!(portal_id = job.portal_id, deal = %job.deal_id, error = %err, "deal job failed");
    }
    Ok(result?)
}

fn record_outcome(job: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("hh_jobs_total", "job" => job, "outcome" => outcome).increment(1);
}

/// Builds a queue worker for one storage backend (the two storages are
/// distinct types, so the builder is spelled once here).
macro_rules! queue_worker {
    ($name:expr, $storage:expr, $poll:expr, $ctx:expr, $handler:expr) => {
        WorkerBuilder::new($name)
            .backend($storage.poll_with_interval($poll))
            .concurrency(CONCURRENCY)
            .parallelize(tokio::spawn)
            .data($ctx)
            .build($handler)
    };
}

/// Registers a queue worker on whichever storage the queue uses.
macro_rules! register_queue_worker {
    ($monitor:expr, $name:expr, $storage:expr, $poll:expr, $ctx:expr, $handler:expr) => {{
        let name: String = $name;
        let ctx = $ctx;
        match $storage {
            Storage::Sqlite(storage) => $monitor.register(move |_| {
                queue_worker!(name.clone(), storage.clone(), $poll, ctx.clone(), $handler)
            }),
            Storage::Postgres(storage) => $monitor.register(move |_| {
                queue_worker!(name.clone(), storage.clone(), $poll, ctx.clone(), $handler)
            }),
        }
    }};
}

/// Runs the scheduler tick (every minute), the deal sweeper (every five
/// seconds), the pruner (every ten minutes) and the job workers until
/// `shutdown` resolves, then lets running jobs finish (up to a grace period).
pub async fn run_workers(
    ctx: JobContext,
    shutdown: impl Future<Output = std::io::Result<()>> + Send,
) -> Result<(), BoxDynError> {
    // apalis registers queue workers by name and refuses a name whose owner
    // still looks alive: a process restarted right after a crash must not
    // reuse its predecessor's names, so each process gets its own.
    let instance = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let name = |role: &str| format!("{role}-{instance}");
    let every_minute = cron::Schedule::from_str("0 * * * * *")?;
    let sweeps = cron::Schedule::from_str(SWEEP_SCHEDULE)?;
    let prunes = cron::Schedule::from_str(PRUNE_SCHEDULE)?;
    let (scheduler_name, sweeper_name) = (name("scheduler"), name("deal-sweeper"));
    let pruner_name = name("pruner");
    let tick_ctx = ctx.clone();
    let sweep_ctx = ctx.clone();
    let prune_ctx = ctx.clone();
    let monitor = Monitor::new()
        .shutdown_timeout(SHUTDOWN_GRACE)
        .register(move |_| {
            WorkerBuilder::new(scheduler_name.clone())
                .backend(CronScheduler::new(every_minute.clone()))
                .data(tick_ctx.clone())
                .build(on_tick)
        })
        .register(move |_| {
            WorkerBuilder::new(sweeper_name.clone())
                .backend(CronScheduler::new(sweeps.clone()))
                .data(sweep_ctx.clone())
                .build(on_sweep)
        })
        .register(move |_| {
            WorkerBuilder::new(pruner_name.clone())
                .backend(CronScheduler::new(prunes.clone()))
                .data(prune_ctx.clone())
                .build(on_prune)
        });
    let monitor = register_queue_worker!(
        monitor,
        name("sync-portal"),
        ctx.queue.syncs.clone(),
        POLL_INTERVAL,
        ctx.clone(),
        on_sync_portal
    );
    let monitor = register_queue_worker!(
        monitor,
        name("deal-document"),
        ctx.queue.deals.clone(),
        DEAL_POLL_INTERVAL,
        ctx.clone(),
        on_deal_document
    );
    let monitor = register_queue_worker!(
        monitor,
        name("holded-changes"),
        ctx.queue.changes.clone(),
        POLL_INTERVAL,
        ctx.clone(),
        on_holded_changes
    );
    monitor.run_with_signal(shutdown).await?;
    Ok(())
}
