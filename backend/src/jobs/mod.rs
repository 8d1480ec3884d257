//! Background jobs: the queue (apalis storage on SQLite or PostgreSQL), the
//! scheduler tick that claims due portals, and the workers that run the jobs.
//!
//! This module is a thin adapter: the work itself lives in `sync` and `deals`. The scheduler can run in any number of processes at once; the
//! atomic claim in [`crate::store::Store::claim_due_portals`] gives each due
//! portal to exactly one of them.

mod deal_document;
mod holded_changes;
mod queue;
mod sync_portal;
mod workers;

pub use deal_document::{DealCause, DealDocument, SweepError, run_deal_document, sweep_deal_work};
pub use holded_changes::{HoldedChanges, run_holded_changes};
pub use queue::{JobQueue, QueueError};
pub use sync_portal::{JobError, SyncPortal, run_sync_portal, schedule_next_nightly};
pub use workers::{JobContext, run_workers, scheduler_tick};
