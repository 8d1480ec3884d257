//! Received webhook events: stored once, marked when their job handled them,
//! and found again when a job was lost.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DbErr, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult, sea_query::Expr,
};

use super::{Store, entities::webhook_event};

/// The subscription type of HubSpot's privacy deletion of a contact (stored
/// like deal-stage changes, but handled when received).
pub const PRIVACY_DELETION: &str = "contact.privacyDeletion";

/// How long a queued event may stay unhandled before it is queued again.
pub const REQUEUE_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// A deal-stage change to store.
#[derive(Clone, Debug)]
pub struct NewWebhookEvent {
    /// Dedupe key.
    pub dedupe_key: String,
    /// Portal.
    pub portal_id: i64,
    /// Subscription type.
    pub subscription_type: String,
    /// Deal id.
    pub object_id: Option<String>,
    /// The event as received.
    pub payload: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

impl Store {
    /// Stores an event (as queued now) unless one with the same dedupe key was
    /// stored before; returns the new row's id, `None` for a duplicate.
    pub async fn record_webhook_event(&self, event: NewWebhookEvent) -> Result<Option<i64>, DbErr> {
        let now = Utc::now();
        let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
            id: NotSet,
            dedupe_key: Set(event.dedupe_key),
            portal_id: Set(event.portal_id),
            subscription_type: Set(event.subscription_type),
            object_id: Set(event.object_id),
            payload: Set(event.payload),
            occurred_at: Set(event.occurred_at),
            received_at: Set(now),
            processed_at: Set(None),
            enqueued_at: Set(Some(now)),
        })
        .on_conflict_do_nothing_on([webhook_event::Column::DedupeKey])
        .exec(self.db())
        .await?;
        Ok(match inserted {
            TryInsertResult::Inserted(result) => Some(result.last_insert_id),
            _ => None,
        })
    }

    /// One stored event.
    pub async fn webhook_event(&self, id: i64) -> Result<Option<webhook_event::Model>, DbErr> {
        webhook_event::Entity::find_by_id(id).one(self.db()).await
    }

    /// Marks an event handled by its job.
    pub async fn mark_webhook_processed(&self, id: i64) -> Result<(), DbErr> {
        webhook_event::Entity::update_many()
            .col_expr(
                webhook_event::Column::ProcessedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(webhook_event::Column::Id.eq(id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Leaves an event unhandled for another try in about `delay` (a
    /// transient failure): the sweeper takes it again then.
    pub async fn retry_webhook_event_in(
        &self,
        id: i64,
        delay: chrono::Duration,
    ) -> Result<(), DbErr> {
        let queued_as_of = Utc::now() - REQUEUE_AFTER + delay;
        webhook_event::Entity::update_many()
            .col_expr(
                webhook_event::Column::EnqueuedAt,
                Expr::value(Some(queued_as_of)),
            )
            .filter(webhook_event::Column::Id.eq(id))
            .filter(webhook_event::Column::ProcessedAt.is_null())
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Unhandled events whose job was queued more than [`REQUEUE_AFTER`] ago
    /// (lost with a crash, say), oldest first, at most `limit`; each is marked
    /// queued again at `now`, so a second sweeper does not take it too.
    pub async fn claim_stale_webhook_events(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<webhook_event::Model>, DbErr> {
        let stale = Condition::any()
            .add(webhook_event::Column::EnqueuedAt.is_null())
            .add(webhook_event::Column::EnqueuedAt.lt(now - REQUEUE_AFTER));
        let candidates = webhook_event::Entity::find()
            .filter(webhook_event::Column::ProcessedAt.is_null())
            .filter(stale.clone())
            .order_by_asc(webhook_event::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let mut claimed = Vec::new();
        for event in candidates {
            let taken = webhook_event::Entity::update_many()
                .col_expr(webhook_event::Column::EnqueuedAt, Expr::value(Some(now)))
                .filter(webhook_event::Column::Id.eq(event.id))
                .filter(webhook_event::Column::ProcessedAt.is_null())
                .filter(stale.clone())
                .exec(self.db())
                .await?
                .rows_affected
                == 1;
            if taken {
                claimed.push(event);
            }
        }
        Ok(claimed)
    }
}
