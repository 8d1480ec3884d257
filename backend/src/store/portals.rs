//! Queries on portals, above all the scheduler's atomic claim.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};

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
