//! Holded calls per account and calendar month.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::{Store, entities::holded_usage};

impl Store {
    /// The month of `account`, created empty when missing.
    pub async fn holded_usage(
        &self,
        account: &str,
        period: &str,
    ) -> Result<holded_usage::Model, DbErr> {
        holded_usage::Entity::insert(holded_usage::ActiveModel {
            account: Set(account.to_owned()),
            period: Set(period.to_owned()),
            calls: Set(0),
            reported_usage: Set(None),
            reported_limit: Set(None),
            reported_at_calls: Set(None),
            spent_at: Set(None),
            warned_at: Set(None),
            updated_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([holded_usage::Column::Account, holded_usage::Column::Period])
        .exec(self.db())
        .await?;
        holded_usage::Entity::find_by_id((account.to_owned(), period.to_owned()))
            .one(self.db())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("holded usage".to_owned()))
    }

    /// Adds `calls` to the month of `account` (one atomic update: several
    /// processes count at once) and returns it.
    pub async fn add_holded_calls(
        &self,
        account: &str,
        period: &str,
        calls: u64,
    ) -> Result<holded_usage::Model, DbErr> {
        let row = self.holded_usage(account, period).await?;
        if calls == 0 {
            return Ok(row);
        }
        holded_usage::Entity::update_many()
            .col_expr(
                holded_usage::Column::Calls,
                Expr::col(holded_usage::Column::Calls)
                    .add(i64::try_from(calls).unwrap_or(i64::MAX)),
            )
            .col_expr(holded_usage::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(holded_usage::Column::Account.eq(account))
            .filter(holded_usage::Column::Period.eq(period))
            .exec(self.db())
            .await?;
        self.holded_usage(account, period).await
    }

    /// Saves a month's other fields (what Holded reported, spent, warned).
    pub async fn save_holded_usage(
        &self,
        row: holded_usage::Model,
        at: DateTime<Utc>,
    ) -> Result<holded_usage::Model, DbErr> {
        let mut active = row.into_active_model();
        active.updated_at = Set(at);
        active.reset(holded_usage::Column::ReportedUsage);
        active.reset(holded_usage::Column::ReportedLimit);
        active.reset(holded_usage::Column::ReportedAtCalls);
        active.reset(holded_usage::Column::SpentAt);
        active.reset(holded_usage::Column::WarnedAt);
        active.update(self.db()).await
    }
}
