//! Holded → HubSpot: the nightly sync of contacts, companies, products and
//! documents (DESIGN §1). Only what changed is written (link table + content
//! hash), in batches of up to 100 in which a record HubSpot refuses fails
//! alone (see `isolate`) and is not sent again until it changes or someone
//! retries it; progress is checkpointed after every batch, and an interrupted
//! run resumes without writing anything twice.

mod contacts;
mod context;
mod deals;
mod deletions;
mod engine;
mod hash;
mod isolate;
pub mod mapping;
mod products;
mod tally;
mod write;

pub use engine::{SyncEngine, SyncReport, SyncRequest};
pub use tally::KindReport;
pub use write::kind_label;

use crate::{holded::HoldedError, hubspot::HubspotError, settings::StoredKeyError};

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
    /// The database failed.
    #[error("base de datos: {0}")]
    Database(#[from] sea_orm::DbErr),
}
