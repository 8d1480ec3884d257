//! The last contact scan's index: keyed hashes of Holded contacts' NIF/CIF
//! and email with their ids, per portal, and when a clean scan last
//! completed it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::OnConflict,
};

use super::{
    Store,
    entities::{holded_contact_key, holded_contact_scan},
};

/// One entry: field (`nif`, `email`), keyed hash of its value, Holded id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// `nif` or `email`.
    pub field: &'static str,
    /// Keyed hash of the normalised value.
    pub key_hash: String,
    /// Holded contact id.
    pub holded_id: String,
}

impl Store {
    /// Records that a scan saw `entries` now.
    pub async fn index_contacts(
        &self,
        portal_id: i64,
        entries: &[IndexEntry],
    ) -> Result<(), DbErr> {
        let now = Utc::now();
        for chunk in entries.chunks(200) {
            let rows = chunk.iter().map(|e| holded_contact_key::ActiveModel {
                portal_id: Set(portal_id),
                field: Set(e.field.to_owned()),
                key_hash: Set(e.key_hash.clone()),
                holded_id: Set(e.holded_id.clone()),
                seen_at: Set(now),
            });
            holded_contact_key::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        holded_contact_key::Column::PortalId,
                        holded_contact_key::Column::Field,
                        holded_contact_key::Column::KeyHash,
                        holded_contact_key::Column::HoldedId,
                    ])
                    .update_column(holded_contact_key::Column::SeenAt)
                    .to_owned(),
                )
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// A clean scan that started at `started` saw every contact: entries no
    /// scan saw since are gone from Holded, and the index is complete as of then.
    pub async fn complete_contact_index(
        &self,
        portal_id: i64,
        started: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        holded_contact_key::Entity::delete_many()
            .filter(holded_contact_key::Column::PortalId.eq(portal_id))
            .filter(holded_contact_key::Column::SeenAt.lt(started))
            .exec(self.db())
            .await?;
        holded_contact_scan::Entity::insert(holded_contact_scan::ActiveModel {
            portal_id: Set(portal_id),
            completed_at: Set(started),
        })
        .on_conflict(
            OnConflict::column(holded_contact_scan::Column::PortalId)
                .update_column(holded_contact_scan::Column::CompletedAt)
                .to_owned(),
        )
        .exec(self.db())
        .await?;
        Ok(())
    }

    /// When the portal's index was last completed by a clean scan.
    pub async fn contact_index_completed_at(
        &self,
        portal_id: i64,
    ) -> Result<Option<DateTime<Utc>>, DbErr> {
        Ok(holded_contact_scan::Entity::find_by_id(portal_id)
            .one(self.db())
            .await?
            .map(|s| s.completed_at))
    }

    /// The Holded ids indexed under (`field`, `key_hash`).
    pub async fn indexed_contacts(
        &self,
        portal_id: i64,
        field: &str,
        key_hash: &str,
    ) -> Result<Vec<String>, DbErr> {
        holded_contact_key::Entity::find()
            .select_only()
            .column(holded_contact_key::Column::HoldedId)
            .filter(holded_contact_key::Column::PortalId.eq(portal_id))
            .filter(holded_contact_key::Column::Field.eq(field))
            .filter(holded_contact_key::Column::KeyHash.eq(key_hash))
            .into_tuple()
            .all(self.db())
            .await
    }
}
