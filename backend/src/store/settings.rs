//! A portal's settings row.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, EntityTrait, IntoActiveModel};

use super::{Store, entities::settings};

impl Store {
    /// The portal's settings, created with the defaults (everything synced
    /// from `first_sync_date`, nothing mapped, sensitive data off) when missing.
    pub async fn settings_or_default(
        &self,
        portal_id: i64,
        first_sync_date: NaiveDate,
    ) -> Result<settings::Model, DbErr> {
        if let Some(row) = settings::Entity::find_by_id(portal_id)
            .one(self.db())
            .await?
        {
            return Ok(row);
        }
        let row = settings::Model {
            portal_id,
            holded_key_enc: None,
            holded_key_last4: None,
            holded_api_generation: None,
            next_sync_date: Some(first_sync_date),
            sync_contacts: true,
            sync_companies: true,
            sync_products: true,
            sync_documents: true,
            document_mapping: "{}".to_owned(),
            sensitive_data: false,
            updated_at: Utc::now(),
            erase_sensitive_pending: false,
            default_tax: None,
            allowed_editors: None,
        };
        settings::Entity::insert(row.clone().into_active_model())
            .on_conflict_do_nothing()
            .exec(self.db())
            .await?;
        Ok(settings::Entity::find_by_id(portal_id)
            .one(self.db())
            .await?
            .unwrap_or(row))
    }

    /// The portal's settings row, if any.
    pub async fn settings_row(&self, portal_id: i64) -> Result<Option<settings::Model>, DbErr> {
        settings::Entity::find_by_id(portal_id).one(self.db()).await
    }

    /// Clears the pending erase of sensitive values (a sync did it).
    pub async fn clear_erase_pending(&self, portal_id: i64) -> Result<(), DbErr> {
        use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
        settings::Entity::update_many()
            .col_expr(settings::Column::EraseSensitivePending, Expr::value(false))
            .filter(settings::Column::PortalId.eq(portal_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// The settings of a portal in `time_zone`, created when missing with the
    /// default first sync date: tomorrow there.
    pub async fn portal_settings(
        &self,
        portal_id: i64,
        time_zone: &str,
    ) -> Result<settings::Model, DbErr> {
        let tomorrow =
            crate::schedule::tomorrow(crate::schedule::portal_time_zone(time_zone), Utc::now());
        self.settings_or_default(portal_id, tomorrow).await
    }

    /// Writes every field of `row`.
    pub async fn save_settings(&self, row: settings::Model) -> Result<settings::Model, DbErr> {
        let mut active = row.into_active_model().reset_all();
        active.updated_at = Set(Utc::now());
        active.update(self.db()).await
    }
}
