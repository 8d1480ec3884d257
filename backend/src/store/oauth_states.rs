//! Single use of OAuth `state` values.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::{Store, entities::oauth_state};

impl Store {
    /// Records that the state with `nonce` was used. Returns `false` when it
    /// had been used before (a replayed install link). Expired rows are purged
    /// on the way.
    pub async fn consume_oauth_state(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let now = Utc::now();
        oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::ExpiresAt.lt(now))
            .exec(self.db())
            .await?;
        let inserted = oauth_state::Entity::insert(oauth_state::ActiveModel {
            nonce: Set(nonce.to_owned()),
            expires_at: Set(expires_at),
            consumed_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(self.db())
        .await?;
        Ok(!matches!(inserted, sea_orm::TryInsertResult::Conflicted))
    }
}
