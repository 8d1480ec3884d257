//! Replay refusal for HubSpot-signed writes: each accepted signature is
//! remembered (as a hash) until its five-minute window has passed, in the
//! database so that every web process sees it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, TryInsertResult};

use super::{Store, entities::signed_request};

impl Store {
    /// Remembers a signature until `expires_at`; `false` when it was seen
    /// before (a replay).
    pub async fn remember_signature(
        &self,
        signature_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let inserted = signed_request::Entity::insert(signed_request::ActiveModel {
            signature_hash: Set(signature_hash.to_owned()),
            expires_at: Set(expires_at),
        })
        .on_conflict_do_nothing()
        .exec(self.db())
        .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(_)))
    }

    /// Forgets signatures whose window has passed; returns how many.
    pub async fn forget_expired_signatures(&self, now: DateTime<Utc>) -> Result<u64, DbErr> {
        Ok(signed_request::Entity::delete_many()
            .filter(signed_request::Column::ExpiresAt.lt(now))
            .exec(self.db())
            .await?
            .rows_affected)
    }
}
