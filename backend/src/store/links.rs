//! Record links: which HubSpot record each Holded record became, and the hash
//! of what was written (change detection).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, NotSet, QueryFilter, QuerySelect,
    sea_query::{Expr, OnConflict},
};

use super::{Store, entities::record_link};

/// A link to write after a successful HubSpot write.
#[derive(Clone, Debug)]
pub struct LinkWrite {
    /// Holded id.
    pub holded_id: String,
    /// HubSpot id.
    pub hubspot_id: String,
    /// Hash of the written properties.
    pub content_hash: String,
    /// Holded `updatedAt`, for contacts.
    pub holded_updated_at: Option<DateTime<Utc>>,
    /// Whether a Holded list showed the record (the nightly sync's writes);
    /// `false` for records the deal flow created.
    pub listed: bool,
}

/// A link of `holded_id` with nothing known yet: no HubSpot record, no
/// content written or refused.
fn new_link(portal_id: i64, kind: &str, holded_id: &str) -> record_link::ActiveModel {
    record_link::ActiveModel {
        id: NotSet,
        portal_id: Set(portal_id),
        object_kind: Set(kind.to_owned()),
        holded_id: Set(holded_id.to_owned()),
        hubspot_id: Set(None),
        content_hash: Set(None),
        holded_updated_at: Set(None),
        last_synced_at: Set(None),
        deleted_in_holded: Set(false),
        erased_at: NotSet,
        refused_hash: Set(None),
        listed_at: Set(None),
    }
}

impl Store {
    /// The links of `holded_ids` of one kind, by Holded id.
    pub async fn links(
        &self,
        portal_id: i64,
        kind: &str,
        holded_ids: &[String],
    ) -> Result<HashMap<String, record_link::Model>, DbErr> {
        let mut found = HashMap::with_capacity(holded_ids.len());
        for chunk in holded_ids.chunks(500) {
            let rows = record_link::Entity::find()
                .filter(record_link::Column::PortalId.eq(portal_id))
                .filter(record_link::Column::ObjectKind.eq(kind))
                .filter(record_link::Column::HoldedId.is_in(chunk.iter().cloned()))
                .all(self.db())
                .await?;
            found.extend(rows.into_iter().map(|r| (r.holded_id.clone(), r)));
        }
        Ok(found)
    }

    /// Whether any Holded record of `kind` is linked to a HubSpot record yet
    /// (no link: the kind's first sync is still to finish).
    pub async fn has_links(&self, portal_id: i64, kind: &str) -> Result<bool, DbErr> {
        let one = record_link::Entity::find()
            .select_only()
            .column(record_link::Column::Id)
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq(kind))
            .filter(record_link::Column::HubspotId.is_not_null())
            .into_tuple::<i64>()
            .one(self.db())
            .await?;
        Ok(one.is_some())
    }

    /// Writes links (insert or update by portal, kind and Holded id) and clears
    /// their deleted mark and any refusal.
    pub async fn save_links(
        &self,
        portal_id: i64,
        kind: &str,
        writes: &[LinkWrite],
    ) -> Result<(), DbErr> {
        let now = Utc::now();
        for listed in [true, false] {
            let rows =
                writes
                    .iter()
                    .filter(|w| w.listed == listed)
                    .map(|w| record_link::ActiveModel {
                        hubspot_id: Set(Some(w.hubspot_id.clone())),
                        content_hash: Set(Some(w.content_hash.clone())),
                        holded_updated_at: Set(w.holded_updated_at),
                        last_synced_at: Set(Some(now)),
                        listed_at: Set(listed.then_some(now)),
                        ..new_link(portal_id, kind, &w.holded_id)
                    });
            let mut columns = vec![
                record_link::Column::HubspotId,
                record_link::Column::ContentHash,
                record_link::Column::HoldedUpdatedAt,
                record_link::Column::LastSyncedAt,
                record_link::Column::DeletedInHolded,
                record_link::Column::RefusedHash,
            ];
            if listed {
                columns.push(record_link::Column::ListedAt);
            }
            self.upsert_links(rows, &columns).await?;
        }
        Ok(())
    }

    /// Remembers the content HubSpot refused for each record of `refusals`
    /// (Holded id, content hash), creating the record's link when it has none.
    pub async fn refuse_links(
        &self,
        portal_id: i64,
        kind: &str,
        refusals: &[(String, String)],
    ) -> Result<(), DbErr> {
        let rows = refusals
            .iter()
            .map(|(holded_id, hash)| record_link::ActiveModel {
                refused_hash: Set(Some(hash.clone())),
                ..new_link(portal_id, kind, holded_id)
            });
        self.upsert_links(rows, &[record_link::Column::RefusedHash])
            .await
    }

    /// Inserts `rows`, or updates the `columns` of the links they name
    /// (portal, kind and Holded id), 200 at a time.
    async fn upsert_links(
        &self,
        rows: impl Iterator<Item = record_link::ActiveModel>,
        columns: &[record_link::Column],
    ) -> Result<(), DbErr> {
        let rows: Vec<record_link::ActiveModel> = rows.collect();
        for chunk in rows.chunks(200) {
            record_link::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        record_link::Column::PortalId,
                        record_link::Column::ObjectKind,
                        record_link::Column::HoldedId,
                    ])
                    .update_columns(columns.iter().copied())
                    .to_owned(),
                )
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// Forgets the refusal of one record ("Reintentar"): the next run sends
    /// it again even if it has not changed.
    pub async fn clear_refusal(
        &self,
        portal_id: i64,
        kind: &str,
        holded_id: &str,
    ) -> Result<(), DbErr> {
        record_link::Entity::update_many()
            .col_expr(
                record_link::Column::RefusedHash,
                Expr::value(None::<String>),
            )
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq(kind))
            .filter(record_link::Column::HoldedId.eq(holded_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Links of `kind` that were not seen in a complete scan (`seen`) and are
    /// not yet marked deleted: the records that disappeared from Holded. A
    /// record no list has shown yet (the deal flow created it) counts only
    /// once linked before `linked_before`: lists may serve it late.
    pub async fn vanished_links(
        &self,
        portal_id: i64,
        kind: &str,
        seen: &std::collections::HashSet<String>,
        linked_before: DateTime<Utc>,
    ) -> Result<Vec<record_link::Model>, DbErr> {
        let all: Vec<(i64, String)> = record_link::Entity::find()
            .select_only()
            .column(record_link::Column::Id)
            .column(record_link::Column::HoldedId)
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq(kind))
            .filter(record_link::Column::DeletedInHolded.eq(false))
            .filter(record_link::Column::HubspotId.is_not_null())
            .filter(
                sea_orm::Condition::any()
                    .add(record_link::Column::ListedAt.is_not_null())
                    .add(record_link::Column::LastSyncedAt.lt(linked_before))
                    .add(record_link::Column::LastSyncedAt.is_null()),
            )
            .into_tuple()
            .all(self.db())
            .await?;
        let gone: Vec<i64> = all
            .into_iter()
            .filter(|(_, holded_id)| !seen.contains(holded_id))
            .map(|(id, _)| id)
            .collect();
        let mut rows = Vec::with_capacity(gone.len());
        for chunk in gone.chunks(500) {
            rows.extend(
                record_link::Entity::find()
                    .filter(record_link::Column::Id.is_in(chunk.iter().copied()))
                    .all(self.db())
                    .await?,
            );
        }
        Ok(rows)
    }

    /// Marks links as deleted in Holded.
    pub async fn mark_links_deleted(&self, ids: &[i64]) -> Result<(), DbErr> {
        for chunk in ids.chunks(500) {
            record_link::Entity::update_many()
                .col_expr(record_link::Column::DeletedInHolded, Expr::value(true))
                .filter(record_link::Column::Id.is_in(chunk.iter().copied()))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// Links of `kind` whose Holded id starts with `<parent>#` for any of
    /// `parents` (a document's line items).
    pub async fn child_links(
        &self,
        portal_id: i64,
        kind: &str,
        parents: &[String],
    ) -> Result<Vec<record_link::Model>, DbErr> {
        let mut rows = Vec::new();
        for chunk in parents.chunks(100) {
            let any = chunk
                .iter()
                .fold(sea_orm::Condition::any(), |cond, parent| {
                    cond.add(record_link::Column::HoldedId.starts_with(format!("{parent}#")))
                });
            rows.extend(
                record_link::Entity::find()
                    .filter(record_link::Column::PortalId.eq(portal_id))
                    .filter(record_link::Column::ObjectKind.eq(kind))
                    .filter(any)
                    .all(self.db())
                    .await?,
            );
        }
        Ok(rows)
    }

    /// Removes the links of `holded_ids` (line items replaced by new ones).
    pub async fn delete_links(
        &self,
        portal_id: i64,
        kind: &str,
        holded_ids: &[String],
    ) -> Result<(), DbErr> {
        for chunk in holded_ids.chunks(500) {
            record_link::Entity::delete_many()
                .filter(record_link::Column::PortalId.eq(portal_id))
                .filter(record_link::Column::ObjectKind.eq(kind))
                .filter(record_link::Column::HoldedId.is_in(chunk.iter().cloned()))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Which of `hubspot_ids` are already linked to a Holded record of `kind`.
    pub async fn linked_hubspot_ids(
        &self,
        portal_id: i64,
        kind: &str,
        hubspot_ids: &[String],
    ) -> Result<std::collections::HashSet<String>, DbErr> {
        let mut linked = std::collections::HashSet::new();
        for chunk in hubspot_ids.chunks(500) {
            let rows: Vec<Option<String>> = record_link::Entity::find()
                .select_only()
                .column(record_link::Column::HubspotId)
                .filter(record_link::Column::PortalId.eq(portal_id))
                .filter(record_link::Column::ObjectKind.eq(kind))
                .filter(record_link::Column::HubspotId.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.db())
                .await?;
            linked.extend(rows.into_iter().flatten());
        }
        Ok(linked)
    }

    /// The live link of a HubSpot record of one kind, if any (the Holded record
    /// a HubSpot company or contact already corresponds to).
    pub async fn link_by_hubspot_id(
        &self,
        portal_id: i64,
        kind: &str,
        hubspot_id: &str,
    ) -> Result<Option<record_link::Model>, DbErr> {
        record_link::Entity::find()
            .filter(record_link::Column::PortalId.eq(portal_id))
            .filter(record_link::Column::ObjectKind.eq(kind))
            .filter(record_link::Column::HubspotId.eq(hubspot_id))
            .filter(record_link::Column::DeletedInHolded.eq(false))
            .one(self.db())
            .await
    }
}
