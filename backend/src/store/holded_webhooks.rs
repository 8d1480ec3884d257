//! Holded webhooks per portal: the endpoint's opaque token, the sealed
//! signing secret, what was delivered and refused, and the deliveries that
//! wait for the targeted sync (stored once by Holded's delivery id).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
    sea_query::{Expr, ExprTrait},
};

use super::{
    Store,
    entities::{holded_webhook, holded_webhook_event},
};

/// A delivery to keep for the targeted sync.
#[derive(Clone, Debug)]
pub struct NewHoldedEvent {
    /// Portal.
    pub portal_id: i64,
    /// `x-holded-webhook-id`.
    pub delivery_id: String,
    /// `x-holded-webhook-event`.
    pub event: String,
    /// The record it is about.
    pub object_id: Option<String>,
}

/// A new endpoint token: 64 hex characters from two random UUIDs (244
/// random bits), which say nothing about the portal.
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Store {
    /// The portal's Holded webhook row, created (with a new token) when missing.
    pub async fn holded_webhook(&self, portal_id: i64) -> Result<holded_webhook::Model, DbErr> {
        if let Some(row) = holded_webhook::Entity::find_by_id(portal_id)
            .one(self.db())
            .await?
        {
            return Ok(row);
        }
        holded_webhook::Entity::insert(holded_webhook::ActiveModel {
            portal_id: Set(portal_id),
            token: Set(new_token()),
            secret_enc: Set(None),
            account_id: Set(None),
            last_delivery_at: Set(None),
            refused: Set(0),
            last_refusal: Set(None),
            last_refused_at: Set(None),
            holded_id: Set(None),
        })
        .on_conflict_do_nothing_on([holded_webhook::Column::PortalId])
        .exec(self.db())
        .await?;
        holded_webhook::Entity::find_by_id(portal_id)
            .one(self.db())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("holded_webhooks".to_owned()))
    }

    /// The webhook row whose endpoint token is `token`.
    pub async fn holded_webhook_by_token(
        &self,
        token: &str,
    ) -> Result<Option<holded_webhook::Model>, DbErr> {
        holded_webhook::Entity::find()
            .filter(holded_webhook::Column::Token.eq(token))
            .one(self.db())
            .await
    }

    /// Stores a new sealed signing secret; the Holded account is pinned again
    /// by the next verified delivery (a new webhook may be another account's).
    pub async fn save_holded_webhook_secret(
        &self,
        portal_id: i64,
        sealed: String,
    ) -> Result<(), DbErr> {
        let mut row: holded_webhook::ActiveModel = self.holded_webhook(portal_id).await?.into();
        row.secret_enc = Set(Some(sealed));
        row.account_id = Set(None);
        row.update(self.db()).await.map(|_| ())
    }

    /// The app registered the portal's webhook in Holded, which named it `holded_id`.
    pub async fn note_holded_registration(
        &self,
        portal_id: i64,
        holded_id: &str,
    ) -> Result<(), DbErr> {
        let mut row: holded_webhook::ActiveModel = self.holded_webhook(portal_id).await?.into();
        row.holded_id = Set(Some(holded_id.to_owned()));
        row.update(self.db()).await.map(|_| ())
    }

    /// A verified delivery arrived from `account_id`: pins the account when
    /// none is, and notes the time.
    pub async fn note_holded_delivery(
        &self,
        portal_id: i64,
        account_id: &str,
    ) -> Result<(), DbErr> {
        holded_webhook::Entity::update_many()
            .col_expr(
                holded_webhook::Column::LastDeliveryAt,
                Expr::value(Some(Utc::now())),
            )
            .col_expr(
                holded_webhook::Column::AccountId,
                Expr::value(Some(account_id.to_owned())),
            )
            .filter(holded_webhook::Column::PortalId.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// A delivery was refused for `reason` (Spanish): counted and noted.
    pub async fn note_holded_refusal(&self, portal_id: i64, reason: &str) -> Result<(), DbErr> {
        holded_webhook::Entity::update_many()
            .col_expr(
                holded_webhook::Column::Refused,
                Expr::col(holded_webhook::Column::Refused).add(Expr::value(1)),
            )
            .col_expr(
                holded_webhook::Column::LastRefusal,
                Expr::value(Some(reason.to_owned())),
            )
            .col_expr(
                holded_webhook::Column::LastRefusedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(holded_webhook::Column::PortalId.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Stores a delivery unless one with its id was stored for the portal
    /// before; returns the new row's id, `None` for a replay.
    pub async fn record_holded_event(&self, event: NewHoldedEvent) -> Result<Option<i64>, DbErr> {
        let inserted = holded_webhook_event::Entity::insert(holded_webhook_event::ActiveModel {
            id: NotSet,
            portal_id: Set(event.portal_id),
            delivery_id: Set(event.delivery_id),
            event: Set(event.event),
            object_id: Set(event.object_id),
            received_at: Set(Utc::now()),
            processed_at: Set(None),
            run_id: Set(None),
        })
        .on_conflict_do_nothing_on([
            holded_webhook_event::Column::PortalId,
            holded_webhook_event::Column::DeliveryId,
        ])
        .exec(self.db())
        .await?;
        Ok(match inserted {
            TryInsertResult::Inserted(result) => Some(result.last_insert_id),
            _ => None,
        })
    }

    /// Whether the portal has unhandled deliveries stored before `event`
    /// (a lower id). Of deliveries stored at the same moment, the earliest
    /// sees none and queues the job — were each to look for the others, two
    /// at once would each leave it to the other and none would.
    pub async fn earlier_pending_holded_events(
        &self,
        portal_id: i64,
        event: i64,
    ) -> Result<bool, DbErr> {
        Ok(holded_webhook_event::Entity::find()
            .select_only()
            .column(holded_webhook_event::Column::Id)
            .filter(holded_webhook_event::Column::PortalId.eq(portal_id))
            .filter(holded_webhook_event::Column::ProcessedAt.is_null())
            .filter(holded_webhook_event::Column::Id.lt(event))
            .into_tuple::<i64>()
            .one(self.db())
            .await?
            .is_some())
    }

    /// The portal's unhandled deliveries, oldest first, at most `limit`.
    pub async fn pending_holded_events(
        &self,
        portal_id: i64,
        limit: u64,
    ) -> Result<Vec<holded_webhook_event::Model>, DbErr> {
        holded_webhook_event::Entity::find()
            .filter(holded_webhook_event::Column::PortalId.eq(portal_id))
            .filter(holded_webhook_event::Column::ProcessedAt.is_null())
            .order_by_asc(holded_webhook_event::Column::Id)
            .limit(limit)
            .all(self.db())
            .await
    }

    /// Marks deliveries handled (by `run_id`, when a run handled them).
    pub async fn mark_holded_events_processed(
        &self,
        ids: &[i64],
        run_id: Option<i64>,
    ) -> Result<(), DbErr> {
        for chunk in ids.chunks(500) {
            holded_webhook_event::Entity::update_many()
                .col_expr(
                    holded_webhook_event::Column::ProcessedAt,
                    Expr::value(Some(Utc::now())),
                )
                .col_expr(holded_webhook_event::Column::RunId, Expr::value(run_id))
                .filter(holded_webhook_event::Column::Id.is_in(chunk.iter().copied()))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// Portals with a delivery received before `before` and still unhandled
    /// (its job was lost): the sweeper queues their targeted sync again.
    pub async fn portals_with_stale_holded_events(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<i64>, DbErr> {
        holded_webhook_event::Entity::find()
            .select_only()
            .column(holded_webhook_event::Column::PortalId)
            .distinct()
            .filter(holded_webhook_event::Column::ProcessedAt.is_null())
            .filter(holded_webhook_event::Column::ReceivedAt.lt(before))
            .into_tuple::<i64>()
            .all(self.db())
            .await
    }
}
