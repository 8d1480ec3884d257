//! The job that works on a deal's Holded document, and the sweeper that
//! finds work whose job was lost (a crash) or whose retry is due.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HoldedChanges, JobQueue, QueueError};
use crate::{
    deals::DealFlow,
    store::{Store, entities::document_request, webhooks::PRIVACY_DELETION},
};

/// Work on a deal's Holded document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DealDocument {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// HubSpot deal id.
    pub deal_id: String,
    /// Why.
    pub cause: DealCause,
}

impl DealDocument {
    /// The job that continues `request`.
    pub fn for_request(request: &document_request::Model) -> Self {
        Self {
            portal_id: request.portal_id,
            deal_id: request.deal_id.clone(),
            cause: DealCause::Request {
                request_id: request.id,
            },
        }
    }
}

/// Why a deal job runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DealCause {
    /// A stored deal-stage change (row of `webhook_events`).
    StageChange {
        /// The event's row id.
        event_id: i64,
    },
    /// An open document request to continue (card, retry, recovery).
    Request {
        /// The request's row id.
        request_id: i64,
    },
}

/// Runs the job.
pub async fn run_deal_document(flow: &DealFlow, job: &DealDocument) -> Result<(), sea_orm::DbErr> {
    let outcome = match job.cause {
        DealCause::StageChange { event_id } => {
            flow.on_stage_change(job.portal_id, &job.deal_id, event_id)
                .await?
        }
        DealCause::Request { request_id } => flow.run_request(request_id).await?,
    };
    tracing::debug!(portal_id = job.portal_id, deal = %job.deal_id, ?outcome, "deal job finished");
    Ok(())
}

/// Why the sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    /// A job could not be queued.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// How long a Holded delivery may wait unhandled before the sweeper queues
/// its portal's targeted sync again.
const HOLDED_CHANGES_WAIT: chrono::Duration = chrono::Duration::seconds(30);

/// Queues a job for every deal-stage change left unhandled, every open
/// request whose next attempt is due at `now`, and every portal whose Holded
/// deliveries wait; returns how many.
pub async fn sweep_deal_work(
    store: &Store,
    queue: &JobQueue,
    now: DateTime<Utc>,
) -> Result<usize, SweepError> {
    let mut queued = 0;
    for event in store.claim_stale_webhook_events(now, 100).await? {
        // Only deal-stage changes wait for a job (a privacy deletion is
        // handled, idempotently, when it is received).
        let deal_change = event.subscription_type != PRIVACY_DELETION;
        let Some(deal_id) = event.object_id.filter(|_| deal_change) else {
            store.mark_webhook_processed(event.id).await?;
            continue;
        };
        queue
            .push_deal(DealDocument {
                portal_id: event.portal_id,
                deal_id,
                cause: DealCause::StageChange { event_id: event.id },
            })
            .await?;
        queued += 1;
    }
    for request in store.claim_due_document_requests(now, 100).await? {
        queue.push_deal(DealDocument::for_request(&request)).await?;
        queued += 1;
    }
    // Holded deliveries whose targeted sync was lost or had to wait.
    let waiting_since = now - HOLDED_CHANGES_WAIT;
    for portal_id in store
        .portals_with_stale_holded_events(waiting_since)
        .await?
    {
        queue
            .push_holded_changes(HoldedChanges { portal_id })
            .await?;
        queued += 1;
    }
    if queued > 0 {
        tracing::info!(queued, "deal work queued by the sweeper");
    }
    Ok(queued)
}
