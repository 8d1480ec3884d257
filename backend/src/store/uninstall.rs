//! A portal whose app was uninstalled (HubSpot refused its refresh token):
//! its tokens are dropped, its scheduled syncs and open deal work stop, its
//! stage changes not yet handled are dropped, and its settings are kept for
//! [`UNINSTALL_GRACE`] — a re-install within it finds them as they were —
//! after which its settings (with the sealed Holded key), record links and
//! Holded webhook (with its sealed signing secret) are erased by the pruner.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    sea_query::Expr,
};

use super::{
    PortalStatus, RequestState, Store,
    entities::{
        document_request, document_state, holded_webhook, holded_webhook_event, portal,
        record_link, settings, webhook_event,
    },
};

/// How long an uninstalled portal's settings are kept.
pub const UNINSTALL_GRACE: chrono::Duration = chrono::Duration::days(30);

/// The message open document requests get when the app is uninstalled.
const UNINSTALLED: &str =
    "La app se desinstaló de este portal de HubSpot: vuelve a instalarla y pulsa Reintentar.";

impl Store {
    /// Records that the app was uninstalled from `portal_id` (see the module
    /// docs); `reason` is shown to the operator.
    pub async fn mark_uninstalled(&self, portal_id: i64, reason: &str) -> Result<(), DbErr> {
        let now = Utc::now();
        let txn = self.db().begin().await?;
        let none_at = || Expr::value(None::<DateTime<Utc>>);
        portal::Entity::update_many()
            .col_expr(
                portal::Column::Status,
                Expr::value(PortalStatus::Disconnected.as_str()),
            )
            .col_expr(portal::Column::StatusReason, Expr::value(reason))
            .col_expr(portal::Column::UninstalledAt, Expr::value(Some(now)))
            .col_expr(portal::Column::AccessTokenEnc, Expr::value(None::<String>))
            .col_expr(portal::Column::RefreshTokenEnc, Expr::value(None::<String>))
            .col_expr(portal::Column::TokenExpiresAt, none_at())
            .col_expr(portal::Column::NextRunAt, none_at())
            .col_expr(portal::Column::DegradedSince, none_at())
            .col_expr(portal::Column::DegradedReason, Expr::value(None::<String>))
            .col_expr(portal::Column::UpdatedAt, Expr::value(now))
            .filter(portal::Column::Id.eq(portal_id))
            .exec(&txn)
            .await?;
        let open = [
            RequestState::Pending,
            RequestState::ContactReady,
            RequestState::Creating,
        ]
        .map(RequestState::as_str);
        document_request::Entity::update_many()
            .col_expr(
                document_request::Column::State,
                Expr::value(RequestState::Failed.as_str()),
            )
            .col_expr(document_request::Column::Error, Expr::value(UNINSTALLED))
            .col_expr(document_request::Column::NextAttemptAt, none_at())
            .col_expr(document_request::Column::UpdatedAt, Expr::value(now))
            .filter(document_request::Column::PortalId.eq(portal_id))
            .filter(document_request::Column::State.is_in(open))
            // One a worker holds ends by itself: the portal is gone.
            .filter(
                Condition::any()
                    .add(document_request::Column::LeaseUntil.is_null())
                    .add(document_request::Column::LeaseUntil.lt(now)),
            )
            .exec(&txn)
            .await?;
        webhook_event::Entity::update_many()
            .col_expr(webhook_event::Column::ProcessedAt, Expr::value(Some(now)))
            .filter(webhook_event::Column::PortalId.eq(portal_id))
            .filter(webhook_event::Column::ProcessedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await
    }

    /// Erases the settings and record links of portals uninstalled more than
    /// [`UNINSTALL_GRACE`] before `now`; returns how many portals.
    pub async fn erase_uninstalled(&self, now: DateTime<Utc>) -> Result<u64, DbErr> {
        let expired: Vec<i64> = portal::Entity::find()
            .select_only()
            .column(portal::Column::Id)
            .filter(portal::Column::UninstalledAt.lt(now - UNINSTALL_GRACE))
            .filter(portal::Column::Status.eq(PortalStatus::Disconnected.as_str()))
            .into_tuple()
            .all(self.db())
            .await?;
        let mut erased = 0;
        for portal_id in expired {
            let txn = self.db().begin().await?;
            let settings_rows = settings::Entity::delete_many()
                .filter(settings::Column::PortalId.eq(portal_id))
                .exec(&txn)
                .await?
                .rows_affected;
            let links = record_link::Entity::delete_many()
                .filter(record_link::Column::PortalId.eq(portal_id))
                .exec(&txn)
                .await?
                .rows_affected;
            // The Holded webhook (its sealed signing secret), its deliveries
            // and what was told of the deals' documents go with them.
            holded_webhook::Entity::delete_many()
                .filter(holded_webhook::Column::PortalId.eq(portal_id))
                .exec(&txn)
                .await?;
            holded_webhook_event::Entity::delete_many()
                .filter(holded_webhook_event::Column::PortalId.eq(portal_id))
                .exec(&txn)
                .await?;
            document_state::Entity::delete_many()
                .filter(document_state::Column::PortalId.eq(portal_id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            if settings_rows + links > 0 {
                tracing::info!(portal_id, links, "uninstalled portal's settings erased");
                erased += 1;
            }
        }
        Ok(erased)
    }
}
