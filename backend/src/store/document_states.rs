//! The last state of each deal's Holded document told on its timeline, so
//! that a change (approval, a payment, paid in full…) is told once.

use std::{collections::HashMap, str::FromStr};

use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict,
};

use super::{Store, entities::document_state};

/// A document's state as last told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentState {
    /// Holded document id.
    pub holded_id: String,
    /// v1 document type.
    pub doc_type: String,
    /// Number, once it has one.
    pub number: Option<String>,
    /// Status value (`emitida`, …).
    pub status: String,
    /// Amount paid.
    pub paid: Decimal,
    /// Amount left to pay.
    pub pending: Decimal,
    /// Currency.
    pub currency: String,
}

impl From<document_state::Model> for DocumentState {
    fn from(row: document_state::Model) -> Self {
        let amount = |text: &str| Decimal::from_str(text).unwrap_or_default();
        Self {
            paid: amount(&row.paid),
            pending: amount(&row.pending),
            holded_id: row.holded_id,
            doc_type: row.doc_type,
            number: row.number,
            status: row.status,
            currency: row.currency,
        }
    }
}

impl Store {
    /// The states told of the documents `ids` of a portal, by Holded id.
    pub async fn document_states(
        &self,
        portal_id: i64,
        ids: &[String],
    ) -> Result<HashMap<String, DocumentState>, DbErr> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(500) {
            for row in document_state::Entity::find()
                .filter(document_state::Column::PortalId.eq(portal_id))
                .filter(document_state::Column::HoldedId.is_in(chunk.iter().cloned()))
                .all(self.db())
                .await?
            {
                found.insert(row.holded_id.clone(), row.into());
            }
        }
        Ok(found)
    }

    /// Keeps `states` as the last told.
    pub async fn save_document_states(
        &self,
        portal_id: i64,
        states: &[DocumentState],
    ) -> Result<(), DbErr> {
        let now = Utc::now();
        for chunk in states.chunks(200) {
            let rows = chunk.iter().map(|s| document_state::ActiveModel {
                portal_id: Set(portal_id),
                holded_id: Set(s.holded_id.clone()),
                doc_type: Set(s.doc_type.clone()),
                number: Set(s.number.clone()),
                status: Set(s.status.clone()),
                paid: Set(s.paid.normalize().to_string()),
                pending: Set(s.pending.normalize().to_string()),
                currency: Set(s.currency.clone()),
                updated_at: Set(now),
            });
            document_state::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        document_state::Column::PortalId,
                        document_state::Column::HoldedId,
                    ])
                    .update_columns([
                        document_state::Column::DocType,
                        document_state::Column::Number,
                        document_state::Column::Status,
                        document_state::Column::Paid,
                        document_state::Column::Pending,
                        document_state::Column::Currency,
                        document_state::Column::UpdatedAt,
                    ])
                    .to_owned(),
                )
                .exec(self.db())
                .await?;
        }
        Ok(())
    }
}
