//! Queries on portals, above all the scheduler's atomic claim.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::{Store, entities::portal};

/// How long a claim holds a portal. If the claimed run never finishes (the
/// process died before enqueueing it, say), the portal becomes due again after
/// this lease and the next tick claims it; the run resumes from its checkpoint.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::hours(2);

impl Store {
    /// Claims every connected portal whose next run is due at `now`, in one
    /// atomic `UPDATE … WHERE next_run_at <= now … RETURNING`: each due portal is
    /// returned to exactly one caller, however many schedulers race. A claimed
    /// portal's `next_run_at` moves to `now + CLAIM_LEASE`; the run sets the real
    /// next run when it finishes.
    pub async fn claim_due_portals(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbErr> {
        let claimed = portal::Entity::update_many()
            .col_expr(portal::Column::NextRunAt, Expr::value(now + CLAIM_LEASE))
            .col_expr(portal::Column::LastClaimedAt, Expr::value(now))
            .filter(portal::Column::Status.eq("connected"))
            .filter(portal::Column::NextRunAt.lte(now))
            .exec_with_returning(self.db())
            .await?;
        Ok(claimed.into_iter().map(|p| p.id).collect())
    }

    /// Sets when a portal's next scheduled run is due.
    pub async fn schedule_portal(
        &self,
        portal_id: i64,
        next_run_at: Option<DateTime<Utc>>,
    ) -> Result<(), DbErr> {
        portal::Entity::update_many()
            .col_expr(portal::Column::NextRunAt, Expr::value(next_run_at))
            .col_expr(portal::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(portal::Column::Id.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }
}

/// A portal's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalStatus {
    /// Install started but provisioning has not completed.
    Installing,
    /// Installed and working.
    Connected,
    /// HubSpot refused the tokens (uninstalled or revoked): nothing runs until
    /// the app is installed again.
    Disconnected,
}

impl PortalStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installing => "installing",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

impl Store {
    /// Records an install (or re-install) of `portal_id`: creates the portal
    /// row or updates its scopes, and sets it `installing` until provisioning
    /// completes. Tokens are written separately (sealed).
    pub async fn record_install(
        &self,
        portal_id: i64,
        scopes: &[String],
        sensitive_supported: bool,
    ) -> Result<portal::Model, DbErr> {
        let now = Utc::now();
        let scopes = scopes.join(" ");
        if let Some(existing) = portal::Entity::find_by_id(portal_id).one(self.db()).await? {
            let mut row: portal::ActiveModel = existing.into();
            row.scopes = Set(Some(scopes));
            row.sensitive_supported = Set(sensitive_supported);
            row.status = Set(PortalStatus::Installing.as_str().to_owned());
            row.status_reason = Set(None);
            row.missing_scopes = Set(None);
            row.uninstalled_at = Set(None);
            row.updated_at = Set(now);
            return row.update(self.db()).await;
        }
        portal::ActiveModel {
            id: Set(portal_id),
            time_zone: Set("Europe/Madrid".to_owned()),
            status: Set(PortalStatus::Installing.as_str().to_owned()),
            status_reason: Set(None),
            access_token_enc: Set(None),
            refresh_token_enc: Set(None),
            token_expires_at: Set(None),
            scopes: Set(Some(scopes)),
            next_run_at: Set(None),
            last_claimed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            sensitive_supported: Set(sensitive_supported),
            provisioned_at: Set(None),
            sync_lock_until: Set(None),
            degraded_since: Set(None),
            degraded_reason: Set(None),
            missing_scopes: Set(None),
            uninstalled_at: Set(None),
            sync_lock_owner: Set(None),
        }
        .insert(self.db())
        .await
    }

    /// Sets a portal's status and the reason shown to the operator.
    pub async fn set_portal_status(
        &self,
        portal_id: i64,
        status: PortalStatus,
        reason: Option<String>,
    ) -> Result<(), DbErr> {
        portal::Entity::update_many()
            .col_expr(portal::Column::Status, Expr::value(status.as_str()))
            .col_expr(portal::Column::StatusReason, Expr::value(reason))
            .col_expr(portal::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(portal::Column::Id.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Marks provisioning complete: the portal is connected, in `time_zone`.
    pub async fn mark_provisioned(&self, portal_id: i64, time_zone: &str) -> Result<(), DbErr> {
        let now = Utc::now();
        portal::Entity::update_many()
            .col_expr(
                portal::Column::Status,
                Expr::value(PortalStatus::Connected.as_str()),
            )
            .col_expr(portal::Column::StatusReason, Expr::value(None::<String>))
            .col_expr(portal::Column::TimeZone, Expr::value(time_zone))
            .col_expr(portal::Column::ProvisionedAt, Expr::value(Some(now)))
            .col_expr(portal::Column::UpdatedAt, Expr::value(now))
            .filter(portal::Column::Id.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Records that the portal's HubSpot access fails for a reason that may
    /// pass: it stays connected, is tried again, and the console shows it as
    /// degraded since the first such failure. A disconnected portal stays so.
    pub async fn mark_portal_degraded(&self, portal_id: i64, reason: &str) -> Result<(), DbErr> {
        let now = Utc::now();
        let not_disconnected = portal::Column::Status.ne(PortalStatus::Disconnected.as_str());
        portal::Entity::update_many()
            .col_expr(portal::Column::DegradedSince, Expr::value(Some(now)))
            .filter(portal::Column::Id.eq(portal_id))
            .filter(not_disconnected.clone())
            .filter(portal::Column::DegradedSince.is_null())
            .exec(self.db())
            .await?;
        portal::Entity::update_many()
            .col_expr(portal::Column::DegradedReason, Expr::value(reason))
            .col_expr(portal::Column::UpdatedAt, Expr::value(now))
            .filter(portal::Column::Id.eq(portal_id))
            .filter(not_disconnected)
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Records the scopes a HubSpot call needed and the installation lacks.
    pub async fn record_missing_scopes(
        &self,
        portal_id: i64,
        scopes: &[String],
    ) -> Result<(), DbErr> {
        portal::Entity::update_many()
            .col_expr(portal::Column::MissingScopes, Expr::value(scopes.join(" ")))
            .col_expr(portal::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(portal::Column::Id.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// One portal, if installed.
    pub async fn portal(&self, portal_id: i64) -> Result<Option<portal::Model>, DbErr> {
        portal::Entity::find_by_id(portal_id).one(self.db()).await
    }
}

/// How long a sync run holds its portal without renewing its lease (its
/// heartbeat renews it every [`SYNC_HEARTBEAT`]).
pub const SYNC_LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// How often a running sync renews its lease.
pub const SYNC_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(20);

impl Store {
    /// Takes the portal's sync lock for `owner` (one run per portal at a
    /// time, across processes) with one atomic update judged by the
    /// database's clock; `false` when another run holds a live lock.
    pub async fn lock_portal_sync(&self, portal_id: i64, owner: &str) -> Result<bool, DbErr> {
        let free = sea_orm::Condition::any()
            .add(portal::Column::SyncLockUntil.is_null())
            .add(Expr::col(portal::Column::SyncLockUntil).lt(self.db_now(chrono::Duration::zero())))
            .add(portal::Column::SyncLockOwner.eq(owner));
        let taken = portal::Entity::update_many()
            .col_expr(portal::Column::SyncLockOwner, Expr::value(owner))
            .col_expr(portal::Column::SyncLockUntil, self.db_now(SYNC_LEASE))
            .filter(portal::Column::Id.eq(portal_id))
            .filter(free)
            .exec(self.db())
            .await?;
        Ok(taken.rows_affected == 1)
    }

    /// Renews `owner`'s sync lock; `false` when it is no longer theirs.
    pub async fn renew_portal_sync(&self, portal_id: i64, owner: &str) -> Result<bool, DbErr> {
        let renewed = portal::Entity::update_many()
            .col_expr(portal::Column::SyncLockUntil, self.db_now(SYNC_LEASE))
            .filter(portal::Column::Id.eq(portal_id))
            .filter(portal::Column::SyncLockOwner.eq(owner))
            .exec(self.db())
            .await?;
        Ok(renewed.rows_affected == 1)
    }

    /// Releases `owner`'s sync lock (a lock taken over by another run stays).
    pub async fn unlock_portal_sync(&self, portal_id: i64, owner: &str) -> Result<(), DbErr> {
        portal::Entity::update_many()
            .col_expr(
                portal::Column::SyncLockUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(portal::Column::SyncLockOwner, Expr::value(None::<String>))
            .filter(portal::Column::Id.eq(portal_id))
            .filter(portal::Column::SyncLockOwner.eq(owner))
            .exec(self.db())
            .await
            .map(|_| ())
    }
}
