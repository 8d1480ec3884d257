//! Holded → HubSpot: the nightly sync of contacts, companies, products and
//! documents (DESIGN §1). Only what changed is written (link table + content
//! hash), in batches of up to 100 in which a record HubSpot refuses fails
//! alone (see `isolate`) and is not sent again until it changes or someone
//! retries it; progress is checkpointed after every batch, and an interrupted
//! run resumes without writing anything twice.

pub mod billing;
mod contacts;
mod context;
mod created_documents;
mod deals;
mod deletions;
mod engine;
mod existing;
mod hash;
mod isolate;
pub mod mapping;
mod products;
mod tally;
mod targets;
mod write;

pub use engine::{SyncEngine, SyncReport, SyncRequest};
pub use hash::content_hash;
pub use tally::KindReport;
pub use targets::Targets;
pub use write::kind_label;

use crate::{holded::HoldedError, hubspot::HubspotError, quota::Paused, settings::StoredKeyError};

/// Receives progress while a run works (the CLI prints it; jobs log it).
pub trait Progress: Send + Sync {
    /// `scanned` Holded records of `kind` read so far.
    fn page(&self, kind: &str, scanned: usize);
    /// A kind finished.
    fn kind_done(&self, report: &KindReport);
}

/// Progress as log lines.
#[derive(Debug, Default)]
pub struct LogProgress;

impl Progress for LogProgress {
    fn page(&self, kind: &str, scanned: usize) {
        tracing::debug!(kind, scanned, "sync progress");
    }

    fn kind_done(&self, report: &KindReport) {
        tracing::info!(
            kind = report.kind,
            created = report.created,
            updated = report.updated,
            unchanged = report.unchanged,
            skipped = report.skipped,
            failed = report.failed,
            deleted = report.deleted,
            hubspot_calls = report.hubspot_calls,
            holded_calls = report.holded_calls,
            warning = report.warning.as_deref(),
            "sync kind finished"
        );
    }
}

/// Why a run could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Another run of this portal holds the lock.
    #[error("ya hay una sincronización en curso para este portal")]
    AlreadyRunning,
    /// This run's lock was taken over (its lease ran out): it stops without
    /// writing more; the run that holds the lock carries on.
    #[error("otra sincronización tomó el relevo de este portal; esta se detiene")]
    LockLost,
    /// The portal is not installed or is disconnected.
    #[error("el portal {0} no está conectado: instala la app de nuevo")]
    NotConnected(i64),
    /// The stored Holded key gives no client (none saved, or unreadable).
    #[error("{0}")]
    HoldedKey(#[from] StoredKeyError),
    /// Holded failed.
    #[error("Holded: {0}")]
    Holded(#[from] HoldedError),
    /// HubSpot failed.
    #[error("HubSpot: {0}")]
    Hubspot(#[from] HubspotError),
    /// The Holded account spent its monthly request quota.
    #[error("{}", .0.message)]
    QuotaSpent(Paused),
    /// The database failed.
    #[error("base de datos: {0}")]
    Database(#[from] sea_orm::DbErr),
}
