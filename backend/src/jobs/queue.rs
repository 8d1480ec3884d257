//! The durable job queue: apalis' SQLite storage on the embedded default and its
//! PostgreSQL storage on PostgreSQL, sharing the application's database. Each
//! job type has its own queue (apalis names it after the type).

use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use sea_orm::DbBackend;
use serde::{Serialize, de::DeserializeOwned};

use super::{DealDocument, HoldedChanges, SyncPortal};
use crate::store::Store;

/// Why a job could not be queued or the queue set up.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue's tables could not be created.
    #[error("could not prepare the job queue: {0}")]
    Setup(String),
    /// A job could not be stored.
    #[error("could not queue the job: {0}")]
    Push(String),
}

/// Where jobs of one type are stored.
pub enum Storage<T> {
    /// apalis SQLite storage.
    Sqlite(SqliteStorage<T>),
    /// apalis PostgreSQL storage.
    Postgres(PostgresStorage<T>),
}

impl<T> Clone for Storage<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Sqlite(s) => Self::Sqlite(s.clone()),
            Self::Postgres(s) => Self::Postgres(s.clone()),
        }
    }
}

/// Jobs a worker takes from the queue at a time: no more than it runs at
/// once, so that a worker never holds work another one could start.
pub const FETCH_BATCH: usize = super::workers::CONCURRENCY;

/// How often a worker tells the queue it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Missed heartbeats after which a worker is taken for dead and the jobs it
/// held go back to the queue (10 s; apalis' defaults were 60 s on SQLite
/// and 300 s on PostgreSQL, during which a crashed worker's jobs waited).
pub const MISSED_HEARTBEATS: usize = 2;

impl<T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static> Storage<T> {
    fn new(store: &Store) -> Self {
        let queue = std::any::type_name::<T>();
        match store.backend() {
            DbBackend::Postgres => Self::Postgres(
                PostgresStorage::new(store.db().get_postgres_connection_pool()).with_config(
                    apalis_postgres::Config::default()
                        .queue(queue)
                        .batch_size(FETCH_BATCH)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS),
                ),
            ),
            _ => Self::Sqlite(
                SqliteStorage::new(store.db().get_sqlite_connection_pool()).with_config(
                    apalis_sqlite::Config::default()
                        .queue(queue)
                        .batch_size(FETCH_BATCH)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS),
                ),
            ),
        }
    }

    async fn push(&self, job: T) -> Result<(), QueueError> {
        let push = |e: &dyn std::fmt::Display| QueueError::Push(e.to_string());
        match self {
            Self::Sqlite(storage) => storage.clone().push(job).await.map_err(|e| push(&e)),
            Self::Postgres(storage) => storage.clone().push(job).await.map_err(|e| push(&e)),
        }
    }
}

/// The queues of the service's jobs.
#[derive(Clone)]
pub struct JobQueue {
    /// Portal syncs.
    pub(super) syncs: Storage<SyncPortal>,
    /// Deal → document work.
    pub(super) deals: Storage<DealDocument>,
    /// Targeted syncs after Holded webhooks.
    pub(super) changes: Storage<HoldedChanges>,
}

impl JobQueue {
    /// Prepares apalis' tables (idempotent) in the application's database and
    /// returns the queues.
    pub async fn setup(store: &Store) -> Result<Self, QueueError> {
        let setup = |e: &dyn std::fmt::Display| QueueError::Setup(e.to_string());
        match store.backend() {
            DbBackend::Postgres => {
                PostgresStorage::setup(store.db().get_postgres_connection_pool())
                    .await
                    .map_err(|e| setup(&e))?
            }
            _ => SqliteStorage::setup(store.db().get_sqlite_connection_pool())
                .await
                .map_err(|e| setup(&e))?,
        }
        Ok(Self {
            syncs: Storage::new(store),
            deals: Storage::new(store),
            changes: Storage::new(store),
        })
    }

    /// Queues a portal sync.
    pub async fn push(&self, job: SyncPortal) -> Result<(), QueueError> {
        self.syncs.push(job).await
    }

    /// Queues deal → document work.
    pub async fn push_deal(&self, job: DealDocument) -> Result<(), QueueError> {
        self.deals.push(job).await
    }

    /// Queues the targeted sync of what a portal's Holded webhooks named.
    pub async fn push_holded_changes(&self, job: HoldedChanges) -> Result<(), QueueError> {
        self.changes.push(job).await
    }

    /// Whether the queues live in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.syncs, Storage::Postgres(_))
    }
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_postgres() {
            "JobQueue::Postgres"
        } else {
            "JobQueue::Sqlite"
        })
    }
}
