//! The durable job queue: apalis' SQLite storage on the embedded default and its
//! PostgreSQL storage on PostgreSQL, sharing the application's database.

use apalis::prelude::TaskSink;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use sea_orm::DbBackend;

use super::SyncPortal;
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

/// Where jobs are stored.
#[derive(Clone)]
pub enum JobQueue {
    /// apalis SQLite storage.
    Sqlite(SqliteStorage<SyncPortal>),
    /// apalis PostgreSQL storage.
    Postgres(PostgresStorage<SyncPortal>),
}

impl JobQueue {
    /// Prepares apalis' tables (idempotent) in the application's database and
    /// returns the queue.
    pub async fn setup(store: &Store) -> Result<Self, QueueError> {
        let setup = |e: &dyn std::fmt::Display| QueueError::Setup(e.to_string());
        match store.backend() {
            DbBackend::Postgres => {
                let pool = store.db().get_postgres_connection_pool();
                PostgresStorage::setup(pool).await.map_err(|e| setup(&e))?;
                Ok(Self::Postgres(PostgresStorage::new(pool)))
            }
            _ => {
                let pool = store.db().get_sqlite_connection_pool();
                SqliteStorage::setup(pool).await.map_err(|e| setup(&e))?;
                Ok(Self::Sqlite(SqliteStorage::new(pool)))
            }
        }
    }

    /// Stores one job for the workers.
    pub async fn push(&self, job: SyncPortal) -> Result<(), QueueError> {
        let push = |e: &dyn std::fmt::Display| QueueError::Push(e.to_string());
        match self {
            Self::Sqlite(storage) => storage.clone().push(job).await.map_err(|e| push(&e)),
            Self::Postgres(storage) => storage.clone().push(job).await.map_err(|e| push(&e)),
        }
    }
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "JobQueue::Sqlite",
            Self::Postgres(_) => "JobQueue::Postgres",
        })
    }
}
