//! Received webhook events.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait, NotSet, TryInsertResult};

use super::{Store, entities::webhook_event};

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
    /// Stores an event unless one with the same dedupe key was stored before;
    /// returns whether it is new.
    pub async fn record_webhook_event(&self, event: NewWebhookEvent) -> Result<bool, DbErr> {
        let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
            id: NotSet,
            dedupe_key: Set(event.dedupe_key),
            portal_id: Set(event.portal_id),
            subscription_type: Set(event.subscription_type),
            object_id: Set(event.object_id),
            payload: Set(event.payload),
            occurred_at: Set(event.occurred_at),
            received_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([webhook_event::Column::DedupeKey])
        .exec(self.db())
        .await?;
        Ok(!matches!(inserted, TryInsertResult::Conflicted))
    }
}
