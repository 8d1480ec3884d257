//! The audit log.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, NotSet};

use super::{Store, entities::audit_log};

impl Store {
    /// Appends an entry. `details` must already have secrets masked.
    pub async fn audit(
        &self,
        portal_id: Option<i64>,
        actor: &str,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), DbErr> {
        audit_log::ActiveModel {
            id: NotSet,
            portal_id: Set(portal_id),
            actor: Set(actor.to_owned()),
            action: Set(action.to_owned()),
            details: Set(details.to_string()),
            created_at: Set(Utc::now()),
        }
        .insert(self.db())
        .await
        .map(|_| ())
    }
}
