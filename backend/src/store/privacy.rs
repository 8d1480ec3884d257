//! HubSpot's privacy deletion of a contact: what this service keeps about
//! that contact is erased — its link to the Holded record (kept only as a
//! tombstone, so the nightly sync never brings the person back into HubSpot),
//! the failed-record rows that named it, and the text of the timeline
//! entries written about it. Holded is never touched.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    sea_query::{Expr, Query},
};

use super::{
    Store,
    entities::{document_request, record_link, sync_run, sync_run_item, timeline_entry},
};

/// What replaces the text of a timeline entry about an erased contact.
pub const ERASED_TEXT: &str = "[Borrado por una solicitud de privacidad]";

/// What an erasure removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    /// Links to Holded records turned into tombstones.
    pub links: u64,
    /// Failed-record rows deleted.
    pub run_items: u64,
    /// Timeline entries whose text was erased.
    pub timeline_entries: u64,
}

impl Store {
    /// Erases what is kept about HubSpot contact `contact_id` of `portal_id`
    /// (see the module docs), in one transaction.
    pub async fn erase_hubspot_contact(
        &self,
        portal_id: i64,
        contact_id: &str,
    ) -> Result<Erasure, DbErr> {
        let txn = self.db().begin().await?;
        let holded_ids: Vec<String> = record_link::Entity::find()
            .select_only()
            .column(record_link::Column::HoldedId)
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq("contacts"))
            .filter(record_link::Column::HubspotId.eq(contact_id))
            .into_tuple()
            .all(&txn)
            .await?;
        let links = record_link::Entity::update_many()
            .col_expr(record_link::Column::HubspotId, Expr::value(None::<String>))
            .col_expr(
                record_link::Column::ContentHash,
                Expr::value(None::<String>),
            )
            .col_expr(
                record_link::Column::HoldedUpdatedAt,
                Expr::value(None::<chrono::DateTime<Utc>>),
            )
            .col_expr(record_link::Column::ErasedAt, Expr::value(Some(Utc::now())))
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq("contacts"))
            .filter(record_link::Column::HubspotId.eq(contact_id))
            .exec(&txn)
            .await?
            .rows_affected;
        let named = sea_orm::Condition::any()
            .add(sync_run_item::Column::HubspotId.eq(contact_id))
            .add(sync_run_item::Column::HoldedId.is_in(holded_ids.clone()));
        let run_items = sync_run_item::Entity::delete_many()
            .filter(sync_run_item::Column::ObjectKind.eq("contacts"))
            .filter(named)
            .filter(
                sync_run_item::Column::RunId.in_subquery(
                    Query::select()
                        .column(sync_run::Column::Id)
                        .from(sync_run::Entity)
                        .and_where(sync_run::Column::PortalId.eq(portal_id))
                        .to_owned(),
                ),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        // Document requests made for this person (Contacto) name them on the
        // deal's timeline.
        let requests: Vec<i64> = document_request::Entity::find()
            .select_only()
            .column(document_request::Column::Id)
            .filter(document_request::Column::PortalId.eq(portal_id))
            .filter(document_request::Column::HoldedContactId.is_in(holded_ids))
            .into_tuple()
            .all(&txn)
            .await?;
        let timeline_entries = timeline_entry::Entity::update_many()
            .col_expr(timeline_entry::Column::Text, Expr::value(ERASED_TEXT))
            .filter(timeline_entry::Column::PortalId.eq(portal_id))
            .filter(timeline_entry::Column::DocumentRequestId.is_in(requests))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(Erasure {
            links,
            run_items,
            timeline_entries,
        })
    }
}
