//! Operator console sessions and failed sign-ins, shared by every web process.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};

use super::{
    Store,
    entities::{console_session, login_failure},
};

impl Store {
    /// Records a session opened now until `expires_at`.
    pub async fn open_console_session(
        &self,
        id: &str,
        token_fingerprint: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        console_session::Entity::insert(console_session::ActiveModel {
            id: Set(id.to_owned()),
            token_fingerprint: Set(token_fingerprint.to_owned()),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
        })
        .exec(self.db())
        .await
        .map(|_| ())
    }

    /// Whether session `id` is open now and was opened with the admin token
    /// whose fingerprint is `token_fingerprint`.
    pub async fn console_session_is_live(
        &self,
        id: &str,
        token_fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        Ok(console_session::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .is_some_and(|s| {
                s.revoked_at.is_none()
                    && s.expires_at > now
                    && s.token_fingerprint == token_fingerprint
            }))
    }

    /// Ends session `id` (signing out).
    pub async fn revoke_console_session(&self, id: &str) -> Result<(), DbErr> {
        console_session::Entity::update_many()
            .col_expr(
                console_session::Column::RevokedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(console_session::Column::Id.eq(id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Until when sign-ins counted under `key` are refused, if they are now.
    pub async fn login_locked_until(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, DbErr> {
        Ok(login_failure::Entity::find_by_id(key.to_owned())
            .one(self.db())
            .await?
            .and_then(|f| f.locked_until)
            .filter(|until| *until > now))
    }

    /// Counts a failed sign-in under `key`: failures older than `window` start
    /// a new count; reaching `limit` locks the key for `lock`.
    pub async fn record_login_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
        limit: i32,
        lock: chrono::Duration,
    ) -> Result<(), DbErr> {
        let current = login_failure::Entity::find_by_id(key.to_owned())
            .one(self.db())
            .await?;
        let (failures, first) = match current {
            Some(f) if now - f.first_failed_at < window => (f.failures + 1, f.first_failed_at),
            _ => (1, now),
        };
        let row = login_failure::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(failures),
            first_failed_at: Set(first),
            locked_until: Set((failures >= limit).then_some(now + lock)),
        };
        login_failure::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(login_failure::Column::Key)
                    .update_columns([
                        login_failure::Column::Failures,
                        login_failure::Column::FirstFailedAt,
                        login_failure::Column::LockedUntil,
                    ])
                    .to_owned(),
            )
            .exec(self.db())
            .await
            .map(|_| ())
    }
}
