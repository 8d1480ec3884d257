//! The audit log.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, NotSet, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use super::{Store, entities::audit_log};

/// One page of the audit log, newest first.
#[derive(Clone, Debug)]
pub struct AuditPage {
    /// The entries on this page.
    pub entries: Vec<audit_log::Model>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
}

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

    /// Page `page` (from 1; past the end gives the last page) of the audit
    /// log, of every portal or of `portal_id` only, newest first.
    pub async fn audit_page(
        &self,
        portal_id: Option<i64>,
        page: u64,
        per_page: u64,
    ) -> Result<AuditPage, DbErr> {
        let mut query = audit_log::Entity::find();
        if let Some(portal_id) = portal_id {
            query = query.filter(audit_log::Column::PortalId.eq(portal_id));
        }
        let paginator = query
            .order_by_desc(audit_log::Column::CreatedAt)
            .order_by_desc(audit_log::Column::Id)
            .paginate(self.db(), per_page.max(1));
        let pages = paginator.num_pages().await?.max(1);
        let page = page.clamp(1, pages);
        Ok(AuditPage {
            entries: paginator.fetch_page(page - 1).await?,
            page,
            pages,
        })
    }
}
